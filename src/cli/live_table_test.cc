#include "cli/live_table.h"

#include <gtest/gtest.h>

#include "engine/clock.h"

namespace baton::cli {
namespace {

using engine::AttemptOutcome;
using engine::FakeClock;
using engine::Scheduler;
using engine::TaskStatus;
using workflow::TaskSpec;
using workflow::Workflow;

TaskSpec task(const std::string& id, std::vector<std::string> deps = {}) {
  TaskSpec t;
  t.id = id;
  t.run_shell = "true";
  t.dependencies = std::move(deps);
  return t;
}

int count_containing(const std::vector<std::string>& lines, const std::string& text) {
  int n = 0;
  for (const auto& l : lines) n += l.find(text) != std::string::npos;
  return n;
}

void expect_fits(const std::vector<std::string>& lines, TermSize size) {
  EXPECT_LE(static_cast<int>(lines.size()), size.rows - 1);
  for (const auto& l : lines) {
    EXPECT_LE(display_width(l), static_cast<size_t>(size.cols)) << l;
    EXPECT_EQ(l.find('\n'), std::string::npos) << l;
  }
}

TEST(LiveTableTest, WidthSkipsEscapesAndCountsCodePoints) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("\x1b[36mrunning\x1b[0m"), 7u);
  EXPECT_EQ(display_width("\xe2\x80\xa6x"), 2u);  // "…x"
}

TEST(LiveTableTest, FitLineCutsWithAnEllipsisAndKeepsEscapes) {
  EXPECT_EQ(fit_line("abcdef", 6), "abcdef");
  EXPECT_EQ(fit_line("abcdefg", 6), "abcde\xe2\x80\xa6");
  std::string cut = fit_line("\x1b[1mtitle that is long\x1b[0m", 8);
  EXPECT_EQ(display_width(cut), 8u);
  EXPECT_EQ(cut, "\x1b[1mtitle t\xe2\x80\xa6\x1b[0m");
  EXPECT_EQ(one_line("a\nb\tc\x1b[2J"), "a b c [2J");
}

// 40 tasks at 80x24 (the brief of issue 18): the frame fits, the header is there once,
// running tasks are shown and the rest counted.
TEST(LiveTableTest, FortyTasksFoldIntoTheScreen) {
  Workflow wf;
  for (int i = 0; i < 40; ++i) {
    wf.tasks.push_back(
        task("task-with-a-rather-long-identifier-that-will-not-fit-" + std::to_string(i)));
  }
  wf.settings.max_parallel = 3;
  FakeClock clock;
  clock.set(1000);
  Scheduler s(wf, clock, {});
  auto step = s.advance();
  ASSERT_EQ(step.starts.size(), 3u);
  for (const auto& st : step.starts) {
    AttemptOutcome ok;
    ok.success = true;
    s.attempt_finished(st.task, st.attempt, ok);
  }
  s.advance();  // three done, three running
  TableInput in{
      "run 20261205-120000-abcd of forty", "20261205-120000-abcd", 1001, 1, {}, false, {}};
  TermSize size{80, 24};
  auto lines = render_table(s, in, size);
  expect_fits(lines, size);
  EXPECT_EQ(lines.size(), 23u);
  EXPECT_EQ(count_containing(lines, "run 20261205-120000-abcd of forty"), 1);
  EXPECT_EQ(count_containing(lines, "TASK"), 1);
  EXPECT_EQ(count_containing(lines, "running"), 3);
  EXPECT_EQ(count_containing(lines, "\xe2\x80\xa6 20 more (20 pending)"), 1) << lines.back();
  // Wide: everything fits, nothing folded, ids whole.
  TermSize wide{160, 45};
  lines = render_table(s, in, wide);
  expect_fits(lines, wide);
  EXPECT_EQ(lines.size(), 42u);  // title, header, 40 tasks
  EXPECT_EQ(count_containing(lines, "-39"), 1);
}

TEST(LiveTableTest, GateHintOutranksTaskRowsOnASmallScreen) {
  Workflow wf;
  for (int i = 0; i < 30; ++i) wf.tasks.push_back(task("t" + std::to_string(i)));
  TaskSpec g = task("ship", {"t0"});
  g.mutable_extras().gate = workflow::GateSpec{"ship it? " + std::string(200, 'x'), {}};
  wf.tasks.push_back(g);
  FakeClock clock;
  Scheduler s(wf, clock, {});
  auto step = s.advance();
  for (const auto& st : step.starts) {
    AttemptOutcome ok;
    ok.success = true;
    s.attempt_finished(st.task, st.attempt, ok);
  }
  s.advance();
  ASSERT_EQ(s.task(30).status, TaskStatus::kWaiting);
  TableInput in{"run R of gated", "R", 0, 0, {"interrupted (Ctrl-C): nothing running"}, true, {}};
  for (TermSize size : {TermSize{80, 24}, TermSize{40, 8}, TermSize{80, 4}}) {
    auto lines = render_table(s, in, size);
    expect_fits(lines, size);
    EXPECT_EQ(count_containing(lines, "interrupted (Ctrl-C)"), 1) << size.rows;
    EXPECT_EQ(count_containing(lines, "baton approve R ship"), 1) << size.rows;
  }
}

TEST(LiveTableTest, AgentWhileRunningRetryCountdownAndTimeout) {
  Workflow wf;
  TaskSpec a = task("ask");
  a.run_shell.reset();
  a.agent = "claude";
  workflow::RetryPolicy retry;
  retry.max_attempts = 2;
  retry.delay_s = 4;
  a.mutable_extras().retry = retry;
  wf.tasks = {a, task("slow")};
  wf.settings.on_failure = workflow::RunFailurePolicy::kContinue;
  FakeClock clock;
  clock.set(100);
  Scheduler s(wf, clock, {});
  s.set_agents(0, {"claude", "codex"});
  auto step = s.advance();
  ASSERT_EQ(step.starts.size(), 2u);
  TableInput in{"run R of w", "R", 100, 0, {}, false, {}};
  auto lines = render_table(s, in, {120, 24});
  EXPECT_EQ(count_containing(lines, "claude"), 1);  // while its first attempt runs

  AttemptOutcome failed;
  failed.reason = "exited 1";
  failed.agent = "claude";
  s.attempt_finished(0, 1, failed);
  AttemptOutcome timeout;
  timeout.reason = "timed out after 30s (SIGTERM)";
  timeout.timed_out = true;
  s.attempt_finished(1, 1, timeout);
  s.advance();
  clock.set(100.5);
  in.now = 100.5;
  lines = render_table(s, in, {120, 24});
  EXPECT_EQ(count_containing(lines, "retry in 4s"), 1) << ::testing::PrintToString(lines);
  EXPECT_EQ(count_containing(lines, "timed out"), 1);
}

TEST(LiveTableTest, ARunningAgentOverAcpShowsItsCurrentStep) {
  Workflow wf;
  TaskSpec a = task("ask");
  a.run_shell.reset();
  a.agent = "gemini";
  wf.tasks = {a, task("other")};
  FakeClock clock;
  clock.set(100);
  Scheduler s(wf, clock, {});
  s.set_agents(0, {"gemini"});
  ASSERT_EQ(s.advance().starts.size(), 2u);
  TableInput in{"run R of w", "R", 100, 0, {}, false, {}};
  in.steps["ask"] = "edit: Writing to\na.txt";
  auto lines = render_table(s, in, {120, 24});
  EXPECT_EQ(count_containing(lines, "edit: Writing to a.txt"), 1)
      << ::testing::PrintToString(lines);
  AttemptOutcome done;
  done.success = true;
  done.agent = "gemini";
  s.attempt_finished(0, 1, done);
  lines = render_table(s, in, {120, 24});
  EXPECT_EQ(count_containing(lines, "Writing to"), 0);  // only while it runs
}

TEST(LiveTableTest, ATaskWaitingForAnAgentSlotSaysSo) {
  Workflow wf;
  TaskSpec a = task("first");
  a.run_shell.reset();
  a.agent = "claude";
  TaskSpec b = a;
  b.id = "second";
  wf.tasks = {a, b, task("cmd")};
  wf.settings.agent_limits = {{"claude", 1}};
  FakeClock clock;
  clock.set(100);
  Scheduler s(wf, clock, {});
  s.set_agents(0, {"claude"});
  s.set_agents(1, {"claude"});
  ASSERT_EQ(s.advance().starts.size(), 2u);  // first and cmd; second waits
  TableInput in{"run R of w", "R", 100, 0, {}, false, {}};
  auto lines = render_table(s, in, {120, 24});
  ASSERT_EQ(count_containing(lines, "waiting for a claude slot"), 1)
      << ::testing::PrintToString(lines);
  EXPECT_EQ(count_containing(lines, "second"), 1);
  for (const auto& l : lines) {
    if (l.find("waiting for a claude slot") != std::string::npos) {
      EXPECT_NE(l.find("second"), std::string::npos) << l;
    }
  }
  AttemptOutcome done;
  done.success = true;
  done.agent = "claude";
  s.attempt_finished(0, 1, done);
  ASSERT_EQ(s.advance().starts.size(), 1u);
  lines = render_table(s, in, {120, 24});
  EXPECT_EQ(count_containing(lines, "waiting for a"), 0);  // it runs now
}

}  // namespace
}  // namespace baton::cli

namespace baton::cli {
namespace {

// A reviewed task's row says where its cycle is: "in review (cycle 1/3)", then
// "changes requested (cycle 2/3)" (docs/review.md).
TEST(LiveTableTest, ReviewedTaskShowsItsCycle) {
  Workflow wf;
  TaskSpec t;
  t.id = "impl";
  t.agent = "claude";
  t.mutable_extras().description = "do it";
  t.review = workflow::ReviewSpec{"codex", 3, "", workflow::ReviewExhausted::kEscalate, {}};
  wf.tasks.push_back(t);
  FakeClock clock;
  Scheduler s(wf, clock, {});
  s.set_agents(0, {"claude"});
  s.set_reviewers(0, {"codex"});
  TableInput in{"run R of reviewed", "R", 0, 0, {}, false, {}};
  auto step = s.advance();
  AttemptOutcome work;
  work.success = true;
  work.agent = "claude";
  s.attempt_finished(0, step.starts[0].attempt, work);
  step = s.advance();  // the review runs
  auto lines = render_table(s, in, TermSize{100, 10});
  EXPECT_EQ(count_containing(lines, "in review (cycle 1/3)"), 1);
  AttemptOutcome review;
  review.success = true;
  review.agent = "codex";
  review.verdict = engine::ReviewVerdict{false, "More tests."};
  s.attempt_finished(0, step.starts[0].attempt, review);
  s.advance();  // the rework runs
  lines = render_table(s, in, TermSize{100, 10});
  EXPECT_EQ(count_containing(lines, "changes requested (cycle 2/3)"), 1);
}

}  // namespace
}  // namespace baton::cli
