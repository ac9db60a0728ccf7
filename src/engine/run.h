// RunDriver: executes one run of a workflow on a libuv event loop.
//
// The loop is single-threaded and never blocks on a child: processes, pipes,
// timers (retries, the live view's tick) and signals (SIGINT, SIGTERM) are all
// loop events. The Scheduler decides; the driver persists and acts, in this order
// (ARCHITECTURE.md, "What is durable before what"):
//   1. scheduler.advance() decides transitions and attempts to start;
//   2. one store transaction records them (task rows, attempt rows, events);
//   3. only then are the attempts' processes started.
// When a process ends, its log is already fsync'd (exec::Process); the attempt's
// end, the task's transition and any newly started attempts are again one
// transaction before the next processes start.
//
// Hooks (docs/gates-and-resume.md, "Hooks"): on_start runs before the first task; if it fails, no
// task runs and the run fails. Then on_success or on_failure, then on_complete,
// run after the tasks; their failures are reported (events, summary, exit status
// unchanged), never hidden. Hook tasks run one at a time, in order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/attempt.h"
#include "engine/clock.h"
#include "engine/scheduler.h"
#include "store/store.h"
#include "workflow/model.h"

namespace baton::engine {

/// What a SIGINT (Ctrl-C) or SIGTERM did to a run, for RunObserver::on_interrupt().
struct Interrupt {
  int signo = 0;  ///< SIGINT or SIGTERM
  /// Attempts (tasks and hooks) being stopped: SIGTERM to each group, SIGKILL after
  /// grace_s; with kill_now, SIGKILL to each group at once.
  int stopping = 0;
  double grace_s = 0;     ///< settings.kill_grace_s, seconds
  bool kill_now = false;  ///< a second signal: the attempts are killed without grace
  int waiting = 0;        ///< SIGINT: tasks left waiting for `baton approve` (not cancelled)
};

/// Receives what happens during a run, for display. Called on the loop thread.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  /// The run row exists; tasks are about to be scheduled. ACTIVE_BEFORE_S: the seconds
  /// earlier orchestrators of this run ran it (0 for a new run; active_seconds()).
  virtual void on_run_started(const store::RunRecord& run, const Scheduler& scheduler,
                              double active_before_s) {}
  /// SIGINT or SIGTERM reached the orchestrator (once per signal).
  virtual void on_interrupt(const Scheduler& scheduler, const Interrupt& interrupt) {}
  /// The terminal was resized (SIGWINCH).
  virtual void on_resize(const Scheduler& scheduler) {}
  /// A task (or hook, with TASK_ID "hook:...") changed state.
  virtual void on_transition(const Scheduler& scheduler, const Transition& transition) {}
  /// A hook task ended. OK is false when it failed; REASON says why.
  virtual void on_hook_finished(const std::string& hook_id, bool ok, const std::string& reason) {}
  /// `baton pause` reached the orchestrator: nothing new starts; running attempts finish.
  virtual void on_paused(const Scheduler& scheduler) {}
  /// Called every tick_interval_s() while the run is live (0 = never).
  virtual void on_tick(const Scheduler& scheduler) {}
  virtual double tick_interval_s() const { return 0; }
};

/// How a task ended in another baton process: in GitHub Actions, the job of an upstream
/// task (docs/github-actions.md). execute_run() records it as the task's state before
/// anything starts, so that conditions and templates of this run read it as they would
/// a task that ended here.
struct ImportedTask {
  TaskStatus status = TaskStatus::kSuccess;  ///< success, failed, skipped or cancelled
  std::string output;                        ///< as recorded; a JSON object gives named outputs
  std::optional<int> exit_code;
  std::string reason;
  std::string agent;
  int attempts = 0;
  double cost_usd = 0;  ///< USD spent by its attempts: counts toward settings.max_cost_usd
  double started_at = 0;
  double ended_at = 0;
  /// Where the result came from (e.g. the producing run's id and its audit chain's head
  /// hash): recorded under "imported" in the data of the task's status event, so this
  /// run's audit chain names the chains it builds on.
  nlohmann::json source = nlohmann::json::object();
};

/// What the caller decides about a run.
struct RunOptions {
  std::string run_id;     ///< "" = generate (YYYYMMDD-HHMMSS-xxxx)
  std::string root_dir;   ///< where tasks run (absolute)
  std::string state_dir;  ///< .baton directory (absolute); logs under runs/<id>/
  nlohmann::json inputs = nlohmann::json::object();        ///< merged input values
  std::map<std::string, workflow::RoleSpec> config_roles;  ///< from .baton/config.yaml
  uint64_t jitter_seed = 0;
  /// Agent attempts only, called after the command is built and before anything is
  /// recorded or started: may change the process (environment, files it needs).
  /// `baton run --rehearse` points the agent at the scripted model server here.
  /// An error fails the attempt (not retried) with the error's message.
  std::function<Result<void>(const std::string& agent, const AttemptPlace& place,
                             exec::ProcessSpec& process)>
      prepare_agent_process;
  /// When nothing can progress except tasks waiting for `baton approve`: false =
  /// wait for the approval (SIGUSR1); true = record the run as waiting and return
  /// (RunStatus::kWaiting) so that `baton resume` continues it later.
  bool no_wait = false;
  /// Tasks that ended elsewhere, by task id (`baton run --only`/`--finish`): recorded
  /// with their status at the run's start and never run here. Each must be a task of
  /// the workflow and end (success, failed, skipped, cancelled); a cancelled one stays
  /// cancelled. execute_run() only.
  std::map<std::string, ImportedTask> imported;
};

/// What `baton resume` (or `baton retry`) tells the driver besides RunOptions.
struct ResumeOptions {
  /// Tasks `baton retry` reset to pending: their retry budget starts afresh.
  std::vector<std::string> retried;
  bool forced = false;               ///< --force: the workflow changed since the run started
  std::vector<std::string> changed;  ///< what changed (spec_changes()), for the event
};

/// How a run ended.
struct RunOutcome {
  std::string run_id;
  /// kPaused / kWaiting: the run stopped until `baton resume` (RunOptions::no_wait).
  RunStatus status = RunStatus::kRunning;
  int interrupted_by_signal = 0;  ///< SIGINT/SIGTERM number when interrupted, else 0
  /// The SIGTERM came from `baton cancel` (it records run.cancel_requested first).
  bool cancel_requested = false;
  std::vector<std::string> hook_failures;  ///< "on_failure.1: exited 1"
  std::string run_branch;   ///< "baton/<run>" when worktree tasks were integrated, else ""
  std::string integration;  ///< one line on the integration for the summary; "" = none
  /// Reviews that were not cross-agent (single-agent mode, docs/review.md), one line
  /// each for the summary: "task 'a' was reviewed by claude, the agent that implemented
  /// it (single-agent mode): the review was not cross-agent".
  std::vector<std::string> review_warnings;
};

/// Where attempt NUMBER (1-based) of task TASK_ID logs: RUN_DIR/logs/TASK_ID.NUMBER.log
/// (its control file is exec::control_path_for() of it). A plain command task's attempt
/// may start before its row is committed (docs/gates-and-resume.md, ARCHITECTURE.md); `baton
/// resume` and `baton cancel` find it there: the next attempt of a task recorded ready.
std::string attempt_log_path(const std::string& run_dir, const std::string& task_id, int number);

/// Executes WORKFLOW to the end (or until interrupted) and returns how it ended.
/// REQUIRES: WORKFLOW passed validation with the same inputs. Errors: the store
/// refused a write (the run is then cancelled: running attempts are terminated
/// and reaped before returning), the loop could not be set up.
Result<RunOutcome> execute_run(const workflow::Workflow& workflow, store::Store& store,
                               const RunOptions& options, RunObserver& observer,
                               const Clock& clock);

/// Continues recorded run RUN (`baton resume`, docs/gates-and-resume.md) with WORKFLOW, which
/// the caller loaded from run.workflow_path and checked (spec_changes()). Takes the
/// run lock (error when a live orchestrator holds it). Rebuilds the scheduler from
/// the store: success, skipped and failed tasks stay; cancelled and ready ones become
/// pending; waiting ones keep waiting; a task recorded running is handled by its
/// attempt's control file (exec/supervised.h), through the executor that ran it (a
/// Slurm job by its record, executor/slurm.h): re-attached if its supervisor (or job)
/// still runs, judged from the recorded end if it finished (an attempt the earlier
/// orchestrator cancelled but could not record runs again under the next number,
/// without using a retry), started again uncounted if it never started, or counted
/// failed ("supervisor died") and retried if it was lost.
/// on_start hooks do not run again. Inputs are the run's recorded inputs. Events:
/// run.resumed, task.* for the tasks whose state changed, attempt.reattached,
/// attempt.recovered, attempt.not_started, attempt.lost. Errors as execute_run().
Result<RunOutcome> resume_run(const workflow::Workflow& workflow, store::Store& store,
                              const store::RunRecord& run, const RunOptions& options,
                              const ResumeOptions& resume, RunObserver& observer,
                              const Clock& clock);

/// How long orchestrators ran the run whose events (in seq order) are EVENTS, in
/// seconds: the sum over its orchestrators of the time from its start (run.created or
/// run.resumed) to its end (run.finished, run.paused or run.waiting), or, for one that
/// was killed, to its last event (the last moment it is known to have run). The time
/// baton was down is not counted. Events before the first start are ignored.
double active_seconds(const std::vector<store::Event>& events);

/// active_seconds() over events given one at a time (Store::for_each_event), so the
/// events of a large run need not be in memory at once: add() each in seq order, then
/// total().
class ActiveSeconds {
 public:
  /// The run's next event.
  void add(const store::Event& e);
  /// active_seconds() of the events added so far.
  double total() const;

 private:
  double total_ = 0;
  std::optional<double> start_;  // the current orchestrator's start
  double last_ = 0;              // its latest event
};

/// A new run id: UTC time plus 4 random hex digits, e.g. "20261124-014512-3fa9".
std::string new_run_id(const Clock& clock);

/// How a run records its workflow file PATH (as given, relative to the current
/// directory): relative to the project ROOT when the file is inside it, so `baton
/// resume` finds it from any directory of the project (and after the project moves),
/// else absolute. "flow.yaml" run from ROOT/sub gives "sub/flow.yaml".
std::string stored_workflow_path(const std::string& path, const std::string& root);

}  // namespace baton::engine
