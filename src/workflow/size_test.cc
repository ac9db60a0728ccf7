// Tests of parse_size.
#include "workflow/size.h"

#include <gtest/gtest.h>

namespace baton::workflow {
namespace {

TEST(SizeTest, BareNumbersAreBytes) {
  EXPECT_EQ(parse_size("1048576"), 1048576);
  EXPECT_EQ(parse_size(" 7 "), 7);
  EXPECT_EQ(parse_size("0"), 0);
}

TEST(SizeTest, Units) {
  EXPECT_EQ(parse_size("512B"), 512);
  EXPECT_EQ(parse_size("2KB"), 2000);
  EXPECT_EQ(parse_size("2KiB"), 2048);
  EXPECT_EQ(parse_size("64MiB"), 64LL << 20);
  EXPECT_EQ(parse_size("2GiB"), 2LL << 30);
  EXPECT_EQ(parse_size("2 GiB"), 2LL << 30);
  EXPECT_EQ(parse_size("1.5GiB"), 3LL << 29);
  EXPECT_EQ(parse_size("1GB"), 1000000000);
  EXPECT_EQ(parse_size("1TiB"), 1LL << 40);
  EXPECT_EQ(parse_size("512m"), 512LL << 20);
  EXPECT_EQ(parse_size("4G"), 4LL << 30);
}

TEST(SizeTest, Invalid) {
  for (const char* bad : {"", " ", "GiB", "2XB", "-1", "1.5", "2gib", "2  GiB", "1e9", "2GiB2",
                          "99999999999TiB", "ten"}) {
    auto r = parse_size(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().message, invalid_size_message(bad));
    }
  }
}

}  // namespace
}  // namespace baton::workflow
