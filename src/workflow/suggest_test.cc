// Tests of edit distance and "did you mean".
#include "workflow/suggest.h"

#include <gtest/gtest.h>

namespace baton::workflow {
namespace {

TEST(EditDistanceTest, Basics) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("dependecies", "dependencies"), 1u);
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(EditDistanceTest, StopsPastTheLimit) {
  EXPECT_EQ(edit_distance("abcdef", "uvwxyz", 2), 3u);
  EXPECT_EQ(edit_distance("a", "abcdefgh", 2), 3u);
  EXPECT_EQ(edit_distance("abc", "abd", 2), 1u);
}

TEST(SuggestTest, PicksTheClosest) {
  std::vector<std::string> keys = {"id", "agent", "run", "dependencies", "description"};
  EXPECT_EQ(suggest("dependecies", keys), "dependencies");
  EXPECT_EQ(suggest("agnet", keys), "agent");
  EXPECT_EQ(suggest("rn", keys), "run");
  EXPECT_EQ(suggest("zzzzzz", keys), std::nullopt);
}

TEST(SuggestTest, OneLetterWordsDoNotMatchEverything) {
  EXPECT_EQ(suggest("x", {"id", "run"}), std::nullopt);
  EXPECT_EQ(suggest("", {"a"}), std::nullopt);
}

TEST(SuggestTest, PrefixAndTies) {
  EXPECT_EQ(suggest("max", {"timeout", "max_parallel"}), "max_parallel");
  EXPECT_EQ(suggest("ab", {"ax", "ay"}), "ax");  // tie: the earlier
  EXPECT_EQ(suggest("same", {"same"}), std::nullopt);
}

TEST(SuggestTest, DidYouMean) {
  EXPECT_EQ(did_you_mean("nmae", {"name", "tasks"}), "; did you mean 'name'?");
  EXPECT_EQ(did_you_mean("qqqq", {"name", "tasks"}), "");
}

}  // namespace
}  // namespace baton::workflow
