#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <queue>

namespace baton::engine {
namespace {

using workflow::TaskSpec;
using workflow::Workflow;

TaskSpec task(const std::string& id, std::vector<std::string> deps = {}) {
  TaskSpec t;
  t.id = id;
  t.run_shell = "true";
  t.dependencies = std::move(deps);
  return t;
}

// A fake runner over a fake clock: every attempt takes `duration` seconds and
// ends with the next scripted outcome for its task (success when none is left).
class Simulation {
 public:
  explicit Simulation(Workflow wf, RunContext ctx = {}) : wf_(std::move(wf)) {
    sched_ = std::make_unique<Scheduler>(wf_, clock_, std::move(ctx), 42);
  }

  void script(const std::string& id, std::vector<AttemptOutcome> outcomes) {
    scripts_[id] = std::move(outcomes);
  }
  void duration(const std::string& id, double seconds) { durations_[id] = seconds; }

  // Runs to the end; returns false if it did not finish within MAX_STEPS.
  bool run(int max_steps = 100000) {
    for (int i = 0; i < max_steps; ++i) {
      Step step = sched_->advance();
      for (auto& t : step.transitions) log_.push_back(t);
      for (const StartRequest& s : step.starts) {
        const std::string& id = wf_.tasks[s.task].id;
        starts_.push_back({id, clock_.now()});
        start_agents_.push_back(s.agent +
                                (s.resume_session_id.empty() ? "" : "@" + s.resume_session_id));
        max_running_ = std::max(max_running_, sched_->running_count());
        double d = durations_.count(id) ? durations_[id] : 1.0;
        running_.push({clock_.now() + d, seq_++, s});
      }
      if (sched_->finished()) return true;
      if (!running_.empty()) {
        Pending p = running_.top();
        running_.pop();
        clock_.set(p.end);
        const std::string& id = wf_.tasks[p.req.task].id;
        AttemptOutcome out;
        out.success = true;
        auto& queue = scripts_[id];
        if (!queue.empty()) {
          out = queue.front();
          queue.erase(queue.begin());
        }
        sched_->attempt_finished(p.req.task, p.req.attempt, out);
      } else if (auto wake = sched_->next_wakeup()) {
        clock_.set(*wake);
      } else {
        return false;  // stuck
      }
    }
    return false;
  }

  TaskStatus status(const std::string& id) const { return sched_->task(wf_.task_index(id)).status; }
  const TaskState& state(const std::string& id) const { return sched_->task(wf_.task_index(id)); }
  std::vector<double> start_times(const std::string& id) const {
    std::vector<double> out;
    for (auto& [name, t] : starts_) {
      if (name == id) out.push_back(t - kStart);
    }
    return out;
  }
  std::vector<std::string> start_order() const {
    std::vector<std::string> out;
    for (auto& s : starts_) out.push_back(s.first);
    return out;
  }
  std::string history(const std::string& id) const {
    std::string out;
    int index = wf_.task_index(id);
    for (auto& t : log_) {
      if (t.task != index) continue;
      if (out.empty()) out = to_string(t.from);
      out += std::string(" -> ") + to_string(t.to);
    }
    return out;
  }
  // The agent of every start, in order, as "agent" or "agent@resumed-session".
  const std::vector<std::string>& start_agents() const { return start_agents_; }
  Scheduler& scheduler() { return *sched_; }
  FakeClock& clock() { return clock_; }
  int max_running() const { return max_running_; }
  const std::vector<Transition>& log() const { return log_; }

  static constexpr double kStart = 1'000'000.0;

 private:
  struct Pending {
    double end;
    int seq;
    StartRequest req;
    bool operator<(const Pending& o) const {
      return end != o.end ? end > o.end : seq > o.seq;  // min-heap by (end, seq)
    }
  };
  Workflow wf_;
  std::vector<std::string> start_agents_;
  FakeClock clock_{kStart};
  std::unique_ptr<Scheduler> sched_;
  std::map<std::string, std::vector<AttemptOutcome>> scripts_;
  std::map<std::string, double> durations_;
  std::priority_queue<Pending> running_;
  std::vector<std::pair<std::string, double>> starts_;
  std::vector<Transition> log_;
  int seq_ = 0;
  int max_running_ = 0;
};

AttemptOutcome failure(std::string reason = "exited 1") {
  AttemptOutcome o;
  o.success = false;
  o.exit_code = 1;
  o.reason = std::move(reason);
  return o;
}

AttemptOutcome success(std::string output) {
  AttemptOutcome o;
  o.success = true;
  o.exit_code = 0;
  o.output = std::move(output);
  return o;
}

TEST(SchedulerTest, StartsInDeclarationOrderWithinMaxParallel) {
  Workflow wf;
  for (auto id : {"a", "b", "c", "d", "e"}) wf.tasks.push_back(task(id));
  wf.settings.max_parallel = 2;
  Simulation sim(wf);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.start_order(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(sim.max_running(), 2);
  EXPECT_EQ(sim.start_times("c"), std::vector<double>{1});
  EXPECT_EQ(sim.start_times("e"), std::vector<double>{2});
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kSuccess);
}

TEST(SchedulerTest, MaxParallelOneRunsSerially) {
  Workflow wf;
  for (auto id : {"a", "b", "c"}) wf.tasks.push_back(task(id));
  wf.settings.max_parallel = 1;
  Simulation sim(wf);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.max_running(), 1);
  EXPECT_EQ(sim.start_times("c"), std::vector<double>{2});
}

TEST(SchedulerTest, FanInWaitsForEveryDependency) {
  Workflow wf;
  wf.tasks = {task("design"), task("api", {"design"}), task("ui", {"design"}),
              task("integrate", {"api", "ui"})};
  Simulation sim(wf);
  sim.duration("api", 5);
  sim.duration("ui", 2);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.start_times("api"), std::vector<double>{1});
  EXPECT_EQ(sim.start_times("ui"), std::vector<double>{1});
  EXPECT_EQ(sim.start_times("integrate"), std::vector<double>{6});
}

TEST(SchedulerTest, EveryTransitionIsRecorded) {
  Workflow wf;
  wf.tasks = {task("a")};
  Simulation sim(wf);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.history("a"), "pending -> ready -> running -> success");
}

TEST(SchedulerTest, FalseConditionSkipsAndDependantsSeeSkipped) {
  Workflow wf;
  wf.tasks = {task("a"), task("b", {"a"}), task("c", {"b"})};
  wf.tasks[1].condition = "${a.output == 'yes'}";
  wf.tasks[2].condition = "${b.status == 'skipped'}";
  Simulation sim(wf);
  sim.script("a", {success("no")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("b"), TaskStatus::kSkipped);
  EXPECT_EQ(sim.state("b").reason, "condition is false: ${a.output == 'yes'}");
  EXPECT_EQ(sim.status("c"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.history("b"), "pending -> skipped");
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kSuccess);
}

TEST(SchedulerTest, TrueConditionRuns) {
  Workflow wf;
  wf.tasks = {task("a"), task("b", {"a"})};
  wf.tasks[1].condition = "${a.output == 'yes' && a.exit_code == 0}";
  Simulation sim(wf);
  sim.script("a", {success("yes")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("b"), TaskStatus::kSuccess);
}

// A task's outputs stay null until an attempt reports some (no empty map per task), and
// templates still read them as an empty object.
TEST(SchedulerTest, OutputsOfATaskWithoutThemReadAsAnEmptyObject) {
  Workflow wf;
  wf.tasks = {task("a"), task("b", {"a"})};
  wf.tasks[1].condition = "${fn:length(a.outputs) == 0}";
  Simulation sim(wf);
  sim.script("a", {success("plain text")});
  ASSERT_TRUE(sim.run());
  EXPECT_TRUE(sim.state("a").outputs.is_null());
  EXPECT_EQ(sim.status("b"), TaskStatus::kSuccess) << sim.state("b").reason;
}

TEST(SchedulerTest, ConditionReadsInputsAndVariables) {
  Workflow wf;
  wf.tasks = {task("a"), task("b")};
  wf.tasks[0].condition = "${mode == 'full'}";
  wf.tasks[1].condition = "${fn:length(level) > 2}";
  RunContext ctx;
  ctx.inputs = {{"mode", "quick"}};
  ctx.variables = {{"level", "high"}};
  Simulation sim(wf, ctx);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kSkipped);
  EXPECT_EQ(sim.status("b"), TaskStatus::kSuccess);
}

TEST(SchedulerTest, ConditionErrorFailsTheTask) {
  Workflow wf;
  wf.tasks = {task("a")};
  wf.tasks[0].condition = "${nowhere.to.be.found}";
  Simulation sim(wf);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kFailed);
  EXPECT_EQ(sim.state("a").reason.rfind("condition error: ", 0), 0u) << sim.state("a").reason;
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kFailed);
}

TEST(SchedulerTest, StopCancelsWhatHasNotStartedAndLetsRunningFinish) {
  Workflow wf;
  wf.tasks = {task("bad"), task("slow"), task("later"), task("after_bad", {"bad"})};
  wf.settings.max_parallel = 2;
  Simulation sim(wf);
  sim.script("bad", {failure()});
  sim.duration("slow", 10);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("bad"), TaskStatus::kFailed);
  EXPECT_EQ(sim.status("slow"), TaskStatus::kSuccess);  // was running: finished
  EXPECT_EQ(sim.status("later"), TaskStatus::kCancelled);
  EXPECT_EQ(sim.state("later").reason, "stopped after task 'bad' failed");
  EXPECT_EQ(sim.status("after_bad"), TaskStatus::kCancelled);
  EXPECT_TRUE(sim.start_times("later").empty());
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kFailed);
}

TEST(SchedulerTest, ContinueRunsEverythingNotBlocked) {
  Workflow wf;
  wf.tasks = {task("bad"), task("other"), task("child", {"bad"}), task("grandchild", {"child"}),
              task("sibling", {"other"})};
  wf.settings.on_failure = workflow::RunFailurePolicy::kContinue;
  Simulation sim(wf);
  sim.script("bad", {failure()});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("child"), TaskStatus::kCancelled);
  EXPECT_EQ(sim.state("child").reason, "dependency 'bad' failed");
  EXPECT_EQ(sim.status("grandchild"), TaskStatus::kCancelled);
  EXPECT_EQ(sim.state("grandchild").reason, "dependency 'child' was cancelled");
  EXPECT_EQ(sim.status("sibling"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kFailed);
}

TEST(SchedulerTest, OnFailureSkipTurnsFailureIntoSkipped) {
  Workflow wf;
  wf.tasks = {task("lint"), task("build", {"lint"})};
  wf.tasks[0].on_failure = workflow::TaskFailureAction::kSkip;
  Simulation sim(wf);
  sim.script("lint", {failure("exited 2")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("lint"), TaskStatus::kSkipped);
  EXPECT_EQ(sim.state("lint").reason, "failed (exited 2); skipped by on_failure: skip");
  EXPECT_EQ(sim.status("build"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kSuccess);
}

TEST(SchedulerTest, FixedRetryWaitsTheDelayBetweenAttempts) {
  Workflow wf;
  wf.tasks = {task("flaky")};
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{3, 5, workflow::Backoff::kFixed, std::nullopt, 0};
  Simulation sim(wf);
  sim.script("flaky", {failure(), failure()});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("flaky"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.state("flaky").attempts, 3);
  // Each attempt takes 1 s, then 5 s of delay.
  EXPECT_EQ(sim.start_times("flaky"), (std::vector<double>{0, 6, 12}));
  EXPECT_EQ(sim.history("flaky"),
            "pending -> ready -> running -> pending -> ready -> running -> pending -> ready -> "
            "running -> success");
}

TEST(SchedulerTest, ExponentialBackoffDoublesUpToMaxDelay) {
  Workflow wf;
  wf.tasks = {task("flaky")};
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{5, 10, workflow::Backoff::kExponential, 25.0, 0};
  Simulation sim(wf);
  sim.duration("flaky", 0);
  sim.script("flaky", {failure(), failure(), failure(), failure(), failure()});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("flaky"), TaskStatus::kFailed);
  EXPECT_EQ(sim.state("flaky").attempts, 5);
  // Delays 10, 20, 25 (capped), 25.
  EXPECT_EQ(sim.start_times("flaky"), (std::vector<double>{0, 10, 30, 55, 80}));
}

TEST(SchedulerTest, RetryReasonSaysWhatHappensNext) {
  Workflow wf;
  wf.tasks = {task("flaky")};
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{2, 4, workflow::Backoff::kFixed, std::nullopt, 0};
  Simulation sim(wf);
  sim.script("flaky", {failure("exited 7")});
  ASSERT_TRUE(sim.run());
  bool found = false;
  for (const Transition& t : sim.log()) {
    if (t.to == TaskStatus::kPending && t.from == TaskStatus::kRunning) {
      EXPECT_EQ(t.reason, "attempt 1 failed: exited 7; retry 2/2 in 4s");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(SchedulerTest, OnFailureRetryWithoutRetryBlockMakesThreeAttempts) {
  Workflow wf;
  wf.tasks = {task("x")};
  wf.tasks[0].on_failure = workflow::TaskFailureAction::kRetry;
  Simulation sim(wf);
  sim.duration("x", 0);
  sim.script("x", {failure(), failure(), failure()});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.state("x").attempts, 3);
  EXPECT_EQ(sim.start_times("x"), (std::vector<double>{0, 10, 30}));
  EXPECT_EQ(sim.status("x"), TaskStatus::kFailed);
}

TEST(SchedulerTest, NonRetryableFailureIsNotRetried) {
  Workflow wf;
  wf.tasks = {task("x")};
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{3, 1, workflow::Backoff::kFixed, std::nullopt, 0};
  Simulation sim(wf);
  AttemptOutcome auth = failure("auth: invalid API key");
  auth.retryable = false;
  sim.script("x", {auth});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.state("x").attempts, 1);
  EXPECT_EQ(sim.status("x"), TaskStatus::kFailed);
  EXPECT_EQ(sim.state("x").reason, "auth: invalid API key");
}

TEST(SchedulerTest, RetryAfterIsALowerBoundOnTheDelay) {
  Workflow wf;
  wf.tasks = {task("x")};
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{2, 1, workflow::Backoff::kFixed, std::nullopt, 0};
  Simulation sim(wf);
  sim.duration("x", 0);
  AttemptOutcome limited = failure("rate limited");
  limited.retry_after_s = 30;
  sim.script("x", {limited});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.start_times("x"), (std::vector<double>{0, 30}));
}

TEST(SchedulerTest, JitterIsBoundedAndRepeatable) {
  Workflow wf;
  FakeClock clock;
  workflow::RetryPolicy policy{5, 10, workflow::Backoff::kFixed, std::nullopt, 0.5};
  Scheduler a(wf, clock, {}, 7), b(wf, clock, {}, 7);
  bool varied = false;
  double first = a.retry_delay(policy, 1);
  EXPECT_EQ(first, b.retry_delay(policy, 1));
  for (int i = 0; i < 50; ++i) {
    double d = a.retry_delay(policy, 1);
    EXPECT_EQ(d, b.retry_delay(policy, 1));
    EXPECT_GE(d, 10.0);
    EXPECT_LE(d, 15.0);
    if (d != first) varied = true;
  }
  EXPECT_TRUE(varied);
}

TEST(SchedulerTest, CancelReturnsRunningTasksAndCancelsTheRest) {
  Workflow wf;
  wf.tasks = {task("a"), task("b"), task("c", {"a"})};
  wf.settings.max_parallel = 1;
  FakeClock clock;
  Scheduler s(wf, clock, {});
  Step step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  std::vector<int> running = s.cancel("interrupted");
  EXPECT_EQ(running, std::vector<int>{0});
  EXPECT_EQ(s.task(1).status, TaskStatus::kCancelled);
  EXPECT_EQ(s.task(1).reason, "interrupted");
  AttemptOutcome out = failure("cancelled (SIGTERM)");
  out.cancelled = true;
  s.attempt_finished(0, 1, out);
  s.advance();
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.task(0).status, TaskStatus::kCancelled);
  EXPECT_EQ(s.task(2).status, TaskStatus::kCancelled);
  EXPECT_EQ(s.run_status(), RunStatus::kCancelled);
}

TEST(SchedulerTest, SameWorkflowSchedulesTheSameWay) {
  Workflow wf;
  for (int i = 0; i < 30; ++i) {
    std::vector<std::string> deps;
    if (i >= 3) deps = {"t" + std::to_string(i - 3), "t" + std::to_string(i / 2)};
    if (i >= 3 && deps[0] == deps[1]) deps.pop_back();
    wf.tasks.push_back(task("t" + std::to_string(i), deps));
  }
  wf.settings.max_parallel = 3;
  auto order = [&] {
    Simulation sim(wf);
    for (int i = 0; i < 30; i += 4) sim.duration("t" + std::to_string(i), 1 + i % 3);
    EXPECT_TRUE(sim.run());
    return sim.start_order();
  };
  EXPECT_EQ(order(), order());
}

TEST(SchedulerTest, ScopeExposesTaskFieldsAndRun) {
  Workflow wf;
  wf.name = "demo";
  wf.tasks = {task("a")};
  RunContext ctx;
  ctx.run_id = "r1";
  ctx.run_name = "demo";
  Simulation sim(wf, ctx);
  sim.script("a", {success("hello")});
  ASSERT_TRUE(sim.run());
  auto tmpl =
      expr::parse_template("${a.output}/${a.status}/${a.exit_code}/${a.attempts}/${run.id}");
  ASSERT_TRUE(tmpl);
  auto text = expr::render(*tmpl, sim.scheduler().scope());
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text, "hello/success/0/1/r1");
}

TEST(SchedulerTest, WideGraphOfManyTasksCompletes) {
  Workflow wf;
  for (int i = 0; i < 20000; ++i) {
    wf.tasks.push_back(task("t" + std::to_string(i),
                            i ? std::vector<std::string>{"t0"} : std::vector<std::string>{}));
  }
  wf.settings.max_parallel = 8;
  Simulation sim(wf);
  ASSERT_TRUE(sim.run(1'000'000));
  EXPECT_EQ(sim.max_running(), 8);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kSuccess);
}

namespace fallback {

TaskSpec agent_task(const std::string& id, workflow::FallbackStrategy strategy, int attempts) {
  TaskSpec t;
  t.id = id;
  t.agent = "coder";
  t.fallback = strategy;
  workflow::RetryPolicy retry;
  retry.max_attempts = attempts;
  retry.delay_s = 1;
  t.mutable_extras().retry = retry;
  return t;
}

AttemptOutcome agent_failure(const std::string& agent, const std::string& cls,
                             const std::string& session = "", double cost = 0) {
  AttemptOutcome o;
  o.agent = agent;
  o.error_class = cls;
  o.reason = cls + ": boom";
  o.retryable = cls != "auth";
  o.session_id = session;
  if (cost > 0) o.cost_usd = cost;
  return o;
}

AttemptOutcome agent_success(const std::string& agent, double cost = 0) {
  AttemptOutcome o;
  o.success = true;
  o.agent = agent;
  if (cost > 0) o.cost_usd = cost;
  return o;
}

TEST(FallbackTest, NextInListAfterTheAgentsAttemptsAreUsedUp) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kNextInList, 2)};
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude", "codex"});
  sim.script("a", {agent_failure("claude", "transient"), agent_failure("claude", "transient"),
                   agent_success("codex")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.start_agents(), (std::vector<std::string>{"claude", "claude", "codex"}));
  EXPECT_EQ(sim.state("a").agents_tried(), (std::vector<std::string>{"claude", "codex"}));
  EXPECT_EQ(sim.state("a").attempts, 3);
}

TEST(FallbackTest, AuthAndPermanentErrorsFallBackAtOnce) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kNextInList, 3)};
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude", "codex", "gemini"});
  sim.script("a", {agent_failure("claude", "auth"), agent_failure("codex", "permanent"),
                   agent_success("gemini")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.start_agents(), (std::vector<std::string>{"claude", "codex", "gemini"}));
  EXPECT_EQ(sim.start_times("a"), (std::vector<double>{0, 1, 2}));  // no backoff wait
}

TEST(FallbackTest, LastAgentFailingFailsTheTask) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kNextInList, 1)};
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude", "codex"});
  sim.script("a", {agent_failure("claude", "transient"), agent_failure("codex", "rate_limit")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kFailed);
  EXPECT_EQ(sim.state("a").reason, "rate_limit: boom");
  EXPECT_NE(sim.history("a").find("pending -> ready -> running"), std::string::npos);
}

TEST(FallbackTest, SameAgentRetriesPermanentErrorsButNeverSwitches) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kSameAgent, 3)};
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude", "codex"});
  sim.script("a", {agent_failure("claude", "permanent"), agent_failure("claude", "permanent"),
                   agent_failure("claude", "permanent")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kFailed);
  EXPECT_EQ(sim.start_agents(), (std::vector<std::string>{"claude", "claude", "claude"}));
}

TEST(FallbackTest, FailStrategyStopsAtAPermanentError) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kFail, 3)};
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude", "codex"});
  sim.script("a", {agent_failure("claude", "permanent")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kFailed);
  EXPECT_EQ(sim.start_agents(), (std::vector<std::string>{"claude"}));
}

TEST(FallbackTest, AuthIsNeverRetriedWithTheSameAgent) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kSameAgent, 5)};
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude"});
  sim.script("a", {agent_failure("claude", "auth")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kFailed);
  EXPECT_EQ(sim.start_agents().size(), 1u);
}

TEST(FallbackTest, ResumeSessionOnlyWithTheAgentThatOwnsIt) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kNextInList, 2)};
  wf.tasks[0].resume_session = true;
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude", "codex"});
  sim.script(
      "a", {agent_failure("claude", "transient", "s1"), agent_failure("claude", "transient", "s2"),
            agent_failure("codex", "transient", "t1"), agent_success("codex")});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.start_agents(),
            (std::vector<std::string>{"claude", "claude@s1", "codex", "codex@t1"}));
}

TEST(FallbackTest, TaskBudgetStopsRetries) {
  Workflow wf;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kSameAgent, 10)};
  wf.tasks[0].mutable_extras().max_cost_usd = 0.5;
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude"});
  sim.script("a", {agent_failure("claude", "transient", "", 0.3),
                   agent_failure("claude", "transient", "", 0.3)});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kFailed);
  EXPECT_EQ(sim.state("a").attempts, 2);
  EXPECT_NE(sim.state("a").reason.find("task budget of $0.5 used up"), std::string::npos)
      << sim.state("a").reason;
}

TEST(FallbackTest, RunBudgetStopsTheRun) {
  Workflow wf;
  wf.settings.max_parallel = 1;
  wf.settings.max_cost_usd = 1.0;
  wf.tasks = {agent_task("a", workflow::FallbackStrategy::kNextInList, 1),
              agent_task("b", workflow::FallbackStrategy::kNextInList, 1)};
  Simulation sim(wf);
  sim.scheduler().set_agents(0, {"claude"});
  sim.scheduler().set_agents(1, {"claude"});
  sim.script("a", {agent_success("claude", 1.25)});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.status("b"), TaskStatus::kCancelled);
  EXPECT_NE(sim.state("b").reason.find("run budget of $1 used up"), std::string::npos)
      << sim.state("b").reason;
  EXPECT_DOUBLE_EQ(sim.scheduler().cost_usd(), 1.25);
}

}  // namespace fallback

// --- Gates, escalation, pause and restore (baton approve / pause / resume) ---

TaskSpec gated(const std::string& id, std::vector<std::string> deps, std::string message,
               bool with_work = true) {
  TaskSpec t = task(id, std::move(deps));
  if (!with_work) t.run_shell.reset();
  t.mutable_extras().gate = workflow::GateSpec{std::move(message), {}};
  return t;
}

// Ctrl-C: the run is cancelled, but a gate keeps waiting so that `baton approve` and
// `baton resume` still work; the run settles once nothing runs.
TEST(GateTest, CancelKeepingWaitingLeavesTheGateWaiting) {
  Workflow wf;
  wf.tasks = {gated("g", {}, "go?"), task("slow"), task("after", {"g"})};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  Step step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);  // slow
  ASSERT_EQ(s.task(0).status, TaskStatus::kWaiting);
  EXPECT_EQ(s.cancel("interrupted by SIGINT", /*keep_waiting=*/true), std::vector<int>{1});
  EXPECT_FALSE(s.settled());  // slow still runs
  AttemptOutcome out = failure("cancelled (SIGTERM)");
  out.cancelled = true;
  s.attempt_finished(1, 1, out);
  s.advance();
  EXPECT_TRUE(s.settled());
  EXPECT_FALSE(s.finished());
  EXPECT_EQ(s.task(0).status, TaskStatus::kWaiting);
  EXPECT_EQ(s.task(2).status, TaskStatus::kCancelled);
  EXPECT_EQ(s.run_status(), RunStatus::kCancelled);

  Scheduler plain(wf, clock, {});
  plain.advance();
  plain.cancel("cancelled");  // baton cancel, SIGTERM: the gate is cancelled too
  EXPECT_EQ(plain.task(0).status, TaskStatus::kCancelled);
}

// A new run's first step is recorded with the run (engine/run.cc): advance_without_starts()
// resolves every task whose dependencies ended (ready, skipped, waiting at its gate) and
// starts none; the next advance() starts the ready ones, in declaration order, as it
// would have.
TEST(SchedulerTest, AdvanceWithoutStartsResolvesAndStartsNothing) {
  Workflow wf;
  wf.settings.max_parallel = 2;
  wf.tasks = {task("a"), task("b"),           task("skipped"), gated("g", {}, "go?"),
              task("c"), task("after", {"a"})};
  wf.tasks[2].condition = "${mode == 'full'}";
  RunContext ctx;
  ctx.inputs = {{"mode", "quick"}};
  FakeClock clock;
  Scheduler s(wf, clock, ctx);
  Step first = s.advance_without_starts();
  EXPECT_TRUE(first.starts.empty());
  EXPECT_EQ(s.running_count(), 0);
  std::map<std::string, TaskStatus> to;
  for (const Transition& t : first.transitions) to[wf.tasks[t.task].id] = t.to;
  EXPECT_EQ(to, (std::map<std::string, TaskStatus>{{"a", TaskStatus::kReady},
                                                   {"b", TaskStatus::kReady},
                                                   {"skipped", TaskStatus::kSkipped},
                                                   {"g", TaskStatus::kWaiting},
                                                   {"c", TaskStatus::kReady}}));
  EXPECT_EQ(s.task(5).status, TaskStatus::kPending);
  EXPECT_TRUE(s.advance_without_starts().transitions.empty());  // nothing more to resolve

  Step next = s.advance();
  ASSERT_EQ(next.starts.size(), 2u);
  EXPECT_EQ(wf.tasks[next.starts[0].task].id, "a");
  EXPECT_EQ(wf.tasks[next.starts[1].task].id, "b");
  for (const Transition& t : next.transitions) {
    EXPECT_EQ(t.from, TaskStatus::kReady) << wf.tasks[t.task].id;  // no second resolve
    EXPECT_EQ(t.to, TaskStatus::kRunning) << wf.tasks[t.task].id;
  }
  EXPECT_EQ(s.task(4).status, TaskStatus::kReady);  // c: no slot left
}

// The live view shows an agent task's agent while it runs, and whether it timed out.
TEST(SchedulerTest, AgentIsKnownWhileRunningAndTimeoutIsRemembered) {
  Workflow wf;
  TaskSpec a = task("a");
  a.run_shell.reset();
  a.agent = "coder";
  wf.tasks = {a};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  s.set_agents(0, {"claude", "codex"});
  Step step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(s.task(0).agent, "claude");
  AttemptOutcome out = failure("timed out after 1s (SIGTERM)");
  out.timed_out = true;
  out.agent = "claude";
  s.attempt_finished(0, 1, out);
  EXPECT_TRUE(s.task(0).timed_out);
  step = s.advance();  // falls back to codex
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(s.task(0).agent, "codex");
  EXPECT_FALSE(s.task(0).timed_out);
}

TEST(GateTest, WaitsAfterItsDependenciesThenApprovalRunsTheWork) {
  Workflow wf;
  wf.tasks = {task("a"), gated("g", {"a"}, "ship ${a.output}?"), task("c", {"g"})};
  Simulation sim(wf);
  sim.script("a", {success("v1")});
  sim.script("g", {success("deployed")});
  EXPECT_FALSE(sim.run());  // blocked on the gate
  EXPECT_EQ(sim.status("g"), TaskStatus::kWaiting);
  EXPECT_EQ(sim.state("g").reason, "ship v1?");
  EXPECT_TRUE(sim.scheduler().blocked_on_gates());
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kWaiting);
  EXPECT_EQ(sim.scheduler().waiting_tasks(), std::vector<int>{1});
  ASSERT_TRUE(sim.scheduler().approve(1, "looks good"));
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.history("g"), "pending -> waiting -> ready -> running -> success");
  EXPECT_EQ(sim.state("g").output, "deployed");  // the work's output
  EXPECT_EQ(sim.status("c"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kSuccess);
}

TEST(GateTest, GateWithoutWorkSucceedsWithTheComment) {
  Workflow wf;
  wf.tasks = {gated("review", {}, "", false), task("after", {"review"})};
  Simulation sim(wf);
  EXPECT_FALSE(sim.run());
  EXPECT_EQ(sim.state("review").reason, "approval required");
  ASSERT_TRUE(sim.scheduler().approve(0, "LGTM"));
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.history("review"), "pending -> waiting -> success");
  EXPECT_EQ(sim.state("review").output, "LGTM");
  EXPECT_TRUE(sim.start_times("review").empty());
  EXPECT_EQ(sim.status("after"), TaskStatus::kSuccess);
}

TEST(GateTest, OtherBranchesRunWhileAGateWaits) {
  Workflow wf;
  wf.tasks = {gated("g", {}, "go?"), task("free"), task("after_free", {"free"})};
  Simulation sim(wf);
  EXPECT_FALSE(sim.run());
  EXPECT_EQ(sim.status("free"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.status("after_free"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.status("g"), TaskStatus::kWaiting);
}

TEST(GateTest, RejectFailsTheTaskAndCancelsItsDependants) {
  Workflow wf;
  wf.tasks = {gated("g", {}, "go?"), task("c", {"g"})};
  Simulation sim(wf);
  EXPECT_FALSE(sim.run());
  ASSERT_TRUE(sim.scheduler().reject(0, "not today"));
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("g"), TaskStatus::kFailed);
  EXPECT_EQ(sim.state("g").reason, "rejected: not today");
  EXPECT_EQ(sim.status("c"), TaskStatus::kCancelled);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kFailed);
}

TEST(GateTest, ApproveAndRejectRefuseATaskThatIsNotWaiting) {
  Workflow wf;
  wf.tasks = {task("a")};
  Simulation sim(wf);
  ASSERT_TRUE(sim.run());
  auto approved = sim.scheduler().approve(0, "");
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().message, "task 'a' is success, not waiting for approval");
  EXPECT_FALSE(sim.scheduler().reject(0, "x"));
}

TEST(GateTest, CancelCancelsAWaitingGate) {
  Workflow wf;
  wf.tasks = {gated("g", {}, "go?")};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  s.advance();
  EXPECT_EQ(s.task(0).status, TaskStatus::kWaiting);
  s.cancel("cancelled by baton cancel");
  s.advance();
  EXPECT_EQ(s.task(0).status, TaskStatus::kCancelled);
  EXPECT_EQ(s.run_status(), RunStatus::kCancelled);
}

TEST(EscalateTest, LastFailedAttemptWaitsForAPersonAndApprovalSucceeds) {
  Workflow wf;
  wf.tasks = {task("fix"), task("after", {"fix"})};
  wf.tasks[0].on_failure = workflow::TaskFailureAction::kEscalate;
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{2, 1, workflow::Backoff::kFixed, {}, 0};
  Simulation sim(wf);
  sim.script("fix", {failure(), failure("exited 2")});
  EXPECT_FALSE(sim.run());
  EXPECT_EQ(sim.status("fix"), TaskStatus::kWaiting);
  EXPECT_EQ(sim.state("fix").attempts, 2);
  EXPECT_EQ(sim.state("fix").reason, "escalated: exited 2");
  EXPECT_TRUE(sim.state("fix").escalated);
  ASSERT_TRUE(sim.scheduler().approve(0, "fixed by hand"));
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("fix"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.state("fix").output, "fixed by hand");
  EXPECT_EQ(sim.start_times("fix").size(), 2u);  // approval re-runs nothing
  EXPECT_EQ(sim.status("after"), TaskStatus::kSuccess);
}

TEST(EscalateTest, RejectFailsAsUsual) {
  Workflow wf;
  wf.tasks = {task("fix")};
  wf.tasks[0].on_failure = workflow::TaskFailureAction::kEscalate;
  Simulation sim(wf);
  sim.script("fix", {failure()});
  EXPECT_FALSE(sim.run());
  ASSERT_TRUE(sim.scheduler().reject(0, "give up"));
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("fix"), TaskStatus::kFailed);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kFailed);
}

TEST(InputTest, AQuestionWaitsAndTheAnswerRunsTheNextAttemptWithoutCountingARetry) {
  Workflow wf;
  wf.tasks = {task("ask"), task("after", {"ask"})};
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{2, 0, workflow::Backoff::kFixed, {}, 0};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  Step step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  AttemptOutcome asked = failure();
  asked.question = "which branch?";
  s.attempt_finished(0, 1, asked);
  s.advance();
  EXPECT_EQ(s.task(0).status, TaskStatus::kWaiting);
  EXPECT_EQ(s.task(0).reason, "input required: which branch?");
  EXPECT_TRUE(s.task(0).agent_state().needs_input);
  EXPECT_EQ(s.run_status(), RunStatus::kWaiting);
  ASSERT_TRUE(s.approve(0, "main"));
  EXPECT_FALSE(s.task(0).agent_state().needs_input);
  EXPECT_EQ(s.task(0).agent_state().answer, std::optional<std::string>("main"));
  step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(step.starts[0].attempt, 2);
  // The answer's attempt fails: with two attempts allowed, it is retried, since the
  // question's attempt did not count.
  s.attempt_finished(0, 2, failure());
  EXPECT_FALSE(s.task(0).agent_state().answer);
  EXPECT_EQ(s.task(0).status, TaskStatus::kPending) << s.task(0).reason;
}

TEST(InputTest, AQuestionWhileTheRunIsCancelledCancelsTheTask) {
  Workflow wf;
  wf.tasks = {task("ask")};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  s.advance();
  s.cancel("cancelled by user");
  AttemptOutcome asked = failure();
  asked.question = "which branch?";
  asked.cancelled = true;
  s.attempt_finished(0, 1, asked);
  EXPECT_EQ(s.task(0).status, TaskStatus::kCancelled);
}

TEST(PauseTest, NothingNewStartsAndRunningAttemptsFinish) {
  Workflow wf;
  wf.tasks = {task("a"), task("b"), task("c")};
  wf.settings.max_parallel = 2;
  wf.settings.on_failure = workflow::RunFailurePolicy::kContinue;
  FakeClock clock;
  Scheduler s(wf, clock, {});
  Step step = s.advance();
  ASSERT_EQ(step.starts.size(), 2u);
  s.pause();
  EXPECT_EQ(s.run_status(), RunStatus::kRunning);  // attempts still run
  s.attempt_finished(0, 1, success("x"));
  step = s.advance();
  EXPECT_TRUE(step.starts.empty());
  s.attempt_finished(1, 1, failure());
  step = s.advance();
  EXPECT_TRUE(step.starts.empty());
  EXPECT_EQ(s.task(2).status, TaskStatus::kReady);
  EXPECT_EQ(s.run_status(), RunStatus::kPaused);
}

TEST(RestoreTest, FinishedTasksStayDoneAndTheRestRuns) {
  Workflow wf;
  wf.tasks = {task("a"), task("b"), task("c", {"a", "b"}), task("d", {"c"})};
  wf.settings.on_failure = workflow::RunFailurePolicy::kContinue;
  Simulation sim(wf);
  std::vector<TaskState> states(4);
  states[0].status = TaskStatus::kSuccess;
  states[0].attempts = 1;
  states[0].output = "from a";
  states[1].status = TaskStatus::kCancelled;
  states[1].attempts = 2;
  states[2].status = TaskStatus::kPending;
  states[3].status = TaskStatus::kReady;
  sim.scheduler().restore(std::move(states));
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.start_order(), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(sim.state("b").attempts, 3);  // attempt numbers continue
  EXPECT_EQ(sim.state("a").output, "from a");
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kSuccess);
}

// Results imported from other jobs (RunOptions::imported): a cancelled task stays
// cancelled and its dependants are cancelled, never run.
TEST(RestoreTest, KeepCancelledLeavesACancelledTaskEndedAndCancelsItsDependants) {
  Workflow wf;
  wf.tasks = {task("a"), task("b", {"a"}), task("c")};
  wf.settings.on_failure = workflow::RunFailurePolicy::kContinue;
  Simulation sim(wf);
  std::vector<TaskState> states(3);
  states[0].status = TaskStatus::kCancelled;
  sim.scheduler().restore(std::move(states), true);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.start_order(), (std::vector<std::string>{"c"}));
  EXPECT_EQ(sim.state("a").status, TaskStatus::kCancelled);
  EXPECT_EQ(sim.state("b").status, TaskStatus::kCancelled);
}

TEST(RestoreTest, RunningTaskIsReportedOrRestartedWithTheSameAttemptNumber) {
  Workflow wf;
  wf.tasks = {task("a"), task("b"), task("c", {"a", "b"})};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  std::vector<TaskState> states(3);
  states[0].status = TaskStatus::kRunning;
  states[0].attempts = 1;
  states[1].status = TaskStatus::kRunning;
  states[1].attempts = 2;
  s.restore(std::move(states));
  EXPECT_EQ(s.running_count(), 2);
  s.attempt_finished(0, 1, success("done while baton was down"));
  s.restart_attempt(1, "attempt 2 never started; starting it again");
  Step step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(step.starts[0].task, 1);
  EXPECT_EQ(step.starts[0].attempt, 2);
  s.attempt_finished(1, 2, success("b"));
  step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(step.starts[0].task, 2);
  EXPECT_EQ(s.task(0).output, "done while baton was down");
}

TEST(RestoreTest, FailedTaskUnderStopCancelsWhatHasNotRun) {
  Workflow wf;
  wf.tasks = {task("a"), task("b")};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  std::vector<TaskState> states(2);
  states[0].status = TaskStatus::kFailed;
  states[1].status = TaskStatus::kCancelled;
  s.restore(std::move(states));
  Step step = s.advance();
  EXPECT_TRUE(step.starts.empty());
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.task(1).reason, "stopped after task 'a' failed");
  EXPECT_EQ(s.run_status(), RunStatus::kFailed);
}

TEST(RestoreTest, WaitingGateStaysWaitingUntilApproved) {
  Workflow wf;
  wf.tasks = {task("a"), gated("g", {"a"}, "go?")};
  Simulation sim(wf);
  std::vector<TaskState> states(2);
  states[0].status = TaskStatus::kSuccess;
  states[1].status = TaskStatus::kWaiting;
  states[1].reason = "go?";
  sim.scheduler().restore(std::move(states));
  EXPECT_FALSE(sim.run());
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kWaiting);
  ASSERT_TRUE(sim.scheduler().approve(1, ""));
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.start_order(), std::vector<std::string>{"g"});
}

// Issue 12: a run succeeds only when every task succeeded or was skipped.

AttemptOutcome cancelled_outcome() {
  AttemptOutcome o = failure("cancelled (SIGTERM)");
  o.exit_code.reset();
  o.cancelled = true;
  return o;
}

TEST(HonestStatusTest, CancelledAttemptTheRunDidNotAskForFailsTheTaskAndTheRun) {
  Workflow wf;
  wf.tasks = {task("a"), task("b", {"a"})};
  Simulation sim(wf);
  sim.script("a", {cancelled_outcome()});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kFailed);
  EXPECT_EQ(sim.state("a").reason, "cancelled (SIGTERM)");
  EXPECT_EQ(sim.status("b"), TaskStatus::kCancelled);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kFailed);
}

TEST(HonestStatusTest, CancelledAttemptTheRunDidNotAskForIsRetriedByPolicy) {
  Workflow wf;
  wf.tasks = {task("a")};
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{2, 1, workflow::Backoff::kFixed, std::nullopt, 0};
  Simulation sim(wf);
  sim.script("a", {cancelled_outcome()});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.state("a").attempts, 2);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kSuccess);
}

TEST(HonestStatusTest, StopAfterAUsedUpBudgetIsNotASuccess) {
  Workflow wf;
  wf.settings.max_parallel = 1;
  wf.settings.max_cost_usd = 1.0;
  wf.tasks = {task("a"), task("b")};
  Simulation sim(wf);
  AttemptOutcome costly = success("a");
  costly.cost_usd = 2.0;
  sim.script("a", {costly});
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.status("a"), TaskStatus::kSuccess);
  EXPECT_EQ(sim.status("b"), TaskStatus::kCancelled);
  EXPECT_EQ(sim.scheduler().run_status(), RunStatus::kFailed);
}

TEST(HonestStatusTest, CancelledAttemptWhileStoppingCancelsTheTask) {
  Workflow wf;
  wf.tasks = {task("a"), task("b")};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  ASSERT_EQ(s.advance().starts.size(), 2u);
  s.attempt_finished(1, 1, failure());  // on_failure: stop (the default)
  s.attempt_finished(0, 1, cancelled_outcome());
  s.advance();
  EXPECT_EQ(s.task(0).status, TaskStatus::kCancelled);
  EXPECT_EQ(s.run_status(), RunStatus::kFailed);
}

TEST(HonestStatusTest, RequeuedAttemptRunsAgainUnderTheNextNumberWithoutUsingARetry) {
  Workflow wf;
  wf.tasks = {task("a"), task("b", {"a"})};  // one attempt each (no retry)
  FakeClock clock;
  Scheduler s(wf, clock, {});
  std::vector<TaskState> states(2);
  states[0].status = TaskStatus::kRunning;
  states[0].attempts = 1;
  states[0].agent_attempts = 1;
  s.restore(std::move(states));
  s.requeue_attempt(0, "attempt 1 was cancelled by an earlier orchestrator");
  Step step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(step.starts[0].task, 0);
  EXPECT_EQ(step.starts[0].attempt, 2);
  s.attempt_finished(0, 2, success("a"));
  step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  s.attempt_finished(1, 1, success("b"));
  s.advance();
  EXPECT_EQ(s.run_status(), RunStatus::kSuccess);
}

}  // namespace
}  // namespace baton::engine
