// The result files that jobs of an exported GitHub Actions workflow hand to each other
// (docs/github-actions.md, "Artifacts"): `baton run FLOW --only TASK --results DIR`
// reads the result of every task upstream of TASK from DIR and writes TASK's there;
// `--finish` reads every task's. Also the steps of such a run around the files
// (prepare_job, write_task_result) and its `--inputs-json`.
//
// A result file is DIR/TASK.json, one JSON object (format "baton-gha-result/1"):
//   {"format", "task", "status" (success|failed|skipped|cancelled), "output",
//    "exit_code" (int or null), "reason", "agent", "attempts", "cost_usd",
//    "started_at", "ended_at" (Unix seconds), "run_id" (the producing run),
//    "audit_head" (the head hash of that run's audit chain, store/audit.h)}
// A file is input from another machine: every field is type-checked and bounded.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/load.h"
#include "engine/run.h"
#include "store/store.h"
#include "util/error.h"

namespace baton::cli {

/// The value of the "format" field of a result file.
inline constexpr const char* kJobResultFormat = "baton-gha-result/1";

/// Reads DIR/ID.json for each of TASK_IDS. A missing file is an error ("no result of
/// task 'ID' in DIR: its job did not run or did not upload it") unless
/// MISSING_IS_CANCELLED, when the task is imported cancelled with the reason "its
/// GitHub Actions job left no result". Errors name the file and the field: unreadable,
/// not JSON, another format, a "task" other than ID, a status that is not an end, a
/// field of the wrong type, a file over 64 MiB.
Result<std::map<std::string, engine::ImportedTask>> read_job_results(
    const std::string& dir, const std::vector<std::string>& task_ids, bool missing_is_cancelled);

/// Writes TASK (a row of run RUN_ID) as DIR/<task id>.json, through a temporary file
/// and a rename; AUDIT_HEAD is the run's audit chain head. Errors: the file cannot be
/// written.
Result<void> write_job_result(const std::string& dir, const store::TaskRecord& task,
                              double cost_usd, const std::string& audit_head);

/// `--inputs-json TEXT`: a JSON object whose values (strings, numbers, booleans) are
/// added to INPUTS as `-i` would give them (entries INPUTS has already win: -i); JSON
/// null is no input; an empty string is an input not given (a GitHub form field left
/// empty). Errors: not an object, a value of another type.
Result<void> add_json_inputs(const std::string& text, std::map<std::string, std::string>& inputs);

/// `--only ONLY` (or, with ONLY empty, `--finish`): reduces LOADED's workflow to what
/// the job runs (exporter::workflow_for_task / workflow_for_finish) and reads the
/// results it imports from RESULTS_DIR into OPTIONS.imported. Prints the error to
/// stderr and returns false when it cannot.
bool prepare_job(const std::string& only, const std::string& results_dir, LoadedWorkflow& loaded,
                 engine::RunOptions& options);

/// `--only TASK`: writes TASK's row of run RUN_ID (its cost summed over its attempts,
/// the run's audit head) to RESULTS_DIR/TASK.json. Returns kExitSuccess, or prints
/// the error and returns kExitInternal.
int write_task_result(store::Store& store, const std::string& run_id, const std::string& task,
                      const std::string& results_dir);

}  // namespace baton::cli
