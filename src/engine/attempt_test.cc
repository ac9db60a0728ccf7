// Tests of the bound on a task's output (attempt.h): where it is cut, the marker, and
// that a cut never splits a UTF-8 character; an attempt's idempotency key; the times
// judge_attempt() records.
#include "engine/attempt.h"

#include <gtest/gtest.h>

#include <string>

namespace baton::engine {
namespace {

// The attempt row says when the process ran, not when the driver prepared it (a start
// can wait for a commit); an attempt that never started keeps the driver's time.
TEST(JudgeAttemptTest, RecordsTheProcesssOwnStartAndEnd) {
  PreparedAttempt command;
  exec::ProcessResult result;
  result.status.kind = exec::ExitStatus::Kind::kExited;
  result.status.code = 0;
  result.started_at = 1765000000.25;
  result.ended_at = 1765000002.5;
  store::AttemptRecord record;
  record.started_at = 1765000000.0;  // prepared
  AttemptOutcome out = judge_attempt(command, result, record);
  EXPECT_TRUE(out.success) << out.reason;
  EXPECT_EQ(record.started_at, 1765000000.25);
  EXPECT_EQ(record.ended_at, 1765000002.5);

  exec::ProcessResult never;
  never.status.kind = exec::ExitStatus::Kind::kFailedToStart;
  never.status.error = "no such file or directory: nope";
  never.ended_at = 1765000003.0;
  store::AttemptRecord unstarted;
  unstarted.started_at = 1765000002.75;
  out = judge_attempt(command, never, unstarted);
  EXPECT_FALSE(out.success);
  EXPECT_EQ(unstarted.started_at, 1765000002.75);
  EXPECT_EQ(unstarted.ended_at, 1765000003.0);
}

TEST(OutputBoundTest, CutKeepsTheHeadAndNamesTheLog) {
  std::string out = cut_output("abcdef", 4, "/r/logs/t.1.log");
  EXPECT_EQ(out, "abcd\n…[output cut at 4 bytes; full log: /r/logs/t.1.log]");
  EXPECT_TRUE(output_was_cut(out));
  EXPECT_FALSE(output_was_cut("abcd"));
  EXPECT_FALSE(output_was_cut(out + "\nmore"));
}

TEST(OutputBoundTest, CutsNeverSplitACharacter) {
  const std::string text = "ab\xC3\xA9\xE2\x82\xAC";  // "abé€": 2 + 2 + 3 bytes
  EXPECT_EQ(utf8_prefix(text, 3), "ab");
  EXPECT_EQ(utf8_prefix(text, 4), "ab\xC3\xA9");
  EXPECT_EQ(utf8_prefix(text, 6), "ab\xC3\xA9");
  EXPECT_EQ(utf8_prefix(text, 7), text);
  EXPECT_EQ(utf8_prefix(text, 100), text);
  // A capture that ended inside "€": the cut drops its head.
  EXPECT_EQ(without_partial_character(text.substr(0, 6)), "ab\xC3\xA9");
  EXPECT_EQ(without_partial_character(text.substr(0, 5)), "ab\xC3\xA9");
  EXPECT_EQ(without_partial_character(text), text);
  EXPECT_EQ(cut_output(text.substr(0, 6), 6, "L"),
            "ab\xC3\xA9\n…[output cut at 4 bytes; full log: L]");
}

TEST(IdempotencyKeyTest, NamesRunTaskAndAttemptAndTellsAReviewerApart) {
  AttemptPlace place;
  place.run_id = "20261206-001500-ab12";
  place.task_id = "build";
  place.attempt = 3;
  EXPECT_EQ(idempotency_key(place), "baton-20261206-001500-ab12-build-3");
  ReviewAttempt review;
  review.reviewing = true;
  review.cycle = 2;
  place.review = &review;
  EXPECT_EQ(idempotency_key(place), "baton-20261206-001500-ab12-build-3-review-2");
  review.reviewing = false;  // the implementer's rework is the task's own attempt
  EXPECT_EQ(idempotency_key(place), "baton-20261206-001500-ab12-build-3");
}

}  // namespace
}  // namespace baton::engine
