#include "engine/scheduler.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string_view>

#include "engine/attempt.h"  // utf8_prefix

namespace baton::engine {

using workflow::Backoff;
using workflow::RunFailurePolicy;
using workflow::TaskFailureAction;

namespace {

/// The index of each task by its id: open addressing over the workflow's own ids, 8
/// bytes a task (a std::unordered_map<std::string, ...> copied every id: about 56 bytes
/// a task, 5.6 MB at 100,000; bench/RESULTS.md, memory).
class IdIndex {
 public:
  explicit IdIndex(const std::vector<workflow::TaskSpec>& tasks) : tasks_(tasks) {
    size_t size = 16;
    while (size < 2 * tasks.size()) size *= 2;
    slots_.assign(size, -1);
    for (size_t i = 0; i < tasks.size(); ++i) {
      size_t at = slot_of(tasks[i].id);
      if (slots_[at] < 0) slots_[at] = static_cast<int>(i);  // the first of a duplicate id
    }
  }

  /// The index of the task with id ID, or -1.
  int find(std::string_view id) const { return slots_[slot_of(id)]; }

 private:
  // The slot that holds ID, or the empty slot where it would go.
  size_t slot_of(std::string_view id) const {
    const size_t mask = slots_.size() - 1;
    for (size_t at = std::hash<std::string_view>{}(id)&mask;; at = (at + 1) & mask) {
      int i = slots_[at];
      if (i < 0 || tasks_[i].id == id) return at;
    }
  }

  const std::vector<workflow::TaskSpec>& tasks_;
  std::vector<int> slots_;
};

}  // namespace

void Scheduler::TaskQueue::push(int task) {
  heap_.push_back(task);
  std::push_heap(heap_.begin(), heap_.end(), std::greater<int>());
}

int Scheduler::TaskQueue::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), std::greater<int>());
  int task = heap_.back();
  heap_.pop_back();
  return task;
}

const AgentTaskState& TaskState::agent_state() const {
  static const AgentTaskState kNone;
  return agent_ ? *agent_ : kNone;
}

AgentTaskState& TaskState::mutable_agent_state() {
  if (!agent_) agent_ = std::make_unique<AgentTaskState>();
  return *agent_;
}

TaskState& TaskState::operator=(const TaskState& other) {
  if (this == &other) return *this;
  status = other.status;
  timed_out = other.timed_out;
  gate_passed = other.gate_passed;
  escalated = other.escalated;
  attempts = other.attempts;
  exit_code = other.exit_code;
  agent = other.agent;
  output = other.output;
  outputs = other.outputs;
  reason = other.reason;
  retry_at = other.retry_at;
  started_at = other.started_at;
  ended_at = other.ended_at;
  agent_attempts = other.agent_attempts;
  cost_usd = other.cost_usd;
  agent_ = other.agent_ ? std::make_unique<AgentTaskState>(*other.agent_) : nullptr;
  return *this;
}

const Scheduler::Condition* Scheduler::condition(int task) const {
  auto it = std::lower_bound(conditions_.begin(), conditions_.end(), task,
                             [](const Condition& c, int t) { return c.task < t; });
  return it != conditions_.end() && it->task == task ? &*it : nullptr;
}

/// Resolves names for templates and conditions: `TASK.FIELD`, `inputs`, `variables`,
/// `run.*`, `env.NAME`, and bare input or variable names.
class Scheduler::TaskScope : public expr::Scope {
 public:
  explicit TaskScope(const Scheduler& s) : s_(s), index_(s.workflow_.tasks) {}

  /// The index of the task with id ID, or -1.
  int task_index(std::string_view id) const { return index_.find(id); }

  std::optional<expr::Value> lookup(const std::vector<std::string>& path) const override {
    if (path.empty()) return std::nullopt;
    const std::string& head = path[0];
    if (int i = index_.find(head); i >= 0) {
      if (path.size() == 1) return task_object(i);
      auto field = task_field(i, path[1]);
      if (!field) return std::nullopt;
      return descend(*field, path, 2);
    }
    if (head == "inputs") return descend(s_.context_.inputs, path, 1);
    if (head == "variables") return descend(s_.context_.variables, path, 1);
    if (head == "run") {
      return descend(nlohmann::json{{"id", s_.context_.run_id},
                                    {"name", s_.context_.run_name},
                                    {"status", to_string(s_.run_status())}},
                     path, 1);
    }
    if (head == "env") {
      if (path.size() != 2) return std::nullopt;
      const char* value = std::getenv(path[1].c_str());
      if (!value) return std::nullopt;
      return expr::Value(value);
    }
    if (auto it = s_.context_.inputs.find(head); it != s_.context_.inputs.end()) {
      return descend(*it, path, 1);
    }
    if (auto it = s_.context_.variables.find(head); it != s_.context_.variables.end()) {
      return descend(*it, path, 1);
    }
    return std::nullopt;
  }

 private:
  std::optional<expr::Value> task_field(size_t i, const std::string& field) const {
    const TaskState& t = s_.tasks_[i];
    if (field == "output") return expr::Value(t.output);
    if (field == "status") return expr::Value(to_string(t.status));
    if (field == "exit_code") return t.exit_code ? expr::Value(*t.exit_code) : expr::Value();
    if (field == "attempts") return expr::Value(t.attempts);
    if (field == "agent") return expr::Value(t.agent);
    if (field == "outputs") return t.outputs.is_null() ? expr::Value::object() : t.outputs;
    if (field == "error") return expr::Value(t.reason);
    return std::nullopt;
  }
  // VALUE indexed by PATH[FROM..]: object members by name, array elements by
  // number; nullopt when a member is missing.
  static std::optional<expr::Value> descend(const expr::Value& value,
                                            const std::vector<std::string>& path, size_t from) {
    const expr::Value* v = &value;
    for (size_t i = from; i < path.size(); ++i) {
      if (v->is_object()) {
        auto it = v->find(path[i]);
        if (it == v->end()) return std::nullopt;
        v = &*it;
      } else if (v->is_array() && !path[i].empty() &&
                 path[i].find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(path[i]) < v->size()) {
        v = &(*v)[std::stoul(path[i])];
      } else {
        return std::nullopt;
      }
    }
    return *v;
  }
  expr::Value task_object(size_t i) const {
    expr::Value v = expr::Value::object();
    for (const char* f :
         {"output", "status", "exit_code", "attempts", "agent", "outputs", "error"}) {
      v[f] = *task_field(i, f);
    }
    return v;
  }

  const Scheduler& s_;
  IdIndex index_;
};

Scheduler::Scheduler(const workflow::Workflow& workflow, const Clock& clock, RunContext context,
                     uint64_t jitter_seed)
    : workflow_(workflow),
      clock_(clock),
      context_(std::move(context)),
      tasks_(workflow.tasks.size()),
      unfinished_deps_(workflow.tasks.size(), 0),
      slots_(workflow.settings.agent_limits, workflow.settings.role_limits),
      slot_waiters_(slots_.key_count()),
      rng_(jitter_seed) {
  single_agent_ = workflow.settings.single_agent;
  auto scope = std::make_unique<TaskScope>(*this);
  const size_t n = workflow.tasks.size();
  // Both lists in compressed rows: dependencies in the order written, dependants in
  // declaration order (on_terminal() visits them so).
  dependencies_.offsets_.assign(n + 1, 0);
  std::vector<uint32_t> dependant_counts(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& dep : workflow.tasks[i].dependencies) {
      int d = scope->task_index(dep);
      if (d < 0) continue;  // validation refused this already
      dependencies_.items_.push_back(d);
      ++dependant_counts[d + 1];
    }
    dependencies_.offsets_[i + 1] = static_cast<uint32_t>(dependencies_.items_.size());
  }
  dependencies_.items_.shrink_to_fit();
  for (size_t i = 0; i < n; ++i) dependant_counts[i + 1] += dependant_counts[i];
  dependants_.offsets_ = dependant_counts;
  dependants_.items_.resize(dependencies_.items_.size());
  for (size_t i = 0; i < n; ++i) {
    for (int d : dependencies_[static_cast<int>(i)]) {
      dependants_.items_[dependant_counts[d]++] = static_cast<int>(i);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const workflow::TaskSpec& spec = workflow.tasks[i];
    unfinished_deps_[i] = static_cast<int>(dependencies_[static_cast<int>(i)].size());
    if (unfinished_deps_[i] == 0) resolvable_.push(static_cast<int>(i));
    if (!spec.condition.empty()) {
      Condition c;
      c.task = static_cast<int>(i);
      auto parsed = expr::parse_condition(spec.condition);
      if (parsed) {
        c.parsed = std::move(*parsed);
      } else {
        c.error = "invalid condition: " + parsed.error().message;
      }
      conditions_.push_back(std::move(c));
    }
  }
  scope_ = std::move(scope);
}

void Scheduler::set_status(int task, TaskStatus to, int attempt, std::string reason) {
  TaskState& t = tasks_[task];
  Transition tr{task, t.status, to, attempt, reason, clock_.now()};
  if (t.status == TaskStatus::kRunning) --running_;
  if (to == TaskStatus::kRunning) ++running_;
  if (!slots_.empty() && t.status == TaskStatus::kRunning && to != TaskStatus::kRunning) {
    give_back_slots(task);
  }
  if (!slots_.empty() && to == TaskStatus::kRunning && t.status != TaskStatus::kRunning) {
    take_slots(task, "");
  }
  if (t.status == TaskStatus::kWaiting) --waiting_;
  if (to == TaskStatus::kWaiting) ++waiting_;
  t.status = to;
  t.reason = std::move(reason);
  queued_.push_back(std::move(tr));
  if (is_terminal(to)) {
    t.ended_at = clock_.now();
    on_terminal(task);
  }
}

void Scheduler::on_terminal(int task) {
  ++terminal_count_;
  // A run succeeds only when every task succeeded or was skipped: a cancelled task
  // (its dependency failed, the run stopped) fails the run as surely as a failed one.
  if (tasks_[task].status == TaskStatus::kFailed || tasks_[task].status == TaskStatus::kCancelled) {
    any_failed_ = true;
  }
  for (int d : dependants_[task]) {
    if (--unfinished_deps_[d] == 0 && tasks_[d].status == TaskStatus::kPending) {
      resolvable_.push(d);
    }
  }
}

void Scheduler::resolve(int task) {
  if (stopping_) {
    set_status(task, TaskStatus::kCancelled, 0, stop_reason_);
    return;
  }
  for (int dep : dependencies_[task]) {
    TaskStatus s = tasks_[dep].status;
    if (s == TaskStatus::kFailed || s == TaskStatus::kCancelled) {
      set_status(task, TaskStatus::kCancelled, 0,
                 "dependency '" + workflow_.tasks[dep].id + "' " +
                     (s == TaskStatus::kFailed ? "failed" : "was cancelled"));
      return;
    }
  }
  const Condition* cond = condition(task);
  if (cond && !cond->error.empty()) {
    any_failed_ = true;
    set_status(task, TaskStatus::kFailed, 0, cond->error);
    return;
  }
  if (cond && cond->parsed) {
    auto value = expr::evaluate_condition(*cond->parsed, *scope_);
    if (!value) {
      set_status(task, TaskStatus::kFailed, 0, "condition error: " + value.error());
      if (workflow_.settings.on_failure == RunFailurePolicy::kStop) {
        stop("stopped after task '" + workflow_.tasks[task].id + "' failed");
      }
      return;
    }
    if (!*value) {
      set_status(task, TaskStatus::kSkipped, 0,
                 "condition is false: " + workflow_.tasks[task].condition);
      return;
    }
  }
  if (workflow_.tasks[task].gate() && !tasks_[task].gate_passed) {
    wait_for_person(task, 0, gate_message(task));
    return;
  }
  if (workflow_.tasks[task].is_gate_only()) {  // approved while no orchestrator ran
    tasks_[task].started_at = clock_.now();
    set_status(task, TaskStatus::kSuccess, 0, "");
    return;
  }
  set_status(task, TaskStatus::kReady, 0, "");
  ready_.push(task);
}

std::string Scheduler::gate_message(int task) {
  const std::string& text = workflow_.tasks[task].gate()->message;
  if (text.empty()) return "approval required";
  auto parsed = expr::parse_template(text);
  if (!parsed) return text;  // validation refused this already
  auto rendered = expr::render(*parsed, *scope_);
  if (!rendered) return text + " (cannot render: " + rendered.error() + ")";
  return *rendered;
}

void Scheduler::wait_for_person(int task, int attempt, std::string message) {
  set_status(task, TaskStatus::kWaiting, attempt, std::move(message));
}

Result<void> Scheduler::approve(int task, const std::string& comment) {
  TaskState& t = tasks_[task];
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  if (t.status != TaskStatus::kWaiting) {
    return fail("task '" + spec.id + "' is " + to_string(t.status) + ", not waiting for approval");
  }
  if (t.agent_state().needs_input) {
    AgentTaskState& agent = t.mutable_agent_state();
    agent.needs_input = false;
    agent.answer = comment;
    t.output = comment;
    t.gate_passed = true;
    // The question's attempt did not fail: the answer's is not a retry.
    if (t.agent_attempts > 0) --t.agent_attempts;
    set_status(task, TaskStatus::kReady, t.attempts, "");
    ready_.push(task);
    return {};
  }
  if (t.escalated || spec.is_gate_only()) {
    // An exhausted review's work stands as the task's output: approving accepts it.
    if (!(spec.review && t.agent_state().review.exhausted)) t.output = comment;
    if (t.attempts == 0) t.started_at = clock_.now();
    set_status(task, TaskStatus::kSuccess, t.attempts, "");
    return {};
  }
  t.gate_passed = true;
  set_status(task, TaskStatus::kReady, t.attempts, "");
  ready_.push(task);
  return {};
}

Result<void> Scheduler::reject(int task, const std::string& reason) {
  TaskState& t = tasks_[task];
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  if (t.status != TaskStatus::kWaiting) {
    return fail("task '" + spec.id + "' is " + to_string(t.status) + ", not waiting for approval");
  }
  set_status(task, TaskStatus::kFailed, t.attempts,
             "rejected" + (reason.empty() ? std::string() : ": " + reason));
  if (workflow_.settings.on_failure == RunFailurePolicy::kStop) {
    stop("stopped after task '" + spec.id + "' was rejected");
  }
  return {};
}

void Scheduler::pause() { paused_ = true; }

void Scheduler::restore(std::vector<TaskState> states, bool keep_cancelled) {
  running_ = waiting_ = 0;
  terminal_count_ = 0;
  any_failed_ = false;
  cost_usd_ = 0;
  resolvable_.clear();
  ready_.clear();
  retries_.clear();
  queued_.clear();
  for (TaskQueue& waiters : slot_waiters_) waiters.clear();
  for (const auto& [task, keys] : held_) slots_.release(keys);
  held_.clear();
  for (size_t i = 0; i < tasks_.size() && i < states.size(); ++i) {
    TaskState s = std::move(states[i]);
    // Candidates come from set_agents() only; the agent index from the recorded agent.
    if (!tasks_[i].candidates().empty() || !s.candidates().empty() || s.agent_index() != 0) {
      AgentTaskState& agent = s.mutable_agent_state();
      agent.candidates.clear();
      if (!tasks_[i].candidates().empty()) {
        agent.candidates = std::move(tasks_[i].mutable_agent_state().candidates);
      }
      agent.agent_index = 0;
      for (size_t a = 0; a < agent.candidates.size(); ++a) {
        if (agent.candidates[a] == s.agent) agent.agent_index = static_cast<int>(a);
      }
    }
    if (s.status == TaskStatus::kReady || (s.status == TaskStatus::kCancelled && !keep_cancelled)) {
      s.status = TaskStatus::kPending;
      s.reason.clear();
    }
    cost_usd_ += s.cost_usd;
    if (s.status == TaskStatus::kRunning) ++running_;
    if (s.status == TaskStatus::kWaiting) ++waiting_;
    if (is_terminal(s.status)) ++terminal_count_;
    if (s.status == TaskStatus::kFailed) any_failed_ = true;
    tasks_[i] = std::move(s);
    // A re-attached attempt holds its slots: on the agent it runs on.
    if (!slots_.empty() && tasks_[i].status == TaskStatus::kRunning) {
      take_slots(static_cast<int>(i), tasks_[i].agent);
    }
  }
  for (size_t i = 0; i < tasks_.size(); ++i) {
    int open = 0;
    for (int dep : dependencies_[i]) open += !is_terminal(tasks_[dep].status);
    unfinished_deps_[i] = open;
    if (open == 0 && tasks_[i].status == TaskStatus::kPending) {
      resolvable_.push(static_cast<int>(i));
    }
  }
  if (any_failed_ && workflow_.settings.on_failure == RunFailurePolicy::kStop) {
    for (size_t i = 0; i < tasks_.size(); ++i) {
      if (tasks_[i].status == TaskStatus::kFailed) {
        stop("stopped after task '" + workflow_.tasks[i].id + "' failed");
        break;
      }
    }
  }
}

void Scheduler::restart_attempt(int task, const std::string& reason) {
  TaskState& t = tasks_[task];
  if (t.status != TaskStatus::kRunning) return;
  t.attempts = std::max(0, t.attempts - 1);
  uncount_attempt(task);
  if (stopping_) {
    set_status(task, TaskStatus::kCancelled, t.attempts, stop_reason_);
    return;
  }
  set_status(task, TaskStatus::kReady, t.attempts + 1, reason);
  ready_.push(task);
}

void Scheduler::requeue_attempt(int task, const std::string& reason) {
  TaskState& t = tasks_[task];
  if (t.status != TaskStatus::kRunning) return;
  uncount_attempt(task);
  if (stopping_) {
    set_status(task, TaskStatus::kCancelled, t.attempts, stop_reason_);
    return;
  }
  set_status(task, TaskStatus::kReady, t.attempts, reason);
  ready_.push(task);
}

void Scheduler::uncount_attempt(int task) {
  TaskState& t = tasks_[task];
  bool reviewing = false;
  if (workflow_.tasks[task].review) {
    ReviewProgress& review = t.mutable_agent_state().review;
    review.phase_attempts = std::max(0, review.phase_attempts - 1);
    reviewing = review.phase == ReviewProgress::Phase::kReview;
  }
  if (!reviewing) t.agent_attempts = std::max(0, t.agent_attempts - 1);
}

std::string Scheduler::progress_label(int task) const {
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  if (!spec.review) return "";
  return review_label(tasks_[task].agent_state().review, spec.review->max_cycles);
}

bool Scheduler::blocked_on_gates() const {
  for (const TaskQueue& waiters : slot_waiters_) {
    if (!waiters.empty()) return false;  // (a slot is held by a running attempt anyway)
  }
  return !finished() && waiting_ > 0 && running_ == 0 && ready_.empty() && resolvable_.empty() &&
         retries_.empty();
}

std::vector<int> Scheduler::waiting_tasks() const {
  std::vector<int> out;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (tasks_[i].status == TaskStatus::kWaiting) out.push_back(static_cast<int>(i));
  }
  return out;
}

Step Scheduler::advance() { return advance_at(/*start=*/true); }

Step Scheduler::advance_without_starts() { return advance_at(/*start=*/false); }

Step Scheduler::advance_at(bool start) {
  const double now = clock_.now();
  // Retries whose delay has passed go back to ready.
  while (!retries_.empty() && retries_.begin()->first <= now && !stopping_) {
    int task = retries_.begin()->second;
    retries_.erase(retries_.begin());
    set_status(task, TaskStatus::kReady, tasks_[task].attempts, progress_label(task));
    ready_.push(task);
  }
  // Resolving a task can make others resolvable (skips, cancellations): loop.
  while (!resolvable_.empty()) {
    resolve(resolvable_.pop());
  }
  Step step;
  // Keys whose free slots a task set aside in this step may have been waiting for: their
  // other waiters get the slots (refill()), then the loop runs again. Each further round
  // follows a start (only a start takes a slot), so there are at most max_parallel + 1.
  std::vector<int> recheck;
  while (start) {
    start_ready(now, &step, &recheck);
    bool moved = false;
    for (int key : recheck) moved = refill(key) || moved;
    recheck.clear();
    if (!moved) break;
  }
  step.transitions = std::move(queued_);
  queued_.clear();
  return step;
}

void Scheduler::start_ready(double now, Step* step, std::vector<int>* recheck) {
  while (!stopping_ && !paused_ && !ready_.empty() && running_ < workflow_.settings.max_parallel) {
    int task = ready_.pop();
    TaskState& t = tasks_[task];
    if (!slots_.empty()) {
      ConcurrencySlots::Keys keys = slot_keys(task, "");
      int full = slots_.full(keys);
      if (full >= 0) {  // waits for a slot; the next ready task may start
        // Recorded (ready -> ready with the reason: `baton status` shows it) when it
        // starts waiting, not again while it waits.
        std::string reason = slots_.waiting_reason(full);
        if (t.reason != reason) set_status(task, TaskStatus::kReady, t.attempts, reason);
        slot_waiters_[full].push(task);
        for (int other : {keys.agent, keys.role}) {
          if (other >= 0 && other != full) recheck->push_back(other);
        }
        continue;
      }
    }
    const workflow::TaskSpec& spec = workflow_.tasks[task];
    ReviewProgress* review = spec.review ? &t.mutable_agent_state().review : nullptr;
    const bool reviewing = review && review->phase == ReviewProgress::Phase::kReview;
    ++t.attempts;
    if (!reviewing) ++t.agent_attempts;  // a review does not use the implementer's retries
    if (review) ++review->phase_attempts;
    if (t.attempts == 1) t.started_at = now;
    t.timed_out = false;
    // shown while it runs; a review keeps the implementer as the task's agent
    if (!t.candidates().empty() && !reviewing) t.agent = t.candidates()[t.agent_index()];
    set_status(task, TaskStatus::kRunning, t.attempts, progress_label(task));
    StartRequest start{task, t.attempts, "", ""};
    if (reviewing) {
      start.agent = review->reviewer;
      start.review = true;
    } else if (!t.candidates().empty()) {
      start.agent = t.candidates()[t.agent_index()];
      // A rework goes on in the implementer's session where its CLI has one.
      bool resume = spec.resume_session || (review && review->cycle > 1);
      if (resume && t.session_agent() == start.agent) start.resume_session_id = t.session_id();
    }
    if (review) start.cycle = review->cycle;
    step->starts.push_back(std::move(start));
  }
}

double Scheduler::retry_delay(const workflow::RetryPolicy& policy, int retry) {
  double delay = policy.delay_s;
  if (policy.backoff == Backoff::kExponential) delay *= std::pow(2.0, std::max(0, retry - 1));
  if (policy.max_delay_s) delay = std::min(delay, *policy.max_delay_s);
  if (policy.jitter > 0 && delay > 0) {
    std::uniform_real_distribution<double> dist(0.0, policy.jitter * delay);
    delay += dist(rng_);
  }
  return delay;
}

void Scheduler::set_reviewers(int task, std::vector<std::string> agents) {
  reviewers_[task] = std::move(agents);
}

std::string Scheduler::choose_reviewer(int task, const std::string& implementer) const {
  const auto& failed = tasks_[task].agent_state().review.failed_reviewers;
  auto has_failed = [&](const std::string& agent) {
    return std::any_of(failed.begin(), failed.end(),
                       [&](const ReviewProgress::FailedReviewer& f) { return f.agent == agent; });
  };
  if (single_agent_ && !implementer.empty() && !has_failed(implementer)) return implementer;
  auto it = reviewers_.find(task);
  if (it == reviewers_.end()) return "";
  for (const std::string& agent : it->second) {
    if ((agent != implementer || single_agent_) && !has_failed(agent)) return agent;
  }
  return "";
}

std::string Scheduler::no_reviewer_reason(int task, const std::string& implementer) const {
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  const auto& failed = tasks_[task].agent_state().review.failed_reviewers;
  if (failed.empty()) {
    return "no reviewer: no installed agent of '" + spec.review->agent + "' other than " +
           (implementer.empty() ? std::string("the implementer") : implementer) +
           " (settings.single_agent: true lets an agent review its own work)";
  }
  std::string tried;
  for (const ReviewProgress::FailedReviewer& f : failed) {
    tried += (tried.empty() ? "" : "; ") + ("review attempt " + std::to_string(f.attempt)) + " (" +
             f.agent + ") failed: " + f.reason;
  }
  return "no reviewer of '" + spec.review->agent + "' left: " + tried;
}

void Scheduler::start_review(int task, int attempt) {
  TaskState& t = tasks_[task];
  ReviewProgress& review = t.mutable_agent_state().review;
  review.implementer = t.agent;
  std::string reviewer = choose_reviewer(task, review.implementer);
  if (reviewer.empty()) {
    fail_task(task, attempt, no_reviewer_reason(task, review.implementer));
    return;
  }
  review.reviewer = std::move(reviewer);
  review.phase = ReviewProgress::Phase::kReview;
  review.phase_attempts = 0;
  if (stopping_) {
    set_status(task, TaskStatus::kCancelled, attempt, stop_reason_);
    return;
  }
  const double pause = workflow_.settings.single_agent_pause_s;
  if (review.reviewer == review.implementer && pause > 0) {
    char buf[160];
    std::snprintf(buf, sizeof buf, ": %s reviews its own work after a pause of %.3gs",
                  review.reviewer.c_str(), pause);
    schedule_retry(task, pause, progress_label(task) + buf);
    return;
  }
  set_status(task, TaskStatus::kReady, attempt, progress_label(task));
  ready_.push(task);
}

void Scheduler::review_finished(int task, int attempt, const AttemptOutcome& outcome) {
  TaskState& t = tasks_[task];
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  ReviewProgress& review = t.mutable_agent_state().review;
  const int max_cycles = spec.review->max_cycles;
  if (outcome.cost_usd) {
    t.cost_usd += *outcome.cost_usd;
    cost_usd_ += *outcome.cost_usd;
  }
  const std::string what = "review attempt " + std::to_string(attempt) + " (" +
                           (outcome.agent.empty() ? review.reviewer : outcome.agent) + ")";
  if (cancelled_ || (outcome.cancelled && stopping_)) {
    set_status(task, TaskStatus::kCancelled, attempt,
               outcome.reason.empty() ? "cancelled" : outcome.reason);
    return;
  }
  if (!outcome.success || !outcome.verdict) {
    // No verdict (or the reviewer's CLI failed): retried by the task's policy, counted
    // apart from the implementer's attempts.
    const std::string reason = outcome.reason.empty() ? "no verdict" : outcome.reason;
    const workflow::RetryPolicy policy = spec.effective_retry();
    const std::string& cls = outcome.error_class;
    bool same_reviewer_ok =
        outcome.retryable && cls != "auth" && review.phase_attempts < policy.max_attempts;
    if (cls == "permanent" && spec.fallback != workflow::FallbackStrategy::kSameAgent) {
      same_reviewer_ok = false;
    }
    if (same_reviewer_ok && !stopping_) {
      double delay = retry_delay(policy, review.phase_attempts);
      if (outcome.retry_after_s) delay = std::max(delay, *outcome.retry_after_s);
      char buf[64];
      std::snprintf(buf, sizeof buf, "; retry %d/%d in %.3gs", review.phase_attempts + 1,
                    policy.max_attempts, delay);
      schedule_retry(task, delay, what + " failed: " + reason + buf);
      return;
    }
    // This reviewer failed for good: the role's next agent reviews (as `fallback:
    // next_in_list` does for the implementer), none left: the task fails naming each.
    if (spec.fallback != workflow::FallbackStrategy::kNextInList || stopping_) {
      fail_task(task, attempt, what + " failed: " + reason);
      return;
    }
    review.failed_reviewers.push_back(
        {outcome.agent.empty() ? review.reviewer : outcome.agent, reason, attempt});
    std::string next = choose_reviewer(task, review.implementer);
    if (next.empty()) {
      fail_task(task, attempt, no_reviewer_reason(task, review.implementer));
      return;
    }
    review.reviewer = std::move(next);
    review.phase_attempts = 0;
    schedule_retry(task, 0,
                   what + " failed: " + reason + "; falling back to reviewer " + review.reviewer);
    return;
  }
  const std::string cycles = std::to_string(review.cycle) + "/" + std::to_string(max_cycles);
  if (outcome.verdict->approved) {
    set_status(task, TaskStatus::kSuccess, attempt,
               "approved by " + review.reviewer + " (cycle " + cycles + ")");
  } else if (review.cycle >= max_cycles) {
    review.feedback = outcome.verdict->feedback;
    review.exhausted = true;
    std::string why = "review not approved after " + std::to_string(max_cycles) +
                      (max_cycles == 1 ? " cycle" : " cycles");
    std::string first_line = review.feedback.substr(0, review.feedback.find('\n'));
    if (first_line.size() > 200) first_line = std::string(utf8_prefix(first_line, 200)) + "…";
    why += "; last feedback: " + first_line;
    if (spec.review->on_exhausted == workflow::ReviewExhausted::kEscalate && !stopping_) {
      t.escalated = true;
      wait_for_person(task, attempt, "escalated: " + why);  // starts kReviewExhaustedReason
    } else {
      set_status(task, TaskStatus::kFailed, attempt, why);
      if (workflow_.settings.on_failure == RunFailurePolicy::kStop) {
        stop("stopped after task '" + spec.id + "' failed");
      }
    }
  } else {
    review.feedback = outcome.verdict->feedback;
    ++review.cycle;
    review.phase = ReviewProgress::Phase::kImplement;
    review.phase_attempts = 0;
    t.agent_attempts = 0;  // the rework gets the task's retries afresh
    if (stopping_) {
      set_status(task, TaskStatus::kCancelled, attempt, stop_reason_);
    } else {
      set_status(task, TaskStatus::kReady, attempt, progress_label(task));
      ready_.push(task);
    }
  }
  const auto& run_budget = workflow_.settings.max_cost_usd;
  if (run_budget && cost_usd_ >= *run_budget && !stopping_) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "run budget of $%.4g used up ($%.4g spent)", *run_budget,
                  cost_usd_);
    stop(buf);
  }
}

void Scheduler::set_agents(int task, std::vector<std::string> agents) {
  if (agents.empty() && tasks_[task].candidates().empty()) {
    tasks_[task].agent_attempts = 0;
    return;
  }
  AgentTaskState& agent = tasks_[task].mutable_agent_state();
  agent.candidates = std::move(agents);
  agent.agent_index = 0;
  tasks_[task].agent_attempts = 0;
}

void Scheduler::attempt_finished(int task, int attempt, const AttemptOutcome& outcome) {
  TaskState& t = tasks_[task];
  if (t.status != TaskStatus::kRunning || t.attempts != attempt) return;
  if (workflow_.tasks[task].review &&
      t.agent_state().review.phase == ReviewProgress::Phase::kReview) {
    review_finished(task, attempt, outcome);  // the task's output stays the work's
    return;
  }
  if (t.agent_state().answer) t.mutable_agent_state().answer.reset();  // delivered
  t.output = outcome.output;
  t.outputs = outcome.outputs;
  t.exit_code = outcome.exit_code;
  t.timed_out = outcome.timed_out;
  if (!outcome.agent.empty()) {
    t.agent = outcome.agent;
    const auto& tried = t.agents_tried();
    if (std::find(tried.begin(), tried.end(), outcome.agent) == tried.end()) {
      t.mutable_agent_state().agents_tried.push_back(outcome.agent);
    }
  }
  if (!outcome.session_id.empty()) {
    AgentTaskState& agent = t.mutable_agent_state();
    agent.session_id = outcome.session_id;
    agent.session_agent = outcome.agent;
  }
  if (outcome.cost_usd) {
    t.cost_usd += *outcome.cost_usd;
    cost_usd_ += *outcome.cost_usd;
  }
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  const auto& run_budget = workflow_.settings.max_cost_usd;
  if (run_budget && cost_usd_ >= *run_budget && !stopping_) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "run budget of $%.4g used up ($%.4g spent)", *run_budget,
                  cost_usd_);
    if (outcome.success && spec.review) {
      start_review(task, attempt);  // stop() below cancels it
    } else if (outcome.success) {
      set_status(task, TaskStatus::kSuccess, attempt, "");
    }
    stop(buf);
    if (outcome.success) return;
  }
  if (outcome.question && !outcome.success && !cancelled_ && !stopping_) {
    t.mutable_agent_state().needs_input = true;
    wait_for_person(task, attempt, "input required: " + *outcome.question);
    return;
  }
  if (outcome.success && spec.review) {
    start_review(task, attempt);  // done only once a reviewer approves
    return;
  }
  if (outcome.success) {
    set_status(task, TaskStatus::kSuccess, attempt, "");
    return;
  }
  // Cancelled only when the run is being cancelled or stopped (cancel(), stop()). An
  // attempt that ended "cancelled" otherwise was stopped by something else (another
  // process signalled it, an agent reported an interruption): a failed attempt, retried
  // by policy, never a cancellation the run did not ask for.
  if (cancelled_ || (outcome.cancelled && stopping_)) {
    set_status(task, TaskStatus::kCancelled, attempt,
               outcome.reason.empty() ? "cancelled" : outcome.reason);
    return;
  }
  std::string reason = outcome.reason.empty() ? "cancelled" : outcome.reason;
  if (spec.max_cost_usd() && t.cost_usd >= *spec.max_cost_usd()) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "; task budget of $%.4g used up", *spec.max_cost_usd());
    fail_task(task, attempt, reason + buf);
    return;
  }
  const workflow::RetryPolicy policy = spec.effective_retry();
  const std::string& cls = outcome.error_class;
  bool is_agent = !t.candidates().empty();
  bool same_agent_ok = outcome.retryable && cls != "auth" && t.agent_attempts < policy.max_attempts;
  if (is_agent && cls == "permanent" && spec.fallback != workflow::FallbackStrategy::kSameAgent) {
    same_agent_ok = false;
  }
  if (same_agent_ok && !stopping_) {
    double delay = retry_delay(policy, t.agent_attempts);
    if (outcome.retry_after_s) delay = std::max(delay, *outcome.retry_after_s);
    char buf[64];
    std::snprintf(buf, sizeof buf, "; retry %d/%d in %.3gs", t.agent_attempts + 1,
                  policy.max_attempts, delay);
    std::string with = is_agent ? " (" + t.candidates()[t.agent_index()] + ")" : "";
    schedule_retry(task, delay,
                   "attempt " + std::to_string(attempt) + with + " failed: " + reason + buf);
    return;
  }
  if (is_agent && spec.fallback == workflow::FallbackStrategy::kNextInList &&
      t.agent_index() + 1 < static_cast<int>(t.candidates().size()) && !stopping_ &&
      (outcome.retryable || cls == "auth")) {
    const std::string from = t.candidates()[t.agent_index()];
    ++t.mutable_agent_state().agent_index;
    t.agent_attempts = 0;
    schedule_retry(task, 0,
                   "attempt " + std::to_string(attempt) + " (" + from + ") failed: " + reason +
                       "; falling back to " + t.candidates()[t.agent_index()]);
    return;
  }
  fail_task(task, attempt, reason);
}

void Scheduler::schedule_retry(int task, double delay, const std::string& reason) {
  TaskState& t = tasks_[task];
  t.retry_at = clock_.now() + delay;
  retries_.insert({t.retry_at, task});
  set_status(task, TaskStatus::kPending, t.attempts, reason);
}

void Scheduler::fail_task(int task, int attempt, const std::string& reason) {
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  if (spec.failure_action() == TaskFailureAction::kEscalate && !stopping_) {
    tasks_[task].escalated = true;
    wait_for_person(task, attempt, "escalated: " + reason);
    return;
  }
  if (spec.failure_action() == TaskFailureAction::kSkip) {
    set_status(task, TaskStatus::kSkipped, attempt,
               "failed (" + reason + "); skipped by on_failure: skip");
    return;
  }
  set_status(task, TaskStatus::kFailed, attempt, reason);
  if (workflow_.settings.on_failure == RunFailurePolicy::kStop) {
    stop("stopped after task '" + spec.id + "' failed");
  }
}

void Scheduler::stop(const std::string& reason) {
  if (stopping_) return;
  stopping_ = true;
  stop_reason_ = reason;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    TaskStatus s = tasks_[i].status;
    if (s == TaskStatus::kWaiting && keep_waiting_) continue;
    if (s == TaskStatus::kPending || s == TaskStatus::kReady || s == TaskStatus::kWaiting) {
      set_status(static_cast<int>(i), TaskStatus::kCancelled, tasks_[i].attempts, reason);
    }
  }
  ready_.clear();
  for (TaskQueue& waiters : slot_waiters_) waiters.clear();
  retries_.clear();
  resolvable_.clear();
}

std::vector<int> Scheduler::cancel(const std::string& reason, bool keep_waiting) {
  cancelled_ = true;
  keep_waiting_ = keep_waiting;
  stop(reason);
  std::vector<int> running;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (tasks_[i].status == TaskStatus::kRunning) running.push_back(static_cast<int>(i));
  }
  return running;
}

ConcurrencySlots::Keys Scheduler::slot_keys(int task, const std::string& agent) const {
  const TaskState& t = tasks_[task];
  const workflow::TaskSpec& spec = workflow_.tasks[task];
  if (spec.agent.empty()) return {};  // a command or a gate: no agent slot
  if (spec.review && t.agent_state().review.phase == ReviewProgress::Phase::kReview) {
    // A review holds a slot of the reviewer and of the review's role.
    return slots_.keys(t.agent_state().review.reviewer, spec.review->agent);
  }
  const std::string* name = &agent;
  if (name->empty()) name = t.candidates().empty() ? &spec.agent : &t.candidates()[t.agent_index()];
  return slots_.keys(*name, spec.agent);
}

void Scheduler::take_slots(int task, const std::string& agent) {
  ConcurrencySlots::Keys keys = slot_keys(task, agent);
  if (keys.agent < 0 && keys.role < 0) return;
  slots_.acquire(keys);
  held_[task] = keys;
}

void Scheduler::give_back_slots(int task) {
  auto it = held_.find(task);
  if (it == held_.end()) return;
  ConcurrencySlots::Keys keys = it->second;
  held_.erase(it);
  slots_.release(keys);
  for (int key : {keys.agent, keys.role}) {
    if (key >= 0) refill(key);
  }
}

bool Scheduler::refill(int key) {
  // As many of KEY's waiting tasks as it has free slots go back to the ready queue, first
  // declared first: not all of them, or a wide run of one agent would put back and set
  // aside every waiting task at each end (quadratic in the tasks). One that its other
  // key still blocks waits in that key's queue instead.
  bool moved = false;
  int free = slots_.free(key);
  while (free > 0 && !slot_waiters_[key].empty()) {
    int waiter = slot_waiters_[key].pop();
    int full = slots_.full(slot_keys(waiter, ""));
    if (full >= 0) {
      tasks_[waiter].reason = slots_.waiting_reason(full);
      slot_waiters_[full].push(waiter);
      continue;
    }
    tasks_[waiter].reason.clear();
    ready_.push(waiter);
    moved = true;
    --free;
  }
  return moved;
}

std::optional<double> Scheduler::next_wakeup() const {
  if (retries_.empty()) return std::nullopt;
  return retries_.begin()->first;
}

RunStatus Scheduler::run_status() const {
  if (cancelled_) return RunStatus::kCancelled;
  if (finished()) return any_failed_ ? RunStatus::kFailed : RunStatus::kSuccess;
  if (paused_ && running_ == 0) return RunStatus::kPaused;
  if (blocked_on_gates()) return RunStatus::kWaiting;
  return RunStatus::kRunning;
}

}  // namespace baton::engine
