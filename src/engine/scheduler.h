// Scheduler: the run's state machine, free of I/O.
//
// It knows the DAG, each task's state and attempts, and the limits; it decides
// what becomes ready, skipped or cancelled, which ready tasks start (declaration
// order as the tie-break, never more than settings.max_parallel at once, nor more
// attempts of an agent or of a role than its limit: settings.agent_limits,
// settings.role_limits; a ready task without a free slot waits, noted "waiting for a
// claude slot", and the next ready task in declaration order may start), when a
// failed attempt is retried (backoff, jitter), and what the run's status is. It
// never starts a process and never reads the real time: the driver (run.h) does
// I/O, and tests drive it with a fake clock and scripted outcomes.
//
// Dependency rules (docs/failures.md):
// - A task becomes resolvable when every dependency is terminal.
// - If a dependency failed or was cancelled, the task is cancelled ("dependency
//   'x' failed") and never runs. A skipped dependency does not block: dependants
//   run and can read `${x.status}`.
// - Otherwise its condition is evaluated: false -> skipped, true -> ready; an
//   evaluation error fails the task.
//
// Human control (docs/gates-and-resume.md):
// - A task with a `gate` becomes waiting instead of ready; approve() makes it ready
//   (its work then runs) or, for a gate with no work, succeeds it; reject() fails it.
// - A task with `on_failure: escalate` whose attempts and fallback agents all
//   failed becomes waiting too; approve() succeeds it, reject() fails it.
// - An agent attempt that ends with a question (AttemptOutcome::question, an A2A
//   agent's input-required) makes its task wait; approve() with the answer makes it
//   ready (the next attempt carries the answer, not counted as a retry), reject()
//   fails it.
// - pause(): nothing new starts; running attempts finish; run_status() becomes
//   paused once none runs.
// - restore(): a resumed run starts from the states the store recorded.
//
// Review cycles (docs/review.md): a task with `review` whose attempt succeeded is not
// done yet. It goes back to ready "in review (cycle 1/3)" and its next attempt is a
// review, by the first installed agent of review.agent that is not the implementer
// (the same agent in single-agent mode, after settings.single_agent_pause). The review
// attempt's verdict (AttemptOutcome::verdict) approves it (success: dependants may
// start) or requests changes: ready again, "changes requested (cycle 2/3)", and its
// next attempt is the implementer's rework (resuming its session), then a review
// again. After review.max_cycles reviews without approval it waits for a person
// (on_exhausted: escalate; approve keeps the work's output) or fails. A review attempt
// that fails (no valid verdict included) is retried by the task's retry policy, counted
// apart from the implementer's attempts; a reviewer that fails for good (auth, a
// permanent error, its retries used up) hands the review to the next agent of
// review.agent (with `fallback: next_in_list`, the default), and only when none is
// left does the task fail, naming each. Every attempt of either kind takes the task's
// next attempt number.
// Thread safety: none; one thread drives a Scheduler.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/review.h"
#include "engine/slots.h"
#include "engine/task_status.h"
#include "expr/expr.h"
#include "util/error.h"
#include "workflow/model.h"

namespace baton::engine {

/// The state only agent tasks have (TaskState::agent_state()): most tasks of a large
/// run are commands, which do not pay for it (about 110 bytes a task).
struct AgentTaskState {
  std::vector<std::string> candidates;    ///< installed agents in preference order
  int agent_index = 0;                    ///< index in candidates of the current agent
  std::vector<std::string> agents_tried;  ///< distinct agents that ran an attempt, in order
  std::string session_id;                 ///< session id reported by the latest attempt
  std::string session_agent;              ///< the agent that reported session_id
  ReviewProgress review;                  ///< tasks with `review`: where the cycles are
  /// The latest attempt ended asking a question (AttemptOutcome::question): the task
  /// waits for a person's answer (`baton approve --comment`), recorded as gate "input".
  bool needs_input = false;
  /// The answer approve() gave to that question: the task's next attempts carry it
  /// (agents::Invocation::answer) until one ends; recorded as gate "answered" with the
  /// answer as the task's output.
  std::optional<std::string> answer;
};

/// The live state of one task.
struct TaskState {
  TaskStatus status = TaskStatus::kPending;
  bool timed_out = false;  ///< the latest attempt was stopped by its timeout
  // Gates and escalation:
  bool gate_passed = false;  ///< the task's gate was approved: its work may start
  bool escalated = false;    ///< waiting because it failed under on_failure: escalate
  int attempts = 0;          ///< attempts started
  std::optional<int> exit_code;
  std::string agent;   ///< agent of the latest attempt (set when it starts)
  std::string output;  ///< final output of the latest attempt
  /// named outputs: a JSON object, or null when the task has none (templates read null
  /// as {}); null by default so that a task without outputs allocates no empty map
  nlohmann::json outputs;
  std::string reason;     ///< why it failed, was skipped, cancelled or is waiting
  double retry_at = 0;    ///< when pending for a retry: earliest start, Unix s
  double started_at = 0;  ///< first attempt's start
  double ended_at = 0;
  int agent_attempts = 0;  ///< attempts started with the current agent (commands: all)
  double cost_usd = 0;     ///< cost of every attempt so far, USD

  /// Agent tasks' state (set_agents(), attempts' sessions), or an empty one when the
  /// task has none. The reference stays valid until the task's state is changed.
  const AgentTaskState& agent_state() const;
  /// The agent tasks' state for writing: allocated on first use.
  AgentTaskState& mutable_agent_state();
  /// Read access to agent_state()'s fields.
  const std::vector<std::string>& candidates() const { return agent_state().candidates; }
  int agent_index() const { return agent_state().agent_index; }
  const std::vector<std::string>& agents_tried() const { return agent_state().agents_tried; }
  const std::string& session_id() const { return agent_state().session_id; }
  const std::string& session_agent() const { return agent_state().session_agent; }

  TaskState() = default;
  TaskState(const TaskState& other) { *this = other; }
  TaskState& operator=(const TaskState& other);
  TaskState(TaskState&&) noexcept = default;
  TaskState& operator=(TaskState&&) noexcept = default;

 private:
  std::unique_ptr<AgentTaskState> agent_;  // null until mutable_agent_state()
};

/// How an attempt ended, as the driver reports it.
struct AttemptOutcome {
  bool success = false;
  std::string output;      ///< stdout (trimmed) or the agent's answer
  nlohmann::json outputs;  ///< named outputs: a JSON object, or null when there are none
  std::optional<int> exit_code;
  std::string reason;                   ///< e.g. "exited 1", "timed out after 30s (SIGTERM)"
  bool cancelled = false;               ///< terminated on request: never retried
  bool timed_out = false;               ///< stopped by its timeout (TERM, grace, KILL)
  bool retryable = true;                ///< false: no retry whatever the policy (auth errors)
  std::optional<double> retry_after_s;  ///< lower bound on the next delay, seconds
  std::string agent;
  /// Agent tasks: "" | auth | rate_limit | timeout | transient | permanent | cancelled.
  /// auth never retries the same agent; auth and permanent move to the next agent
  /// (fallback next_in_list) at once.
  std::string error_class;
  std::string session_id;          ///< the agent's session, for resume_session
  std::optional<double> cost_usd;  ///< what the attempt cost, USD, when known
  /// `output` was cut at kMaxTaskOutputBytes (attempt.h) and ends with the marker.
  bool output_truncated = false;
  /// A review attempt that succeeded: the verdict the driver read from its answer
  /// (parse_verdict()). A review attempt without one must be reported failed instead.
  std::optional<ReviewVerdict> verdict;
  /// The agent did not finish: it asks this and waits for an answer (an A2A agent's
  /// `input-required`). Not a failure: the task waits for a person (a gate whose reason
  /// is "input required: QUESTION"); approve(TASK, ANSWER) makes it ready again and its
  /// next attempt carries ANSWER. Ignored while the run is cancelled or stopping.
  std::optional<std::string> question;
};

/// A recorded state change.
struct Transition {
  int task = -1;
  TaskStatus from = TaskStatus::kPending;
  TaskStatus to = TaskStatus::kPending;
  int attempt = 0;  ///< the attempt it concerns (0 = none)
  std::string reason;
  double time = 0;  ///< Unix seconds
};

/// An attempt the driver must start now.
struct StartRequest {
  int task = -1;
  int attempt = 0;                ///< 1-based
  std::string agent;              ///< agent tasks with candidates: the agent to run; else ""
  std::string resume_session_id;  ///< resume_session: the session to resume; else ""
  bool review = false;            ///< a review of the task's work by `agent` (docs/review.md)
  int cycle = 0;                  ///< tasks with `review`: the cycle (1-based); else 0
};

/// What advance() decided.
struct Step {
  std::vector<Transition> transitions;  ///< in the order they happened
  std::vector<StartRequest> starts;     ///< tasks already marked running
};

/// Values templates and conditions can read besides task results.
struct RunContext {
  std::string run_id;
  std::string run_name;
  nlohmann::json inputs = nlohmann::json::object();     ///< merged: defaults, -i values
  nlohmann::json variables = nlohmann::json::object();  ///< context.variables
};

class Scheduler {
 public:
  /// REQUIRES: WORKFLOW passed validation (ids unique, dependencies exist, acyclic).
  /// WORKFLOW and CLOCK must outlive the scheduler. JITTER_SEED makes jitter repeatable.
  Scheduler(const workflow::Workflow& workflow, const Clock& clock, RunContext context,
            uint64_t jitter_seed = 0);

  /// Does everything that can happen at clock.now(): resolves tasks whose
  /// dependencies ended, returns due retries to ready, and starts ready tasks
  /// in declaration order up to max_parallel. An agent task whose agent (the current
  /// candidate) or role has every slot taken (settings.agent_limits, role_limits)
  /// stays ready with reason "waiting for a claude slot" (or "... slot of role 'r'"),
  /// recorded as a ready -> ready transition, until an attempt holding such a slot
  /// ends; later ready tasks may start meanwhile.
  /// Also returns the transitions that
  /// attempt_finished(), stop() and cancel() queued since the last call.
  Step advance();
  /// advance() without its starts: due retries back to ready and every task whose
  /// dependencies ended resolved (ready, skipped, waiting at its gate, or cancelled while
  /// the run stops); Step::starts is empty and nothing is running that was not. The
  /// driver records a new run's first such step in the transaction that creates the
  /// run, so the tasks ready at the start are durably ready before any of them starts.
  Step advance_without_starts();

  /// Sets the agents an agent task may use, in preference order (installed ones
  /// only; the driver resolves roles). Attempts go to AGENTS[0] first; the task's
  /// `fallback` decides when the next one takes over. Call before the first advance().
  void set_agents(int task, std::vector<std::string> agents);

  /// Sets the agents that may review task TASK (`review.agent` resolved: installed ones,
  /// in preference order). The first that is not the implementer reviews; none such:
  /// in single-agent mode the implementer itself, else the task fails ("no reviewer").
  /// Call before the first advance() (and before restore()).
  void set_reviewers(int task, std::vector<std::string> agents);

  /// Single-agent mode (docs/review.md): the implementer may review its own work, after
  /// settings.single_agent_pause. Starts as settings.single_agent; the driver turns it
  /// on when only one agent is installed.
  void set_single_agent(bool on) { single_agent_ = on; }
  bool single_agent() const { return single_agent_; }

  /// Total cost of the run's attempts so far, USD.
  double cost_usd() const { return cost_usd_; }

  /// Reports the end of attempt ATTEMPT of running task TASK. REQUIRES: it is running.
  /// OUTCOME.cancelled makes the task cancelled only while the run is cancelled or
  /// stopping (cancel(), stop()); otherwise the attempt was stopped by someone else and
  /// counts as a failed attempt, retried by the task's policy.
  void attempt_finished(int task, int attempt, const AttemptOutcome& outcome);

  /// settings.on_failure = stop: nothing new starts; pending and ready tasks are
  /// cancelled with REASON; running tasks finish and are recorded as they end.
  void stop(const std::string& reason);

  /// Cancels the run (Ctrl-C, baton cancel): like stop(), and the run's status
  /// becomes cancelled. Returns the running tasks, which the driver must terminate
  /// and then report with outcome.cancelled = true. With KEEP_WAITING (Ctrl-C), tasks
  /// waiting for `baton approve` stay waiting instead of being cancelled, so that the
  /// decision can still be given and `baton resume` continues from it; the run then
  /// ends (settled()) once nothing runs.
  std::vector<int> cancel(const std::string& reason, bool keep_waiting = false);

  /// Approves waiting task TASK (`baton approve`): a gate with work becomes ready
  /// (the work runs next); a gate without work or an escalated task succeeds with
  /// output COMMENT; a task waiting for input becomes ready with COMMENT as the
  /// answer (AgentTaskState::answer, also its output until the next attempt ends). Errors: TASK is
  /// not waiting (the message names its state).
  Result<void> approve(int task, const std::string& comment);

  /// The question TASK's agent waits on will not be answered (its task was rejected
  /// or cancelled, and the driver ended what the agent waited for): needs_input is
  /// cleared. No transition.
  void input_abandoned(int task) {
    if (tasks_[task].agent_state().needs_input)
      tasks_[task].mutable_agent_state().needs_input = false;
  }

  /// Rejects waiting task TASK: it fails with reason "rejected: REASON" (and the
  /// run stops when settings.on_failure is stop). Errors: TASK is not waiting.
  Result<void> reject(int task, const std::string& reason);

  /// `baton pause`: from now on no attempt starts (due retries become ready and
  /// stay); running attempts finish and are recorded. run_status() is paused once
  /// nothing runs.
  void pause();
  bool paused() const { return paused_; }

  /// Starts a resumed run from recorded STATES (one per task, in declaration
  /// order). REQUIRES: before the first advance(), after set_agents(). A running
  /// task holds a slot of its recorded agent and of its role (agent and role limits),
  /// even past a limit. Mapping:
  /// success, skipped and failed stay (terminal); ready and cancelled become pending
  /// (resolved again); pending, waiting and running stay. A running task keeps its
  /// attempt: the driver must report it (attempt_finished) or call restart_attempt().
  /// candidates are kept from set_agents(); agent_index is the position of
  /// STATES[i].agent among them (0 if absent); agent_attempts as given. A reviewed task's
  /// cycle (agent_state().review, rebuilt by the driver's ReviewLog) is kept as given:
  /// its next attempt is the review or the rework that cycle says.
  /// KEEP_CANCELLED: cancelled stays cancelled (terminal), for results imported from
  /// elsewhere (RunOptions::imported) that must not run here.
  void restore(std::vector<TaskState> states, bool keep_cancelled = false);

  /// A restored running task whose attempt never started (its process was never
  /// spawned): it goes back to ready without counting the attempt, so the next
  /// start reuses the same attempt number. REQUIRES: TASK is running.
  void restart_attempt(int task, const std::string& reason);

  /// A running task whose attempt an earlier orchestrator of this run cancelled (a
  /// resumed run found it ended "cancelled": that orchestrator died or its store failed
  /// before recording it): the task goes back to ready, as restore() does for a cancelled
  /// task. The attempt keeps its number (the next start takes the next one) but does not
  /// count toward the retry budget. While the run stops, the task is cancelled instead.
  /// REQUIRES: TASK is running.
  void requeue_attempt(int task, const std::string& reason);

  /// True once every task is terminal.
  bool finished() const { return terminal_count_ == tasks_.size(); }
  /// True when nothing more will happen in this run: finished(), or cancelled with
  /// nothing running (tasks kept waiting by cancel(..., true) stay waiting).
  bool settled() const { return finished() || (cancelled_ && running_ == 0); }
  /// True when nothing can progress without a person: the run is not finished,
  /// nothing runs, is ready, resolvable or due for a retry, and a task is waiting.
  bool blocked_on_gates() const;
  /// Tasks waiting for `baton approve`, in declaration order.
  std::vector<int> waiting_tasks() const;
  /// The earliest time a pending retry becomes due, if any.
  std::optional<double> next_wakeup() const;
  /// The run's status: cancelled once cancel() was called; paused when paused and
  /// nothing runs; waiting when blocked_on_gates(); running until finished(); then
  /// success when every task succeeded or was skipped (its condition was false, or
  /// on_failure: skip), else failed (a task failed or was cancelled: a failed
  /// dependency, stop() after a failure or a used-up budget).
  RunStatus run_status() const;

  int task_count() const { return static_cast<int>(tasks_.size()); }
  int running_count() const { return running_; }
  const TaskState& task(int index) const { return tasks_[index]; }
  const workflow::TaskSpec& spec(int index) const { return workflow_.tasks[index]; }
  const workflow::Workflow& workflow() const { return workflow_; }

  /// The scope templates are rendered in: task results so far, inputs, variables,
  /// run.id/name/status, env.NAME. Valid as long as the scheduler.
  const expr::Scope& scope() const { return *scope_; }

  /// The delay before retry number RETRY (1 = the first retry) under POLICY, with
  /// jitter drawn from the scheduler's seeded generator. Seconds.
  double retry_delay(const workflow::RetryPolicy& policy, int retry);

 private:
  class TaskScope;

  void set_status(int task, TaskStatus to, int attempt, std::string reason);
  void fail_task(int task, int attempt, const std::string& reason);
  void schedule_retry(int task, double delay, const std::string& reason);
  void on_terminal(int task);
  void resolve(int task);
  void wait_for_person(int task, int attempt, std::string message);
  /// An attempt of TASK that did not run after all (restart_attempt, requeue_attempt)
  /// gives back what it counted: the implementer's attempt, or the review's.
  void uncount_attempt(int task);
  /// The review label of TASK (review_label()), or "" without review.
  std::string progress_label(int task) const;
  /// attempt_finished() of a review attempt of TASK (review phase).
  void review_finished(int task, int attempt, const AttemptOutcome& outcome);
  /// TASK's implementing attempt ATTEMPT succeeded: its review comes next.
  void start_review(int task, int attempt);
  /// The agent to review TASK's work done by IMPLEMENTER, or "" when none may: the
  /// first of set_reviewers() that is not IMPLEMENTER (in single-agent mode IMPLEMENTER
  /// first) and has not failed for good (ReviewProgress::failed_reviewers).
  std::string choose_reviewer(int task, const std::string& implementer) const;
  /// Why TASK has no reviewer (choose_reviewer() gave ""): none installed but the
  /// implementer, or each that was tried and why it failed.
  std::string no_reviewer_reason(int task, const std::string& implementer) const;
  std::string gate_message(int task);
  /// The slot keys of an attempt of TASK on AGENT ("": the task's current candidate,
  /// else its `agent:` for an agent task without candidates).
  ConcurrencySlots::Keys slot_keys(int task, const std::string& agent) const;
  /// Running task TASK takes (gives back) its slots; held_ remembers which.
  void take_slots(int task, const std::string& agent);
  void give_back_slots(int task);
  /// Moves up to slots_.free(KEY) tasks waiting for KEY (that no other key blocks) to
  /// ready_, first declared first. Returns whether it moved any.
  bool refill(int key);
  /// advance()'s starts: ready tasks in declaration order into STEP while max_parallel
  /// allows; a task without a free slot joins that key's waiters, and its other key is
  /// added to RECHECK. NOW: the clock's time, Unix s.
  void start_ready(double now, Step* step, std::vector<int>* recheck);
  /// advance() (START) or advance_without_starts().
  Step advance_at(bool start);

  /// Lists of task indices per task in two flat arrays (compressed rows): the lists of
  /// 100,000 tasks cost 4 bytes a task plus the edges, not a vector (24 bytes) each.
  class Adjacency {
   public:
    /// The list of TASK.
    std::span<const int> operator[](int task) const {
      return {items_.data() + offsets_[task], items_.data() + offsets_[task + 1]};
    }

   private:
    friend class Scheduler;
    std::vector<uint32_t> offsets_;  // task -> start in items_; size tasks + 1
    std::vector<int> items_;
  };
  /// Task indices, smallest first (declaration order): a binary heap in a vector, 4 bytes
  /// an entry where a std::set node costs 40 (every task of a wide run is ready at once).
  class TaskQueue {
   public:
    void push(int task);
    /// Removes and returns the smallest. REQUIRES: !empty().
    int pop();
    bool empty() const { return heap_.empty(); }
    void clear() { heap_.clear(); }

   private:
    std::vector<int> heap_;
  };
  /// A task's condition: parsed, or the reason it does not parse. Only tasks with a
  /// condition have one (sorted by task).
  struct Condition {
    int task = -1;
    std::optional<expr::Template> parsed;
    std::string error;  ///< "invalid condition: ..." when it does not parse
  };
  /// The condition of TASK, or null when it has none.
  const Condition* condition(int task) const;

  const workflow::Workflow& workflow_;
  const Clock& clock_;
  RunContext context_;
  std::vector<TaskState> tasks_;
  Adjacency dependencies_;            // task -> its dependencies
  Adjacency dependants_;              // task -> tasks that depend on it
  std::vector<int> unfinished_deps_;  // task -> dependencies not yet terminal
  std::vector<Condition> conditions_;
  TaskQueue resolvable_;                      // pending, all dependencies terminal
  TaskQueue ready_;                           // ready to start, by declaration order
  std::set<std::pair<double, int>> retries_;  // (due time, task) pending retries
  std::vector<Transition> queued_;
  // Concurrency limits: the slots, the ready tasks waiting for each key's slot (back to
  // ready_ when one of its slots is given back), and the keys each running task holds.
  ConcurrencySlots slots_;
  std::vector<TaskQueue> slot_waiters_;         // key -> tasks, ready, waiting
  std::map<int, ConcurrencySlots::Keys> held_;  // running task -> its keys
  size_t terminal_count_ = 0;
  int running_ = 0;
  bool stopping_ = false;
  bool keep_waiting_ = false;  // cancel(..., true): stop() leaves waiting tasks waiting
  std::string stop_reason_;
  bool cancelled_ = false;
  bool paused_ = false;
  bool single_agent_ = false;
  std::map<int, std::vector<std::string>> reviewers_;  // task -> set_reviewers()
  int waiting_ = 0;                                    // tasks in state waiting
  bool any_failed_ = false;  // a task ended failed or cancelled: the run cannot succeed
  double cost_usd_ = 0;
  std::mt19937_64 rng_;
  std::unique_ptr<expr::Scope> scope_;
};

}  // namespace baton::engine
