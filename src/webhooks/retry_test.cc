// The retry schedule and the meaning of each HTTP outcome, with the clock and the
// random number as arguments (no sleeping).
#include "webhooks/retry.h"

#include <gtest/gtest.h>

namespace baton::webhooks {
namespace {

using Next = store::WebhookAttemptResult::Next;
constexpr double kNow = 1'800'000'000;

TEST(RetryTest, TwoHundredsAreDelivered) {
  for (int code : {200, 201, 204, 299}) {
    EXPECT_EQ(decide({code, "", ""}, 1, kNow, 0.5).next, Next::kDelivered) << code;
  }
}

TEST(RetryTest, GoneDisablesTheEndpoint) {
  auto r = decide({410, "", ""}, 3, kNow, 0.5);
  EXPECT_EQ(r.next, Next::kDisableEndpoint);
  EXPECT_EQ(r.status_code, 410);
}

TEST(RetryTest, RetryAfterSecondsOrDateIsHonouredFor429And5xx) {
  auto r = decide({503, "7", ""}, 1, kNow, 0.99);
  EXPECT_EQ(r.next, Next::kRetry);
  EXPECT_EQ(r.next_attempt_at, kNow + 7);
  // 1800000000 is Fri, 15 Jan 2027 08:00:00 GMT.
  r = decide({429, "Fri, 15 Jan 2027 08:01:40 GMT", ""}, 1, kNow, 0.99);
  EXPECT_EQ(r.next_attempt_at, kNow + 100);
  // Ignored when not throttling, or not a number or date.
  r = decide({400, "7", ""}, 1, kNow, 1.0);
  EXPECT_EQ(r.next_attempt_at, kNow + 5);
  r = decide({503, "soon", ""}, 1, kNow, 1.0);
  EXPECT_EQ(r.next_attempt_at, kNow + 5);
  // Capped.
  r = decide({503, "999999", ""}, 1, kNow, 0.5);
  EXPECT_EQ(r.next_attempt_at, kNow + 3600);
}

TEST(RetryTest, BackoffIsExponentialWithFullJitterAndAFloor) {
  // random01 = 1 gives the bound: 5, 10, 20, ... capped at 3600.
  const double bounds[] = {5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600};
  for (int attempt = 1; attempt <= 11; ++attempt) {
    auto r = decide({std::nullopt, "", "timeout"}, attempt, kNow, 1.0);
    EXPECT_EQ(r.next, Next::kRetry);
    EXPECT_EQ(r.next_attempt_at, kNow + bounds[attempt - 1]) << attempt;
    EXPECT_EQ(r.error, "timeout");
  }
  EXPECT_EQ(decide({500, "", ""}, 4, kNow, 0.25).next_attempt_at, kNow + 10);
  EXPECT_EQ(decide({500, "", ""}, 4, kNow, 0.0).next_attempt_at, kNow + 1);
}

TEST(RetryTest, RedirectsAndOtherErrorsAreRetriedThenFailed) {
  auto r = decide({302, "", ""}, 1, kNow, 0.5);
  EXPECT_EQ(r.next, Next::kRetry);
  EXPECT_EQ(r.error, "HTTP 302");
  r = decide({302, "", ""}, 12, kNow, 0.5);
  EXPECT_EQ(r.next, Next::kFailed);
  EXPECT_EQ(r.error, "HTTP 302 (after 12 attempts)");
}

TEST(RetryTest, RetryAfterParsing) {
  EXPECT_EQ(parse_retry_after("0", kNow), 0);
  EXPECT_EQ(parse_retry_after("120", kNow), 120);
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", kNow), 0);  // past
  EXPECT_FALSE(parse_retry_after("", kNow).has_value());
  EXPECT_FALSE(parse_retry_after("-1", kNow).has_value());
  EXPECT_FALSE(parse_retry_after("1.5", kNow).has_value());
  EXPECT_FALSE(parse_retry_after("Fri, 15 Jan 2027 08:01:40 GMT trailing", kNow).has_value());
}

}  // namespace
}  // namespace baton::webhooks
