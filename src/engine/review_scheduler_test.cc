// Tests of review cycles in the Scheduler (docs/review.md), with a fake clock and
// scripted outcomes: implement -> review -> rework cycles, exhaustion (escalate or
// fail), dependants waiting for the approval, reviews failing without a verdict,
// reviewer choice and single-agent mode, and a run restored in the middle of a cycle.
#include <gtest/gtest.h>

#include <deque>

#include "engine/scheduler.h"

namespace baton::engine {
namespace {

using workflow::ReviewExhausted;
using workflow::ReviewSpec;
using workflow::TaskSpec;
using workflow::Workflow;

TaskSpec agent_task(const std::string& id, std::vector<std::string> deps = {}) {
  TaskSpec t;
  t.id = id;
  t.agent = "coder";
  t.mutable_extras().description = "implement " + id;
  t.dependencies = std::move(deps);
  return t;
}

TaskSpec command(const std::string& id, std::vector<std::string> deps = {}) {
  TaskSpec t;
  t.id = id;
  t.run_shell = "true";
  t.dependencies = std::move(deps);
  return t;
}

// A workflow: `impl` (agent, reviewed by role `reviewer`) and `after`, a command that
// depends on it.
Workflow reviewed(int max_cycles = 3, ReviewExhausted on_exhausted = ReviewExhausted::kEscalate) {
  Workflow wf;
  wf.tasks = {agent_task("impl"), command("after", {"impl"})};
  wf.tasks[0].review = ReviewSpec{"reviewer", max_cycles, "", on_exhausted, {}};
  return wf;
}

AttemptOutcome work(const std::string& agent, const std::string& output,
                    const std::string& session = "") {
  AttemptOutcome o;
  o.success = true;
  o.agent = agent;
  o.output = output;
  o.session_id = session;
  return o;
}

AttemptOutcome verdict(const std::string& agent, bool approved, const std::string& feedback = "") {
  AttemptOutcome o = work(agent, "review text");
  o.verdict = ReviewVerdict{approved, feedback};
  return o;
}

AttemptOutcome no_verdict(const std::string& agent) {
  AttemptOutcome o;
  o.agent = agent;
  o.reason = "no verdict in the reviewer's answer";
  o.error_class = "transient";
  return o;
}

// One start as the test sees it: "task#attempt agent [review|work] cN [@session]".
std::string describe(const Workflow& wf, const StartRequest& s) {
  std::string out = wf.tasks[s.task].id + "#" + std::to_string(s.attempt) + " " + s.agent;
  if (s.cycle > 0)
    out += std::string(s.review ? " review" : " work") + " c" + std::to_string(s.cycle);
  if (!s.resume_session_id.empty()) out += " @" + s.resume_session_id;
  return out;
}

// Drives a Scheduler: each started attempt ends (in start order) with the next scripted
// outcome of its task, or success when none is left; the clock jumps to retries.
class Drive {
 public:
  explicit Drive(Workflow wf) : wf_(std::move(wf)) { reset(); }

  void reset() { sched_ = std::make_unique<Scheduler>(wf_, clock_, RunContext{}, 7); }

  void script(const std::string& id, std::vector<AttemptOutcome> outcomes) {
    for (auto& o : outcomes) scripts_[id].push_back(std::move(o));
  }

  // Runs until finished or nothing can move; stops early (returning) once STOP_AFTER
  // attempts have ended (-1: never).
  void run(int stop_after = -1) {
    for (int guard = 0; guard < 1000; ++guard) {
      if (stop_after >= 0 && ended_ >= stop_after) return;
      Step step = sched_->advance();
      for (const Transition& t : step.transitions) transitions_.push_back(t);
      for (const StartRequest& s : step.starts) {
        starts_.push_back(describe(wf_, s));
        running_.push_back(s);
      }
      if (!running_.empty()) {
        StartRequest s = running_.front();
        running_.pop_front();
        clock_.advance(1);
        AttemptOutcome out;
        out.success = true;
        auto& queue = scripts_[wf_.tasks[s.task].id];
        if (!queue.empty()) {
          out = queue.front();
          queue.pop_front();
        }
        sched_->attempt_finished(s.task, s.attempt, out);
        ++ended_;
      } else if (auto wake = sched_->next_wakeup()) {
        clock_.set(*wake);
      } else {
        return;
      }
    }
  }

  // The reasons of TASK's transitions to STATUS, in order.
  std::vector<std::string> reasons(const std::string& id, TaskStatus to) const {
    std::vector<std::string> out;
    for (const Transition& t : transitions_) {
      if (t.task == wf_.task_index(id) && t.to == to) out.push_back(t.reason);
    }
    return out;
  }

  Scheduler& sched() { return *sched_; }
  const TaskState& state(const std::string& id) const { return sched_->task(wf_.task_index(id)); }
  const std::vector<std::string>& starts() const { return starts_; }
  FakeClock& clock() { return clock_; }
  const Workflow& workflow() const { return wf_; }

 private:
  Workflow wf_;
  FakeClock clock_;
  std::unique_ptr<Scheduler> sched_;
  std::map<std::string, std::deque<AttemptOutcome>> scripts_;
  std::deque<StartRequest> running_;
  std::vector<std::string> starts_;
  std::vector<Transition> transitions_;
  int ended_ = 0;
};

TEST(ReviewCycleTest, ChangesRequestedOnceThenApproved) {
  Drive d(reviewed());
  d.sched().set_agents(0, {"claude", "codex"});
  d.sched().set_reviewers(0, {"claude", "codex"});
  d.script("impl", {work("claude", "first try", "s1"), verdict("codex", false, "Handle tabs."),
                    work("claude", "second try", "s1"), verdict("codex", true)});
  d.run();
  EXPECT_EQ(d.starts(), (std::vector<std::string>{
                            "impl#1 claude work c1",
                            "impl#2 codex review c1",     // never the implementer
                            "impl#3 claude work c2 @s1",  // the rework resumes its session
                            "impl#4 codex review c2",
                            "after#1 ",  // only after the approval
                        }));
  EXPECT_EQ(d.state("impl").status, TaskStatus::kSuccess);
  EXPECT_EQ(d.state("impl").output, "second try");  // the work's, not the review's
  EXPECT_EQ(d.state("impl").agent, "claude");
  EXPECT_EQ(d.state("impl").reason, "approved by codex (cycle 2/3)");
  EXPECT_EQ(d.state("impl").agent_state().review.feedback, "Handle tabs.");
  EXPECT_EQ(d.reasons("impl", TaskStatus::kRunning),
            (std::vector<std::string>{"", "in review (cycle 1/3)", "changes requested (cycle 2/3)",
                                      "in review (cycle 2/3)"}));
  EXPECT_EQ(d.reasons("impl", TaskStatus::kReady),
            (std::vector<std::string>{"", "in review (cycle 1/3)", "changes requested (cycle 2/3)",
                                      "in review (cycle 2/3)"}));
  EXPECT_EQ(d.state("after").status, TaskStatus::kSuccess);
  EXPECT_EQ(d.sched().run_status(), RunStatus::kSuccess);
}

TEST(ReviewCycleTest, NeverApprovedEscalatesAfterMaxCyclesAndApprovalKeepsTheWork) {
  Drive d(reviewed(3));
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex"});
  for (int i = 1; i <= 3; ++i) {
    d.script("impl", {work("claude", "try " + std::to_string(i)),
                      verdict("codex", false, "Still wrong (" + std::to_string(i) + ").\nMore.")});
  }
  d.run();
  EXPECT_EQ(d.starts().size(), 6u);
  EXPECT_EQ(d.starts().back(), "impl#6 codex review c3");
  EXPECT_EQ(d.state("impl").status, TaskStatus::kWaiting);
  EXPECT_TRUE(d.state("impl").escalated);
  EXPECT_EQ(d.state("impl").reason,
            "escalated: review not approved after 3 cycles; last feedback: Still wrong (3).");
  EXPECT_EQ(d.state("after").status, TaskStatus::kPending);  // waits for the person
  EXPECT_EQ(d.sched().run_status(), RunStatus::kWaiting);
  ASSERT_TRUE(d.sched().approve(0, "good enough"));
  d.run();
  EXPECT_EQ(d.state("impl").status, TaskStatus::kSuccess);
  EXPECT_EQ(d.state("impl").output, "try 3");
  EXPECT_EQ(d.state("after").status, TaskStatus::kSuccess);
}

TEST(ReviewCycleTest, NeverApprovedFailsWithOnExhaustedFail) {
  Drive d(reviewed(1, ReviewExhausted::kFail));
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex"});
  d.script("impl", {work("claude", "x"), verdict("codex", false, "No.")});
  d.run();
  EXPECT_EQ(d.starts().size(), 2u);
  EXPECT_EQ(d.state("impl").status, TaskStatus::kFailed);
  EXPECT_EQ(d.state("impl").reason, "review not approved after 1 cycle; last feedback: No.");
  EXPECT_EQ(d.state("after").status, TaskStatus::kCancelled);
  EXPECT_EQ(d.sched().run_status(), RunStatus::kFailed);
}

TEST(ReviewCycleTest, AnswerWithoutVerdictIsRetriedByPolicyApartFromTheWork) {
  Workflow wf = reviewed();
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{2, 5, workflow::Backoff::kFixed, {}, 0};
  Drive d(wf);
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex"});
  d.script("impl", {work("claude", "x"), no_verdict("codex"), verdict("codex", true)});
  d.run();
  EXPECT_EQ(d.starts(), (std::vector<std::string>{"impl#1 claude work c1", "impl#2 codex review c1",
                                                  "impl#3 codex review c1", "after#1 "}));
  EXPECT_EQ(d.reasons("impl", TaskStatus::kPending),
            (std::vector<std::string>{
                "review attempt 2 (codex) failed: no verdict in the reviewer's answer; retry 2/2 "
                "in 5s"}));
  EXPECT_EQ(d.state("impl").status, TaskStatus::kSuccess);
  EXPECT_EQ(d.state("impl").agent_attempts, 1);  // the reviews used none of the work's

  // Out of retries: the task fails with the review's reason.
  Drive e(wf);
  e.sched().set_agents(0, {"claude"});
  e.sched().set_reviewers(0, {"codex"});
  e.script("impl", {work("claude", "x"), no_verdict("codex"), no_verdict("codex")});
  e.run();
  EXPECT_EQ(e.state("impl").status, TaskStatus::kFailed);
  EXPECT_EQ(e.state("impl").reason,
            "no reviewer of 'reviewer' left: review attempt 3 (codex) failed: no verdict in the "
            "reviewer's answer");
}

TEST(ReviewCycleTest, WithoutAnotherAgentTheTaskFailsUnlessSingleAgent) {
  Drive d(reviewed());
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"claude"});
  d.run();
  EXPECT_EQ(d.state("impl").status, TaskStatus::kFailed);
  EXPECT_EQ(d.state("impl").reason,
            "no reviewer: no installed agent of 'reviewer' other than claude "
            "(settings.single_agent: true lets an agent review its own work)");
  EXPECT_EQ(d.starts().size(), 1u);
}

AttemptOutcome failure(const std::string& agent, const std::string& cls, const std::string& reason,
                       bool retryable) {
  AttemptOutcome o;
  o.agent = agent;
  o.reason = reason;
  o.error_class = cls;
  o.retryable = retryable;
  return o;
}

TEST(ReviewCycleTest, AReviewerThatFailsForGoodFallsBackToTheRolesNextAgent) {
  Drive d(reviewed());
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"claude", "codex", "gemini"});
  d.script("impl",
           {work("claude", "x"), failure("codex", "auth", "HTTP 401", false),
            verdict("gemini", false, "Add tests."), work("claude", "y"), verdict("gemini", true)});
  d.run();
  // Never the implementer; codex, which failed for good, is not asked again in cycle 2.
  EXPECT_EQ(d.starts(),
            (std::vector<std::string>{"impl#1 claude work c1", "impl#2 codex review c1",
                                      "impl#3 gemini review c1", "impl#4 claude work c2",
                                      "impl#5 gemini review c2", "after#1 "}));
  EXPECT_EQ(d.reasons("impl", TaskStatus::kPending),
            (std::vector<std::string>{
                "review attempt 2 (codex) failed: HTTP 401; falling back to reviewer gemini"}));
  EXPECT_EQ(d.state("impl").status, TaskStatus::kSuccess);
  EXPECT_EQ(d.state("impl").reason, "approved by gemini (cycle 2/3)");
  const auto& failed = d.state("impl").agent_state().review.failed_reviewers;
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].agent, "codex");
  EXPECT_EQ(failed[0].attempt, 2);
}

TEST(ReviewCycleTest, AReviewerOutOfRetriesOrPermanentFallsBackAndNoneLeftFailsNamingEach) {
  Workflow wf = reviewed();
  wf.tasks[0].mutable_extras().retry =
      workflow::RetryPolicy{2, 5, workflow::Backoff::kFixed, {}, 0};
  Drive d(wf);
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex", "gemini"});
  d.script("impl", {work("claude", "x"), no_verdict("codex"), no_verdict("codex"),
                    failure("gemini", "permanent", "model not found", false)});
  d.run();
  EXPECT_EQ(d.starts(),
            (std::vector<std::string>{"impl#1 claude work c1", "impl#2 codex review c1",
                                      "impl#3 codex review c1", "impl#4 gemini review c1"}));
  EXPECT_EQ(d.state("impl").status, TaskStatus::kFailed);
  EXPECT_EQ(d.state("impl").reason,
            "no reviewer of 'reviewer' left: review attempt 3 (codex) failed: no verdict in the "
            "reviewer's answer; review attempt 4 (gemini) failed: model not found");
  EXPECT_EQ(d.state("after").status, TaskStatus::kCancelled);

  // fallback: fail keeps the first reviewer only, as it does the implementer.
  wf.tasks[0].fallback = workflow::FallbackStrategy::kFail;
  Drive e(wf);
  e.sched().set_agents(0, {"claude"});
  e.sched().set_reviewers(0, {"codex", "gemini"});
  e.script("impl", {work("claude", "x"), failure("codex", "auth", "HTTP 401", false)});
  e.run();
  EXPECT_EQ(e.starts().size(), 2u);
  EXPECT_EQ(e.state("impl").status, TaskStatus::kFailed);
  EXPECT_EQ(e.state("impl").reason, "review attempt 2 (codex) failed: HTTP 401");
}

TEST(ReviewCycleTest, RestoredAfterAReviewerFailedTheNextOneReviews) {
  Drive d(reviewed());
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex", "gemini"});
  std::vector<TaskState> states(2);
  states[0].status = TaskStatus::kPending;  // what schedule_retry() left
  states[0].attempts = 2;
  states[0].agent = "claude";
  states[0].output = "the work";
  ReviewProgress& progress = states[0].mutable_agent_state().review;
  progress.phase = ReviewProgress::Phase::kReview;
  progress.reviewer = "gemini";
  progress.implementer = "claude";
  progress.failed_reviewers = {{"codex", "HTTP 401", 2}};
  d.sched().restore(std::move(states));
  d.script("impl", {failure("gemini", "auth", "HTTP 401", false)});
  d.run();
  EXPECT_EQ(d.starts(), (std::vector<std::string>{"impl#3 gemini review c1"}));
  EXPECT_EQ(d.state("impl").reason,
            "no reviewer of 'reviewer' left: review attempt 2 (codex) failed: HTTP 401; review "
            "attempt 3 (gemini) failed: HTTP 401");
}

TEST(ReviewCycleTest, SingleAgentReviewsItsOwnWorkAfterThePause) {
  Workflow wf = reviewed();
  wf.settings.single_agent = true;
  wf.settings.single_agent_pause_s = 30;
  Drive d(wf);
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex", "claude"});  // explicit: the implementer reviews
  d.script("impl", {work("claude", "x"), verdict("claude", true)});
  const double t0 = d.clock().now();
  d.run();
  EXPECT_EQ(d.starts(), (std::vector<std::string>{"impl#1 claude work c1",
                                                  "impl#2 claude review c1", "after#1 "}));
  EXPECT_EQ(d.reasons("impl", TaskStatus::kPending),
            (std::vector<std::string>{
                "in review (cycle 1/3): claude reviews its own work after a pause of 30s"}));
  // attempt 1 ends at t0+1; the review starts 30 s later and ends at t0+32
  EXPECT_EQ(d.state("impl").ended_at, t0 + 32);
  EXPECT_EQ(d.state("impl").status, TaskStatus::kSuccess);
}

TEST(ReviewCycleTest, TheDriverTurnsSingleAgentOnWhenOneAgentIsInstalled) {
  Drive d(reviewed());
  d.sched().set_single_agent(true);
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"claude"});
  d.script("impl", {work("claude", "x"), verdict("claude", true)});
  d.run();
  EXPECT_EQ(d.starts()[1], "impl#2 claude review c1");
  EXPECT_EQ(d.state("impl").status, TaskStatus::kSuccess);
}

TEST(ReviewCycleTest, ReviewHoldsTheReviewersSlot) {
  Workflow wf = reviewed();
  wf.tasks.push_back(agent_task("other"));
  wf.settings.agent_limits = {{"codex", 1}};
  Drive d(wf);
  d.sched().set_agents(0, {"claude"});
  d.sched().set_agents(2, {"codex"});
  d.sched().set_reviewers(0, {"codex"});
  d.script("impl", {work("claude", "x"), verdict("codex", true)});
  d.run();
  // impl's review waits for the codex slot `other` holds.
  EXPECT_EQ(d.starts(), (std::vector<std::string>{"impl#1 claude work c1", "other#1 codex",
                                                  "impl#2 codex review c1", "after#1 "}));
  EXPECT_EQ(d.reasons("impl", TaskStatus::kReady).back(), "waiting for a codex slot");
}

TEST(ReviewCycleTest, RestoredBetweenReviewAndReworkGoesOnWithTheFeedback) {
  Workflow wf = reviewed();
  Drive d(wf);
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex"});
  d.script("impl", {work("claude", "first", "s1"), verdict("codex", false, "Add tests.")});
  d.run(/*stop_after=*/2);  // the review asked for changes; baton dies here
  ASSERT_EQ(d.state("impl").status, TaskStatus::kReady);
  EXPECT_EQ(d.state("impl").agent_state().review.cycle, 2);
  // What the store and the event log give back (the driver's ReviewLog).
  std::vector<TaskState> states(2);
  states[0].status = TaskStatus::kReady;
  states[0].attempts = 2;
  states[0].agent = "claude";
  states[0].output = "first";
  states[0].mutable_agent_state().session_id = "s1";
  states[0].mutable_agent_state().session_agent = "claude";
  ReviewProgress& progress = states[0].mutable_agent_state().review;
  progress.cycle = 2;
  progress.phase = ReviewProgress::Phase::kImplement;
  progress.feedback = "Add tests.";
  progress.reviewer = "codex";
  progress.implementer = "claude";
  d.reset();
  d.sched().set_agents(0, {"claude"});
  d.sched().set_reviewers(0, {"codex"});
  d.sched().restore(std::move(states));
  d.script("impl", {work("claude", "second", "s1"), verdict("codex", true)});
  d.run();
  EXPECT_EQ(d.starts(), (std::vector<std::string>{"impl#1 claude work c1", "impl#2 codex review c1",
                                                  "impl#3 claude work c2 @s1",
                                                  "impl#4 codex review c2", "after#1 "}));
  EXPECT_EQ(d.state("impl").status, TaskStatus::kSuccess);
  EXPECT_EQ(d.state("impl").output, "second");
}

TEST(ReviewCycleTest, RestoredRunningReviewIsJudgedAsAReview) {
  Workflow wf = reviewed();
  FakeClock clock;
  Scheduler s(wf, clock, {});
  s.set_agents(0, {"claude"});
  s.set_reviewers(0, {"codex"});
  std::vector<TaskState> states(2);
  states[0].status = TaskStatus::kRunning;
  states[0].attempts = 2;
  states[0].agent = "claude";
  states[0].output = "the work";
  ReviewProgress& progress = states[0].mutable_agent_state().review;
  progress.phase = ReviewProgress::Phase::kReview;
  progress.phase_attempts = 1;
  progress.reviewer = "codex";
  progress.implementer = "claude";
  s.restore(std::move(states));
  s.attempt_finished(0, 2, verdict("codex", true));
  Step step = s.advance();
  EXPECT_EQ(s.task(0).status, TaskStatus::kSuccess);
  EXPECT_EQ(s.task(0).output, "the work");
  ASSERT_EQ(step.starts.size(), 1u);
  EXPECT_EQ(step.starts[0].task, 1);
}

TEST(ReviewCycleTest, TasksWithoutReviewAreUnchanged) {
  Workflow wf;
  wf.tasks = {agent_task("a"), command("b", {"a"})};
  Drive d(wf);
  d.sched().set_agents(0, {"claude"});
  d.script("a", {work("claude", "done")});
  d.run();
  EXPECT_EQ(d.starts(), (std::vector<std::string>{"a#1 claude", "b#1 "}));
  EXPECT_EQ(d.state("a").reason, "");
}

}  // namespace
}  // namespace baton::engine
