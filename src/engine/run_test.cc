// Unit tests of run.h's pure parts; the driver itself is tested through the binary
// (tests/run_test.cc, tests/resume_test.cc, tests/terminal_test.cc).
#include "engine/run.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace baton::engine {
namespace {

store::Event at(double time, const std::string& kind) {
  store::Event e;
  e.time = time;
  e.kind = kind;
  return e;
}

// The same path as std::filesystem's operator/ gives (resume and cancel find attempts
// by it), however the run directory ends.
TEST(AttemptLogPathTest, JoinsAsFilesystemPathDoes) {
  for (const std::string dir : {"/var/x/.baton/runs/r1", "/var/x/.baton/runs/r1/", "rel/r", "/"}) {
    EXPECT_EQ(attempt_log_path(dir, "build.docs", 12),
              (std::filesystem::path(dir) / "logs" / "build.docs.12.log").string())
        << dir;
  }
  EXPECT_EQ(attempt_log_path("/r", "t", 1), "/r/logs/t.1.log");
}

TEST(ActiveSecondsTest, SumsTheOrchestratorsAndLeavesOutTheTimeBatonWasDown) {
  // Run 100..130 then killed (its last event at 130); down until 1000; resumed, ended
  // at 1012.
  std::vector<store::Event> events = {at(100, "run.created"),   at(101, "task.running"),
                                      at(130, "task.success"),  at(1000, "run.resumed"),
                                      at(1005, "task.running"), at(1012, "run.finished")};
  EXPECT_DOUBLE_EQ(active_seconds(events), 30 + 12);
}

TEST(ActiveSecondsTest, PausedAndWaitingEndAnOrchestratorAndARunningOneCountsSoFar) {
  std::vector<store::Event> events = {at(0, "run.created"), at(5, "run.waiting"),
                                      at(50, "task.approved"),  // baton approve, no orchestrator
                                      at(100, "run.resumed"), at(103, "task.running")};
  EXPECT_DOUBLE_EQ(active_seconds(events), 5 + 3);
  EXPECT_DOUBLE_EQ(active_seconds({}), 0);
}

TEST(ActiveSecondsTest, OneEventAtATimeGivesTheSameSoFar) {
  std::vector<store::Event> events = {at(100, "run.created"),   at(130, "task.success"),
                                      at(1000, "run.resumed"),  at(1005, "task.running"),
                                      at(1012, "run.finished"), at(2000, "run.resumed"),
                                      at(2004, "task.running")};
  ActiveSeconds active;
  EXPECT_DOUBLE_EQ(active.total(), 0);
  for (size_t i = 0; i < events.size(); ++i) {
    active.add(events[i]);
    std::vector<store::Event> so_far(events.begin(), events.begin() + i + 1);
    EXPECT_DOUBLE_EQ(active.total(), active_seconds(so_far)) << i;
  }
  EXPECT_DOUBLE_EQ(active.total(), 30 + 12 + 4);
}

}  // namespace
}  // namespace baton::engine
