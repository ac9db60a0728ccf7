// The scheduler's per-agent and per-role limits (settings.agent_limits, role_limits)
// with a fake clock and scripted attempts.
#include <gtest/gtest.h>

#include <map>
#include <queue>

#include "engine/scheduler.h"

namespace baton::engine {
namespace {

using workflow::TaskSpec;
using workflow::Workflow;

// An agent task whose `agent:` is AGENT (an agent or a role), one attempt per agent.
TaskSpec agent_task(const std::string& id, const std::string& agent) {
  TaskSpec t;
  t.id = id;
  t.agent = agent;
  workflow::RetryPolicy retry;
  retry.max_attempts = 1;
  t.mutable_extras().retry = retry;
  return t;
}

TaskSpec command_task(const std::string& id) {
  TaskSpec t;
  t.id = id;
  t.run_shell = "true";
  return t;
}

AttemptOutcome ok(const std::string& agent) {
  AttemptOutcome o;
  o.success = true;
  o.agent = agent;
  return o;
}

AttemptOutcome permanent(const std::string& agent) {
  AttemptOutcome o;
  o.agent = agent;
  o.error_class = "permanent";
  o.reason = "permanent: boom";
  return o;
}

// Drives a scheduler: an attempt of task ID takes durations[ID] seconds (1 by default)
// and ends with the next scripted outcome (success when none is left). After every
// advance() it checks that no agent, no role and the run exceed their limits.
class Driver {
 public:
  explicit Driver(Workflow wf) : wf_(std::move(wf)), sched_(wf_, clock_, {}, 7) {}

  Scheduler& scheduler() { return sched_; }
  FakeClock& clock() { return clock_; }
  std::map<std::string, double> durations;
  std::map<std::string, std::vector<AttemptOutcome>> scripts;

  // One advance(): records and checks its starts.
  void step() {
    Step step = sched_.advance();
    int last = -1;
    for (const StartRequest& s : step.starts) {
      EXPECT_GT(s.task, last) << "starts of one step are in declaration order";
      last = s.task;
      const std::string& id = wf_.tasks[s.task].id;
      starts.push_back(id + (s.agent.empty() ? "" : ":" + s.agent) + "@" +
                       std::to_string(static_cast<int>(clock_.now() - kStart)));
      double d = durations.count(id) ? durations[id] : 1.0;
      running_.push({clock_.now() + d, seq_++, s});
    }
    // A ready task passed over by a later start waits for a slot that is taken.
    for (int i = 0; i < last; ++i) {
      if (sched_.task(i).status == TaskStatus::kReady) {
        EXPECT_EQ(sched_.task(i).reason.rfind("waiting for a", 0), 0u)
            << wf_.tasks[i].id << " was passed over: " << sched_.task(i).reason;
      }
    }
    check_limits();
  }

  // Ends the earliest running attempt (and every one ending at the same time).
  bool finish_next() {
    if (running_.empty()) {
      auto wake = sched_.next_wakeup();
      if (!wake) return false;
      clock_.set(*wake);
      return true;
    }
    double end = running_.top().end;
    clock_.set(end);
    while (!running_.empty() && running_.top().end == end) {
      Pending p = running_.top();
      running_.pop();
      auto& queue = scripts[wf_.tasks[p.req.task].id];
      AttemptOutcome out = ok(p.req.agent);
      if (!queue.empty()) {
        out = queue.front();
        queue.erase(queue.begin());
      }
      sched_.attempt_finished(p.req.task, p.req.attempt, out);
    }
    return true;
  }

  bool run(int max_steps = 10000) {
    for (int i = 0; i < max_steps; ++i) {
      step();
      if (sched_.finished()) return true;
      if (!finish_next()) return false;
    }
    return false;
  }

  // The most attempts of AGENT (a role: ROLE) seen running at once.
  std::map<std::string, int> peak_agent, peak_role;
  std::vector<std::string> starts;  // "id:agent@second", in order

  static constexpr double kStart = 1'000'000.0;

 private:
  void check_limits() {
    std::map<std::string, int> agents, roles;
    for (int i = 0; i < sched_.task_count(); ++i) {
      if (sched_.task(i).status != TaskStatus::kRunning || wf_.tasks[i].agent.empty()) continue;
      ++agents[sched_.task(i).agent];
      ++roles[wf_.tasks[i].agent];
    }
    for (auto& [name, n] : agents) {
      peak_agent[name] = std::max(peak_agent[name], n);
      auto limit = wf_.settings.agent_limits.find(name);
      if (limit != wf_.settings.agent_limits.end()) {
        EXPECT_LE(n, limit->second) << name << " at " << clock_.now() - kStart;
      }
    }
    for (auto& [name, n] : roles) {
      peak_role[name] = std::max(peak_role[name], n);
      auto limit = wf_.settings.role_limits.find(name);
      if (limit != wf_.settings.role_limits.end()) {
        EXPECT_LE(n, limit->second) << "role " << name << " at " << clock_.now() - kStart;
      }
    }
    EXPECT_LE(sched_.running_count(), wf_.settings.max_parallel);
  }

  struct Pending {
    double end;
    int seq;
    StartRequest req;
    bool operator<(const Pending& o) const { return end != o.end ? end > o.end : seq > o.seq; }
  };
  Workflow wf_;
  FakeClock clock_{kStart};
  Scheduler sched_;
  std::priority_queue<Pending> running_;
  int seq_ = 0;
};

// Every task's candidates: its `agent:` itself (an agent name).
void agents_are_themselves(const Workflow& wf, Scheduler& s) {
  for (int i = 0; i < static_cast<int>(wf.tasks.size()); ++i) {
    if (!wf.tasks[i].agent.empty()) s.set_agents(i, {wf.tasks[i].agent});
  }
}

TEST(AgentLimitsTest, AStartPassesOverATaskWhoseAgentHasNoFreeSlot) {
  Workflow wf;
  wf.settings.max_parallel = 4;
  wf.settings.agent_limits = {{"claude", 1}, {"codex", 2}};
  wf.tasks = {agent_task("c1", "claude"), agent_task("c2", "claude"), agent_task("x1", "codex"),
              agent_task("x2", "codex"),  agent_task("x3", "codex"),  command_task("r1"),
              agent_task("c3", "claude"), agent_task("x4", "codex")};
  Driver d(wf);
  agents_are_themselves(wf, d.scheduler());
  d.step();
  EXPECT_EQ(d.scheduler().task(1).status, TaskStatus::kReady);
  EXPECT_EQ(d.scheduler().task(1).reason, "waiting for a claude slot");
  EXPECT_EQ(d.scheduler().task(4).reason, "waiting for a codex slot");
  ASSERT_TRUE(d.finish_next());
  ASSERT_TRUE(d.run());
  EXPECT_EQ(d.starts,
            (std::vector<std::string>{"c1:claude@0", "x1:codex@0", "x2:codex@0", "r1@0",
                                      "c2:claude@1", "x3:codex@1", "x4:codex@1", "c3:claude@2"}));
  EXPECT_EQ(d.scheduler().run_status(), RunStatus::kSuccess);
}

TEST(AgentLimitsTest, AWideWorkflowNeverExceedsTheLimitsOfTwoAgents) {
  Workflow wf;
  wf.settings.max_parallel = 6;
  wf.settings.agent_limits = {{"claude", 1}, {"codex", 2}};
  for (int i = 0; i < 60; ++i) {
    std::string id = "t" + std::to_string(i);
    if (i % 5 == 4) {
      wf.tasks.push_back(command_task(id));
    } else {
      wf.tasks.push_back(agent_task(id, i % 2 ? "codex" : "claude"));
    }
  }
  Driver d(wf);
  agents_are_themselves(wf, d.scheduler());
  for (int i = 0; i < 60; ++i) d.durations["t" + std::to_string(i)] = 1 + (i * 7) % 5;
  ASSERT_TRUE(d.run());
  EXPECT_EQ(d.scheduler().run_status(), RunStatus::kSuccess);
  EXPECT_EQ(d.starts.size(), 60u);
  EXPECT_EQ(d.peak_agent["claude"], 1);  // the limits are reached, never passed
  EXPECT_EQ(d.peak_agent["codex"], 2);
}

TEST(AgentLimitsTest, ARoleLimitBoundsItsTasksWhateverTheirAgent) {
  Workflow wf;
  wf.settings.max_parallel = 5;
  wf.settings.role_limits = {{"coder", 1}};
  wf.tasks = {agent_task("a", "coder"), agent_task("b", "coder"), agent_task("c", "claude"),
              agent_task("d", "coder")};
  Driver d(wf);
  for (int i : {0, 1, 3}) d.scheduler().set_agents(i, {"claude", "codex"});
  d.scheduler().set_agents(2, {"claude"});
  d.step();
  EXPECT_EQ(d.scheduler().task(1).reason, "waiting for a slot of role 'coder'");
  ASSERT_TRUE(d.finish_next());
  ASSERT_TRUE(d.run());
  // c names the agent, not the role: it starts with a.
  EXPECT_EQ(d.starts,
            (std::vector<std::string>{"a:claude@0", "c:claude@0", "b:claude@1", "d:claude@2"}));
  EXPECT_EQ(d.peak_role["coder"], 1);
  EXPECT_EQ(d.peak_agent["claude"], 2);
}

TEST(AgentLimitsTest, AgentAndRoleLimitsMustBothAllowAStart) {
  Workflow wf;
  wf.settings.max_parallel = 5;
  wf.settings.agent_limits = {{"claude", 1}};
  wf.settings.role_limits = {{"coder", 2}};
  wf.tasks = {agent_task("a", "coder"), agent_task("b", "coder"), agent_task("c", "reviewer"),
              agent_task("d", "coder")};
  Driver d(wf);
  d.scheduler().set_agents(0, {"claude"});
  d.scheduler().set_agents(1, {"codex"});
  d.scheduler().set_agents(2, {"claude"});  // the role has room, claude has not
  d.scheduler().set_agents(3, {"codex"});   // codex has room, the role has not
  d.step();
  EXPECT_EQ(d.scheduler().task(2).reason, "waiting for a claude slot");
  EXPECT_EQ(d.scheduler().task(3).reason, "waiting for a slot of role 'coder'");
  ASSERT_TRUE(d.finish_next());
  ASSERT_TRUE(d.run());
  EXPECT_EQ(d.starts,
            (std::vector<std::string>{"a:claude@0", "b:codex@0", "c:claude@1", "d:codex@1"}));
}

TEST(AgentLimitsTest, ATaskStillBlockedByItsRoleLeavesTheFreedAgentSlotToTheNext) {
  Workflow wf;
  wf.settings.max_parallel = 5;
  wf.settings.agent_limits = {{"claude", 1}};
  wf.settings.role_limits = {{"coder", 1}};
  wf.tasks = {agent_task("p", "coder"), agent_task("q", "reviewer"), agent_task("w1", "coder"),
              agent_task("w2", "reviewer")};
  Driver d(wf);
  d.scheduler().set_agents(0, {"codex"});
  for (int i : {1, 2, 3}) d.scheduler().set_agents(i, {"claude"});
  d.durations["p"] = 10;
  ASSERT_TRUE(d.run());
  // At 1 claude is free but coder is p's: w1 waits for the role, w2 takes claude.
  EXPECT_EQ(d.starts,
            (std::vector<std::string>{"p:codex@0", "q:claude@0", "w2:claude@1", "w1:claude@10"}));
}

TEST(AgentLimitsTest, AFallbackAttemptTakesASlotOfTheAgentItRunsOn) {
  Workflow wf;
  wf.settings.max_parallel = 5;
  wf.settings.agent_limits = {{"claude", 1}, {"codex", 1}};
  wf.tasks = {agent_task("a", "coder"), agent_task("b", "coder"), agent_task("x", "codex")};
  Driver d(wf);
  d.scheduler().set_agents(0, {"claude", "codex"});
  d.scheduler().set_agents(1, {"claude", "codex"});
  d.scheduler().set_agents(2, {"codex"});
  d.durations["x"] = 5;
  d.scripts["a"] = {permanent("claude")};
  d.step();  // a on claude, b waits for claude (no spill to codex), x on codex
  EXPECT_EQ(d.scheduler().task(1).reason, "waiting for a claude slot");
  ASSERT_TRUE(d.finish_next());  // a fails on claude at 1: it falls back to codex
  d.step();                      // codex is x's: a waits; b takes claude
  EXPECT_EQ(d.scheduler().task(0).status, TaskStatus::kReady);
  EXPECT_EQ(d.scheduler().task(0).reason, "waiting for a codex slot");
  ASSERT_TRUE(d.finish_next());
  ASSERT_TRUE(d.run());
  EXPECT_EQ(d.starts,
            (std::vector<std::string>{"a:claude@0", "x:codex@0", "b:claude@1", "a:codex@5"}));
  EXPECT_EQ(d.scheduler().run_status(), RunStatus::kSuccess);
}

TEST(AgentLimitsTest, ARetryWaitsForASlotOfItsAgent) {
  Workflow wf;
  wf.settings.max_parallel = 5;
  wf.settings.agent_limits = {{"claude", 1}};
  wf.tasks = {agent_task("a", "claude"), agent_task("b", "claude")};
  workflow::RetryPolicy retry;
  retry.max_attempts = 2;
  retry.delay_s = 0;
  wf.tasks[0].mutable_extras().retry = retry;
  Driver d(wf);
  agents_are_themselves(wf, d.scheduler());
  AttemptOutcome transient = permanent("claude");
  transient.error_class = "transient";
  d.scripts["a"] = {transient};
  ASSERT_TRUE(d.run());
  // At 1 a's retry and b (passed over at 0) are both ready: a comes first in the file.
  EXPECT_EQ(d.starts, (std::vector<std::string>{"a:claude@0", "a:claude@1", "b:claude@2"}));
}

TEST(AgentLimitsTest, ReattachedAttemptsOfAResumedRunHoldTheirSlots) {
  Workflow wf;
  wf.settings.max_parallel = 5;
  wf.settings.agent_limits = {{"claude", 1}};
  wf.tasks = {agent_task("a", "coder"), agent_task("b", "coder")};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  s.set_agents(0, {"codex", "claude"});
  s.set_agents(1, {"claude"});
  std::vector<TaskState> states(2);
  states[0].status = TaskStatus::kRunning;  // re-attached: it runs on claude (its fallback)
  states[0].attempts = 2;
  states[0].agent = "claude";
  s.restore(std::move(states));
  Step step = s.advance();
  EXPECT_TRUE(step.starts.empty());
  EXPECT_EQ(s.task(1).reason, "waiting for a claude slot");
  // Recorded once, as ready -> ready with the reason (the store keeps it for status).
  int waits = 0;
  for (const Transition& t : step.transitions) {
    if (t.task != 1 || t.to != TaskStatus::kReady || t.from != TaskStatus::kReady) continue;
    ++waits;
    EXPECT_EQ(t.reason, "waiting for a claude slot");
  }
  EXPECT_EQ(waits, 1);
  EXPECT_TRUE(s.advance().transitions.empty());  // still waiting: nothing new to record
  s.attempt_finished(0, 2, ok("claude"));
  step = s.advance();
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(step.starts[0].task, 1);
  EXPECT_EQ(step.starts[0].agent, "claude");
}

TEST(AgentLimitsTest, CancelCancelsTasksWaitingForASlot) {
  Workflow wf;
  wf.settings.agent_limits = {{"claude", 1}};
  wf.tasks = {agent_task("a", "claude"), agent_task("b", "claude")};
  FakeClock clock;
  Scheduler s(wf, clock, {});
  agents_are_themselves(wf, s);
  ASSERT_EQ(s.advance().starts.size(), 1u);
  EXPECT_EQ(s.cancel("cancelled by the user"), std::vector<int>{0});
  EXPECT_EQ(s.task(1).status, TaskStatus::kCancelled);
  AttemptOutcome out;
  out.cancelled = true;
  s.attempt_finished(0, 1, out);
  EXPECT_TRUE(s.advance().starts.empty());  // b is not put back when a's slot is freed
  EXPECT_TRUE(s.settled());
}

TEST(AgentLimitsTest, WithoutLimitsOnlyMaxParallelBounds) {
  Workflow wf;
  wf.settings.max_parallel = 3;
  wf.tasks = {agent_task("a", "claude"), agent_task("b", "claude"), agent_task("c", "claude")};
  Driver d(wf);
  agents_are_themselves(wf, d.scheduler());
  ASSERT_TRUE(d.run());
  EXPECT_EQ(d.peak_agent["claude"], 3);
}

}  // namespace
}  // namespace baton::engine
