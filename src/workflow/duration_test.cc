// Tests of parse_duration.
#include "workflow/duration.h"

#include <gtest/gtest.h>

namespace baton::workflow {
namespace {

TEST(DurationTest, BareNumbersAreSeconds) {
  EXPECT_EQ(parse_duration("90"), 90);
  EXPECT_EQ(parse_duration("1.5"), 1.5);
  EXPECT_EQ(parse_duration("0"), 0);
  EXPECT_EQ(parse_duration(".5"), 0.5);
  EXPECT_EQ(parse_duration("  7 "), 7);
}

TEST(DurationTest, Units) {
  EXPECT_EQ(parse_duration("30s"), 30);
  EXPECT_EQ(parse_duration("10m"), 600);
  EXPECT_EQ(parse_duration("1h"), 3600);
  EXPECT_EQ(parse_duration("500ms"), 0.5);
  EXPECT_EQ(parse_duration("1.5s"), 1.5);
  EXPECT_EQ(parse_duration("1h30m"), 5400);
  EXPECT_EQ(parse_duration("2m30s"), 150);
  EXPECT_EQ(parse_duration("1h2m3s4ms"), 3723.004);
}

TEST(DurationTest, Invalid) {
  for (const char* bad : {"", "  ", "s", "5x", "-1", "1h30", "30m1h", "1s1s", "1 h", "1.2.3", "ten",
                          "1e3", "5sec", "1ms1s"}) {
    Result<double> d = parse_duration(bad);
    ASSERT_FALSE(d.has_value()) << bad;
    EXPECT_EQ(d.error().message, invalid_duration_message(bad));
  }
  EXPECT_EQ(invalid_duration_message("5x"),
            "invalid duration '5x': expected a number of seconds or a value like 30s, 10m, 1h");
}

}  // namespace
}  // namespace baton::workflow
