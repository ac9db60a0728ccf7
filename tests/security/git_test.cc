// Security suite, issue 12: host-side git and the repository's git directory.
//
// A task's worktree, its `.git` file and whatever it writes are untrusted. Each test
// plants one way for a task to get a program run by the git that baton (or the user)
// runs on the host, or to change the repository's git directory from inside a
// sandbox, and checks from the outside that nothing ran and nothing changed. A
// program that runs leaves a marker file in a directory no sandbox can see
// (OUT/pwned-NAME): the marker can only come from the host.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// `git ARGS` in DIR (argv, no shell); the test fails unless it exits 0.
std::string git(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "git");
  Outcome o = run_command(args, dir);
  EXPECT_EQ(o.exit_code, 0) << args[1] << "\n" << o.err;
  return o.out;
}

// A repository holding FLOW (as flow.yaml), README and shared.txt, in two commits
// on main (the second one changes README).
void make_repo(const ScratchDir& dir, const std::string& flow) {
  dir.write("flow.yaml", flow);
  dir.write("README", "base\n");
  dir.write("shared.txt", "1\n2\n3\n4\n5\n6\n7\n8\n");
  git_sh(dir.path(),
         "git init -q -b main && git add flow.yaml README shared.txt && git commit -q -m init && "
         "echo second > README && git commit -q -am second");
}

std::string run_id(const ScratchDir& dir) { return last_run(dir).value("id", ""); }

// The files named pwned-* in OUT: one per program that ran.
std::vector<std::string> markers(const ScratchDir& out) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(out.path())) {
    std::string name = e.path().filename().string();
    if (name.rfind("pwned-", 0) == 0) found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  return found;
}

// A shell command that leaves the marker OUT/pwned-NAME, then fails (no quotes:
// it goes inside quoted shell and YAML text; mkdtemp paths have no spaces).
std::string plant(const ScratchDir& out, const std::string& name) {
  return "touch " + out.path() + "/pwned-" + name + "; false";
}

// Every ref of the repository in DIR, one "name sha" a line, except baton's own.
std::string user_refs(const std::string& dir) {
  std::string all = git(dir, {"for-each-ref", "--format=%(refname) %(objectname)"});
  std::istringstream in(all);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("refs/heads/baton/", 0) != 0) kept += line + "\n";
  }
  return kept;
}

// The loose object file of OBJECT in the repository in DIR.
std::string object_file(const std::string& dir, const std::string& object) {
  return dir + "/.git/objects/" + object.substr(0, 2) + "/" + object.substr(2, 38);
}

// Attack 1 of the issue: a bwrap task in a worktree points its `.git` file at a git
// directory of its own whose config names a program (core.fsmonitor), then
// succeeds. baton commits the task's changes with git on the host, which must not
// read that directory: nothing runs, and the task fails saying why.
TEST(GitSecurityTest, GitFileRedirectRunsNothingAndFailsTheTask) {
  ScratchDir dir, out;
  make_repo(dir, R"(name: sec
settings: {isolation: worktree, sandbox: bwrap}
tasks:
  - id: evil
    run: |
      git init -q --bare evilgit
      git config -f evilgit/config core.bare false
      git config -f evilgit/config core.fsmonitor ")" +
                     plant(out, "fsmonitor") + R"("
      git config -f evilgit/config core.hooksPath hooks
      mkdir -p evilgit/hooks && printf '#!/bin/sh\n)" +
                     plant(out, "hook") + R"(\n' > evilgit/hooks/pre-commit
      chmod +x evilgit/hooks/pre-commit
      echo "gitdir: evilgit" > .git
      echo changed > README
  - id: evil-fails
    run: |
      git init -q --bare ../evilgit2
      echo "gitdir: ../evilgit2" > .git
      exit 3
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_EQ(markers(out), std::vector<std::string>{});
  std::string r = run_id(dir);
  json evil = task_of(last_run(dir), "evil");
  EXPECT_EQ(evil["status"], "failed");
  EXPECT_NE(evil.value("reason", "").find("changed its worktree's .git file"), std::string::npos)
      << evil.dump();
  // Nothing of the task was committed, and the worktree's .git is baton's again, so
  // that git run there later by the user reads the repository, not evilgit.
  EXPECT_EQ(git(dir.path(), {"rev-parse", "baton/tasks/" + r + "/evil"}),
            git(dir.path(), {"rev-parse", "main"}));
  std::string gitfile = dir.read(".baton/worktrees/" + r + "/evil/.git");
  EXPECT_EQ(gitfile.rfind("gitdir: " + dir.path() + "/.git/worktrees/", 0), 0u) << gitfile;
  // A task that fails has its .git put back too.
  EXPECT_EQ(task_of(last_run(dir), "evil-fails")["status"], "failed");
  gitfile = dir.read(".baton/worktrees/" + r + "/evil-fails/.git");
  EXPECT_EQ(gitfile.rfind("gitdir: " + dir.path() + "/.git/worktrees/", 0), 0u) << gitfile;
}

// A bwrap task writes the per-worktree config of its worktree (read by git when the
// repository has extensions.worktreeConfig): the git directory is read-only inside,
// and host git never reads a worktree's admin directory.
TEST(GitSecurityTest, WorktreeConfigWrittenByATaskRunsNothing) {
  ScratchDir dir, out;
  make_repo(dir,
            R"(name: sec
settings: {isolation: worktree, sandbox: bwrap}
tasks:
  - id: evil
    run: |
      git config --worktree core.fsmonitor ")" +
                plant(out, "worktree-config") + R"(" || true
      printf '[core]\n\tfsmonitor = touch )" +
                out.path() +
                R"(/pwned-admin-config\n' > "$(git rev-parse --git-dir)/config.worktree" || true
      echo changed > README
)");
  git(dir.path(), {"config", "core.repositoryformatversion", "1"});
  git(dir.path(), {"config", "extensions.worktreeConfig", "true"});
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(markers(out), std::vector<std::string>{});
  std::string r = run_id(dir);
  EXPECT_EQ(git(dir.path(), {"show", "baton/tasks/" + r + "/evil:README"}), "changed\n");
  EXPECT_EQ(git_sh(dir.path(), "ls .git/worktrees/*/config.worktree 2>/dev/null || true"), "");
}

// Every program the repository's config can name, planted (as an earlier hole or a
// careless config could have left it) before a run whose tasks plant the matching
// .gitattributes: baton's commits, the merge of dependencies, the integration,
// `baton diff` and `baton clean` run none of them; merges still merge as text.
TEST(GitSecurityTest, HostGitRunsNoProgramFromTheRepositoryConfig) {
  ScratchDir dir, out, hooks;
  make_repo(dir, R"(name: sec
settings: {isolation: worktree}
tasks:
  - id: a
    run: |
      printf '* filter=evil diff=evil merge=evil\n' > .gitattributes
      sed -i s/^1$/one/ shared.txt
      echo a > a.txt
  - id: b
    run: sed -i s/^8$/eight/ shared.txt && echo b > b.txt
  - id: c
    dependencies: [a, b]
    run: sed -i s/^4$/four/ shared.txt && echo c > c.txt
)");
  for (const char* hook : {"pre-commit", "commit-msg", "post-commit", "post-checkout", "post-merge",
                           "pre-merge-commit", "reference-transaction", "post-rewrite",
                           "pre-auto-gc", "post-index-change"}) {
    for (const std::string& d : {hooks.path(), dir.path() + "/.git/hooks"}) {
      std::string path = d + "/" + hook;
      std::ofstream(path) << "#!/bin/sh\n" << plant(out, std::string("hook-") + hook) << "\n";
      fs::permissions(path, fs::perms::owner_all);
    }
  }
  dir.write("included.cfg", "[core]\n\tfsmonitor = " + plant(out, "include") + "\n");
  dir.write(".git/config.worktree",
            "[core]\n\tfsmonitor = \"" + plant(out, "config-worktree") + "\"\n");
  std::vector<std::pair<std::string, std::string>> config = {
      {"core.repositoryformatversion", "1"},
      {"extensions.worktreeConfig", "true"},
      {"core.fsmonitor", plant(out, "fsmonitor")},
      {"core.hooksPath", hooks.path()},
      {"core.pager", plant(out, "pager")},
      {"pager.diff", plant(out, "pager-diff")},
      {"core.sshCommand", plant(out, "ssh")},
      {"core.askPass", plant(out, "askpass")},
      {"credential.helper", "!" + plant(out, "credential")},
      {"diff.external", plant(out, "diff-external")},
      {"diff.evil.command", plant(out, "diff-command")},
      {"diff.evil.textconv", plant(out, "textconv")},
      {"filter.evil.clean", plant(out, "clean")},
      {"filter.evil.smudge", plant(out, "smudge")},
      {"filter.evil.process", plant(out, "process")},
      {"filter.evil.required", "true"},
      {"merge.evil.driver", plant(out, "merge-driver")},
      {"commit.gpgSign", "true"},
      {"gpg.program", plant(out, "gpg")},
      {"merge.verifySignatures", "true"},
      {"include.path", dir.path() + "/included.cfg"},
  };
  for (const auto& [key, value] : config) git(dir.path(), {"config", key, value});
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  // Merged as text: a's line 1, b's line 8, c's line 4.
  EXPECT_EQ(git(dir.path(), {"show", "baton/" + r + ":shared.txt"}),
            "one\n2\n3\nfour\n5\n6\n7\neight\n");
  Outcome diff = run_baton({"diff", r}, dir.path());
  EXPECT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_NE(diff.out.find("+eight"), std::string::npos) << diff.out;
  Outcome task_diff = run_baton({"diff", r, "a", "--stat"}, dir.path());
  EXPECT_EQ(task_diff.exit_code, 0) << task_diff.err;
  Outcome clean = run_baton({"clean", r, "--branches"}, dir.path());
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(clean.out, "removed 3 worktrees and 4 branches\n");
  EXPECT_EQ(markers(out), std::vector<std::string>{});
}

// Attack 2 of the issue, and the rest of the git directory: a bwrap task in a
// worktree tries to move the user's checked-out branch and another task's branch,
// to write the shared config and hooks, and to rewrite objects. The git directory
// is read-only inside: the host repository is unchanged, and the other task's
// branch is integrated as that task committed it.
TEST(GitSecurityTest, SandboxedWorktreeTaskCannotWriteTheGitDirectory) {
  ScratchDir dir, out;
  make_repo(dir, "");
  std::string common = dir.path() + "/.git";
  std::string readme_blob = git(dir.path(), {"rev-parse", "main:README"}).substr(0, 40);
  std::string first = git(dir.path(), {"rev-parse", "main~1"}).substr(0, 40);
  dir.write("flow.yaml", R"(name: sec
settings: {isolation: worktree, sandbox: bwrap}
tasks:
  - id: other
    run: echo other > other.txt
  - id: evil
    dependencies: [other]
    run: |
      git update-ref refs/heads/main )" +
                             first +
                             R"( && echo moved-main >> report
      git update-ref refs/heads/baton/tasks/$BATON_RUN_ID/other )" +
                             first + R"( && echo moved-other >> report
      git update-ref refs/heads/evil HEAD && echo made-branch >> report
      git config core.fsmonitor ")" +
                             plant(out, "config") + R"(" && echo wrote-config >> report
      printf '#!/bin/sh\n)" + plant(out, "hook") +
                             R"(\n' > ')" + common +
                             R"(/hooks/post-commit' && echo wrote-hook >> report
      rm -f ')" + object_file(dir.path(), readme_blob) +
                             R"(' && echo removed-object >> report
      echo junk > ')" + common +
                             R"(/objects/junk' && echo wrote-objects >> report
      echo junk > ')" + common +
                             R"(/packed-refs' && echo wrote-packed-refs >> report
      git status --porcelain >/dev/null && echo status-works >> report
      echo done >> report
)");
  git_sh(dir.path(), "git commit -q -am flow");
  std::string refs_before = user_refs(dir.path());
  std::string config_before = dir.read(".git/config");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(git(dir.path(), {"show", "baton/tasks/" + r + "/evil:report"}), "status-works\ndone\n");
  EXPECT_EQ(user_refs(dir.path()), refs_before);
  EXPECT_EQ(dir.read(".git/config"), config_before);
  EXPECT_FALSE(dir.exists(".git/hooks/post-commit"));
  EXPECT_TRUE(fs::exists(object_file(dir.path(), readme_blob)));
  EXPECT_FALSE(dir.exists(".git/objects/junk"));
  EXPECT_EQ(git(dir.path(), {"show", "baton/" + r + ":other.txt"}), "other\n");
  EXPECT_EQ(git(dir.path(), {"status", "--porcelain", "--untracked-files=no"}), "");
  EXPECT_EQ(markers(out), std::vector<std::string>{});
}

// Attack 3 of the issue: with isolation none the task works in the main checkout,
// but its git directory stays read-only: it cannot leave a core.fsmonitor for the
// user's next `git status`, move a branch, add a hook or replace .git.
TEST(GitSecurityTest, SandboxedTaskWithoutWorktreeCannotWriteTheGitDirectory) {
  ScratchDir dir, out;
  make_repo(dir, "");
  std::string readme_blob = git(dir.path(), {"rev-parse", "main:README"}).substr(0, 40);
  dir.write("flow.yaml", R"(name: sec
settings: {isolation: none, sandbox: bwrap}
tasks:
  - id: evil
    run: |
      git config core.fsmonitor ")" +
                             plant(out, "fsmonitor") + R"(" && echo wrote-config >> report
      git update-ref refs/heads/main HEAD~1 && echo moved-main >> report
      printf '#!/bin/sh\n)" + plant(out, "hook") +
                             R"(\n' > .git/hooks/post-checkout && echo wrote-hook >> report
      rm -f )" + object_file(".", readme_blob) +
                             R"( && echo removed-object >> report
      mv .git .git-old 2>/dev/null && echo moved-git >> report
      git status --porcelain >/dev/null && echo status-works >> report
      echo done >> report
)");
  git_sh(dir.path(), "git commit -q -am flow");
  std::string refs_before = user_refs(dir.path());
  std::string config_before = dir.read(".git/config");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("report"), "status-works\ndone\n");
  EXPECT_EQ(dir.read(".git/config"), config_before);
  EXPECT_EQ(user_refs(dir.path()), refs_before);
  EXPECT_FALSE(dir.exists(".git/hooks/post-checkout"));
  EXPECT_TRUE(fs::exists(object_file(dir.path(), readme_blob)));
  // What the user does next on the host.
  git(dir.path(), {"status"});
  git(dir.path(), {"checkout", "-q", "-b", "next"});
  EXPECT_EQ(markers(out), std::vector<std::string>{});
}

// With isolation none, the checkout's submodules are the other way into the git the
// user runs next: `git status` runs git inside each populated submodule, through its
// `.git` file. A task cannot rewrite that file, nor make one in a submodule's empty
// directory.
TEST(GitSecurityTest, SandboxedTaskWithoutWorktreeCannotRedirectASubmodule) {
  ScratchDir dir, out, lib;
  git_sh(lib.path(),
         "git init -q -b main && echo s > s.txt && git add s.txt && git commit -q -m s");
  make_repo(dir, "");
  git_sh(dir.path(), "git -c protocol.file.allow=always submodule add -q " + lib.path() +
                         " lib && mkdir empty && "
                         "git update-index --add --cacheinfo 160000,$(git rev-parse HEAD),empty && "
                         "git commit -q -m submodules");
  dir.write("flow.yaml", R"(name: sec
settings: {isolation: none, sandbox: bwrap}
tasks:
  - id: evil
    run: |
      git init -q --bare evilgit && git config -f evilgit/config core.bare false
      git config -f evilgit/config core.fsmonitor ")" +
                             plant(out, "submodule") + R"("
      echo 'gitdir: ../evilgit' > lib/.git && echo wrote-lib >> report
      echo 'gitdir: ../evilgit' > empty/.git && echo wrote-empty >> report
      echo done >> report
)");
  git_sh(dir.path(), "git add flow.yaml && git commit -q -m flow");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("report"), "done\n");
  git(dir.path(), {"status"});  // what the user does next
  EXPECT_EQ(markers(out), std::vector<std::string>{});
}

// A repository with a submodule: the task's worktree has the (empty) submodule
// directory, and the task makes it a repository of its own whose config names a
// program, plus a new nested repository. baton's commit must not run git inside
// either (git looks into a submodule to see whether it is modified).
TEST(GitSecurityTest, NestedRepositoriesInAWorktreeRunNothing) {
  ScratchDir dir, out;
  make_repo(dir, "");
  dir.write("flow.yaml", R"(name: sec
settings: {isolation: worktree, sandbox: bwrap}
tasks:
  - id: evil
    run: |
      for d in sub fresh; do
        mkdir -p $d && git -C $d init -q && git -C $d config core.fsmonitor ")" +
                             plant(out, "nested") + R"("
        git -C $d config filter.x.clean ")" +
                             plant(out, "nested-filter") + R"("
        echo '* filter=x' > $d/.gitattributes
        git -C $d -c core.fsmonitor=false add .gitattributes
      done
      git -C fresh -c core.fsmonitor=false -c user.name=t -c user.email=t@t commit -q -m x
      echo changed > README
)");
  git_sh(
      dir.path(),
      "git update-index --add --cacheinfo 160000,$(git rev-parse HEAD),sub && git add flow.yaml && "
      "git commit -q -m 'flow and a submodule'");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(git(dir.path(), {"show", "baton/" + r + ":README"}), "changed\n");
  EXPECT_EQ(markers(out), std::vector<std::string>{});
}

// Another engineer's change runs sandboxed tasks as an unprivileged user that owns
// the worktree's files; git on the host (as root here) must still commit them
// rather than refuse "dubious ownership".
TEST(GitSecurityTest, WorktreeOwnedByAnotherUserIsCommitted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  ScratchDir dir;
  make_repo(dir, R"(name: sec
settings: {isolation: worktree}
tasks:
  - {id: owned, run: 'echo mine > mine.txt && chown -R 1000:1000 .'}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string r = run_id(dir);
  EXPECT_EQ(git(dir.path(), {"show", "baton/" + r + ":mine.txt"}), "mine\n");
}

}  // namespace
}  // namespace baton::testing
