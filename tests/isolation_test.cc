// Integration tests: worktrees per task, their integration into the run's branch,
// the bwrap sandbox, `baton diff` and `baton clean`, through the built binary on
// real git repositories (and the real bwrap; these tests fail where it does not work).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string run_id(const ScratchDir& dir) { return last_run(dir).value("id", ""); }

// The run's events (from `baton audit export`) of KIND, for TASK ("" = any).
std::vector<json> events(const ScratchDir& dir, const std::string& run, const std::string& kind,
                         const std::string& task = "") {
  Outcome o = run_baton({"audit", "export", run}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  std::vector<json> out;
  std::istringstream in(o.out);
  for (std::string line; std::getline(in, line);) {
    json e = json::parse(line, nullptr, false);
    if (!e.is_object() || e.value("kind", "") != kind) continue;
    if (!task.empty() && e.value("task_id", "") != task) continue;
    out.push_back(e);
  }
  return out;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(IsolationTest, WorktreeTasksCommitAndMergeIntoTheRunBranch) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree}
tasks:
  - id: a
    run: echo from-a > a.txt
  - id: b
    run: echo from-b > b.txt
  - id: c
    dependencies: [a, b]
    run: cat a.txt b.txt > c.txt && pwd
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_TRUE(has(o.out, "integration: 3 tasks merged into branch baton/" + r + " (a, b, c); " +
                             "see `baton diff " + r + "`"))
      << o.out;
  // The main checkout is untouched; the run's branch has everything.
  EXPECT_FALSE(dir.exists("a.txt"));
  EXPECT_FALSE(dir.exists("c.txt"));
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":c.txt"), "from-a\nfrom-b\n");
  EXPECT_EQ(git_sh(dir.path(), "git branch --list 'baton/*' --format='%(refname:short)'"),
            "baton/" + r + "\nbaton/tasks/" + r + "/a\nbaton/tasks/" + r + "/b\nbaton/tasks/" + r +
                "/c\n");
  // c ran in its own worktree, which started from a's and b's changes.
  json c = task_of(last_run(dir), "c");
  EXPECT_EQ(c["output"], dir.path() + "/.baton/worktrees/" + r + "/c");
  EXPECT_EQ(git_sh(dir.path(), "git log -1 --format='%an <%ae>|%s' baton/tasks/" + r + "/a"),
            "baton <baton@localhost>|baton: task a of run " + r + " (command)\n");
  std::vector<json> committed = events(dir, r, "task.committed", "a");
  ASSERT_EQ(committed.size(), 1u);
  EXPECT_EQ(committed[0]["data"]["files_changed"], 1);
  EXPECT_EQ(committed[0]["data"]["insertions"], 1);
  EXPECT_TRUE(has(committed[0]["data"].value("stat", ""), "a.txt | 1 +"));
  EXPECT_EQ(committed[0]["data"]["branch"], "baton/tasks/" + r + "/a");
  ASSERT_EQ(events(dir, r, "run.integrated").size(), 1u);
}

TEST(IsolationTest, SquashWithAConfiguredAuthor) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree, integrate: squash, git_author: "Robo Dev <robo@example.com>"}
tasks:
  - {id: a, run: echo a > a.txt}
  - {id: b, run: echo b > b.txt, dependencies: [a]}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_TRUE(has(o.out, "2 tasks squashed into branch baton/" + r)) << o.out;
  EXPECT_EQ(git_sh(dir.path(), "git rev-list --merges baton/" + r), "");
  EXPECT_EQ(git_sh(dir.path(), "git log -3 --format='%an|%s' baton/" + r),
            "Robo Dev|baton: integrate task b of run " + r +
                "\nRobo Dev|baton: integrate task a of run " + r + "\nt|init\n");
}

TEST(IsolationTest, IntegrateNoneKeepsOnlyTaskBranches) {
  ScratchDir dir;
  make_flow_repo(dir,
                 "name: iso\nsettings: {isolation: worktree, integrate: none}\n"
                 "tasks:\n  - {id: a, run: echo a > a.txt}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_FALSE(has(o.out, "integration:")) << o.out;
  EXPECT_EQ(git_sh(dir.path(), "git branch --list 'baton/*' --format='%(refname:short)'"),
            "baton/tasks/" + r + "/a\n");
}

TEST(IsolationTest, ConflictFailsTheRunAndKeepsWhatWasIntegrated) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree}
tasks:
  - {id: a, run: echo from-a > README}
  - {id: b, run: echo from-b > README}
hooks:
  on_failure: [{run: touch integration-failed}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_TRUE(has(o.out, "integration: integration into baton/" + r +
                             " stopped at task b: conflict in README (its branch baton/tasks/" + r +
                             "/b is kept; baton/" + r + " has a)"))
      << o.out;
  EXPECT_TRUE(dir.exists("integration-failed"));
  EXPECT_EQ(last_run(dir)["status"], "failed");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":README"), "from-a\n");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/tasks/" + r + "/b:README"), "from-b\n");
  std::vector<json> failed = events(dir, r, "run.integration_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["data"]["task"], "b");
  EXPECT_EQ(failed[0]["data"]["conflicts"], json::array({"README"}));
  // Nothing of the integration is left checked out.
  EXPECT_EQ(git_sh(dir.path(), "git worktree list | grep -c integration || true"), "0\n");
}

TEST(IsolationTest, IntegrateAtTaskMergesEachTaskAsItSucceeds) {
  ScratchDir dir;
  // One at a time: b starts after a was integrated, so it starts from the run branch
  // and sees a.txt although it does not depend on a.
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree, integrate_at: task, max_parallel: 1}
tasks:
  - {id: a, run: echo a > a.txt}
  - {id: b, run: 'test -f a.txt && echo saw-a && echo b > b.txt'}
  - {id: c, dependencies: [b], run: 'cat a.txt b.txt > c.txt'}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(task_of(last_run(dir), "b")["output"], "saw-a");
  EXPECT_TRUE(has(o.out, "integration: 3 tasks merged into branch baton/" + r +
                             " (a, b, c) as each finished; see `baton diff " + r + "`"))
      << o.out;
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":c.txt"), "a\nb\n");
  EXPECT_EQ(git_sh(dir.path(), "git log --first-parent --format=%s baton/" + r),
            "baton: integrate task c of run " + r + "\nbaton: integrate task b of run " + r +
                "\nbaton: integrate task a of run " + r + "\ninit\n");
  std::vector<json> integrated = events(dir, r, "task.integrated");
  ASSERT_EQ(integrated.size(), 3u);
  EXPECT_EQ(integrated[0]["task_id"], "a");
  EXPECT_EQ(integrated[2]["data"]["head"],
            git_sh(dir.path(), "git rev-parse baton/" + r).substr(0, 40));
  ASSERT_EQ(events(dir, r, "run.integrated").size(), 1u);
  EXPECT_FALSE(dir.exists("a.txt"));  // the main checkout is untouched
}

TEST(IsolationTest, IntegrateAtTaskConflictFailsTheTaskAndKeepsEarlierIntegrations) {
  ScratchDir dir;
  // a and b start together from the base; b writes only once a is in the run branch
  // (polled with a deadline), so b is the one whose integration conflicts.
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree, integrate_at: task, max_parallel: 2, on_failure: continue}
tasks:
  - {id: a, run: echo from-a > README}
  - id: b
    run: |
      i=0
      until git rev-parse -q --verify refs/heads/baton/$BATON_RUN_ID >/dev/null; do
        i=$((i+1)); [ $i -lt 600 ] || exit 9; sleep 0.05
      done
      echo from-b > README
  - {id: after_b, dependencies: [b], run: 'true'}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  std::string r = run_id(dir);
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "a")["status"], "success");
  EXPECT_EQ(task_of(run, "b")["status"], "failed");
  EXPECT_EQ(task_of(run, "b")["reason"], "integration conflict in README: branch baton/tasks/" + r +
                                             "/b is kept; baton/" + r + " keeps a");
  EXPECT_EQ(task_of(run, "after_b")["status"], "cancelled");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":README"), "from-a\n");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/tasks/" + r + "/b:README"), "from-b\n");
  EXPECT_TRUE(has(o.out, "integration: 1 task merged into branch baton/" + r + " (a)")) << o.out;
  EXPECT_EQ(git_sh(dir.path(), "git worktree list | grep -c integration || true"), "0\n");
}

TEST(IsolationTest, RepositoryWithoutCommitsIsAClearError) {
  ScratchDir dir;
  dir.write("flow.yaml",
            "name: iso\nsettings: {isolation: worktree}\n"
            "tasks:\n  - {id: a, run: 'true'}\n");
  git_sh(dir.path(), "git init -q -b main");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "baton: the repository " + dir.path() +
                       " has no commits; isolation: worktree starts tasks from the last commit: "
                       "commit first, or set settings.isolation: none\n");
  EXPECT_FALSE(dir.exists(".baton/state.db"));
}

TEST(IsolationTest, NotAGitRepositoryIsAClearError) {
  ScratchDir dir;
  dir.write("flow.yaml", "name: iso\ntasks:\n  - {id: a, run: 'true', isolation: worktree}\n");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "baton: " + dir.path() +
                       " is not in a git work tree (isolation: worktree needs a git repository)\n");
}

TEST(IsolationTest, DirtyTreeUsesTheCommittedStateAndSaysSo) {
  ScratchDir dir;
  make_flow_repo(dir,
                 "name: iso\nsettings: {isolation: worktree}\n"
                 "tasks:\n  - {id: a, run: cat README > seen.txt}\n");
  dir.write("README", "uncommitted edit\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string base = git_sh(dir.path(), "git rev-parse HEAD").substr(0, 12);
  EXPECT_EQ(o.err,
            "baton: note: the working tree has uncommitted changes (README); tasks in "
            "worktrees start from the last commit, " +
                base + ", and do not see them\n");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + run_id(dir) + ":seen.txt"), "base\n");
  EXPECT_EQ(dir.read("README"), "uncommitted edit\n");
}

TEST(IsolationTest, RetryStartsFromACleanWorktree) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree}
tasks:
  - id: flaky
    retry: {max_attempts: 2}
    run: |
      if [ "$BATON_ATTEMPT" = 1 ]; then echo junk > junk.txt; echo broken > README; exit 1; fi
      test ! -e junk.txt && cat README > second.txt
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":second.txt"), "base\n");
  EXPECT_EQ(git_sh(dir.path(), "git ls-tree --name-only baton/" + r),
            "README\nflow.yaml\nsecond.txt\n");
}

TEST(IsolationTest, TaskWithIsolationNoneRunsInTheRoot) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree}
tasks:
  - {id: here, isolation: none, run: echo here > here.txt}
  - {id: there, run: echo there > there.txt}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(dir.read("here.txt"), "here\n");
  EXPECT_FALSE(dir.exists("there.txt"));
  EXPECT_EQ(git_sh(dir.path(), "git ls-tree --name-only baton/" + r),
            "README\nflow.yaml\nthere.txt\n");
}

// A TCP listener on 127.0.0.1 (a free port), closed on destruction.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { close(fd_); }
  int port() const { return port_; }
  /// True when a connection is waiting to be accepted.
  bool reached() const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(IsolationTest, SandboxedTasksCannotLeaveTheirWorktree) {
  ScratchDir dir;
  ScratchDir outside;
  outside.write("secret.txt", "top-secret\n");
  Listener listener;
  std::string root = dir.path();
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree, sandbox: bwrap}
tasks:
  - id: escape
    run: |
      echo x > ')" + root +
                          R"(/escape.txt' 2>/dev/null && echo wrote-root >> report.txt
      echo x > ')" + root +
                          R"(/.baton/escape.txt' 2>/dev/null && echo wrote-state >> report.txt
      echo x > /etc/baton-escape.txt 2>/dev/null && echo wrote-etc >> report.txt
      cat ')" + outside.path() +
                          R"(/secret.txt' >> report.txt 2>/dev/null
      bash -c 'echo hi > /dev/tcp/127.0.0.1/)" +
                          std::to_string(listener.port()) +
                          R"(' 2>/dev/null && echo network >> report.txt
      echo done >> report.txt
  - id: other
    run: echo mine > other.txt
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(git_sh(dir.path(), "git show baton/tasks/" + r + "/escape:report.txt"), "done\n");
  EXPECT_FALSE(dir.exists("escape.txt"));
  EXPECT_FALSE(dir.exists(".baton/escape.txt"));
  EXPECT_FALSE(fs::exists("/etc/baton-escape.txt"));
  EXPECT_FALSE(listener.reached());
  std::vector<json> started = events(dir, r, "attempt.started", "escape");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["data"]["sandbox"], "bwrap");
  EXPECT_EQ(started[0]["data"]["network"], false);
  EXPECT_EQ(started[0]["data"]["worktree"], root + "/.baton/worktrees/" + r + "/escape");
}

TEST(IsolationTest, NetworkTrueReachesTheHost) {
  ScratchDir dir;
  Listener listener;
  make_flow_repo(dir,
                 "name: iso\nsettings: {isolation: worktree, sandbox: bwrap}\ntasks:\n"
                 "  - {id: net, network: true, run: \"bash -c 'echo hi > /dev/tcp/127.0.0.1/" +
                     std::to_string(listener.port()) + "'\"}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_TRUE(listener.reached());
}

// A `bwrap` that does not work, first in PATH.
std::map<std::string, std::string> broken_bwrap(const ScratchDir& dir) {
  dir.write("fakebin/bwrap",
            "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\n"
            "exit 1\n");
  fs::permissions(dir.path() + "/fakebin/bwrap", fs::perms::owner_all);
  return {{"PATH", dir.path() + "/fakebin:" + getenv("PATH")}};
}

TEST(IsolationTest, SandboxAutoWithoutBwrapWarnsAndRunsUnsandboxed) {
  ScratchDir dir, tools;
  make_flow_repo(dir,
                 "name: iso\nsettings: {sandbox: auto}\ntasks:\n  - {id: a, run: touch a.txt}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), broken_bwrap(tools));
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(o.err,
            "baton: note: sandbox: auto: bwrap does not work here: bwrap: No permissions to "
            "create new namespace; tasks run without a sandbox\n");
  EXPECT_TRUE(dir.exists("a.txt"));
}

TEST(IsolationTest, SandboxBwrapWithoutBwrapIsAnError) {
  ScratchDir dir, tools;
  make_flow_repo(dir, "name: iso\ntasks:\n  - {id: a, run: touch a.txt, sandbox: bwrap}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), broken_bwrap(tools));
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "baton: sandbox: bwrap: bwrap does not work here: bwrap: No permissions to "
            "create new namespace\n");
  EXPECT_FALSE(dir.exists("a.txt"));
}

TEST(IsolationTest, DiffShowsWhatTasksChanged) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: iso
settings: {isolation: worktree}
tasks:
  - {id: a, run: echo from-a > a.txt}
  - {id: b, run: echo from-b > b.txt, dependencies: [a]}
  - {id: nothing, run: 'true'}
)");
  ASSERT_EQ(run_baton({"run", "flow.yaml"}, dir.path()).exit_code, 0);
  std::string r = run_id(dir);
  Outcome b = run_baton({"diff", r, "b"}, dir.path());
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_TRUE(has(b.out, "+++ b/b.txt\n@@ -0,0 +1 @@\n+from-b\n")) << b.out;
  EXPECT_FALSE(has(b.out, "a.txt")) << b.out;
  Outcome all = run_baton({"diff", "last", "--stat"}, dir.path());
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_TRUE(has(all.out, " a.txt | 1 +\n b.txt | 1 +\n 2 files changed, 2 insertions(+)\n"))
      << all.out;
  Outcome none = run_baton({"diff", r, "nothing"}, dir.path());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err, "baton: task 'nothing' of run " + r +
                          " committed no changes (it did not run in a worktree, did not succeed, "
                          "or changed nothing)\n");
  EXPECT_EQ(run_baton({"diff", "no-such-run"}, dir.path()).exit_code, 2);
}

TEST(IsolationTest, CleanRemovesWorktreesAndKeepsBranchesUnlessAsked) {
  ScratchDir dir;
  make_flow_repo(dir,
                 "name: iso\nsettings: {isolation: worktree}\n"
                 "tasks:\n  - {id: a, run: echo a > a.txt}\n  - {id: b, run: echo b > b.txt}\n");
  ASSERT_EQ(run_baton({"run", "flow.yaml"}, dir.path()).exit_code, 0);
  std::string r = run_id(dir);
  ASSERT_TRUE(dir.exists(".baton/worktrees/" + r + "/a"));
  Outcome clean = run_baton({"clean"}, dir.path());
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(clean.out, "removed 2 worktrees\n");
  EXPECT_FALSE(dir.exists(".baton/worktrees/" + r));
  EXPECT_EQ(git_sh(dir.path(), "git worktree list | wc -l"), "1\n");
  EXPECT_EQ(git_sh(dir.path(), "git branch --list 'baton/*' | wc -l"), "3\n");
  Outcome branches = run_baton({"clean", r, "--branches"}, dir.path());
  EXPECT_EQ(branches.exit_code, 0) << branches.err;
  EXPECT_EQ(branches.out, "removed 0 worktrees and 3 branches\n");
  EXPECT_EQ(git_sh(dir.path(), "git branch --list 'baton/*'"), "");
  EXPECT_EQ(git_sh(dir.path(), "git branch --show-current"), "main\n");
}

TEST(IsolationTest, CleanNeverTouchesARunningRun) {
  ScratchDir dir;
  make_flow_repo(dir,
                 "name: iso\nsettings: {isolation: worktree}\n"
                 "tasks:\n  - {id: slow, run: touch ../../../../started && sleep 60}\n");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  // The worktree is .baton/worktrees/RUN/slow: `started` lands in the main checkout.
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  std::string r = run_id(dir);
  Outcome all = run_baton({"clean"}, dir.path());
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_TRUE(has(all.err, "baton: run " + r + " is still running (pid ")) << all.err;
  EXPECT_EQ(all.out, "removed 0 worktrees\n");
  Outcome one = run_baton({"clean", r}, dir.path());
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_TRUE(dir.exists(".baton/worktrees/" + r + "/slow/flow.yaml"));
  run.signal(SIGTERM);
  EXPECT_EQ(run.wait().exit_code, 143);
  Outcome after = run_baton({"clean", r}, dir.path());
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, "removed 1 worktree\n");
  EXPECT_FALSE(dir.exists(".baton/worktrees/" + r));
}

// The issue's "done when": two agent tasks at once, each in its own worktree under
// bwrap, both commit, and the integration merges both. The real Claude Code and
// Codex CLIs, against the scripted model server (network: true to reach it).
TEST(IsolationTest, TwoAgentsInWorktreesUnderBwrapBothCommitAndMerge) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: agents
settings: {max_parallel: 2, isolation: worktree, sandbox: bwrap}
tasks:
  - {id: by-claude, agent: claude, network: true, parameters: {task: "Write claude.txt"}, timeout: 2m}
  - {id: by-codex, agent: codex, network: true, parameters: {task: "Write codex.txt"}, timeout: 2m}
)");
  dir.write("script.yaml", R"(tasks:
  by-claude: [{write_file: {path: claude.txt, content: "from claude\n"}}, {text: "wrote it"}]
  by-codex: [{write_file: {path: codex.txt, content: "from codex\n"}}, {text: "wrote it"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_TRUE(has(o.out, "integration: 2 tasks merged into branch baton/" + r)) << o.out;
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":claude.txt"), "from claude\n");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":codex.txt"), "from codex\n");
  EXPECT_EQ(git_sh(dir.path(), "git log -1 --format=%s baton/tasks/" + r + "/by-codex"),
            "baton: task by-codex of run " + r + " (agent codex)\n");
  EXPECT_FALSE(dir.exists("claude.txt"));
  for (const char* task : {"by-claude", "by-codex"}) {
    std::vector<json> started = events(dir, r, "attempt.started", task);
    ASSERT_EQ(started.size(), 1u) << task;
    EXPECT_EQ(started[0]["data"]["sandbox"], "bwrap");
  }
}

// The escape workflow of SandboxedTasksCannotLeaveTheirWorktree, in containers of
// baton's default (busybox) image: task a under docker, task b under podman, both
// committed and merged; nothing reached the host.
TEST(IsolationTest, ContainerSandboxedTasksCommitAndCannotLeaveTheirWorktree) {
  ScratchDir dir;
  ScratchDir outside;
  outside.write("secret.txt", "top-secret\n");
  Listener listener;
  std::string root = dir.path();
  std::string escapes = R"(
      echo x > ')" + root +
                        R"(/escape.txt' 2>/dev/null
      echo x > /etc/baton-escape.txt 2>/dev/null && echo wrote-etc >> report.txt
      cat ')" + outside.path() +
                        R"(/secret.txt' >> report.txt 2>/dev/null
      nc -w 5 127.0.0.1 )" +
                        std::to_string(listener.port()) +
                        R"( -e true 2>/dev/null && echo network >> report.txt
      echo done >> report.txt
)";
  make_flow_repo(dir,
                 "name: iso\nsettings: {isolation: worktree}\ntasks:\n"
                 "  - id: a\n    sandbox: docker\n    run: |" +
                     escapes +
                     "  - id: b\n    sandbox: podman\n    image: baton-sandbox:latest\n    run: |" +
                     escapes);
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + r + ":report.txt"), "done\n");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/tasks/" + r + "/b:report.txt"), "done\n");
  EXPECT_FALSE(dir.exists("escape.txt"));
  EXPECT_FALSE(fs::exists("/etc/baton-escape.txt"));
  EXPECT_FALSE(listener.reached());
  for (std::string task : {"a", "b"}) {
    std::vector<json> started = events(dir, r, "attempt.started", task);
    ASSERT_EQ(started.size(), 1u);
    EXPECT_EQ(started[0]["data"]["sandbox"], task == "a" ? "docker" : "podman");
    EXPECT_EQ(started[0]["data"]["image"], "baton-sandbox:latest");
    EXPECT_EQ(started[0]["data"]["network"], false);
  }
}

TEST(IsolationTest, ContainerSandboxWithoutItsImageIsAnError) {
  ScratchDir dir;
  make_flow_repo(dir,
                 "name: iso\nsettings: {sandbox: docker, image: 'baton-no-such:image'}\n"
                 "tasks:\n  - {id: a, run: touch a.txt}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "baton: sandbox: docker has no image 'baton-no-such:image' (build baton's default "
            "with scripts/setup-containers, or set 'image')\n");
  EXPECT_FALSE(dir.exists("a.txt"));
}

// SIGTERM to baton (what `baton cancel` sends) reaches into the container: the task
// is recorded cancelled, and neither its process nor its container remains.
TEST(IsolationTest, CancellingARunStopsTheWholeContainer) {
  ScratchDir dir;
  std::string secs = "778." + std::to_string(getpid());
  make_flow_repo(dir,
                 "name: iso\nsettings: {sandbox: docker, kill_grace: 5s}\ntasks:\n"
                 "  - {id: slow, run: 'touch started && sleep " +
                     secs + "'}\n");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  run.signal(SIGTERM);
  EXPECT_EQ(run.wait().exit_code, 143);
  EXPECT_EQ(git_sh(dir.path(), "pgrep -f '[s]leep " + secs + "' || true"), "");
  EXPECT_EQ(git_sh(dir.path(),
                   "curl -s --unix-socket /var/run/docker.sock "
                   "'http://localhost/v1.41/containers/json?all=1' | grep -c '" +
                       secs + "' || true"),
            "0\n");
}

}  // namespace
}  // namespace baton::testing
