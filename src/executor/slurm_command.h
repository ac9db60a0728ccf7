// The Slurm command lines and answers, as pure functions (no process runs here):
// what baton passes to sbatch, the batch script it writes, and how it reads squeue's
// JSON and `scontrol show job -o`. Checked against Slurm 22.05 (Debian bookworm's
// slurm-wlm): sbatch(1), squeue(1) `--json` (openapi v0.0.38: job_state is a string;
// later versions give a list of strings, read too), scontrol(1).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "workflow/model.h"

namespace baton::executor {

/// One sbatch submission.
struct SbatchRequest {
  workflow::SlurmSettings options;
  std::string run_id;
  std::string task_id;
  std::string token;         ///< the job's `--comment attempt=TOKEN`
  double timeout_s = 0;      ///< the attempt's timeout, seconds; 0 = none
  double kill_grace_s = 10;  ///< seconds
  std::string chdir;         ///< the job's directory (the logs directory)
  std::string output_name;   ///< the batch script's output, relative to chdir, no '%'
  std::string script_path;   ///< absolute
};

/// Seconds before the time limit at which Slurm sends the batch script SIGTERM
/// (`--signal=B:TERM@N`): the attempt's grace plus 30 s to record its end.
int signal_lead_s(double kill_grace_s);

/// The job's time limit in whole minutes (Slurm rounds up anyway): settings.slurm.time
/// when set, else timeout + signal lead + 60 s; 0 = none (no timeout and no time).
long time_limit_minutes(const SbatchRequest& request);

/// sbatch's argv: `sbatch --parsable --no-requeue -J baton-RUN-TASK --comment
/// attempt=TOKEN --signal=B:TERM@N [--time=M] [--partition=P] [--account=A]
/// [--cpus-per-task=C] [--mem=MM] EXTRA... --chdir=DIR -o OUTPUT SCRIPT`. Every value is
/// an argv element of its own (no shell).
std::vector<std::string> sbatch_argv(const SbatchRequest& request);

/// How baton asks Slurm to stop a job (scancel(1)). Slurm refuses to signal a job
/// that is not running, and scancel retries that refusal for about 95 s: the state
/// filters (checked by scancel against the scheduler's answer) keep each request to
/// the jobs it suits, so the two requests of a cancel, kQueued then kBatchScript, stop
/// a job whether it is queued, starts in between, or runs.
enum class StopScope {
  /// `scancel --state=PENDING ID`: Slurm's cancel of a job still queued (nothing ran).
  kQueued,
  /// `scancel --batch --signal=TERM --state=RUNNING ID`: SIGTERM to the batch script's
  /// process only, which is `baton __slurm-attempt` (batch_script() execs it). It has
  /// the run supervisor cancel the attempt as on this machine: SIGTERM to the child's
  /// whole process group in one kill(2), kill_grace_s, SIGKILL; recorded kCancelled.
  kBatchScript,
  /// `scancel ID`: Slurm's cancel of the job in any state. For a running job Slurm
  /// signals each of its processes on its own, deepest first with
  /// proctrack/linuxproc (SIGCONT, SIGTERM, KillWait seconds, SIGKILL): a shell whose
  /// child got its SIGTERM first can run its next command before its own arrives. For
  /// a lost job, and as the last resort when the batch script did not end the job.
  kWholeJob,
};

/// scancel's argv for JOB_ID (digits, from sbatch) and SCOPE, as above.
std::vector<std::string> scancel_argv(const std::string& job_id, StopScope scope);

/// S in single quotes for /bin/sh ('\'' for each quote): any byte string is one word.
std::string shell_quote(std::string_view s);

/// The batch script: `#!/bin/sh` and one line, `exec BATON __slurm-attempt SPEC`, both
/// paths quoted with shell_quote(); everything the attempt runs is in the spec file.
std::string batch_script(const std::string& baton_path, const std::string& spec_path);

/// The job id in sbatch --parsable's answer ("123" or "123;cluster", then a newline).
/// Errors: no job id in it.
Result<std::string> parse_sbatch_answer(std::string_view out);

/// What the scheduler says of one job.
struct JobInfo {
  std::string state;    ///< PENDING, RUNNING, COMPLETED, TIMEOUT, ...
  std::string reason;   ///< state_reason ("None", "Resources", "NodeDown", ...)
  std::string comment;  ///< "attempt=TOKEN" for baton's jobs
};

/// squeue --json's jobs, by job id. Errors: not JSON, or no "jobs" list.
Result<std::map<std::string, JobInfo>> parse_squeue_json(std::string_view json);

/// One line of `scontrol show job -o`: JobState=, Reason=, Comment=. nullopt when it
/// has no JobId (e.g. "Invalid job id specified").
std::optional<JobInfo> parse_scontrol_job(std::string_view line);

/// Where a job is in its life, from its state.
enum class JobPhase {
  kQueued,   ///< PENDING, REQUEUED, SUSPENDED...: waiting for a node
  kRunning,  ///< RUNNING, CONFIGURING, COMPLETING, RESIZING, SIGNALING, STAGE_OUT
  kEnded,    ///< any other state (COMPLETED, FAILED, TIMEOUT, CANCELLED, NODE_FAIL, ...)
};
JobPhase phase_of(const std::string& state);

/// baton's error class for a job that ended in STATE without an exit record:
/// TIMEOUT, DEADLINE -> "timeout"; OUT_OF_MEMORY -> "permanent"; NODE_FAIL, BOOT_FAIL,
/// PREEMPTED -> "transient"; CANCELLED -> "cancelled"; else "transient".
std::string error_class_of(const std::string& state);

/// "TIMEOUT: the job reached its time limit" etc.: STATE and what it means, plus REASON
/// when it says more than "None".
std::string describe_state(const std::string& state, const std::string& reason);

}  // namespace baton::executor
