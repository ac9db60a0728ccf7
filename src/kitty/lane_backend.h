// Where a feature's lanes live: spec-kitty itself (orchestrator_api.h) or, without
// it, the feature's own status files (file_lanes.h). docs/spec-kitty.md.
#pragma once

#include <map>
#include <string>

#include "kitty/lanes.h"
#include "util/error.h"

namespace baton::kitty {

/// The lanes of one feature's work packages. Called on one thread.
class LaneBackend {
 public:
  virtual ~LaneBackend() = default;
  /// Every work package's current lane by id (a WP with none recorded is absent:
  /// planned). Errors: the store of lanes cannot be read or is malformed.
  virtual Result<std::map<std::string, Lane>> lanes() = 0;
  /// Starts WP's implementation by ACTOR with AGENT: from planned (through claimed),
  /// claimed or blocked to in_progress. FROM: its lane now. Errors: refused moves.
  virtual Result<void> start_implementation(const std::string& wp, Lane from,
                                            const std::string& actor, const std::string& agent) = 0;
  /// One move (check_move() rules). Errors: refused or not recorded.
  virtual Result<void> move(const Move& move) = 0;
  /// A note in WP's history, for people. Backends without history ignore it.
  virtual Result<void> append_history(const std::string& wp, const std::string& actor,
                                      const std::string& note) = 0;
  /// Every WP is done: the feature is accepted where the backend has that notion.
  virtual Result<void> accept_feature(const std::string& actor) = 0;
  /// "spec-kitty orchestrator-api" or "status.events.jsonl", for messages.
  virtual std::string name() const = 0;
};

}  // namespace baton::kitty
