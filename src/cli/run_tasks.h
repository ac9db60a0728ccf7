// The tasks of a recorded run, for the commands that act on one: making finished tasks
// pending again (`baton retry`, `baton iterate`), finding a task's worktree (`iterate`,
// `shell`).
#pragma once

#include <set>
#include <string>

#include "store/store.h"
#include "workflow/model.h"

namespace baton::cli {

/// The ids of WF's tasks that depend on TASK_ID, directly or not (TASK_ID itself not
/// included).
std::set<std::string> dependants_of(const workflow::Workflow& wf, const std::string& task_id);

/// ROW as a pending task: status "pending"; its reason, gate decision and end time
/// cleared; attempts, outputs and cost kept (attempt numbers and logs continue).
store::TaskRecord as_pending(store::TaskRecord row);

/// The worktree the latest attempt of TASK in run RUN_ID worked in, from the run's
/// `attempt.started` events; "" when it had none (isolation none, or never started).
/// Errors: the store's.
Result<std::string> last_worktree(store::Store& store, const std::string& run_id,
                                  const std::string& task);

/// Now, in seconds since the Unix epoch (the time of the events these commands record).
double now_s();

}  // namespace baton::cli
