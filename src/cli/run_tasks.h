// The tasks of a recorded run, for the commands that act on one: making finished tasks
// pending again (`baton retry`, `baton iterate`), finding a task's worktree (`iterate`,
// `shell`).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "cli/load.h"
#include "cli/open_run.h"
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

/// A task of a run no orchestrator holds, with the run's workflow loaded again and its
/// tasks' rows, for the commands that reset tasks (`retry`, `iterate`).
struct EndedRunTask {
  OpenedRun opened;                               ///< the run and its store
  std::optional<LoadedWorkflow> loaded;           ///< the run's workflow, loaded again
  int index = -1;                                 ///< the task's index in it
  std::map<std::string, store::TaskRecord> rows;  ///< the run's task rows by task id
};

/// Opens run RUN_ID (an id, a prefix or "last": open_run()) and finds TASK_ID in it for
/// the command VERB ("retry", "iterate"; named in the messages). Errors print "baton:
/// REASON" and give the exit code: open_run()'s; 7 when a live orchestrator holds the
/// run; 2 when the run's workflow file no longer loads or has no task TASK_ID; 4 when
/// the store cannot be read.
tl::expected<EndedRunTask, int> open_ended_run_task(const std::string& run_id,
                                                    const std::string& task_id,
                                                    const std::string& verb);

/// Now, in seconds since the Unix epoch (the time of the events these commands record).
double now_s();

}  // namespace baton::cli
