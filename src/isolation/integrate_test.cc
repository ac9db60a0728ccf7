// Integration of task branches into a run branch, with the real git.
#include "isolation/integrate.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "isolation/test_util.h"

namespace baton::isolation {
namespace {

using testing::init_repo;
using testing::Scratch;
using testing::sh;

// A repository with branches t1 (adds one.txt) and t2 (adds two.txt) from main.
std::string setup(const Scratch& dir) {
  init_repo(dir.path());
  sh(dir.path(),
     "git switch -q -c t1 && echo 1 > one.txt && git add -A && git commit -q -m one && "
     "git switch -q -c t2 main && echo 2 > two.txt && git add -A && git commit -q -m two && "
     "git switch -q main");
  std::string base = sh(dir.path(), "git rev-parse main");
  return base.substr(0, 40);
}

TEST(IntegrateTest, MergesEachTaskInOrder) {
  Scratch dir;
  std::string base = setup(dir);
  auto repo = open_repository(dir.path());
  auto r = integrate(*repo, "baton/r1", base, {{"a", "t1"}, {"b", "t2"}}, IntegrateMode::kMerge,
                     dir / ".baton/worktrees/r1/.integration", "r1", GitAuthor{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->integrated, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->conflict_task, "");
  EXPECT_EQ(r->head + "\n", sh(dir.path(), "git rev-parse baton/r1"));
  EXPECT_EQ(sh(dir.path(), "git log --format=%s baton/r1 --first-parent"),
            "baton: integrate task b of run r1\nbaton: integrate task a of run r1\ninit\n");
  EXPECT_EQ(sh(dir.path(), "git ls-tree --name-only baton/r1"), "README\none.txt\ntwo.txt\n");
  // The scratch worktree is gone; main is untouched.
  EXPECT_FALSE(std::filesystem::exists(dir / ".baton/worktrees/r1/.integration"));
  EXPECT_EQ(sh(dir.path(), "git worktree list --porcelain | grep -c '^worktree'"), "1\n");
  EXPECT_EQ(sh(dir.path(), "git rev-parse main").substr(0, 40), base);
}

TEST(IntegrateTest, SquashMakesOneCommitPerTask) {
  Scratch dir;
  std::string base = setup(dir);
  auto repo = open_repository(dir.path());
  auto r = integrate(*repo, "baton/r1", base, {{"a", "t1"}, {"b", "t2"}}, IntegrateMode::kSquash,
                     dir / "scratch", "r1", GitAuthor{"Bot", "bot@x"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->integrated, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sh(dir.path(), "git log --format='%s|%an' baton/r1"),
            "baton: integrate task b of run r1|Bot\n"
            "baton: integrate task a of run r1|Bot\ninit|t\n");
  EXPECT_EQ(sh(dir.path(), "git rev-list --merges baton/r1"), "");
}

TEST(IntegrateTest, UnchangedTasksAreNotCounted) {
  Scratch dir;
  std::string base = setup(dir);
  auto repo = open_repository(dir.path());
  auto r = integrate(*repo, "baton/r1", base, {{"same", "main"}, {"a", "t1"}},
                     IntegrateMode::kMerge, dir / "scratch", "r1", GitAuthor{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->integrated, std::vector<std::string>{"a"});
}

TEST(IntegrateTest, ConflictStopsThereAndKeepsWhatWasIntegrated) {
  Scratch dir;
  std::string base = setup(dir);
  sh(dir.path(),
     "git switch -q -c t3 main && echo 3 > one.txt && git add -A && git commit -q -m three && "
     "git switch -q main");
  auto repo = open_repository(dir.path());
  auto r = integrate(*repo, "baton/r1", base, {{"a", "t1"}, {"c", "t3"}, {"b", "t2"}},
                     IntegrateMode::kMerge, dir / "scratch", "r1", GitAuthor{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->integrated, std::vector<std::string>{"a"});
  EXPECT_EQ(r->conflict_task, "c");
  EXPECT_EQ(r->conflicting_files, std::vector<std::string>{"one.txt"});
  EXPECT_EQ(sh(dir.path(), "git show baton/r1:one.txt"), "1\n");
  EXPECT_EQ(sh(dir.path(), "git ls-tree --name-only baton/r1"), "README\none.txt\n");
  EXPECT_EQ(sh(dir.path(), "git branch --list t3"), "  t3\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "scratch"));
}

TEST(IntegrateTest, AnExistingRunBranchIsContinued) {
  Scratch dir;
  std::string base = setup(dir);
  auto repo = open_repository(dir.path());
  ASSERT_TRUE(integrate(*repo, "baton/r1", base, {{"a", "t1"}}, IntegrateMode::kMerge,
                        dir / "scratch", "r1", GitAuthor{}));
  auto r = integrate(*repo, "baton/r1", base, {{"b", "t2"}}, IntegrateMode::kMerge, dir / "scratch",
                     "r1", GitAuthor{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(sh(dir.path(), "git ls-tree --name-only baton/r1"), "README\none.txt\ntwo.txt\n");
}

}  // namespace
}  // namespace baton::isolation
