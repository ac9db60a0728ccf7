// Tests of ReviewLog: the cycles of reviewed tasks rebuilt from the events the driver
// records (engine/review_log.h), at each point where baton may die.
#include "engine/review_log.h"

#include <gtest/gtest.h>

namespace baton::engine {
namespace {

using Phase = ReviewProgress::Phase;

store::Event ev(const std::string& task, const std::string& kind, nlohmann::json data) {
  store::Event e;
  e.task_id = task;
  e.kind = kind;
  e.data = std::move(data);
  return e;
}

TEST(ReviewLogTest, EachPointOfACycle) {
  ReviewLog log;
  EXPECT_EQ(log.progress("a").cycle, 1);
  EXPECT_EQ(log.progress("a").phase, Phase::kImplement);
  log.add(ev("a", "attempt.started", {{"attempt", 1}, {"agent", "claude"}, {"cycle", 1}}));
  EXPECT_EQ(log.progress("a").phase_attempts, 1);
  // Died after the work succeeded, before the review started.
  log.add(ev("a", "review.requested",
             {{"attempt", 1}, {"cycle", 1}, {"reviewer", "codex"}, {"implementer", "claude"}}));
  ReviewProgress p = log.progress("a");
  EXPECT_EQ(p.phase, Phase::kReview);
  EXPECT_EQ(p.phase_attempts, 0);
  EXPECT_EQ(p.reviewer, "codex");
  EXPECT_EQ(p.implementer, "claude");
  // Died during the review.
  log.add(ev("a", "attempt.started",
             {{"attempt", 2}, {"agent", "codex"}, {"cycle", 1}, {"review", true}}));
  EXPECT_EQ(log.progress("a").phase_attempts, 1);
  // Died between the review and the rework.
  log.add(ev("a", "review.verdict",
             {{"attempt", 2},
              {"cycle", 1},
              {"verdict", "changes_requested"},
              {"feedback", "Add tests."}}));
  p = log.progress("a");
  EXPECT_EQ(p.phase, Phase::kImplement);
  EXPECT_EQ(p.cycle, 2);
  EXPECT_EQ(p.phase_attempts, 0);
  EXPECT_EQ(p.feedback, "Add tests.");
  // Died during the rework, whose first try never started.
  log.add(ev("a", "attempt.started", {{"attempt", 3}, {"agent", "claude"}, {"cycle", 2}}));
  log.add(ev("a", "attempt.not_started", {{"attempt", 3}}));
  log.add(ev("a", "attempt.started", {{"attempt", 3}, {"agent", "claude"}, {"cycle", 2}}));
  EXPECT_EQ(log.progress("a").phase_attempts, 1);
  // Other tasks and other kinds do not count.
  log.add(ev("b", "attempt.started", {{"attempt", 1}}));
  log.add(ev("a", "task.running", {{"from", "ready"}}));
  EXPECT_EQ(log.progress("a").cycle, 2);
}

TEST(ReviewLogTest, AReviewerThatFailedForGoodIsNotAskedAgain) {
  ReviewLog log;
  log.add(ev("a", "review.requested",
             {{"attempt", 1}, {"cycle", 1}, {"reviewer", "codex"}, {"implementer", "claude"}}));
  log.add(ev("a", "attempt.started",
             {{"attempt", 2}, {"agent", "codex"}, {"cycle", 1}, {"review", true}}));
  // Died after codex failed for good, before gemini's review started.
  log.add(ev("a", "review.reviewer_failed",
             {{"attempt", 2},
              {"cycle", 1},
              {"reviewer", "codex"},
              {"reason", "HTTP 401"},
              {"next", "gemini"}}));
  ReviewProgress p = log.progress("a");
  EXPECT_EQ(p.phase, Phase::kReview);
  EXPECT_EQ(p.reviewer, "gemini");
  EXPECT_EQ(p.phase_attempts, 0);
  ASSERT_EQ(p.failed_reviewers.size(), 1u);
  EXPECT_EQ(p.failed_reviewers[0].agent, "codex");
  EXPECT_EQ(p.failed_reviewers[0].reason, "HTTP 401");
  EXPECT_EQ(p.failed_reviewers[0].attempt, 2);
  // None left: the reviewer stays the last one.
  log.add(ev("a", "review.reviewer_failed",
             {{"attempt", 3}, {"reviewer", "gemini"}, {"reason", "HTTP 401"}, {"next", nullptr}}));
  EXPECT_EQ(log.progress("a").reviewer, "gemini");
  EXPECT_EQ(log.progress("a").failed_reviewers.size(), 2u);
}

TEST(ReviewLogTest, ExhaustedAndApproved) {
  ReviewLog log;
  log.add(ev(
      "a", "review.verdict",
      {{"cycle", 3}, {"verdict", "changes_requested"}, {"feedback", "No."}, {"exhausted", true}}));
  EXPECT_TRUE(log.progress("a").exhausted);
  EXPECT_EQ(log.progress("a").cycle, 1);  // not a new cycle
  log.add(ev("b", "review.verdict", {{"cycle", 1}, {"verdict", "approved"}}));
  EXPECT_FALSE(log.progress("b").exhausted);
  EXPECT_EQ(log.progress("b").feedback, "");
}

}  // namespace
}  // namespace baton::engine
