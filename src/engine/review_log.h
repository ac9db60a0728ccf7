// ReviewLog: where each reviewed task was in its cycles, rebuilt from a run's event log
// for `baton resume` (docs/review.md, "Crashes and resume").
//
// The driver records every step of a cycle as events in the transaction of the step
// itself, so the log alone says where a task was when baton died:
//   attempt.started {attempt, agent, cycle, review?}  an implementing (or rework) attempt,
//                                                      or with "review": true a review;
//   review.requested {attempt, cycle, reviewer, implementer}  the work succeeded and
//                                                      awaits its review;
//   review.verdict {attempt, cycle, reviewer, verdict, feedback, exhausted?}  the
//                                                      reviewer's answer;
//   review.reviewer_failed {attempt, cycle, reviewer, reason, next}  the reviewer failed
//                                                      for good; next (null: none left)
//                                                      reviews from then on;
//   attempt.not_started {attempt}                     an attempt that never ran (not counted).
// Events of other kinds and of tasks without review are ignored.
#pragma once

#include <map>
#include <string>

#include "engine/review.h"
#include "store/store.h"

namespace baton::engine {

class ReviewLog {
 public:
  /// The run's next event, in seq order.
  void add(const store::Event& e);

  /// Where task TASK_ID was: its progress as the events left it (a default one, cycle 1
  /// implementing, when none was recorded).
  ReviewProgress progress(const std::string& task_id) const;

 private:
  std::map<std::string, ReviewProgress> tasks_;
};

}  // namespace baton::engine
