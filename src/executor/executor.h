// Executor: where an attempt runs, between the engine's driver (engine/run.cc) and the
// processes (exec/). The driver hands each attempt to the executor its task names
// (settings.executor, a task's `executor:`) and hears back once, when it ended.
//
// Contract of every executor (what the driver relies on, ARCHITECTURE.md "Executors"):
// - submit(): the attempt's row is already committed `running` (engine/run.h). The
//   executor records durably, beside the attempt's log, whatever identifies the attempt
//   outside baton (the local run supervisor's control file; a Slurm job's token and id,
//   executor/slurm_record.h) BEFORE it can run, so that a `baton resume` after a crash
//   finds it again and never submits it twice.
// - The end callback runs once, on the loop's thread, with how the attempt ended
//   (collect: exit status, stdout, stderr tail, times); the log is complete on disk by
//   then. The worktree's commit is the engine's (engine/workspaces.h), after the end.
// - terminate() asks for a stop with grace (the result is kCancelled); kill_now() without.
// - recover() re-attaches after a crash of the orchestrator to an attempt inspect() says
//   is running; clean_up_lost() makes sure nothing of a lost attempt runs on.
// REQUIRES: the loop outlives every handle made on it.
// Thread safety: an executor and its handles belong to the loop's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "exec/process.h"
#include "exec/supervised.h"
#include "util/error.h"

struct uv_loop_s;

namespace baton::executor {

/// How an attempt ended, as its executor saw it.
struct AttemptEnd {
  exec::ProcessResult result;
  /// An error class the executor knows better than the exit status does ("timeout"
  /// for a Slurm job that hit its time limit, "node_failure", ...); "" = judged from
  /// `result` as for any attempt (engine/attempt.h).
  std::string error_class;
};
using EndCallback = std::function<void(const AttemptEnd&)>;

/// One attempt to run: the process and who it is for (job names, docs).
struct AttemptRequest {
  exec::ProcessSpec process;  ///< log_path non-empty: the attempt's files sit beside it
  std::string run_id;
  std::string task_id;
  int attempt = 0;
};

/// A submitted attempt. Destroying one that still runs stops it (like ~Supervised),
/// unless it was detached.
class AttemptHandle {
 public:
  virtual ~AttemptHandle() = default;
  /// Stop with grace: TERM, kill_grace_s, KILL; the end is reported kCancelled.
  virtual void terminate() = 0;
  /// Stop now (a second Ctrl-C); the end is reported kCancelled.
  virtual void kill_now() = 0;
  /// Forget the attempt, leaving it running: the callback is never called.
  virtual void detach() = 0;
  /// True until the end callback ran (false after detach()).
  virtual bool running() const = 0;
  /// What identifies the attempt outside baton: "" locally, the Slurm job id.
  virtual std::string external_id() const { return ""; }
  /// Where the attempt is, when it is not simply running: "queued on slurm" while the
  /// job waits for a node; "" otherwise.
  virtual std::string note() const { return ""; }
};

/// Runs attempts somewhere.
class Executor {
 public:
  virtual ~Executor() = default;
  /// "local" or "slurm".
  virtual const char* name() const = 0;
  /// Starts REQUEST (see the contract above). Errors: the attempt's files cannot be
  /// written, or the executor refused it (sbatch failed: its message); nothing runs.
  virtual Result<std::unique_ptr<AttemptHandle>> submit(uv_loop_s* loop, AttemptRequest request,
                                                        EndCallback on_end) = 0;
  /// What became of the attempt whose control file is CONTROL_PATH
  /// (exec::control_path_for(log_path)), without taking part in it; never blocks for
  /// long (a Slurm executor asks the scheduler, bounded).
  virtual exec::AttemptState inspect(const std::string& control_path) = 0;
  /// Re-attaches to an attempt inspect() said is running. Errors as Supervised::attach.
  virtual Result<std::unique_ptr<AttemptHandle>> recover(uv_loop_s* loop,
                                                         const std::string& control_path,
                                                         EndCallback on_end) = 0;
  /// For an attempt inspect() said is lost: makes sure nothing of it runs on, and that
  /// a late end it may still record is never taken. Errors: it is not lost, or the
  /// files cannot be written.
  virtual Result<void> clean_up_lost(const std::string& control_path) = 0;
};

/// The executor under baton's own run supervisor (exec/supervised.h): exactly what
/// the driver did before executors existed.
std::unique_ptr<Executor> make_local_executor();

/// For `baton cancel` of a run whose orchestrator is gone: stops the attempt whose
/// control file is CONTROL_PATH wherever it runs (scancel for a Slurm job, else
/// exec::cancel_attempt). Errors: it is not running.
Result<void> cancel_recorded_attempt(const std::string& control_path);

}  // namespace baton::executor
