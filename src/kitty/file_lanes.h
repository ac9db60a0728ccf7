// A feature's lanes in its own files, for when spec-kitty is not installed
// (docs/spec-kitty.md, "Without spec-kitty").
//
// Formats (spec-kitty's status model, ../shared/REFERENCES.md):
// - FEATURE/status.events.jsonl: one JSON object per line, appended: `event_id` (a
//   ULID), `wp_id`, `from_lane`, `to_lane`, `at` (ISO-8601 UTC), `actor`, `reason`,
//   `review_ref`, `evidence`, `force`, `execution_mode`, `mission_slug`.
// - FEATURE/status.json: the materialized view, rewritten whole (a temporary file
//   renamed over it): `summary` (count per lane), `work_packages` (id → `lane`,
//   `actor`, `last_transition_at`), `event_count`, `last_event_id`,
//   `materialized_at`. Keys baton does not write are kept.
// - Older features keep `lane: NAME` in a WP file's front matter; that line's value is
//   replaced in place (its quoting and line ending kept), the rest of the file byte for
//   byte, by a temporary file renamed over it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kitty/lane_backend.h"
#include "workflow/kitty_feature.h"

namespace baton::kitty {

/// Largest status.events.jsonl baton reads (bytes).
inline constexpr size_t kMaxEventLogBytes = 64u << 20;

/// The lanes of FEATURE in its files. A WP's lane is its last event's `to_lane`, else
/// its entry in status.json, else its front matter `lane:`, else planned.
class FileLanes : public LaneBackend {
 public:
  explicit FileLanes(const workflow::KittyFeature& feature);

  /// Errors: status.events.jsonl or status.json unreadable, over kMaxEventLogBytes, or
  /// malformed ("DIR/status.events.jsonl:3: not a JSON object"); an unknown lane name.
  Result<std::map<std::string, Lane>> lanes() override;
  Result<void> start_implementation(const std::string& wp, Lane from, const std::string& actor,
                                    const std::string& agent) override;
  /// Checks MOVE (check_move(), and that MOVE.from is the WP's lane now), appends its
  /// event (fsync'd), rewrites status.json, then the WP file's `lane:` line if it has one.
  Result<void> move(const Move& move) override;
  /// Ignored (the event log is the history).
  Result<void> append_history(const std::string&, const std::string&, const std::string&) override {
    return {};
  }
  /// Nothing to record without spec-kitty.
  Result<void> accept_feature(const std::string&) override { return {}; }
  std::string name() const override { return "status.events.jsonl"; }

 private:
  Result<void> load();
  Result<void> write_status_json(const std::string& at, const std::string& event_id);

  workflow::KittyFeature feature_;
  bool loaded_ = false;
  std::map<std::string, Lane> lanes_;
  std::map<std::string, std::pair<std::string, std::string>> last_;  // id -> actor, at
  size_t event_count_ = 0;
};

/// Replaces the value of the top-level `lane:` line in the front matter of TEXT by
/// LANE, keeping the rest byte for byte (quotes and "\r\n" kept). nullopt when the
/// front matter has no such line.
std::optional<std::string> replace_front_matter_lane(const std::string& text,
                                                     const std::string& lane);

/// A new ULID (26 Crockford base-32 characters: 48 bits of milliseconds, 80 random).
std::string new_ulid();

/// Now as ISO-8601 UTC with microseconds, "2026-12-05T21:04:05.123456+00:00".
std::string iso_now();

/// Writes CONTENT to PATH through PATH.tmp-PID (fsync'd, then renamed over PATH,
/// keeping PATH's permission bits when it existed).
Result<void> write_file_atomically(const std::string& path, const std::string& content);

}  // namespace baton::kitty
