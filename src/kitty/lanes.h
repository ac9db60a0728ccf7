// spec-kitty's lanes: the state machine of a work package (docs/spec-kitty.md).
//
// Lanes and moves are spec-kitty's 7-lane model (github.com/spec-kitty/spec-kitty,
// `status/transitions.py`; ../shared/REFERENCES.md): planned → claimed → in_progress →
// for_review → done; for_review → in_progress when changes are requested (needs a
// review reference); in_progress → planned (needs a reason); any live lane → blocked
// or canceled; blocked → in_progress. done and canceled are terminal. `doing` is an
// alias of in_progress.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::kitty {

/// A work package's lane.
enum class Lane { kPlanned, kClaimed, kInProgress, kForReview, kDone, kBlocked, kCanceled };

/// spec-kitty's name of LANE: "planned", "claimed", "in_progress", "for_review", "done",
/// "blocked", "canceled".
const char* to_string(Lane lane);

/// The lane NAME names (case and surrounding blanks ignored; "doing" is in_progress);
/// nullopt for anything else.
std::optional<Lane> parse_lane(std::string_view name);

/// done and canceled: no move leaves them.
bool is_terminal(Lane lane);

/// One lane move of one work package, with what spec-kitty records with it.
struct Move {
  std::string wp_id;
  Lane from = Lane::kPlanned;
  Lane to = Lane::kPlanned;
  std::string actor;       ///< who moves it ("baton"); never empty
  std::string reason;      ///< why, for people; "" = none
  std::string review_ref;  ///< the review's reference (for_review → in_progress); "" = none
  /// review evidence, `{"review": {"reviewer", "verdict", "reference"}}`; null = none
  nlohmann::json evidence;
};

/// Whether MOVE is legal: its pair is in the table above and its guard holds
/// (in_progress → planned: a reason; for_review → in_progress: a review reference;
/// for_review → done: review evidence, or a reason saying why there is none).
/// Errors: "illegal lane move for WP01: done -> in_progress (done is terminal)",
/// "... needs a reason".
Result<void> check_move(const Move& move);

}  // namespace baton::kitty
