// Worktrees, commits and merges with the real git.
#include "isolation/worktree.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "isolation/test_util.h"

namespace baton::isolation {
namespace {

using testing::init_repo;
using testing::read_file;
using testing::Scratch;
using testing::sh;
using testing::write_file;

TEST(WorktreeTest, ParsesGitAuthor) {
  auto a = parse_git_author("Jane Doe <jane@example.com>");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->name, "Jane Doe");
  EXPECT_EQ(a->email, "jane@example.com");
  auto bad = parse_git_author("jane");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "git_author: expected 'Name <email>', got 'jane'");
  EXPECT_FALSE(parse_git_author("<x@y>"));
  EXPECT_FALSE(parse_git_author("Jane <x@y> more"));
}

TEST(WorktreeTest, NotARepositoryIsAnError) {
  Scratch dir;
  auto repo = open_repository(dir.path());
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().message,
            dir.path() + " is not in a git work tree (isolation: worktree needs a git repository)");
}

TEST(WorktreeTest, RepositoryWithoutCommitsIsAClearError) {
  Scratch dir;
  sh(dir.path(), "git init -q -b main .");
  auto repo = open_repository(dir.path());
  ASSERT_TRUE(repo) << repo.error().message;
  EXPECT_EQ(repo->top, dir.path());
  EXPECT_EQ(repo->common_dir, dir.path() + "/.git");
  auto head = head_commit(*repo);
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().message,
            "the repository " + dir.path() +
                " has no commits; isolation: worktree starts tasks from the last commit: commit "
                "first, or set settings.isolation: none");
}

TEST(WorktreeTest, ListsUncommittedChangesToTrackedFiles) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir / "");
  ASSERT_TRUE(repo);
  EXPECT_EQ(*uncommitted_changes(*repo), std::vector<std::string>{});
  write_file(dir / "README", "changed\n");
  write_file(dir / "untracked.txt", "x\n");
  EXPECT_EQ(*uncommitted_changes(*repo), std::vector<std::string>{"README"});
}

TEST(WorktreeTest, TaskWorktreeCommitsItsChangesOnItsBranch) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  ASSERT_TRUE(repo);
  auto base = head_commit(*repo);
  ASSERT_TRUE(base);
  std::string path = dir / ".baton/worktrees/r1/write";
  auto wt = add_worktree(*repo, path, task_branch("r1", "write"), {*base}, GitAuthor{});
  ASSERT_TRUE(wt) << wt.error().message;
  EXPECT_EQ(wt->start, *base);
  EXPECT_EQ(wt->branch, "baton/tasks/r1/write");
  EXPECT_EQ(wt->admin_dir, dir / ".git/worktrees/write");
  EXPECT_EQ(read_file(path + "/README"), "hello\n");

  write_file(path + "/new.txt", "one\ntwo\n");
  write_file(path + "/README", "hello again\n");
  GitAuthor author{"Robo", "robo@example.com"};
  auto info = commit_all(*wt, "baton: task write of run r1", author);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(info->changed);
  EXPECT_EQ(info->files_changed, 2);
  EXPECT_EQ(info->insertions, 3);
  EXPECT_EQ(info->deletions, 1);
  EXPECT_NE(info->stat.find("new.txt | 2 ++"), std::string::npos) << info->stat;
  EXPECT_EQ(sh(dir.path(), "git log -1 --format='%an <%ae>|%cn|%s' baton/tasks/r1/write"),
            "Robo <robo@example.com>|Robo|baton: task write of run r1\n");
  EXPECT_EQ(sh(dir.path(), "git rev-parse baton/tasks/r1/write"), info->commit + "\n");
  // The main checkout is untouched.
  EXPECT_EQ(read_file(dir / "README"), "hello\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "new.txt"));
}

TEST(WorktreeTest, NothingChangedMakesNoCommit) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  auto base = head_commit(*repo);
  auto wt = add_worktree(*repo, dir / "wt", "b", {*base}, GitAuthor{});
  ASSERT_TRUE(wt) << wt.error().message;
  auto info = commit_all(*wt, "m", GitAuthor{});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_FALSE(info->changed);
  EXPECT_EQ(info->commit, *base);
  EXPECT_EQ(info->files_changed, 0);
}

TEST(WorktreeTest, CommitsMadeByTheTaskCount) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  auto base = head_commit(*repo);
  auto wt = add_worktree(*repo, dir / "wt", "b", {*base}, GitAuthor{});
  ASSERT_TRUE(wt);
  write_file(dir / "wt/a.txt", "a\n");
  sh(dir / "wt", "git add a.txt && git commit -q -m 'by the agent'");
  auto info = commit_all(*wt, "m", GitAuthor{});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(info->changed);
  EXPECT_EQ(info->files_changed, 1);
  EXPECT_EQ(sh(dir.path(), "git log -1 --format=%s b"), "by the agent\n");
}

TEST(WorktreeTest, StartsFromTheMergeOfItsDependencies) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  auto base = head_commit(*repo);
  sh(dir.path(),
     "git switch -q -c dep-a && echo a > a.txt && git add a.txt && git commit -q -m a && "
     "git switch -q -c dep-b main && echo b > b.txt && git add b.txt && git commit -q -m b && "
     "git switch -q main");
  auto wt = add_worktree(*repo, dir / "wt", "joined", {"dep-a", "dep-b"}, GitAuthor{});
  ASSERT_TRUE(wt) << wt.error().message;
  EXPECT_EQ(read_file(dir / "wt/a.txt"), "a\n");
  EXPECT_EQ(read_file(dir / "wt/b.txt"), "b\n");
  EXPECT_EQ(sh(dir.path(), "git log -1 --format='%an|%s' joined"), "baton|baton: merge dep-b\n");
  EXPECT_EQ(wt->start, sh(dir.path(), "git rev-parse joined").substr(0, 40));
  EXPECT_NE(wt->start, *base);
}

TEST(WorktreeTest, ConflictingDependenciesNameTheFiles) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  sh(dir.path(),
     "git switch -q -c dep-a && echo a > README && echo a > x.txt && git add -A && "
     "git commit -q -m a && git switch -q -c dep-b main && echo b > README && echo b > x.txt && "
     "git add -A && git commit -q -m b && git switch -q main");
  auto wt = add_worktree(*repo, dir / "wt", "joined", {"dep-a", "dep-b"}, GitAuthor{});
  ASSERT_FALSE(wt);
  EXPECT_EQ(wt.error().message,
            "the changes of the dependencies conflict: merging dep-b into joined conflicts in "
            "README, x.txt");
  // The failed merge was undone.
  EXPECT_EQ(sh(dir / "wt", "git status --porcelain"), "");
}

TEST(WorktreeTest, ResetDropsAnAttemptsEdits) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  auto base = head_commit(*repo);
  auto wt = add_worktree(*repo, dir / "wt", "b", {*base}, GitAuthor{});
  ASSERT_TRUE(wt);
  write_file(dir / "wt/README", "edited\n");
  write_file(dir / "wt/junk/new.txt", "x\n");
  write_file(dir / "wt/.gitignore-me", "x\n");
  ASSERT_TRUE(reset_worktree(*wt));
  EXPECT_EQ(read_file(dir / "wt/README"), "hello\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "wt/junk"));
  EXPECT_FALSE(std::filesystem::exists(dir / "wt/.gitignore-me"));
}

TEST(WorktreeTest, MergeConflictIsUndoneAndListed) {
  Scratch dir;
  init_repo(dir.path());
  sh(dir.path(),
     "git switch -q -c other && echo other > README && git commit -q -am other && "
     "git switch -q main && echo mine > README && git commit -q -am mine");
  std::string before = sh(dir.path(), "git rev-parse HEAD");
  auto merged = merge_commit(dir.path(), "other", "m", false, GitAuthor{});
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_TRUE(merged->conflict);
  EXPECT_EQ(merged->conflicting_files, std::vector<std::string>{"README"});
  EXPECT_FALSE(merged->changed);
  EXPECT_EQ(sh(dir.path(), "git rev-parse HEAD"), before);
  EXPECT_EQ(sh(dir.path(), "git status --porcelain"), "");
  auto squashed = merge_commit(dir.path(), "other", "m", true, GitAuthor{});
  ASSERT_TRUE(squashed) << squashed.error().message;
  EXPECT_TRUE(squashed->conflict);
  EXPECT_EQ(sh(dir.path(), "git status --porcelain"), "");
}

TEST(WorktreeTest, RemoveKeepsTheBranch) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  auto base = head_commit(*repo);
  auto wt = add_worktree(*repo, dir / "wt", "kept", {*base}, GitAuthor{});
  ASSERT_TRUE(wt);
  write_file(dir / "wt/dirty.txt", "x\n");
  ASSERT_TRUE(remove_worktree(*repo, dir / "wt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "wt"));
  EXPECT_EQ(sh(dir.path(), "git worktree list --porcelain | grep -c '^worktree'"), "1\n");
  EXPECT_EQ(sh(dir.path(), "git branch --list kept"), "  kept\n");
}

TEST(WorktreeTest, BranchNames) {
  EXPECT_EQ(task_branch("20260101-000000-abcd", "build"), "baton/tasks/20260101-000000-abcd/build");
  EXPECT_EQ(run_branch("20260101-000000-abcd"), "baton/20260101-000000-abcd");
}

}  // namespace
}  // namespace baton::isolation
