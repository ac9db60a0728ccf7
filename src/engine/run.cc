#include "engine/run.h"

#include <uv.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>

#include "acp/invoker.h"
#include "agents/invoker.h"
#include "engine/attempt.h"
#include "engine/commit_thread.h"
#include "engine/iteration.h"
#include "engine/review.h"
#include "engine/review_log.h"
#include "engine/workspaces.h"
#include "exec/process.h"
#include "exec/supervised.h"
#include "executor/executor.h"
#include "executor/slurm.h"
#include "store/coalesce.h"
#include "store/process_identity.h"
#include "util/free_memory.h"

namespace baton::engine {

namespace fs = std::filesystem;

std::string stored_workflow_path(const std::string& path, const std::string& root) {
  std::error_code ec;
  fs::path file = fs::absolute(path, ec).lexically_normal();
  if (ec || root.empty()) return path;
  fs::path rel = file.lexically_relative(fs::path(root).lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return file.string();
  return rel.string();
}

std::string attempt_log_path(const std::string& run_dir, const std::string& task_id, int number) {
  // Joined as fs::path's operator/ would (one '/' after RUN_DIR), without building a path
  // per attempt: this runs once per attempt start, on the driver's loop.
  std::string path;
  path.reserve(run_dir.size() + task_id.size() + 24);
  path += run_dir;
  if (!path.empty() && path.back() != '/') path += '/';
  path += "logs/";
  path += task_id;
  path += '.';
  path += std::to_string(number);
  path += ".log";
  return path;
}

std::string new_run_id(const Clock& clock) {
  time_t t = static_cast<time_t>(clock.now());
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &utc);
  std::random_device rd;
  char suffix[8];
  snprintf(suffix, sizeof suffix, "-%04x", static_cast<unsigned>(rd() & 0xffff));
  return std::string(buf) + suffix;
}

void ActiveSeconds::add(const store::Event& e) {
  if (e.kind == "run.created" || e.kind == "run.resumed") {
    if (start_) total_ += std::max(0.0, last_ - *start_);  // killed: its last event
    start_ = last_ = e.time;
    return;
  }
  if (!start_) return;
  last_ = std::max(last_, e.time);
  if (e.kind == "run.finished" || e.kind == "run.paused" || e.kind == "run.waiting") {
    total_ += std::max(0.0, e.time - *start_);
    start_.reset();
  }
}

double ActiveSeconds::total() const {
  return start_ ? total_ + std::max(0.0, last_ - *start_) : total_;
}

double active_seconds(const std::vector<store::Event>& events) {
  ActiveSeconds active;
  for (const store::Event& e : events) active.add(e);
  return active.total();
}

namespace {

// Task rows (and their events) join a transaction in parts of this many, so the records
// of a 100,000-task run are never all in memory at once (bench/RESULTS.md, memory).
constexpr size_t kRecordsPerPart = 1024;

// A transaction that nothing waits for (Driver::pump(), "deferrable") is held at most
// this long (ms), or until this many records wait, so that the ends of a wide run's
// tasks share one commit (one fsync, each hot page written once).
constexpr uint64_t kDeferMs = 10;
constexpr size_t kMaxDeferredRecords = 4096;

// A new run of more tasks than this creates its run row with the rows of its first this
// many ready tasks only, and writes every other task's row on the commit thread while
// those run (Driver::run(), "the first transaction in two"): enough work to cover that
// second transaction (about 2 ms per 256 rows here, against about 0.5 ms per no-op task).
constexpr size_t kFirstRowsWithRun = 256;

// Every process start forks this process (libuv's uv_spawn), and fork copies the page
// table of every resident anonymous page, so a start costs time in proportion to
// baton's resident memory. Loading a large workflow frees most of what it allocated,
// but glibc keeps the freed pages mapped: release_free_memory() (util/free_memory.h)
// hands them back before the first start (bench/RESULTS.md: 10,000 tasks, 55 -> 19 MB
// anonymous, 17-38% less wall time).

/// One run on one loop. Owns every uv handle it opens and closes them all before
/// run() returns.
class Driver {
 public:
  Driver(const workflow::Workflow& wf, store::Store& store, const RunOptions& options,
         RunObserver& observer, const Clock& clock)
      : wf_(wf),
        store_(store),
        options_(options),
        observer_(observer),
        clock_(clock),
        run_id_(options.run_id.empty() ? new_run_id(clock) : options.run_id),
        sched_(wf, clock, RunContext{run_id_, wf.name, options.inputs, wf.variables},
               options.jitter_seed),
        resolver_(merged_roles(wf, options)),
        workspaces_(wf, run_id_, options.root_dir, options.state_dir) {}

  Result<RunOutcome> run();
  Result<RunOutcome> resume(const store::RunRecord& recorded, const ResumeOptions& resume);

 private:
  // A running attempt of a task (index >= 0) or a hook (index < 0), with its executor
  // (executor/executor.h): it outlives this process if baton is killed.
  struct Live {
    std::unique_ptr<executor::AttemptHandle> process;
    PreparedAttempt prepared;
    store::AttemptRecord record;
    int attempt = 0;
    bool inherited = false;  // started by an earlier orchestrator (resume): attached or recovered
    bool review = false;     // a review of the task's work (docs/review.md)
    int cycle = 0;           // tasks with review: the cycle; else 0
  };
  enum class Phase { kStartHooks, kTasks, kEndHooks, kDone };

  static std::map<std::string, workflow::RoleSpec> merged_roles(const workflow::Workflow& wf,
                                                                const RunOptions& options) {
    auto roles = options.config_roles;
    for (const auto& [name, role] : wf.agents) roles[name] = role;
    return roles;
  }

  std::string log_path(const std::string& id, int attempt) const {
    return attempt_log_path(run_dir_, id, attempt);
  }

  store::TaskRecord task_record(int task) const {
    return record_of(run_id_, wf_.tasks[task], task, sched_.task(task));
  }

  // The row of the task SPEC, at index TASK of the workflow, in state T, for the run
  // RUN_ID: what task_record() writes. It reads nothing else, so any thread may call
  // it (the new run's second transaction: run()).
  static store::TaskRecord record_of(const std::string& run_id, const workflow::TaskSpec& spec,
                                     int task, const TaskState& t) {
    store::TaskRecord r;
    r.run_id = run_id;
    r.task_id = spec.id;
    r.position = task;
    r.status = to_string(t.status);
    r.attempts = t.attempts;
    r.agent = t.agent;
    r.output = t.output;
    r.exit_code = t.exit_code;
    r.reason = t.reason;
    r.started_at = t.started_at;
    r.ended_at = t.ended_at;
    r.spec_sha256 = spec.spec_sha256();
    r.gate = t.gate_passed ? "approved" : (t.escalated ? "escalated" : "");
    // Waiting for an answer to the agent's question, or carrying it (the answer is the
    // output then): a resumed run finds both (recorded_states()).
    if (t.agent_state().needs_input) r.gate = "input";
    if (t.agent_state().answer) r.gate = "answered";
    return r;
  }

  store::Event event(const std::string& task_id, const std::string& kind, nlohmann::json data) {
    store::Event e;
    e.time = clock_.now();
    e.run_id = run_id_;
    e.task_id = task_id;
    e.kind = kind;
    e.data = std::move(data);
    return e;
  }

  // Commits BATCH, after what deferred_ holds (one transaction), once the transaction
  // in flight on the commit thread, if any, is over (settle()).
  bool apply(store::Batch& batch) {
    if (!settle()) return false;
    if (deferred_.empty()) {
      if (batch.empty()) return true;
      secrets_.redact(batch);
      auto result = store_.apply(batch);
      batch = store::Batch{};
      return applied(result);
    }
    return apply(batch, [](store::Batch&) { return false; });
  }

  // apply() of BATCH and then of every part NEXT fills, in one transaction
  // (Store::apply_parts), after the parts deferred_ holds; each part is redacted once
  // made and dropped once written.
  bool apply(store::Batch& batch, const std::function<bool(store::Batch&)>& next) {
    if (!settle()) return false;
    store::coalesce_rows(deferred_);
    size_t deferred = 0;  // deferred_ parts written
    bool own = false;     // BATCH written
    auto parts = [&](store::Batch& part) {
      if (deferred < deferred_.size()) {
        part = std::move(deferred_[deferred++]);
      } else if (!own) {
        own = true;
        part = std::move(batch);
      } else if (!next(part)) {
        return false;
      }
      secrets_.redact(part);
      return true;
    };
    store::Batch first;
    parts(first);
    auto result = store_.apply_parts(first, parts);
    batch = store::Batch{};
    return applied(result);
  }

  // After a transaction: what was deferred is durable (or, on RESULT's error, the run
  // is cancelled).
  bool applied(const Result<void>& result) {
    if (!result) {
      store_failed(result.error());
      return false;
    }
    deferred_.clear();
    deferred_records_ = 0;
    if (handles_open_) uv_timer_stop(&commit_timer_);
    note_committed(deferred_transitions_);
    deferred_transitions_.clear();
    return true;
  }

  // The store failed (ERROR): nothing deferred will be written; the run is cancelled.
  void store_failed(const Error& error) {
    deferred_.clear();
    deferred_records_ = 0;
    deferred_transitions_.clear();
    if (handles_open_) uv_timer_stop(&commit_timer_);
    if (!fatal_) fatal_ = error;
    cancel_all("state store failed: " + error.message);
  }

  // Hands what deferred_ holds to the commit thread, as one transaction (the commit
  // timer's work): the loop goes on starting and ending attempts meanwhile. If a
  // transaction is in flight already, this one follows as soon as it is over.
  void commit_in_background() {
    if (fatal_ || deferred_.empty()) return;
    if (committer_.busy()) {
      commit_again_ = true;
      return;
    }
    std::vector<store::Batch> parts = std::move(deferred_);
    deferred_.clear();
    store::coalesce_rows(parts);  // a task's running and success rows: one upsert
    for (store::Batch& part : parts) secrets_.redact(part);
    committing_ = std::move(deferred_transitions_);
    deferred_transitions_.clear();
    deferred_records_ = 0;
    committer_.submit(std::move(parts), [this] { uv_async_send(&commit_done_); });
  }

  // Waits for the transaction in flight on the commit thread, if any, and takes in its
  // result: its transitions are durable, or the run is cancelled. Every other use of
  // the store comes after this (the commit thread has it meanwhile). False if the run
  // has failed for good (fatal_).
  bool settle() {
    if (committer_.busy()) {
      Result<void> result = committer_.wait();
      std::vector<Transition> committed = std::move(committing_);
      committing_.clear();
      if (!result) {
        commit_again_ = false;
        store_failed(result.error());
        return false;
      }
      note_committed(committed);
      if (second_) {  // a new run's second transaction (run()): its tasks are durable
        note_committed(second_->transitions);
        second_.reset();
        release_free_memory();  // the heap its rows and their pages leave, as after one
      }
    }
    return !fatal_;
  }

  // The store, with no transaction in flight (settle()).
  store::Store& store() {
    settle();
    return store_;
  }

  // The task row and the task.<status> event of transition T, the event stamped AT
  // (Unix seconds).
  void append_transition(store::Batch& batch, const Transition& t, double at) {
    batch.tasks.push_back(task_record(t.task));
    append_transition_event(batch, t, at);
  }

  // The task.<status> event of transition T alone, stamped AT (its row is written
  // otherwise: the run's first transaction writes every row once).
  void append_transition_event(store::Batch& batch, const Transition& t, double at) {
    batch.events.push_back(transition_event(run_id_, wf_.tasks[t.task].id, t, at));
  }

  // The task.<status> event of transition T of the task TASK_ID in the run RUN_ID,
  // stamped AT (Unix seconds). Reads nothing else: any thread may call it.
  static store::Event transition_event(const std::string& run_id, const std::string& task_id,
                                       const Transition& t, double at) {
    nlohmann::json data{{"from", to_string(t.from)}};
    if (t.attempt) data["attempt"] = t.attempt;
    if (!t.reason.empty()) data["reason"] = t.reason;
    store::Event e;
    e.time = at;
    e.run_id = run_id;
    e.task_id = task_id;
    e.kind = std::string("task.") + to_string(t.to);
    e.data = std::move(data);
    return e;
  }

  // The second transaction of a new run in two (run()): every task row not in the first
  // transaction, then the task.<status> events of the first step's other transitions,
  // in parts of kRecordsPerPart, filled on the commit thread (fill()) from what the
  // loop left here: it reads nothing the loop changes meanwhile (the workflow and the
  // secrets stay as the run loaded them).
  struct SecondRows {
    enum Row : uint8_t {
      kFirst,  // written by the first transaction
      kFresh,  // as a new task of its status (fresh()): record_of() of that state
      kBuilt,  // otherwise: built[task], made by the loop
    };
    std::string run_id;
    const workflow::Workflow* wf = nullptr;
    const RunSecrets* secrets = nullptr;
    double at = 0;                   // the events' time, Unix seconds
    std::vector<Row> row;            // per task
    std::vector<TaskStatus> status;  // per kFresh task: its status
    std::map<int, store::TaskRecord> built;
    std::vector<Transition> transitions;
    int next_task = 0;
    size_t next_transition = 0;

    // Whether T is the state of a task that nothing has happened to but a change of
    // status (no attempt, gate, reason or time): record_of() of a default TaskState of
    // that status writes the same row. A field record_of() reads must be checked here.
    static bool fresh(const TaskState& t) {
      return t.attempts == 0 && !t.exit_code && t.agent.empty() && t.output.empty() &&
             t.reason.empty() && t.started_at == 0 && t.ended_at == 0 && !t.gate_passed &&
             !t.escalated && !t.agent_state().needs_input && !t.agent_state().answer;
    }

    // Fills PART with the next rows or events, redacted; false when all are written.
    bool fill(store::Batch& part) {
      if (next_task < static_cast<int>(row.size())) {
        for (; next_task < static_cast<int>(row.size()) && part.tasks.size() < kRecordsPerPart;
             ++next_task) {
          if (row[next_task] == kFirst) continue;
          const workflow::TaskSpec& spec = wf->tasks[next_task];
          if (row[next_task] == kBuilt) {
            part.tasks.push_back(std::move(built[next_task]));
          } else {
            TaskState t;
            t.status = status[next_task];
            part.tasks.push_back(record_of(run_id, spec, next_task, t));
          }
          part.tasks.back().dependencies = spec.dependencies;
        }
      } else if (next_transition < transitions.size()) {
        const size_t end = std::min(transitions.size(), next_transition + kRecordsPerPart);
        for (; next_transition < end; ++next_transition) {
          const Transition& t = transitions[next_transition];
          part.events.push_back(transition_event(run_id, wf->tasks[t.task].id, t, at));
        }
      } else {
        return false;
      }
      secrets->redact(part);
      return true;
    }
  };

  Result<void> open_loop();
  void shut_loop();
  Result<void> import_tasks();
  Result<RunOutcome> loop_until_done();
  Result<void> lock_run();
  // Keeps ITERATIONS' feedback for the tasks of this workflow (iteration_feedback_).
  void note_iterations(const PendingIterations& iterations) {
    for (const auto& [id, feedback] : iterations.feedback()) {
      if (int i = wf_.task_index(id); i >= 0) iteration_feedback_[i] = feedback;
    }
  }
  std::vector<TaskState> recorded_states(const std::vector<store::TaskRecord>& tasks,
                                         const std::vector<store::AttemptRecord>& attempts,
                                         const ResumeOptions& resume) const;
  void recover_attempt(int task, const store::AttemptRecord* record, store::Batch& batch,
                       std::vector<std::pair<int, exec::ProcessResult>>& ended);
  void check_requests();
  /// TASK waited for an answer to its agent's question (AgentTaskState::needs_input)
  /// and was rejected or cancelled: the agent's invoker ends what the agent waits on
  /// (agents::Invoker::abandon, an A2A remote task is cancelled), recorded as an
  /// `input.abandoned` event in pending_. Nothing for other tasks.
  void abandon_remote_input(int task);
  void setup_reviews();
  void judge_review(int task, Live& live, AttemptOutcome& outcome);
  void record_review_step(int task, const Live& live, const AttemptOutcome& outcome,
                          size_t failed_reviewers_before);
  void stop_until_resumed(RunStatus status);
  void pump();
  bool start_live(int key, Live live);
  void on_exit(int key, const exec::ProcessResult& result, const std::string& error_class = "");
  executor::Executor& executor_for(int key);
  executor::Executor& executor_of_attempt(const std::string& control_path);
  void requeue_inherited(int task, Live live, const exec::ProcessResult& result);
  void arm_retry_timer();
  void commit_workspace(int task, AttemptOutcome& outcome, store::AttemptRecord& record);
  void integrate_workspaces();
  void maybe_finish();
  void run_hooks(const std::vector<workflow::TaskSpec>* list, const std::string& group,
                 std::function<void(bool)> done);
  void start_hook(size_t index);
  void finalize();
  void cancel_all(const std::string& reason, bool keep_waiting = false);
  void on_interrupt_signal(int signo);
  void defer_pump();
  void close_handles();
  bool early_start_ok(const StartRequest& s, const Live& live, const nlohmann::json& confined,
                      bool iterated);
  void note_committed(const std::vector<Transition>& transitions);

  const workflow::Workflow& wf_;
  store::Store& store_;
  const RunOptions& options_;
  RunObserver& observer_;
  const Clock& clock_;
  std::string run_id_;
  std::string run_dir_;
  Scheduler sched_;
  AgentResolver resolver_;
  Workspaces workspaces_;
  RunSecrets secrets_;  // read at the run's start; every write to the store is redacted
  store::RunRecord run_;

  uv_loop_t loop_{};
  uv_timer_t retry_timer_{}, tick_timer_{}, pump_timer_{}, commit_timer_{};
  uv_signal_t sigint_{}, sigterm_{}, sigusr1_{}, sigwinch_{};
  bool handles_open_ = false;

  // Where attempts run (settings.executor, a task's executor:); the Slurm one is made
  // on first use. Declared before the attempts so that they go first.
  std::unique_ptr<executor::Executor> local_executor_ = executor::make_local_executor();
  std::unique_ptr<executor::Executor> slurm_executor_;
  std::map<int, Live> live_;  // key: task index, or -1 for the hook
  std::vector<std::unique_ptr<executor::AttemptHandle>> finished_;  // destroyed outside callbacks
  store::Batch pending_;                                            // joins the next transaction
  // Per task: its last recorded transition, committed, made it ready. Such a task's
  // attempt may start before the transaction that records the start commits
  // (early_start_ok()).
  std::vector<uint8_t> ready_durable_;
  // Transactions' contents not yet committed (pump(), "deferred"): written first by the
  // next transaction, at the latest kDeferMs after the first of them; their transitions.
  std::vector<store::Batch> deferred_;
  std::vector<Transition> deferred_transitions_;
  size_t deferred_records_ = 0;
  // The deferred transaction being written meanwhile (commit_in_background()), its
  // transitions, and whether the next one waits for it to end.
  CommitThread committer_{store_};
  std::vector<Transition> committing_;
  bool commit_again_ = false;
  // A new run's second transaction while it is in flight (run()): its transitions are
  // committed with it (settle()), read by the loop and the commit thread alike.
  std::shared_ptr<SecondRows> second_;
  uv_async_t commit_done_{};
  Phase phase_ = Phase::kStartHooks;
  bool start_hook_failed_ = false;
  bool integration_failed_ = false;
  std::string integration_text_;
  // Tasks with a pending `baton iterate` (engine/iteration.h): their next attempt's
  // feedback; erased when that attempt starts.
  std::map<int, std::string> iteration_feedback_;
  int interrupted_by_ = 0;
  bool cancel_requested_ = false;  // `baton cancel` recorded run.cancel_requested
  std::optional<Error> fatal_;
  std::vector<std::string> hook_failures_;
  int hook_count_ = 0;
  int64_t control_seq_ = 0;    // requests (pause, gate decisions) are read after this event
  double requests_after_ = 0;  // requests older than this were for an earlier orchestrator

  // The hook list being run.
  const std::vector<workflow::TaskSpec>* hooks_ = nullptr;
  std::string hook_group_;
  bool hooks_ok_ = true;
  std::function<void(bool)> hooks_done_;
};

Result<RunOutcome> Driver::run() {
  run_dir_ = (fs::path(options_.state_dir) / "runs" / run_id_).string();
  std::error_code ec;
  fs::create_directories(fs::path(run_dir_) / "logs", ec);
  if (ec) return fail("cannot create " + run_dir_ + "/logs: " + ec.message());

  auto isolation = workspaces_.begin();  // before anything is recorded: it may refuse
  if (!isolation) return tl::unexpected(isolation.error());
  secrets_ = RunSecrets::load(wf_, options_.root_dir);
  run_.id = run_id_;
  run_.workflow_name = wf_.name;
  run_.workflow_path = stored_workflow_path(wf_.path, options_.root_dir);
  run_.workflow_sha256 = wf_.source_sha256;
  run_.status = "running";
  run_.inputs = options_.inputs;
  run_.root_dir = options_.root_dir;
  run_.run_dir = run_dir_;
  run_.created_at = clock_.now();
  run_.orchestrator_pid = static_cast<int>(getpid());
  run_.orchestrator_start_time = store::self_start_time();
  // Signals are handled before the run row names this process (SIGUSR1's default
  // action would kill it).
  if (auto r = open_loop(); !r) return tl::unexpected(r.error());
  if (auto r = lock_run(); !r) {
    shut_loop();
    return tl::unexpected(r.error());
  }
  store::Batch batch;
  batch.run = run_;
  batch.events.push_back(event("", "run.created",
                               {{"workflow", wf_.path},
                                {"sha256", wf_.source_sha256},
                                {"inputs", options_.inputs},
                                {"tasks", sched_.task_count()}}));
  if (!isolation->is_null()) batch.events.push_back(event("", "run.isolation", *isolation));
  secrets_.redact(batch);

  // Agent tasks: the installed agents of their role, for the scheduler's fallback.
  // A task with none keeps an empty list and fails at its start with the reason.
  for (int i = 0; i < sched_.task_count(); ++i) {
    const workflow::TaskSpec& spec = wf_.tasks[i];
    if (spec.is_command()) continue;
    if (auto found = resolver_.candidates(spec.agent)) sched_.set_agents(i, std::move(*found));
  }
  setup_reviews();

  // The tasks that can start at once (no dependencies; no on_start hook or imported
  // result to wait for) are resolved now and recorded ready in the transaction that
  // creates the run: their rows are written once, and they are durably ready
  // (ready_durable_), so the first pump() starts them before the transaction that
  // records their starts ("Starts before their row"), instead of after a second
  // transaction of their ready rows.
  Step first;
  if (wf_.hooks.on_start.empty() && options_.imported.empty()) {
    first = sched_.advance_without_starts();
  }
  const double first_at = clock_.now();
  // The first transaction in two: a run of more than kFirstRowsWithRun tasks commits
  // its run row with the rows of its first kFirstRowsWithRun ready tasks, which then
  // start early; every other row, and the other ready tasks' events, follow in a second
  // transaction that the commit thread fills and writes while they run (SecondRows).
  // Those tasks are durably ready, and may start early, only once it has committed
  // (second_); a start that needs one before waits for it (settle()). A crash
  // between the two leaves the run with only the first rows: resume() takes the tasks
  // without a row as pending, as it takes a task added to the workflow, and none of
  // them can have started.
  const bool in_two = sched_.task_count() > static_cast<int>(kFirstRowsWithRun);
  const size_t with_run =
      in_two ? std::min(first.transitions.size(), kFirstRowsWithRun) : first.transitions.size();
  // The task's row, with the DAG's edges: recorded once, here; later upserts leave them.
  auto create_row = [&](store::Batch& part, int task) {
    part.tasks.push_back(task_record(task));
    part.tasks.back().dependencies = wf_.tasks[task].dependencies;
  };
  // The first transaction's parts (kRecordsPerPart each): the task rows, then the events
  // of the first step's transitions (their rows are those rows). In two: only those of
  // the first with_run transitions.
  int next_task = 0;
  size_t next_transition = 0;
  auto next_part = [&](store::Batch& part) {
    if (in_two && next_transition < with_run) {
      const size_t end = std::min(with_run, next_transition + kRecordsPerPart);
      for (; next_transition < end; ++next_transition) {
        create_row(part, first.transitions[next_transition].task);
        append_transition_event(part, first.transitions[next_transition], first_at);
      }
    } else if (in_two) {
      return false;
    } else if (next_task < sched_.task_count()) {
      const int end = std::min(sched_.task_count(), next_task + static_cast<int>(kRecordsPerPart));
      part.tasks.reserve(end - next_task);
      for (; next_task < end; ++next_task) create_row(part, next_task);
    } else if (next_transition < first.transitions.size()) {
      const size_t end = std::min(first.transitions.size(), next_transition + kRecordsPerPart);
      part.events.reserve(end - next_transition);
      for (; next_transition < end; ++next_transition) {
        append_transition_event(part, first.transitions[next_transition], first_at);
      }
    } else {
      return false;
    }
    secrets_.redact(part);
    return true;
  };
  if (auto r = store().apply_parts(batch, next_part); !r) {
    shut_loop();
    return tl::unexpected(r.error());
  }
  batch = store::Batch{};
  if (in_two) {
    auto rows = std::make_shared<SecondRows>();
    rows->run_id = run_id_;
    rows->wf = &wf_;
    rows->secrets = &secrets_;
    rows->at = first_at;
    rows->row.assign(sched_.task_count(), SecondRows::kFresh);
    rows->status.assign(sched_.task_count(), TaskStatus::kPending);
    for (size_t i = 0; i < with_run; ++i) rows->row[first.transitions[i].task] = SecondRows::kFirst;
    for (int task = 0; task < sched_.task_count(); ++task) {
      if (rows->row[task] == SecondRows::kFirst) continue;
      const TaskState& t = sched_.task(task);
      if (!SecondRows::fresh(t)) {  // skipped, say: the loop writes its row now
        rows->row[task] = SecondRows::kBuilt;
        rows->built[task] = task_record(task);
      } else {
        rows->status[task] = t.status;
      }
    }
    // Moved, not copied (100,000 of them at 100,000 tasks): the observers below read
    // them there, as the commit thread does.
    rows->transitions.assign(std::make_move_iterator(first.transitions.begin() + with_run),
                             std::make_move_iterator(first.transitions.end()));
    first.transitions.resize(with_run);
    note_committed(first.transitions);
    second_ = rows;
    committer_.submit([rows](store::Batch& part) { return rows->fill(part); },
                      [this] { uv_async_send(&commit_done_); });
  } else {
    note_committed(first.transitions);
    release_free_memory();
  }

  if (!options_.imported.empty()) {
    if (auto r = import_tasks(); !r) {
      shut_loop();
      return tl::unexpected(r.error());
    }
  }

  observer_.on_run_started(run_, sched_, 0);
  for (const Transition& t : first.transitions) observer_.on_transition(sched_, t);
  if (second_) {
    for (const Transition& t : second_->transitions) observer_.on_transition(sched_, t);
  }
  first = Step{};

  run_hooks(&wf_.hooks.on_start, "on_start", [this](bool ok) {
    phase_ = Phase::kTasks;
    if (!ok) {
      start_hook_failed_ = true;
      sched_.stop("an on_start hook failed");
    }
    pump();
  });
  return loop_until_done();
}

Result<void> Driver::open_loop() {
  requests_after_ = clock_.now();
  if (int rc = uv_loop_init(&loop_); rc != 0)
    return fail(std::string("uv_loop_init: ") + uv_strerror(rc));
  uv_timer_init(&loop_, &retry_timer_);
  uv_timer_init(&loop_, &tick_timer_);
  uv_timer_init(&loop_, &pump_timer_);
  uv_timer_init(&loop_, &commit_timer_);
  uv_async_init(&loop_, &commit_done_, [](uv_async_t* h) {
    auto* self = static_cast<Driver*>(h->data);
    if (!self->settle() || !self->commit_again_) return;
    self->commit_again_ = false;
    self->commit_in_background();
  });
  commit_done_.data = this;
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sigterm_);
  uv_signal_init(&loop_, &sigusr1_);
  uv_signal_init(&loop_, &sigwinch_);
  retry_timer_.data = tick_timer_.data = pump_timer_.data = commit_timer_.data = this;
  sigint_.data = sigterm_.data = sigusr1_.data = sigwinch_.data = this;
  handles_open_ = true;
  auto on_signal = [](uv_signal_t* h, int signo) {
    static_cast<Driver*>(h->data)->on_interrupt_signal(signo);
  };
  uv_signal_start(&sigint_, on_signal, SIGINT);
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  // The live view fits the terminal: a resize redraws it at the new size.
  uv_signal_start(
      &sigwinch_,
      [](uv_signal_t* h, int) {
        auto* self = static_cast<Driver*>(h->data);
        self->observer_.on_resize(self->sched_);
      },
      SIGWINCH);
  // `baton pause` and `baton approve` record their request as an event, then send
  // SIGUSR1 (cli/orchestrator.h).
  uv_signal_start(
      &sigusr1_, [](uv_signal_t* h, int) { static_cast<Driver*>(h->data)->check_requests(); },
      SIGUSR1);
  if (double tick = observer_.tick_interval_s(); tick > 0) {
    auto ms = static_cast<uint64_t>(tick * 1000);
    uv_timer_start(
        &tick_timer_,
        [](uv_timer_t* h) {
          auto* self = static_cast<Driver*>(h->data);
          self->observer_.on_tick(self->sched_);
        },
        ms, ms);
  }
  return {};
}

void Driver::shut_loop() {
  close_handles();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

Result<void> Driver::lock_run() {
  // The run lock (store.h): one orchestrator per run; a crashed holder does not keep it.
  auto lock =
      store().acquire_run_lock(run_id_, run_.orchestrator_pid, run_.orchestrator_start_time);
  if (!lock) return tl::unexpected(lock.error());
  if (!lock->acquired) {
    return fail("run " + run_id_ + " is already being run by baton (pid " +
                std::to_string(lock->holder_pid) + ")");
  }
  return {};
}

Result<RunOutcome> Driver::loop_until_done() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  finished_.clear();
  uv_loop_close(&loop_);

  if (fatal_) return tl::unexpected(*fatal_);
  RunOutcome out;
  out.run_id = run_id_;
  out.status = sched_.run_status();
  if ((start_hook_failed_ || integration_failed_) && out.status == RunStatus::kSuccess) {
    out.status = RunStatus::kFailed;
  }
  out.run_branch = workspaces_.run_branch();
  out.integration = integration_text_;
  out.interrupted_by_signal = interrupted_by_;
  out.cancel_requested = interrupted_by_ == SIGTERM && cancel_requested_;
  out.hook_failures = hook_failures_;
  for (int i = 0; i < sched_.task_count(); ++i) {
    const ReviewProgress& p = sched_.task(i).agent_state().review;
    if (!wf_.tasks[i].review || p.reviewer.empty() || p.reviewer != p.implementer) continue;
    out.review_warnings.push_back("task '" + wf_.tasks[i].id + "' was reviewed by " + p.reviewer +
                                  ", the agent that implemented it (single-agent mode): the "
                                  "review was not cross-agent");
  }
  return out;
}

void Driver::pump() {
  if (fatal_) {
    if (live_.empty()) close_handles();
    return;
  }
  if (phase_ != Phase::kTasks) return;
  size_t most_transitions = 0;  // of one step
  for (;;) {
    Step step = sched_.advance();
    most_transitions = std::max(most_transitions, step.transitions.size());
    // One transaction: pending_, then the transitions in parts (a wide run makes every
    // task ready in one step), then the attempts started (`starts`), in this order.
    store::Batch starts;
    // The transitions' events are made after the starts are prepared but happened before.
    const double stepped_at = clock_.now();
    std::vector<std::pair<int, Live>> to_start;
    std::vector<std::pair<int, Live>> early;  // started before the transaction commits
    std::vector<std::pair<StartRequest, std::string>> unprepared;
    for (const StartRequest& s : step.starts) {
      const workflow::TaskSpec& spec = wf_.tasks[s.task];
      AttemptPlace place{run_id_,
                         spec.id,
                         s.attempt,
                         options_.root_dir,
                         log_path(spec.id, s.attempt),
                         spec.timeout_s.value_or(wf_.settings.timeout_s),
                         wf_.settings.kill_grace_s,
                         s.agent,
                         s.resume_session_id};
      place.secrets = &secrets_;
      place.answer = sched_.task(s.task).agent_state().answer;
      const bool iterated = iteration_feedback_.count(s.task) > 0;
      if (auto it = iteration_feedback_.find(s.task); it != iteration_feedback_.end()) {
        // `baton iterate`: the feedback, in the session the agent left when it has one.
        place.feedback = it->second;
        const TaskState& t = sched_.task(s.task);
        if (place.resume_session_id.empty() && !t.session_id().empty() &&
            t.session_agent() == s.agent) {
          place.resume_session_id = t.session_id();
        }
        iteration_feedback_.erase(it);
      }
      Live live;
      live.attempt = s.attempt;
      store::AttemptRecord& rec = live.record;
      rec.run_id = run_id_;
      rec.task_id = spec.id;
      rec.number = s.attempt;
      rec.log_path = place.log_path;
      rec.started_at = clock_.now();
      // A review and a rework work on the committed work; any other attempt from the start.
      const bool on_the_work = s.review || s.cycle > 1;
      auto workspace =
          on_the_work ? workspaces_.reopen(s.task) : workspaces_.prepare(s.task, s.attempt);
      ReviewAttempt review;
      if (workspace && on_the_work && spec.review) {
        review.reviewing = s.review;
        review.cycle = s.cycle;
        review.max_cycles = spec.review->max_cycles;
        if (s.review) {
          auto diff = workspaces_.review_diff(s.task);
          if (diff) review.diff = std::move(*diff);
          if (!diff) workspace = tl::unexpected(diff.error());
        } else {
          review.feedback = sched_.task(s.task).agent_state().review.feedback;
        }
        place.review = &review;
      }
      live.review = s.review;
      live.cycle = s.cycle;
      if (workspace) place.root_dir = *workspace;
      Result<PreparedAttempt> prepared =
          workspace ? prepare_attempt(spec, place, sched_.scope(), resolver_)
                    : tl::unexpected(workspace.error());
      if (prepared && prepared->invoker && options_.prepare_agent_process) {
        if (auto r = options_.prepare_agent_process(prepared->agent, place, prepared->process);
            !r) {
          prepared = tl::unexpected(r.error());
        }
      }
      Result<nlohmann::json> confined = nlohmann::json::object();
      if (prepared) {
        confined = workspaces_.confine(s.task, prepared->agent, prepared->process, s.review);
      }
      if (!confined) prepared = tl::unexpected(confined.error());
      if (!prepared) {
        rec.status = "failed";
        rec.error = prepared.error().message;
        rec.error_class = "permanent";
        rec.ended_at = rec.started_at;
        starts.attempts.push_back(rec);
        starts.events.push_back(
            event(spec.id, "attempt.failed", {{"attempt", s.attempt}, {"error", rec.error}}));
        unprepared.emplace_back(s, rec.error);
        continue;
      }
      live.prepared = std::move(*prepared);
      rec.agent = live.prepared.agent;
      rec.status = "running";
      starts.attempts.push_back(rec);
      nlohmann::json data{{"attempt", s.attempt}, {"log", rec.log_path}};
      if (!rec.agent.empty()) data["agent"] = rec.agent;
      if (s.cycle > 0) data["cycle"] = s.cycle;  // ReviewLog reads these on resume
      if (s.review) data["review"] = true;
      data.update(*confined);  // worktree, branch, sandbox, network
      starts.events.push_back(event(spec.id, "attempt.started", std::move(data)));
      if (early_start_ok(s, live, *confined, iterated)) {
        early.emplace_back(s.task, std::move(live));
      } else {
        to_start.emplace_back(s.task, std::move(live));
      }
    }
    // Attempts whose task's readiness is durable start now, before the transaction that
    // records them (its fsync runs while they do): a crash in between leaves their
    // control files, which resume finds (resume(): "started before their row"). Their
    // dependencies' ends are durable too: they were committed before the task was ready.
    // One that cannot start is reported to on_exit() now; what that adds to pending_
    // goes last into the transaction, after the start it ends. The transitions' rows are
    // made first, as they were (task_record() reads the scheduler, which that report
    // changes); a step with more of them than a part starts nothing early.
    if (step.transitions.size() > kRecordsPerPart) {
      for (auto& entry : early) to_start.push_back(std::move(entry));
      early.clear();
    }
    store::Batch before = std::move(pending_);
    pending_ = store::Batch{};
    // What on_exit() writes for an attempt's end, and nothing else (a pause, a gate's
    // decision, a commit on a branch): a condition of "deferrable" below.
    const bool only_ends =
        std::all_of(before.events.begin(), before.events.end(), [](const store::Event& e) {
          return e.kind == "attempt.finished" || e.kind == "task.output_truncated";
        });
    size_t next_transition = 0;
    if (!early.empty()) {
      for (; next_transition < step.transitions.size(); ++next_transition) {
        append_transition(before, step.transitions[next_transition], stepped_at);
      }
    }
    bool start_failed = false;
    for (auto& [task, live] : early) start_failed |= !start_live(task, std::move(live));
    // Nothing here needs durability now (every start in it was early; it makes tasks
    // ready, running or successful, nothing another process waits for): it joins the
    // next transaction, at the latest kDeferMs from now, with whatever ends arrive
    // meanwhile. A crash before costs nothing: resume reads those ends and starts from
    // the attempts' control files.
    const bool deferrable =
        to_start.empty() && unprepared.empty() && !start_failed && pending_.empty() &&
        step.transitions.size() <= kRecordsPerPart && deferred_records_ < kMaxDeferredRecords &&
        (!step.transitions.empty() || !starts.empty()) &&
        std::all_of(step.transitions.begin(), step.transitions.end(),
                    [](const Transition& t) {
                      return t.to == TaskStatus::kReady || t.to == TaskStatus::kRunning ||
                             t.to == TaskStatus::kSuccess;
                    }) &&
        only_ends && !before.run;
    if (deferrable) {
      for (; next_transition < step.transitions.size(); ++next_transition) {
        append_transition(before, step.transitions[next_transition], stepped_at);
      }
      deferred_records_ += before.tasks.size() + before.attempts.size() + before.events.size() +
                           starts.attempts.size() + starts.events.size();
      deferred_.push_back(std::move(before));
      deferred_.push_back(std::move(starts));
      deferred_transitions_.insert(deferred_transitions_.end(), step.transitions.begin(),
                                   step.transitions.end());
      if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&commit_timer_))) {
        uv_timer_start(
            &commit_timer_,
            [](uv_timer_t* h) { static_cast<Driver*>(h->data)->commit_in_background(); }, kDeferMs,
            0);
      }
    } else if (!step.transitions.empty() || !starts.empty()) {
      bool starts_written = false;
      auto next_part = [&](store::Batch& part) {
        if (next_transition < step.transitions.size()) {
          const size_t end = std::min(step.transitions.size(), next_transition + kRecordsPerPart);
          for (; next_transition < end; ++next_transition) {
            append_transition(part, step.transitions[next_transition], stepped_at);
          }
          return true;
        }
        if (!starts_written) {
          starts_written = true;
          part = std::move(starts);
          return true;
        }
        if (pending_.empty()) return false;
        part = std::move(pending_);
        pending_ = store::Batch{};
        return true;
      };
      if (!apply(before, next_part)) return;
      note_committed(step.transitions);
    } else {
      if (!apply(before)) return;
      note_committed(step.transitions);
    }
    for (const Transition& t : step.transitions) {
      observer_.on_transition(sched_, t);
      if (t.from == TaskStatus::kWaiting &&
          (t.to == TaskStatus::kFailed || t.to == TaskStatus::kCancelled)) {
        abandon_remote_input(t.task);
      }
    }
    // An attempt that cannot start (its log or control file cannot be created) has been
    // reported failed already; the next advance() collects the task's transitions.
    for (auto& [task, live] : to_start) start_failed |= !start_live(task, std::move(live));
    if (unprepared.empty() && !start_failed) break;
    for (auto& [s, error] : unprepared) {
      AttemptOutcome out;
      out.reason = error;
      out.retryable = false;
      sched_.attempt_finished(s.task, s.attempt, out);
    }
  }
  // A step that moved many tasks at once (the first of a wide run: 100,000 ready) freed
  // its transitions and records; glibc would keep those pages for the rest of the run.
  if (most_transitions > kRecordsPerPart) release_free_memory();
  arm_retry_timer();
  maybe_finish();
}

// The executor of task KEY's attempts (hooks, KEY < 0, always run here).
executor::Executor& Driver::executor_for(int key) {
  workflow::ExecutorKind kind = wf_.settings.executor;
  if (key >= 0 && wf_.tasks[key].executor()) kind = *wf_.tasks[key].executor();
  if (kind != workflow::ExecutorKind::kSlurm) return *local_executor_;
  if (!slurm_executor_) slurm_executor_ = executor::make_slurm_executor(wf_.settings.slurm);
  return *slurm_executor_;
}

// The executor that ran the attempt whose control file is CONTROL_PATH (resume): the
// Slurm one when it left a Slurm record (executor/slurm_record.h), whatever the
// workflow says now.
executor::Executor& Driver::executor_of_attempt(const std::string& control_path) {
  if (!executor::is_slurm_attempt(control_path)) return *local_executor_;
  if (!slurm_executor_) slurm_executor_ = executor::make_slurm_executor(wf_.settings.slurm);
  return *slurm_executor_;
}

// Starts LIVE with its executor. False when it could not start: then the attempt has
// been reported to on_exit() as failed to start, with the reason.
bool Driver::start_live(int key, Live live) {
  executor::Executor& where = executor_for(key);
  executor::AttemptRequest request{live.prepared.process, run_id_, live.record.task_id,
                                   live.attempt};
  auto process = where.submit(
      &loop_, std::move(request),
      [this, key](const executor::AttemptEnd& e) { on_exit(key, e.result, e.error_class); });
  if (!process) {
    // The log file could not be opened: the attempt fails without a process.
    exec::ProcessResult r;
    r.status.kind = exec::ExitStatus::Kind::kFailedToStart;
    r.status.error = process.error().message;
    r.started_at = r.ended_at = clock_.now();
    live_[key] = std::move(live);
    on_exit(key, r);
    return false;
  }
  live.process = std::move(*process);
  if (std::string id = live.process->external_id(); !id.empty()) {
    // The job id is in the attempt's Slurm record already (durable before sbatch
    // returned); the event says it in the run's history.
    pending_.events.push_back(
        event(live.record.task_id, "attempt.submitted",
              {{"attempt", live.attempt}, {"executor", where.name()}, {"job_id", id}}));
  }
  live_[key] = std::move(live);
  return true;
}

void Driver::on_exit(int key, const exec::ProcessResult& result, const std::string& error_class) {
  auto it = live_.find(key);
  if (it == live_.end()) return;
  Live live = std::move(it->second);
  live_.erase(it);
  if (live.process) finished_.push_back(std::move(live.process));
  if (key >= 0 && live.inherited && result.status.kind == exec::ExitStatus::Kind::kCancelled &&
      sched_.run_status() != RunStatus::kCancelled) {
    requeue_inherited(key, std::move(live), result);
    return;
  }
  AttemptOutcome outcome = judge_attempt(live.prepared, result, live.record);
  // The executor knows better (a Slurm job's TIMEOUT, NODE_FAIL, ...).
  if (!error_class.empty() && !outcome.success) live.record.error_class = error_class;
  secrets_.redact(outcome);
  if (key >= 0 && live.review) {
    judge_review(key, live, outcome);
  } else if (key >= 0 && outcome.success) {
    commit_workspace(key, outcome, live.record);
  }
  if (key >= 0 && !outcome.success) workspaces_.settle(key);
  pending_.attempts.push_back(live.record);
  nlohmann::json data{{"attempt", live.attempt}, {"exit", live.record.exit_status}};
  if (!outcome.success) data["reason"] = outcome.reason;
  if (live.record.input_tokens || live.record.output_tokens) {
    data["usage"] = {{"input_tokens", live.record.input_tokens},
                     {"output_tokens", live.record.output_tokens},
                     {"cached_tokens", live.record.cached_tokens}};
  }
  if (live.record.cost_usd) data["cost_usd"] = *live.record.cost_usd;
  pending_.events.push_back(event(live.record.task_id, "attempt.finished", std::move(data)));
  if (outcome.output_truncated) {
    // The output kept for templates and the store is the head only (attempt.h).
    pending_.events.push_back(event(live.record.task_id, "task.output_truncated",
                                    {{"attempt", live.attempt},
                                     {"limit_bytes", kMaxTaskOutputBytes},
                                     {"log", live.record.log_path}}));
  }
  if (key >= 0) {
    const size_t failed_reviewers = sched_.task(key).agent_state().review.failed_reviewers.size();
    sched_.attempt_finished(key, live.attempt, outcome);
    record_review_step(key, live, outcome, failed_reviewers);
    defer_pump();
    return;
  }
  if (fatal_) {
    if (live_.empty()) close_handles();
    return;
  }
  // A hook attempt.
  store::TaskRecord rec;
  rec.run_id = run_id_;
  rec.task_id = live.record.task_id;
  rec.position = 1'000'000 + hook_count_++;
  rec.status = outcome.success ? "success" : (outcome.cancelled ? "cancelled" : "failed");
  rec.attempts = 1;
  rec.agent = live.prepared.agent;
  rec.output = outcome.output;
  rec.exit_code = outcome.exit_code;
  rec.reason = outcome.reason;
  rec.started_at = live.record.started_at;
  rec.ended_at = clock_.now();
  pending_.tasks.push_back(rec);
  pending_.events.push_back(event(rec.task_id, "hook." + rec.status, {{"reason", rec.reason}}));
  apply(pending_);
  observer_.on_hook_finished(rec.task_id, outcome.success, outcome.reason);
  if (!outcome.success) {
    hooks_ok_ = false;
    hook_failures_.push_back(rec.task_id + ": " + outcome.reason);
  }
  size_t next = static_cast<size_t>(-key);  // key = -(index + 1)
  start_hook(next);
}

// Reviews (docs/review.md): the reviewers of each reviewed task, and single-agent mode
// when only one agent is installed (settings.single_agent turns it on in the scheduler).
void Driver::setup_reviews() {
  bool any = false;
  for (int i = 0; i < sched_.task_count(); ++i) {
    const workflow::TaskSpec& spec = wf_.tasks[i];
    if (!spec.review) continue;
    any = true;
    if (auto found = resolver_.candidates(spec.review->agent)) {
      sched_.set_reviewers(i, std::move(*found));
    }
  }
  if (!any || sched_.single_agent()) return;
  std::vector<std::string> installed;
  for (const std::string& name : agents::known_agent_names()) {
    if (resolver_.candidates(name)) installed.push_back(name);
  }
  if (installed.size() != 1) return;
  sched_.set_single_agent(true);
  pending_.events.push_back(
      event("", "run.single_agent",
            {{"agent", installed[0]}, {"reason", "only " + installed[0] + " is installed"}}));
}

// A review attempt ended: its verdict comes from its answer (parse_verdict(); none is a
// failed attempt of class no_verdict, retried by policy). Whatever the reviewer changed
// in the worktree is undone: the work under review is its commit. An approved worktree
// task is integrated now with integrate_at: task (a conflict fails the attempt).
void Driver::judge_review(int task, Live& live, AttemptOutcome& outcome) {
  auto fail_attempt = [&](const std::string& reason, const char* error_class, bool retryable) {
    outcome.success = false;
    outcome.retryable = retryable;
    outcome.reason = reason;
    outcome.error_class = error_class;
    live.record.status = "failed";
    live.record.error = reason;
    live.record.error_class = error_class;
  };
  if (auto reset = workspaces_.reopen(task); !reset) {
    fail_attempt("undoing the reviewer's changes: " + reset.error().message, "permanent", false);
    return;
  }
  if (!outcome.success) {
    workspaces_.settle(task);
    return;
  }
  auto verdict = parse_verdict(outcome.output);
  if (!verdict) {
    fail_attempt(verdict.error().message, "no_verdict", true);
    return;
  }
  outcome.verdict = std::move(*verdict);
  if (!outcome.verdict->approved) return;
  auto integrated = workspaces_.integrate_task(task);
  if (!integrated) {
    outcome.verdict.reset();
    fail_attempt(integrated.error().message, "permanent", false);
    return;
  }
  if (!integrated->is_null()) {
    pending_.events.push_back(
        event(live.record.task_id, "task.integrated", std::move(*integrated)));
  }
}

// The events of a review cycle's steps (ReviewLog reads them on resume): the work awaits
// its review (review.requested), the reviewer answered (review.verdict), or it failed for
// good (review.reviewer_failed: the scheduler added to failed_reviewers, which held
// FAILED_REVIEWERS_BEFORE entries before this attempt's end).
void Driver::record_review_step(int task, const Live& live, const AttemptOutcome& outcome,
                                size_t failed_reviewers_before) {
  const workflow::TaskSpec& spec = wf_.tasks[task];
  if (!spec.review) return;
  const TaskState& t = sched_.task(task);
  const ReviewProgress& p = t.agent_state().review;
  if (live.review && p.failed_reviewers.size() > failed_reviewers_before) {
    const ReviewProgress::FailedReviewer& failed = p.failed_reviewers.back();
    // The next reviewer, or null when none is left (the task failed or waits).
    nlohmann::json next = nullptr;
    if (t.status == TaskStatus::kPending) next = p.reviewer;
    pending_.events.push_back(event(spec.id, "review.reviewer_failed",
                                    {{"attempt", live.attempt},
                                     {"cycle", live.cycle},
                                     {"reviewer", failed.agent},
                                     {"reason", failed.reason},
                                     {"next", std::move(next)}}));
    return;
  }
  if (live.review && outcome.verdict) {
    nlohmann::json data{{"attempt", live.attempt},
                        {"cycle", live.cycle},
                        {"max_cycles", spec.review->max_cycles},
                        {"reviewer", outcome.agent},
                        {"implementer", p.implementer},
                        {"verdict", outcome.verdict->approved ? "approved" : "changes_requested"},
                        {"feedback", outcome.verdict->feedback}};
    if (p.exhausted) data["exhausted"] = true;
    if (outcome.agent == p.implementer) data["self_review"] = true;
    pending_.events.push_back(event(spec.id, "review.verdict", std::move(data)));
  } else if (!live.review && outcome.success && p.phase == ReviewProgress::Phase::kReview &&
             t.status != TaskStatus::kRunning) {
    pending_.events.push_back(event(spec.id, "review.requested",
                                    {{"attempt", live.attempt},
                                     {"cycle", p.cycle},
                                     {"max_cycles", spec.review->max_cycles},
                                     {"reviewer", p.reviewer},
                                     {"implementer", p.implementer}}));
  }
}

// An attempt an earlier orchestrator of this run cancelled (it was interrupted, or its
// store failed, and it died before recording the end): the resumed run runs the task
// again, as it does a task recorded cancelled (Scheduler::restore), under the next
// attempt number and without using a retry.
void Driver::requeue_inherited(int task, Live live, const exec::ProcessResult& result) {
  const std::string reason = "attempt " + std::to_string(live.attempt) +
                             " was cancelled by an earlier orchestrator of this run (" +
                             result.status.to_string() + "); running the task again";
  live.record.status = "cancelled";
  live.record.exit_status = result.status.to_string();
  live.record.error = reason;
  live.record.error_class = "cancelled";
  record_process(result, live.record);
  pending_.attempts.push_back(live.record);
  pending_.events.push_back(
      event(live.record.task_id, "attempt.finished",
            {{"attempt", live.attempt}, {"exit", live.record.exit_status}, {"reason", reason}}));
  sched_.requeue_attempt(task, reason);
  defer_pump();
}

// A successful attempt in a worktree: its changes are committed on its branch before
// the task counts as a success; a failed commit fails the attempt (not retried).
void Driver::commit_workspace(int task, AttemptOutcome& outcome, store::AttemptRecord& record) {
  auto fail_attempt = [&](const std::string& reason) {
    outcome.success = false;
    outcome.retryable = false;
    outcome.reason = reason;
    record.status = "failed";
    record.error = outcome.reason;
    record.error_class = "permanent";
  };
  auto committed = workspaces_.commit(task, outcome.agent);
  if (!committed) return fail_attempt(committed.error().message);
  if (!committed->is_null()) {
    pending_.events.push_back(event(record.task_id, "task.committed", std::move(*committed)));
  }
  // settings.integrate_at: task: into the run's branch now; a conflict fails the task. A
  // reviewed task's work goes in once approved (judge_review()).
  if (wf_.tasks[task].review) return;
  auto integrated = workspaces_.integrate_task(task);
  if (!integrated) return fail_attempt(integrated.error().message);
  if (!integrated->is_null()) {
    pending_.events.push_back(event(record.task_id, "task.integrated", std::move(*integrated)));
  }
}

// Every task has ended: the branches of the worktree tasks that succeeded go into the
// run's branch. A conflict fails the run (its on_failure hooks run).
void Driver::integrate_workspaces() {
  std::vector<int> succeeded;
  for (int i = 0; i < sched_.task_count(); ++i) {
    if (sched_.task(i).status == TaskStatus::kSuccess) succeeded.push_back(i);
  }
  IntegrationReport report = workspaces_.integrate(succeeded);
  integration_text_ = report.text;
  integration_failed_ = report.failed;
  if (report.attempted) pending_.events.push_back(event("", report.event, std::move(report.data)));
}

// Whether start S (LIVE prepared, CONFINED its workspace's description) may run before
// the transaction that records it commits: a plain command task (no agent, worktree,
// sandbox, review or iteration; run here, not on Slurm) whose ready state is committed
// (ready_durable_). Everything resume needs to find such an attempt is then its control
// file beside its log (resume(), "started before their row"); the others need their
// recorded start (agent, worktree) and keep the row before the process.
bool Driver::early_start_ok(const StartRequest& s, const Live& live, const nlohmann::json& confined,
                            bool iterated) {
  if (s.task < 0 || static_cast<size_t>(s.task) >= ready_durable_.size()) return false;
  if (!ready_durable_[s.task] || s.review || s.cycle > 0 || iterated) return false;
  if (!wf_.tasks[s.task].is_command() || live.prepared.invoker || !live.record.agent.empty()) {
    return false;
  }
  if (!confined.empty()) return false;
  return &executor_for(s.task) == local_executor_.get();
}

// TRANSITIONS were just committed: the tasks they made ready are durably ready.
void Driver::note_committed(const std::vector<Transition>& transitions) {
  if (ready_durable_.size() != static_cast<size_t>(sched_.task_count())) {
    ready_durable_.assign(sched_.task_count(), 0);
  }
  for (const Transition& t : transitions) {
    if (t.task >= 0 && t.task < sched_.task_count()) {
      ready_durable_[t.task] = t.to == TaskStatus::kReady;
    }
  }
}

void Driver::defer_pump() {
  uv_timer_start(
      &pump_timer_,
      [](uv_timer_t* h) {
        auto* self = static_cast<Driver*>(h->data);
        self->finished_.clear();
        self->pump();
      },
      0, 0);
}

void Driver::arm_retry_timer() {
  auto wake = sched_.next_wakeup();
  if (!wake) {
    uv_timer_stop(&retry_timer_);
    return;
  }
  double delay_ms = std::max(0.0, (*wake - clock_.now()) * 1000.0) + 1;
  uv_timer_start(
      &retry_timer_, [](uv_timer_t* h) { static_cast<Driver*>(h->data)->pump(); },
      static_cast<uint64_t>(delay_ms), 0);
}

void Driver::maybe_finish() {
  if (phase_ != Phase::kTasks || !live_.empty()) return;
  if (!sched_.settled()) {
    RunStatus status = sched_.run_status();
    if (status == RunStatus::kPaused || (status == RunStatus::kWaiting && options_.no_wait)) {
      stop_until_resumed(status);
    }
    return;
  }
  phase_ = Phase::kEndHooks;
  if (!interrupted_by_) integrate_workspaces();
  if (!pending_.empty() && !apply(pending_)) return;
  bool failed =
      sched_.run_status() != RunStatus::kSuccess || start_hook_failed_ || integration_failed_;
  auto* first = failed ? &wf_.hooks.on_failure : &wf_.hooks.on_success;
  run_hooks(first, failed ? "on_failure" : "on_success", [this](bool) {
    run_hooks(&wf_.hooks.on_complete, "on_complete", [this](bool) { finalize(); });
  });
}

void Driver::run_hooks(const std::vector<workflow::TaskSpec>* list, const std::string& group,
                       std::function<void(bool)> done) {
  hooks_ = list;
  hook_group_ = group;
  hooks_ok_ = true;
  hooks_done_ = std::move(done);
  start_hook(0);
}

void Driver::start_hook(size_t index) {
  if (index >= hooks_->size() || interrupted_by_ || fatal_) {
    // Move the continuation out first: it may install the next hook list.
    auto done = std::move(hooks_done_);
    done(hooks_ok_ && !interrupted_by_);
    return;
  }
  const workflow::TaskSpec& spec = (*hooks_)[index];
  std::string id = "hook:" + hook_group_ + ":" + spec.id;
  AttemptPlace place{run_id_,
                     id,
                     1,
                     options_.root_dir,
                     log_path("hook-" + hook_group_ + "-" + spec.id, 1),
                     spec.timeout_s.value_or(wf_.settings.timeout_s),
                     wf_.settings.kill_grace_s,
                     /*agent=*/"",
                     /*resume_session_id=*/""};
  place.secrets = &secrets_;
  Live live;
  live.attempt = 1;
  live.record.run_id = run_id_;
  live.record.task_id = id;
  live.record.number = 1;
  live.record.log_path = place.log_path;
  live.record.started_at = clock_.now();
  live.record.status = "running";
  int key = -static_cast<int>(index + 1);
  auto prepared = prepare_attempt(spec, place, sched_.scope(), resolver_);
  if (!prepared) {
    exec::ProcessResult r;
    r.status.kind = exec::ExitStatus::Kind::kFailedToStart;
    r.status.error = prepared.error().message;
    live_[key] = std::move(live);
    on_exit(key, r);
    return;
  }
  live.prepared = std::move(*prepared);
  live.record.agent = live.prepared.agent;
  pending_.attempts.push_back(live.record);
  pending_.events.push_back(event(id, "hook.started", {{"log", place.log_path}}));
  if (!apply(pending_)) {
    auto done = std::move(hooks_done_);
    done(false);
    return;
  }
  start_live(key, std::move(live));
}

void Driver::finalize() {
  phase_ = Phase::kDone;
  RunStatus status = sched_.run_status();
  if ((start_hook_failed_ || integration_failed_) && status == RunStatus::kSuccess) {
    status = RunStatus::kFailed;
  }
  run_.status = to_string(status);
  run_.ended_at = clock_.now();
  pending_.run = run_;
  nlohmann::json data{{"status", run_.status}};
  if (!hook_failures_.empty()) data["hook_failures"] = hook_failures_;
  pending_.events.push_back(event("", "run.finished", std::move(data)));
  apply(pending_);
  close_handles();
}

// SIGINT (Ctrl-C) or SIGTERM. The first stops the run: what has not started is
// cancelled (with SIGINT, gates keep waiting for `baton approve`: the run is resumable
// from them), running attempts get SIGTERM and, after the grace, SIGKILL. A second one
// kills every running attempt's group at once.
void Driver::on_interrupt_signal(int signo) {
  Interrupt info;
  info.signo = signo;
  info.grace_s = wf_.settings.kill_grace_s;
  for (const auto& [key, live] : live_) info.stopping += live.process && live.process->running();
  if (interrupted_by_ != 0) {
    info.kill_now = true;
    for (auto& [key, live] : live_) {
      if (live.process) live.process->kill_now();
    }
    observer_.on_interrupt(sched_, info);
    return;
  }
  // `baton cancel` records run.cancel_requested, then sends SIGTERM: reading the
  // requests tells its cancel from a SIGTERM sent by anything else.
  if (signo == SIGTERM) check_requests();
  interrupted_by_ = signo;
  cancel_all(signo == SIGTERM && cancel_requested_
                 ? std::string("cancelled by baton cancel")
                 : std::string("interrupted by ") + (signo == SIGINT ? "SIGINT" : "SIGTERM"),
             /*keep_waiting=*/signo == SIGINT);
  info.waiting = static_cast<int>(sched_.waiting_tasks().size());
  observer_.on_interrupt(sched_, info);
}

void Driver::cancel_all(const std::string& reason, bool keep_waiting) {
  std::vector<int> running = sched_.cancel(reason, keep_waiting);
  for (auto& [key, live] : live_) {
    if (live.process) live.process->terminate();
  }
  if (phase_ == Phase::kTasks && !fatal_) defer_pump();
  if (fatal_ && live_.empty()) close_handles();
}

void Driver::close_handles() {
  if (!handles_open_) return;
  settle();                    // before commit_done_ closes: the commit thread signals it
  if (!handles_open_) return;  // the commit failed and closed them
  if (!deferred_.empty() && !fatal_) {
    store::Batch none;
    apply(none);
    if (!handles_open_) return;  // the commit failed and closed them
  }
  handles_open_ = false;
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&retry_timer_), reinterpret_cast<uv_handle_t*>(&tick_timer_),
        reinterpret_cast<uv_handle_t*>(&pump_timer_),
        reinterpret_cast<uv_handle_t*>(&commit_timer_),
        reinterpret_cast<uv_handle_t*>(&commit_done_), reinterpret_cast<uv_handle_t*>(&sigint_),
        reinterpret_cast<uv_handle_t*>(&sigterm_), reinterpret_cast<uv_handle_t*>(&sigusr1_),
        reinterpret_cast<uv_handle_t*>(&sigwinch_)}) {
    uv_close(h, nullptr);
  }
}

// Paused, or only gates are left and the caller does not wait: the run row says so,
// nothing else ends (no hooks, no integration); `baton resume` continues.
void Driver::stop_until_resumed(RunStatus status) {
  phase_ = Phase::kDone;
  run_.status = to_string(status);
  pending_.run = run_;
  nlohmann::json data{{"status", run_.status}};
  nlohmann::json waiting = nlohmann::json::array();
  for (int task : sched_.waiting_tasks()) {
    waiting.push_back({{"task", wf_.tasks[task].id}, {"message", sched_.task(task).reason}});
  }
  if (!waiting.empty()) data["waiting"] = std::move(waiting);
  pending_.events.push_back(
      event("", status == RunStatus::kPaused ? "run.paused" : "run.waiting", std::move(data)));
  apply(pending_);
  close_handles();
}

// SIGUSR1: `baton pause` or `baton approve` appended a request event (run.pause_requested,
// gate.decision) and signalled; act on every request since the last look.
void Driver::check_requests() {
  // One event at a time: a large run has hundreds of thousands since control_seq_.
  // A failed read leaves the rest for the next signal.
  (void)store().for_each_event(run_id_, control_seq_, [&](const store::Event& e) {
    control_seq_ = std::max(control_seq_, e.seq);
    if (e.time < requests_after_) return;
    if (e.kind == "run.cancel_requested") {
      cancel_requested_ = true;  // its SIGTERM follows (cli/cmd_cancel.cc)
    } else if (e.kind == "run.pause_requested" && !sched_.paused()) {
      sched_.pause();
      pending_.events.push_back(event("", "run.pausing", {{"running", sched_.running_count()}}));
      observer_.on_paused(sched_);
    } else if (e.kind == "gate.decision") {
      int task = wf_.task_index(e.task_id);
      if (task < 0 || !e.data.is_object()) return;
      bool approve = e.data.value("decision", "") == "approve";
      auto decided = approve ? sched_.approve(task, e.data.value("comment", ""))
                             : sched_.reject(task, e.data.value("reason", ""));
      if (decided) {
        pending_.events.push_back(
            event(e.task_id, approve ? "task.approved" : "task.rejected", e.data));
      }
    }
  });
  if (phase_ == Phase::kTasks && !fatal_) defer_pump();
}

void Driver::abandon_remote_input(int task) {
  const TaskState& t = sched_.task(task);
  if (!t.agent_state().needs_input) return;
  const agents::Invoker* invoker = agents::find_invoker(t.agent);
  std::string note;
  if (invoker && t.attempts > 0) {
    std::string log;
    std::ifstream in(log_path(wf_.tasks[task].id, t.attempts), std::ios::binary);
    log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    note = invoker->abandon(log);
  }
  sched_.input_abandoned(task);
  nlohmann::json data{{"attempt", t.attempts}};
  if (!note.empty()) data["note"] = note;
  pending_.events.push_back(event(wf_.tasks[task].id, "input.abandoned", std::move(data)));
  pending_.tasks.push_back(task_record(task));
}

// A finished task's typed outputs (typed_outputs.h) read again: the ```json ones from
// its recorded output, the files from TASK_DIR, the directory it ran in (its worktree or
// the project root; "" for a task that ran elsewhere: no files). What cannot be read
// again (a file removed since, e.g. by `baton clean`) is left out, so a dependant that
// uses it fails to render with the name of the output instead of getting a placeholder.
void restore_typed_outputs(const workflow::TaskSpec& spec, TaskState& s,
                           const std::string& task_dir) {
  std::vector<TypedOutput> in_json, files;
  for (TypedOutput& t : typed_outputs_of(spec.outputs())) {
    if (t.type != "file") {
      in_json.push_back(std::move(t));
    } else if (!task_dir.empty()) {
      files.push_back(std::move(t));
    }
  }
  auto merge = [&](const Result<nlohmann::json>& typed) {
    if (!typed) return;
    if (!s.outputs.is_object()) s.outputs = nlohmann::json::object();
    for (const auto& [k, v] : typed->items()) s.outputs[k] = v;
  };
  if (!in_json.empty()) merge(extract_typed_outputs(in_json, s.output, ""));
  for (TypedOutput& file : files) merge(extract_typed_outputs({file}, "", task_dir));
}

// RunOptions::imported: the tasks that ended elsewhere become this run's state (one
// transaction: each task's row and its task.<status> event, marked "imported").
Result<void> Driver::import_tasks() {
  std::vector<TaskState> states(wf_.tasks.size());
  for (const auto& [id, imported] : options_.imported) {
    int i = wf_.task_index(id);
    if (i < 0) return fail("imported result of task '" + id + "': the workflow has no such task");
    if (!is_terminal(imported.status)) {
      return fail("imported result of task '" + id + "': status " + to_string(imported.status) +
                  " is not an end");
    }
    TaskState& s = states[i];
    s.status = imported.status;
    s.output = imported.output;
    if (!s.output.empty() && s.output.front() == '{') {
      auto parsed = nlohmann::json::parse(s.output, nullptr, false);
      if (parsed.is_object()) s.outputs = parsed;
    }
    if (s.status == TaskStatus::kSuccess) restore_typed_outputs(wf_.tasks[i], s, "");
    s.exit_code = imported.exit_code;
    s.reason = imported.reason;
    s.agent = imported.agent;
    s.attempts = imported.attempts;
    s.agent_attempts = imported.attempts;
    s.cost_usd = imported.cost_usd;
    s.started_at = imported.started_at;
    s.ended_at = imported.ended_at;
  }
  sched_.restore(std::move(states), true);
  store::Batch batch;
  for (const auto& [id, imported] : options_.imported) {
    int i = wf_.task_index(id);
    batch.tasks.push_back(task_record(i));
    nlohmann::json data{{"from", "pending"}, {"imported", imported.source}};
    if (!imported.reason.empty()) data["reason"] = imported.reason;
    batch.events.push_back(event(id, std::string("task.") + to_string(imported.status), data));
  }
  secrets_.redact(batch);
  return store().apply(batch);
}

// The states the store recorded, for Scheduler::restore(). Named outputs come back from
// a JSON object output (as judge_attempt() makes them); a task's retry budget counts its
// attempts with its latest agent, afresh for the tasks `baton retry` reset.
std::vector<TaskState> Driver::recorded_states(const std::vector<store::TaskRecord>& tasks,
                                               const std::vector<store::AttemptRecord>& attempts,
                                               const ResumeOptions& resume) const {
  std::map<std::string, const store::TaskRecord*> by_id;
  for (const auto& t : tasks) by_id[t.task_id] = &t;
  std::map<std::string, std::vector<const store::AttemptRecord*>> tries;
  for (const auto& a : attempts) tries[a.task_id].push_back(&a);
  std::vector<TaskState> states(wf_.tasks.size());
  for (size_t i = 0; i < wf_.tasks.size(); ++i) {
    const std::string& id = wf_.tasks[i].id;
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;  // a task added with --force: pending
    const store::TaskRecord& r = *it->second;
    TaskState& s = states[i];
    s.status = parse_task_status(r.status).value_or(TaskStatus::kPending);
    s.attempts = r.attempts;
    s.agent = r.agent;
    s.output = r.output;
    if (!s.output.empty() && s.output.front() == '{') {
      auto parsed = nlohmann::json::parse(s.output, nullptr, false);
      if (parsed.is_object()) s.outputs = parsed;
    }
    if (s.status == TaskStatus::kSuccess) {
      restore_typed_outputs(wf_.tasks[i], s, workspaces_.task_directory(static_cast<int>(i)));
    }
    s.exit_code = r.exit_code;
    s.reason = r.reason;
    s.started_at = r.started_at;
    s.ended_at = r.ended_at;
    s.gate_passed = r.gate == "approved";
    s.escalated = r.gate == "escalated";
    // A task that ran an attempt is past its gate; "input": it waits for an answer (or
    // was rejected offline, abandon_remote_input() ends what the agent waits for);
    // "answered": the answer `baton approve` gave, kept as the output.
    if (r.gate == "input" && s.status != TaskStatus::kPending) {  // pending: `baton retry`
      s.gate_passed = true;
      s.mutable_agent_state().needs_input = true;
    } else if (r.gate == "answered") {
      s.gate_passed = true;
      s.mutable_agent_state().answer = r.output;
    }
    bool retried =
        std::find(resume.retried.begin(), resume.retried.end(), id) != resume.retried.end() ||
        iteration_feedback_.count(static_cast<int>(i));
    for (const store::AttemptRecord* a : tries[id]) {
      if (a->cost_usd) s.cost_usd += *a->cost_usd;
      if (!a->session_id.empty()) {
        s.mutable_agent_state().session_id = a->session_id;
        s.mutable_agent_state().session_agent = a->agent;
      }
      if (!a->agent.empty() && std::find(s.agents_tried().begin(), s.agents_tried().end(),
                                         a->agent) == s.agents_tried().end()) {
        s.mutable_agent_state().agents_tried.push_back(a->agent);
      }
      if (!retried && a->agent == r.agent) ++s.agent_attempts;
    }
  }
  return states;
}

// A task recorded running: its attempt's control file says what became of it
// (exec/supervised.h). Running: re-attach and wait. Finished: judged as if it had just
// ended (ENDED, after the loop starts). Never started: started again under the same
// number, not counted. Lost (its supervisor died too): cleaned up and counted as a
// failed attempt, retried per the task's policy.
void Driver::recover_attempt(int task, const store::AttemptRecord* record, store::Batch& batch,
                             std::vector<std::pair<int, exec::ProcessResult>>& ended) {
  const workflow::TaskSpec& spec = wf_.tasks[task];
  const int number = sched_.task(task).attempts;
  exec::AttemptState state;
  std::string control;
  executor::Executor* where = local_executor_.get();
  if (record) {
    control = exec::control_path_for(record->log_path);
    where = &executor_of_attempt(control);
    state = where->inspect(control);
  } else {
    state.detail = "no attempt row";
  }
  using Kind = exec::AttemptState::Kind;
  if (state.kind == Kind::kNotStarted) {
    batch.events.push_back(
        event(spec.id, "attempt.not_started", {{"attempt", number}, {"detail", state.detail}}));
    sched_.restart_attempt(task, "attempt " + std::to_string(number) +
                                     " never started; starting it again (not counted)");
    return;
  }
  Live live;
  live.attempt = number;
  live.inherited = true;
  if (spec.review) {
    const ReviewProgress& progress = sched_.task(task).agent_state().review;
    live.review = progress.phase == ReviewProgress::Phase::kReview;
    live.cycle = progress.cycle;
  }
  live.record = *record;
  live.prepared.agent = record->agent;
  if (!record->agent.empty()) live.prepared.invoker = agents::find_invoker(record->agent);
  if (!record->agent.empty() &&
      workflow::agent_via_of(spec, resolver_.role(spec.agent)) == workflow::AgentVia::kAcp) {
    auto policy =
        acp::parse_permission_policy(workflow::acp_permission_of(spec, resolver_.role(spec.agent)));
    live.prepared.invoker =
        acp::acp_invoker(record->agent, policy.value_or(acp::PermissionPolicy::kDeny));
  }
  if (state.kind == Kind::kRunning) {
    auto attached = where->recover(&loop_, control, [this, task](const executor::AttemptEnd& e) {
      on_exit(task, e.result, e.error_class);
    });
    if (attached) {
      nlohmann::json data{
          {"attempt", number}, {"supervisor_pid", state.supervisor_pid}, {"pid", state.child_pid}};
      if (std::string id = (*attached)->external_id(); !id.empty()) {
        data["executor"] = where->name();
        data["job_id"] = id;
      }
      batch.events.push_back(event(spec.id, "attempt.reattached", std::move(data)));
      live.process = std::move(*attached);
      live_[task] = std::move(live);
      return;
    }
    state.kind = Kind::kLost;  // it ended and vanished between inspect and attach
    state.detail = attached.error().message;
  }
  if (state.kind == Kind::kFinished) {
    batch.events.push_back(event(spec.id, "attempt.recovered",
                                 {{"attempt", number}, {"exit", state.result.status.to_string()}}));
    live_[task] = std::move(live);
    ended.emplace_back(task, state.result);
    return;
  }
  // Lost.
  if (auto cleaned = where->clean_up_lost(control); !cleaned) {
    state.detail += "; clean-up: " + cleaned.error().message;
  }
  std::string reason = where == local_executor_.get() ? "supervisor died" : "lost on slurm";
  if (!state.detail.empty() && state.detail != reason) reason += " (" + state.detail + ")";
  live.record.status = "failed";
  live.record.exit_status = "lost";
  live.record.error = reason;
  live.record.error_class = "transient";
  live.record.ended_at = clock_.now();
  batch.attempts.push_back(live.record);
  batch.events.push_back(
      event(spec.id, "attempt.lost",
            {{"attempt", number}, {"reason", reason}, {"supervisor_pid", state.supervisor_pid}}));
  AttemptOutcome out;
  out.reason = reason;
  out.agent = record->agent;
  sched_.attempt_finished(task, number, out);
}

Result<RunOutcome> Driver::resume(const store::RunRecord& recorded, const ResumeOptions& resume) {
  run_ = recorded;
  run_dir_ = recorded.run_dir;
  std::error_code ec;
  fs::create_directories(fs::path(run_dir_) / "logs", ec);
  if (ec) return fail("cannot create " + run_dir_ + "/logs: " + ec.message());
  auto isolation = workspaces_.begin();
  if (!isolation) return tl::unexpected(isolation.error());
  secrets_ = RunSecrets::load(wf_, options_.root_dir);
  run_.orchestrator_pid = static_cast<int>(getpid());
  run_.orchestrator_start_time = store::self_start_time();
  if (auto r = open_loop(); !r) return tl::unexpected(r.error());
  if (auto r = lock_run(); !r) {
    shut_loop();
    return tl::unexpected(r.error());
  }
  // Read after the lock: nobody else writes task rows now.
  auto tasks = store().list_tasks(run_id_);
  auto attempts = tasks ? store().list_attempts(run_id_, "")
                        : Result<std::vector<store::AttemptRecord>>(tl::unexpected(tasks.error()));
  if (!attempts) {
    shut_loop();
    return tl::unexpected(attempts.error());
  }
  // Worktrees: what the tasks that started before made, from the event log and git
  // (Workspaces::restore), before an attempt is re-attached, judged or started again.
  // The same events say how long earlier orchestrators ran the run (the live view's
  // elapsed time leaves out the time baton was down).
  double active_before_s = 0;
  ReviewLog review_log;
  if (isolation->is_null()) {
    // No worktrees to restore: the events are read one at a time (a large run has
    // hundreds of thousands).
    ActiveSeconds active;
    PendingIterations iterations;
    auto read = store().for_each_event(run_id_, 0, [&](const store::Event& e) {
      active.add(e);
      iterations.add(e);
      review_log.add(e);
    });
    if (!read) {
      shut_loop();
      return tl::unexpected(read.error());
    }
    active_before_s = active.total();
    note_iterations(iterations);
  } else {
    auto events = store().list_events(run_id_, 0);
    if (!events) {
      shut_loop();
      return tl::unexpected(events.error());
    }
    active_before_s = active_seconds(*events);
    PendingIterations iterations;
    for (const store::Event& e : *events) {
      iterations.add(e);
      review_log.add(e);
    }
    note_iterations(iterations);
    std::vector<int> fresh;
    for (const std::string& id : resume.retried) fresh.push_back(wf_.task_index(id));
    if (auto restored = workspaces_.restore(*events, fresh); !restored) {
      shut_loop();
      return tl::unexpected(restored.error());
    }
    // An iterated task goes on from what its last success left in its worktree.
    for (const auto& [task, feedback] : iteration_feedback_) {
      workspaces_.continue_from_result(task);
    }
  }
  for (int i = 0; i < sched_.task_count(); ++i) {
    const workflow::TaskSpec& spec = wf_.tasks[i];
    if (spec.is_command() || spec.agent.empty()) continue;
    if (auto found = resolver_.candidates(spec.agent)) sched_.set_agents(i, std::move(*found));
  }
  setup_reviews();
  std::vector<TaskState> states = recorded_states(*tasks, *attempts, resume);
  // Reviewed tasks: where their cycles were, from the event log (ReviewLog); a task
  // `baton retry` reset starts its cycles afresh.
  for (size_t i = 0; i < wf_.tasks.size(); ++i) {
    const workflow::TaskSpec& spec = wf_.tasks[i];
    if (!spec.review ||
        std::find(resume.retried.begin(), resume.retried.end(), spec.id) != resume.retried.end()) {
      continue;
    }
    ReviewProgress progress = review_log.progress(spec.id);
    if (progress.phase == ReviewProgress::Phase::kImplement) {
      states[i].agent_attempts = progress.phase_attempts;
    }
    states[i].mutable_agent_state().review = std::move(progress);
  }
  std::vector<TaskStatus> before;
  for (const TaskState& t : states) before.push_back(t.status);
  std::vector<bool> has_row(wf_.tasks.size(), false);
  for (const auto& t : *tasks) {
    if (int i = wf_.task_index(t.task_id); i >= 0) has_row[i] = true;
  }
  // Attempts started before their row (early_start_ok()): a task recorded ready whose
  // next attempt has a control file that says it started. It is running that attempt,
  // recovered below like any other; one that never started is left alone (its task
  // starts it again under the same number).
  std::map<int, store::AttemptRecord> unrecorded;
  for (const auto& t : *tasks) {
    const int i = wf_.task_index(t.task_id);
    if (i < 0 || t.status != "ready" || !wf_.tasks[i].is_command()) continue;
    store::AttemptRecord rec;
    rec.run_id = run_id_;
    rec.task_id = t.task_id;
    rec.number = t.attempts + 1;
    rec.log_path = log_path(t.task_id, rec.number);
    const std::string control = exec::control_path_for(rec.log_path);
    std::error_code missing;
    if (!fs::exists(control, missing)) continue;
    exec::AttemptState state = executor_of_attempt(control).inspect(control);
    if (state.kind == exec::AttemptState::Kind::kNotStarted) continue;
    rec.status = "running";
    rec.started_at = clock_.now();
    TaskState& s = states[i];
    s.status = TaskStatus::kRunning;
    s.attempts = rec.number;
    if (s.started_at == 0) s.started_at = rec.started_at;
    unrecorded.emplace(i, std::move(rec));
  }
  sched_.restore(std::move(states));
  release_free_memory();
  // A question rejected by `baton approve --reject` while no baton ran: what the agent
  // waits on is ended now (its event joins the next transaction, pending_).
  for (int i = 0; i < sched_.task_count(); ++i) {
    TaskStatus now = sched_.task(i).status;
    if (now == TaskStatus::kFailed || now == TaskStatus::kCancelled) abandon_remote_input(i);
  }

  store::Batch batch;
  run_.status = "running";
  run_.ended_at = 0;
  batch.run = run_;
  nlohmann::json data{{"from", recorded.status}, {"sha256", wf_.source_sha256}};
  if (resume.forced) data["forced"] = true;
  if (!resume.changed.empty()) data["changed"] = resume.changed;
  if (!resume.retried.empty()) data["retried"] = resume.retried;
  batch.events.push_back(event("", "run.resumed", std::move(data)));
  for (int i = 0; i < sched_.task_count(); ++i) {
    TaskStatus now = sched_.task(i).status;
    if (now == before[i] && has_row[i]) continue;
    batch.tasks.push_back(task_record(i));
    // A task without a row (added to the workflow, or a new run's second transaction
    // lost to a crash: Driver::run()): its DAG's edges, as a new run records them.
    if (!has_row[i]) batch.tasks.back().dependencies = wf_.tasks[i].dependencies;
    batch.events.push_back(event(wf_.tasks[i].id, std::string("task.") + to_string(now),
                                 {{"from", to_string(before[i])}, {"reason", "run resumed"}}));
  }
  // Attempts recorded running: re-attach, record, restart or retry each.
  std::map<std::string, const store::AttemptRecord*> last_attempt;
  for (const auto& a : *attempts) {
    auto& slot = last_attempt[a.task_id];
    if (!slot || a.number > slot->number) slot = &a;
  }
  std::vector<std::pair<int, exec::ProcessResult>> ended;
  for (int i = 0; i < sched_.task_count(); ++i) {
    if (sched_.task(i).status != TaskStatus::kRunning) continue;
    if (auto found = unrecorded.find(i); found != unrecorded.end()) {
      const store::AttemptRecord& rec = found->second;
      batch.attempts.push_back(rec);
      batch.events.push_back(
          event(rec.task_id, "attempt.started",
                {{"attempt", rec.number}, {"log", rec.log_path}, {"recorded", "on resume"}}));
      recover_attempt(i, &rec, batch, ended);
      continue;
    }
    auto it = last_attempt.find(wf_.tasks[i].id);
    const store::AttemptRecord* record =
        it != last_attempt.end() && it->second->number == sched_.task(i).attempts ? it->second
                                                                                  : nullptr;
    recover_attempt(i, record, batch, ended);
  }
  secrets_.redact(batch);
  if (auto r = store().apply(batch); !r) {
    // ~Supervised would kill a re-attached attempt: leave it to its supervisor.
    for (auto& [task, live] : live_) {
      if (live.process) live.process->detach();
    }
    live_.clear();
    shut_loop();
    return tl::unexpected(r.error());
  }
  ready_durable_.assign(sched_.task_count(), 0);
  for (int i = 0; i < sched_.task_count(); ++i) {
    ready_durable_[i] = sched_.task(i).status == TaskStatus::kReady;
  }
  observer_.on_run_started(run_, sched_, active_before_s);
  phase_ = Phase::kTasks;
  for (auto& [task, result] : ended) on_exit(task, result);
  pump();
  return loop_until_done();
}

}  // namespace

Result<RunOutcome> execute_run(const workflow::Workflow& workflow, store::Store& store,
                               const RunOptions& options, RunObserver& observer,
                               const Clock& clock) {
  Driver driver(workflow, store, options, observer, clock);
  return driver.run();
}

Result<RunOutcome> resume_run(const workflow::Workflow& workflow, store::Store& store,
                              const store::RunRecord& run, const RunOptions& options,
                              const ResumeOptions& resume, RunObserver& observer,
                              const Clock& clock) {
  RunOptions with_id = options;
  with_id.run_id = run.id;
  with_id.inputs = run.inputs;
  Driver driver(workflow, store, with_id, observer, clock);
  return driver.resume(run, resume);
}

}  // namespace baton::engine
