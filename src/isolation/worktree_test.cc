// Worktrees, commits and merges with the real git.
#include "isolation/worktree.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  auto wt = add_worktree(*repo, path, task_branch("r1", "write"), {*base}, GitAuthor{},
                         dir / ".baton/runs/r1/git/write.index");
  ASSERT_TRUE(wt) << wt.error().message;
  EXPECT_EQ(wt->start, *base);
  EXPECT_EQ(wt->branch, "baton/tasks/r1/write");
  EXPECT_EQ(wt->admin_dir, dir / ".git/worktrees/write");
  EXPECT_EQ(read_file(path + "/README"), "hello\n");

  write_file(path + "/new.txt", "one\ntwo\n");
  write_file(path + "/README", "hello again\n");
  GitAuthor author{"Robo", "robo@example.com"};
  auto info = commit_all(*repo, *wt, "baton: task write of run r1", author);
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
  auto wt = add_worktree(*repo, dir / "wt", "b", {*base}, GitAuthor{}, dir / "wt.index");
  ASSERT_TRUE(wt) << wt.error().message;
  auto info = commit_all(*repo, *wt, "m", GitAuthor{});
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
  auto wt = add_worktree(*repo, dir / "wt", "b", {*base}, GitAuthor{}, dir / "wt.index");
  ASSERT_TRUE(wt);
  write_file(dir / "wt/a.txt", "a\n");
  sh(dir / "wt", "git add a.txt && git commit -q -m 'by the agent'");
  auto info = commit_all(*repo, *wt, "m", GitAuthor{});
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
  auto wt =
      add_worktree(*repo, dir / "wt", "joined", {"dep-a", "dep-b"}, GitAuthor{}, dir / "wt.index");
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
  auto wt =
      add_worktree(*repo, dir / "wt", "joined", {"dep-a", "dep-b"}, GitAuthor{}, dir / "wt.index");
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
  auto wt = add_worktree(*repo, dir / "wt", "b", {*base}, GitAuthor{}, dir / "wt.index");
  ASSERT_TRUE(wt);
  write_file(dir / "wt/README", "edited\n");
  write_file(dir / "wt/junk/new.txt", "x\n");
  write_file(dir / "wt/.gitignore-me", "x\n");
  ASSERT_TRUE(reset_worktree(*repo, *wt));
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
  auto repo = open_repository(dir.path());
  ASSERT_TRUE(repo);
  auto merged = merge_commit(*repo, checkout_scope(*repo), "other", "m", false, GitAuthor{});
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_TRUE(merged->conflict);
  EXPECT_EQ(merged->conflicting_files, std::vector<std::string>{"README"});
  EXPECT_FALSE(merged->changed);
  EXPECT_EQ(sh(dir.path(), "git rev-parse HEAD"), before);
  EXPECT_EQ(sh(dir.path(), "git status --porcelain"), "");
  auto squashed = merge_commit(*repo, checkout_scope(*repo), "other", "m", true, GitAuthor{});
  ASSERT_TRUE(squashed) << squashed.error().message;
  EXPECT_TRUE(squashed->conflict);
  EXPECT_EQ(sh(dir.path(), "git status --porcelain"), "");
}

TEST(WorktreeTest, RemoveKeepsTheBranch) {
  Scratch dir;
  init_repo(dir.path());
  auto repo = open_repository(dir.path());
  auto base = head_commit(*repo);
  auto wt = add_worktree(*repo, dir / "wt", "kept", {*base}, GitAuthor{}, dir / "wt.index");
  ASSERT_TRUE(wt);
  write_file(dir / "wt/dirty.txt", "x\n");
  ASSERT_TRUE(remove_worktree(*repo, dir / "wt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "wt"));
  EXPECT_EQ(sh(dir.path(), "git worktree list --porcelain | grep -c '^worktree'"), "1\n");
  EXPECT_EQ(sh(dir.path(), "git branch --list kept"), "  kept\n");
}

TEST(WorktreeTest, HostGitCommandIsExplicitAndInert) {
  Repository repo{"/r", "/r/.git", "/r/.git", {{"filter.lfs.clean", ""}}};
  GitScope scope{"/r/.git", "/w", "/i/w.index", true};
  GitAuthor author{"A", "a@x"};
  GitCommand c = host_git_command(repo, scope, {"add", "-A"}, &author);
  auto has = [&](const std::string& a) {
    return std::find(c.argv.begin(), c.argv.end(), a) != c.argv.end();
  };
  ASSERT_GE(c.argv.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(c.argv.begin(), c.argv.begin() + 4),
            (std::vector<std::string>{"git", "--no-pager", "--git-dir=/r/.git", "--work-tree=/w"}));
  EXPECT_EQ(std::vector<std::string>(c.argv.end() - 2, c.argv.end()),
            (std::vector<std::string>{"add", "-A"}));
  for (const char* setting : {"core.fsmonitor=false", "core.hooksPath=/dev/null", "core.pager=cat",
                              "core.sshCommand=false", "credential.helper=", "protocol.allow=never",
                              "submodule.recurse=false", "safe.directory=/w"}) {
    EXPECT_TRUE(has(setting)) << setting;
  }
  EXPECT_EQ(c.options.cwd, "/w");
  EXPECT_EQ(c.options.unset_env_prefixes, std::vector<std::string>{"GIT_"});
  EXPECT_EQ(c.options.env["GIT_CONFIG_NOSYSTEM"], "1");
  EXPECT_EQ(c.options.env["GIT_CONFIG_GLOBAL"], "/dev/null");
  EXPECT_EQ(c.options.env["GIT_INDEX_FILE"], "/i/w.index");
  EXPECT_EQ(c.options.env["GIT_CONFIG_COUNT"], "1");
  EXPECT_EQ(c.options.env["GIT_CONFIG_KEY_0"], "filter.lfs.clean");
  EXPECT_EQ(c.options.env["GIT_CONFIG_VALUE_0"], "");
  EXPECT_EQ(c.options.env["GIT_AUTHOR_NAME"], "A");
  EXPECT_EQ(c.options.env["GIT_COMMITTER_EMAIL"], "a@x");
  // The user's checkout is never named safe: git's own ownership rules apply there.
  GitCommand user = host_git_command(repo, checkout_scope(repo), {"status"});
  EXPECT_EQ(std::find(user.argv.begin(), user.argv.end(), "safe.directory=/r"), user.argv.end());
  EXPECT_EQ(user.options.cwd, "/r");
  EXPECT_EQ(host_git_command(repo, repository_scope(repo), {"x"}).options.cwd, "/r/.git");
}

TEST(WorktreeTest, DriverOverridesCoverEveryDriverName) {
  using namespace std::string_literals;  // the names are NUL-separated
  std::string names = "core.bare\0filter.lfs.clean\0filter.lfs.required\0"s +
                      "diff.a.b.textconv\0merge.x=y.driver\0Merge.Up.name\0user.name\0"s +
                      "include.path\0filter.noSubsection\0"s;
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(driver_overrides(names),
            (Pairs{{"diff.a.b.command", "false"},
                   {"diff.a.b.textconv", "cat"},
                   {"filter.lfs.clean", ""},
                   {"filter.lfs.smudge", ""},
                   {"filter.lfs.process", ""},
                   {"filter.lfs.required", "false"},
                   {"merge.Up.driver", "git merge-file --marker-size=%L %A %O %B"},
                   {"merge.Up.recursive", "text"},
                   {"merge.x=y.driver", "git merge-file --marker-size=%L %A %O %B"},
                   {"merge.x=y.recursive", "text"}}));
}

// A repository with a worktree "wt" on branch "b" at the first commit, and OUT/ for
// markers: each program that runs on the host leaves OUT/pwned-NAME.
class HostGitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init_repo(dir_.path());
    std::filesystem::create_directories(dir_ / "out");
    auto repo = open_repository(dir_.path());
    ASSERT_TRUE(repo) << repo.error().message;
    repo_ = *repo;
    auto base = head_commit(repo_);
    ASSERT_TRUE(base);
    base_ = *base;
    auto wt = add_worktree(repo_, dir_ / "wt", "b", {base_}, GitAuthor{}, dir_ / "private/b.index");
    ASSERT_TRUE(wt) << wt.error().message;
    wt_ = *wt;
  }
  std::string plant(const std::string& name) {
    return "touch " + (dir_ / "out/pwned-") + name + "; false";
  }
  std::vector<std::string> markers() {
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "out")) {
      found.push_back(e.path().filename().string());
    }
    return found;
  }
  Scratch dir_;
  Repository repo_;
  std::string base_;
  Worktree wt_;
};

TEST_F(HostGitTest, AWorktreeGetsAPrivateIndex) {
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "private/b.index"));
  EXPECT_EQ(wt_.index, dir_ / "private/b.index");
  EXPECT_EQ(wt_.admin_dir, std::filesystem::canonical(dir_ / ".git/worktrees/wt").string());
  EXPECT_EQ(find_admin_dir(repo_, wt_.path, "b"), wt_.admin_dir);
  EXPECT_EQ(find_admin_dir(repo_, wt_.path, "other"), "");
  EXPECT_EQ(find_admin_dir(repo_, dir_ / "nowhere", "b"), "");
}

TEST_F(HostGitTest, AChangedGitFileIsRefusedAndPutBack) {
  std::string gitfile = read_file(dir_ / "wt/.git");
  sh(dir_ / "wt", "git init -q --bare evilgit && git config -f evilgit/config core.fsmonitor '" +
                      plant("fsmonitor") +
                      "' && echo 'gitdir: evilgit' > .git && echo x > new.txt");
  auto info = commit_all(repo_, wt_, "m", GitAuthor{});
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().message,
            "the task changed its worktree's .git file (git metadata is baton's; nothing of this "
            "attempt is committed)");
  EXPECT_EQ(read_file(dir_ / "wt/.git"), gitfile);
  EXPECT_EQ(sh(dir_.path(), "git rev-parse b"), base_ + "\n");
  // A link or a directory in its place is refused and replaced the same way.
  std::filesystem::remove(dir_ / "wt/.git");
  std::filesystem::create_directory_symlink(dir_ / "wt/evilgit", dir_ / "wt/.git");
  EXPECT_FALSE(commit_all(repo_, wt_, "m", GitAuthor{}));
  EXPECT_EQ(read_file(dir_ / "wt/.git"), gitfile);
  EXPECT_TRUE(check_worktree(wt_));
  EXPECT_EQ(markers(), std::vector<std::string>{});
}

TEST_F(HostGitTest, CommitNeverReadsTheAdminDirectory) {
  // What a task with a writable admin directory could do: point it at a git
  // directory of its own, at the user's branch, and give it a config of its own.
  sh(dir_.path(), "git init -q --bare evil && git config -f evil/config core.fsmonitor '" +
                      plant("commondir") + "'");
  write_file(wt_.admin_dir + "/commondir", dir_ / "evil\n");
  write_file(wt_.admin_dir + "/HEAD", "ref: refs/heads/main\n");
  write_file(wt_.admin_dir + "/config.worktree",
             "[core]\n\tfsmonitor = \"" + plant("config-worktree") + "\"\n");
  write_file(wt_.admin_dir + "/index", "garbage");
  write_file(dir_ / "wt/new.txt", "new\n");
  auto info = commit_all(repo_, wt_, "m", GitAuthor{});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(info->changed);
  EXPECT_EQ(sh(dir_.path(), "git rev-parse b"), info->commit + "\n");
  EXPECT_EQ(sh(dir_.path(), "git rev-parse main"), base_ + "\n");
  EXPECT_EQ(sh(dir_.path(), "git show b:new.txt"), "new\n");
  EXPECT_EQ(markers(), std::vector<std::string>{});
}

TEST_F(HostGitTest, ProgramsOfTheRepositoryConfigDoNotRun) {
  // A branch that changes README elsewhere, to be merged below.
  sh(dir_.path(),
     "git switch -q -c other && printf 'first\\nhello\\n' > README && "
     "git commit -q -am other && git switch -q main");
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"core.fsmonitor", plant("fsmonitor")},
                                                        {"filter.evil.clean", plant("clean")},
                                                        {"filter.evil.smudge", plant("smudge")},
                                                        {"filter.evil.process", plant("process")},
                                                        {"filter.evil.required", "true"},
                                                        {"diff.evil.textconv", plant("textconv")},
                                                        {"diff.evil.command", plant("diff")},
                                                        {"diff.external", plant("diff-external")},
                                                        {"merge.evil.driver", plant("merge")}}) {
    sh(dir_.path(), "git config '" + key + "' '" + value + "'");
  }
  auto repo = open_repository(dir_.path());  // sees the drivers
  ASSERT_TRUE(repo);
  write_file(dir_ / "wt/.gitattributes", "* filter=evil diff=evil merge=evil\n");
  write_file(dir_ / "wt/README", "hello\nfrom the task\n");
  auto info = commit_all(*repo, wt_, "m", GitAuthor{});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->files_changed, 2);
  // Merged with the other change of README: git's text merge, not the driver.
  auto merged = merge_commit(*repo, GitScope{wt_.admin_dir, wt_.path, "", true}, "other", "m",
                             false, GitAuthor{});
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_FALSE(merged->conflict);
  EXPECT_EQ(read_file(dir_ / "wt/README"), "first\nhello\nfrom the task\n");
  EXPECT_EQ(markers(), std::vector<std::string>{});
}

TEST_F(HostGitTest, ABranchMovedOffItsStartIsRefused) {
  // An unsandboxed task can move its own branch; a commit that does not descend
  // from the task's start is not the task's work on it.
  std::string orphan = sh(dir_.path(), "git commit-tree -m orphan $(git mktree </dev/null)");
  sh(dir_ / "wt", "git reset -q --hard " + orphan);
  auto info = commit_all(repo_, wt_, "m", GitAuthor{});
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().message,
            "the branch b no longer descends from its start " + base_.substr(0, 12));
  sh(dir_ / "wt", "git reset -q --hard " + base_ + " && echo x > x.txt");  // back on its start
  EXPECT_TRUE(commit_all(repo_, wt_, "m", GitAuthor{}));
}

TEST_F(HostGitTest, ResetPutsBackAChangedGitFile) {
  std::string gitfile = read_file(dir_ / "wt/.git");
  write_file(dir_ / "wt/.git", "gitdir: /nowhere\n");
  ASSERT_TRUE(reset_worktree(repo_, wt_));
  EXPECT_EQ(read_file(dir_ / "wt/.git"), gitfile);
  std::filesystem::remove_all(dir_ / "wt");
  std::filesystem::create_directory_symlink(dir_.path(), dir_ / "wt");
  auto r = reset_worktree(repo_, wt_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "the worktree " + wt_.path + " is no longer a directory");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "README"));
}

TEST_F(HostGitTest, ResetPutsTheBranchBackAndKeepsMain) {
  write_file(dir_ / "wt/README", "edited\n");
  sh(dir_ / "wt", "git commit -q -am 'by the task' && echo y > untracked.txt");
  ASSERT_TRUE(reset_worktree(repo_, wt_));
  EXPECT_EQ(sh(dir_.path(), "git rev-parse b"), base_ + "\n");
  EXPECT_EQ(sh(dir_.path(), "git rev-parse main"), base_ + "\n");
  EXPECT_EQ(read_file(dir_ / "wt/README"), "hello\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "wt/untracked.txt"));
  EXPECT_EQ(sh(dir_ / "wt", "git status --porcelain"), "");
}

TEST(WorktreeTest, BranchNames) {
  EXPECT_EQ(task_branch("20260101-000000-abcd", "build"), "baton/tasks/20260101-000000-abcd/build");
  EXPECT_EQ(run_branch("20260101-000000-abcd"), "baton/20260101-000000-abcd");
}

}  // namespace
}  // namespace baton::isolation
