// The Slurm executor (docs/slurm.md): each attempt is one batch job whose payload is
// baton's own attempt supervision (`baton __slurm-attempt SPEC`, slurm_attempt.h), so
// the log, the redaction and the control file's "started" and "exit" records are
// exactly as on this machine. The run's directory must be on a file system the nodes
// share; baton, baton-supervise and the agent CLIs must be installed on the nodes at
// the same paths.
//
// How an attempt goes (ARCHITECTURE.md, "How an attempt runs on Slurm"):
// 1. submit(): writes the spec (BASE.slurm-spec, 0600) and the batch script
//    (BASE.sbatch), appends "submitting" with a fresh token to BASE.slurm (fsync'd),
//    runs sbatch (slurm_command.h, argv only; bounded, 60 s) and appends "submitted"
//    with the job id. A crash between the two leaves the token: recover() finds the job
//    by its comment, so a job is never submitted twice for one attempt.
// 2. Every settings.slurm.poll seconds one timer reads each watched attempt's control
//    file (the exit record, on the shared file system, is the authority on how it
//    ended) and asks the scheduler once for all of them: `squeue --json --jobs=...`,
//    or `scontrol show job -o ID` when squeue fails (sacct is never needed). PENDING
//    reads as "queued on slurm".
// 3. A job the scheduler no longer lists, or lists as ended, that left no exit record
//    for settings.slurm.lost_after seconds is lost: "lost" is appended to BASE.slurm
//    (a later exit record is never taken), the job is scancel'd, and the end is kLost
//    with the job's state mapped to an error class (error_class_of()); the engine
//    retries it by policy (Slurm's requeue is off: --no-requeue).
// 4. terminate() and kill_now() append "cancel_requested" and stop the job (StopScope,
//    slurm_command.h): Slurm's cancel while it is queued, else SIGTERM to its batch
//    script only, whose supervisor stops the task's whole group (a second request
//    kills it at once); Slurm's plain cancel when the job still runs kill_grace_s + 30 s
//    later. The end (the exit record, or none within the bound) is reported kCancelled.
// The scheduler's commands run synchronously on the loop's thread, bounded (30 s).
#pragma once

#include <memory>
#include <string>

#include "executor/executor.h"
#include "executor/slurm_record.h"
#include "workflow/model.h"

namespace baton::executor {

/// An executor that submits to Slurm with OPTIONS. BATON_PATH: the baton the job runs
/// (`BATON __slurm-attempt`); "" = this program (/proc/self/exe).
std::unique_ptr<Executor> make_slurm_executor(const workflow::SlurmSettings& options,
                                              std::string baton_path = "");

/// For `baton cancel` without an orchestrator: appends "cancel_requested" and stops the
/// job of the attempt whose control file is CONTROL_PATH as terminate() does (no last
/// resort: nothing watches the job afterwards). Errors: no job id recorded, or scancel
/// failed.
Result<void> cancel_slurm_attempt(const std::string& control_path);

/// "queued on slurm" when LOG_PATH's attempt went to Slurm and has not started yet
/// (BASE.slurm exists, no "started" record in the control file, not given up); "" else.
/// For the live view and `baton status`; reads two small files.
std::string slurm_queue_note(const std::string& log_path);

}  // namespace baton::executor
