// The bwrap sandbox with the real bwrap: what a task can do (work and commit in
// its worktree) and the escapes it must not manage (each test checks the host).
#include "isolation/sandbox.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "exec/loop.h"
#include "exec/supervised.h"
#include "isolation/test_util.h"

namespace baton::isolation {
namespace {

namespace fs = std::filesystem;
using testing::init_repo;
using testing::read_file;
using testing::Scratch;
using testing::sh;
using testing::write_file;

std::string unique_token() {
  std::random_device rd;
  return std::to_string(rd() % 1000000 + 1000000);
}

// True once no process has an argument equal to ARG. Polls /proc for up to 5 s:
// the end of a process that is not our child cannot be awaited as an event.
bool no_process_with_arg(const std::string& arg) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    bool found = false;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string cmdline = read_file(entry.path().string() + "/cmdline");
      std::string stat = read_file(entry.path().string() + "/stat");
      size_t paren = stat.rfind(')');
      bool zombie = paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
      if (!zombie && cmdline.find(std::string(1, '\0') + arg + '\0') != std::string::npos) {
        found = true;
      }
    }
    if (!found) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A repository with two task worktrees (a, b), a host directory with a secret,
// and the sandbox of task a.
class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(check_bwrap()) << "these tests need a working bwrap";
    repo_dir_ = dir_ / "repo";
    init_repo(repo_dir_);
    auto repo = open_repository(repo_dir_);
    ASSERT_TRUE(repo) << repo.error().message;
    repo_ = *repo;
    auto base = head_commit(repo_);
    auto a = add_worktree(repo_, repo_dir_ + "/.baton/worktrees/r1/a", task_branch("r1", "a"),
                          {*base}, GitAuthor{}, repo_dir_ + "/.baton/runs/r1/git/a.index");
    auto b = add_worktree(repo_, repo_dir_ + "/.baton/worktrees/r1/b", task_branch("r1", "b"),
                          {*base}, GitAuthor{}, repo_dir_ + "/.baton/runs/r1/git/b.index");
    ASSERT_TRUE(a && b);
    a_ = *a;
    b_ = *b;
    write_file(dir_ / "outside/secret.txt", "top-secret-value\n");
    spec_.workdir = a_.path;
    spec_.home = repo_dir_ + "/.baton/runs/r1/home/a";
    // As root, the task runs as a sandbox user of its own, as the engine has it.
    if (geteuid() == 0) spec_.user = sandbox_user_for(SandboxIdRange{}, "r1", 0);
    ASSERT_TRUE(add_worktree_mounts(a_, repo_, &spec_));
  }

  // Runs SCRIPT with /bin/sh -c in the sandbox of task a.
  exec::ProcessResult run(const std::string& script, const SandboxSpec& spec,
                          double timeout_s = 30) {
    exec::ProcessSpec p;
    p.argv = {"/bin/sh", "-c", script};
    p.cwd = dir_.path();
    p.timeout_s = timeout_s;
    p.kill_grace_s = 1;
    // Under a supervisor, as the engine runs attempts (it applies the rlimits).
    p.log_path = dir_ / ("logs/" + std::to_string(++runs_) + ".log");
    fs::create_directories(dir_ / "logs");
    auto wrapped = wrap_in_bwrap(p, spec);
    EXPECT_TRUE(wrapped) << wrapped.error().message;
    auto loop = exec::Loop::create();
    exec::ProcessResult result;
    auto proc = exec::Supervised::start((*loop)->get(), p,
                                        [&](const exec::ProcessResult& r) { result = r; });
    EXPECT_TRUE(proc) << proc.error().message;
    (*loop)->run();
    return result;
  }
  exec::ProcessResult run(const std::string& script) { return run(script, spec_); }

  // Expects a write of TARGET from the sandbox to fail, and the host to have no TARGET.
  void expect_write_fails(const std::string& target) {
    ASSERT_FALSE(fs::exists(target)) << target;
    auto r = run("echo escaped > '" + target + "'");
    EXPECT_FALSE(r.status.success()) << target;
    EXPECT_FALSE(fs::exists(target)) << target;
  }

  Scratch dir_;
  int runs_ = 0;
  std::string repo_dir_;
  Repository repo_;
  Worktree a_, b_;
  SandboxSpec spec_;
};

// The task works in its worktree and reads git there (status, diff, log); the git
// directory is read-only, so committing is baton's job after the attempt
// (worktree.h): a commit, a ref update, config, hooks and objects all fail inside.
TEST_F(SandboxTest, TaskWorksInItsWorktreeAndOnlyReadsGit) {
  std::string common = repo_dir_ + "/.git";
  std::string head = sh(repo_dir_, "git rev-parse HEAD");
  auto r =
      run("echo made-inside > inside.txt && echo changed > README && "
          "git status --porcelain && git diff --stat | tail -1 && git log --format=%s && "
          "git rev-parse --abbrev-ref HEAD && "
          "{ git add inside.txt 2>/dev/null && echo ADDED; "
          "  git -c user.name=agent -c user.email=a@x commit -q -am in-sandbox 2>/dev/null && "
          "echo COMMITTED; "
          "  git update-ref refs/heads/main HEAD~0 2>/dev/null && echo MOVED; "
          "  git config core.fsmonitor x 2>/dev/null && echo CONFIG; "
          "  echo x > '" +
          common +
          "/hooks/post-commit' 2>/dev/null && echo HOOK; "
          "  echo x > '" +
          common +
          "/objects/x' 2>/dev/null && echo OBJECT; true; } && "
          "echo \"$HOME\" && echo h > \"$HOME/note\" && echo tmp > /tmp/t && cat /tmp/t && pwd");
  ASSERT_TRUE(r.status.success()) << r.status.to_string() << r.stderr_tail;
  EXPECT_EQ(r.stdout_text,
            " M README\n?? inside.txt\n 1 file changed, 1 insertion(+), 1 deletion(-)\n"
            "init\nbaton/tasks/r1/a\n" +
                spec_.home + "\ntmp\n" + a_.path + "\n");
  EXPECT_EQ(sh(repo_dir_, "git rev-parse baton/tasks/r1/a main"), head + head);
  EXPECT_EQ(read_file(spec_.home + "/note"), "h\n");
  EXPECT_FALSE(fs::exists(repo_dir_ + "/inside.txt"));
  EXPECT_FALSE(fs::exists(common + "/hooks/post-commit"));
  EXPECT_FALSE(fs::exists(common + "/objects/x"));
  // baton commits it from outside.
  auto info = commit_all(repo_, a_, "baton: task a", GitAuthor{});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(sh(repo_dir_, "git show baton/tasks/r1/a:inside.txt"), "made-inside\n");
}

TEST_F(SandboxTest, RunsAsTheSandboxUserWithoutCapabilities) {
  if (geteuid() != 0) GTEST_SKIP() << "the sandbox user is chosen only as root";
  auto r = run(
      "id -u; id -g; id -G; id -un; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; "
      "cat /etc/shadow >/dev/null 2>&1 || echo no-shadow; umask; bash -c 'ulimit -u'; ulimit -n");
  ASSERT_TRUE(r.status.success()) << r.status.to_string() << r.stderr_tail;
  std::string uid = std::to_string(spec_.user->uid), gid = std::to_string(spec_.user->gid);
  EXPECT_EQ(r.stdout_text, uid + "\n" + gid + "\n" + gid +
                               "\nbaton\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
                               "NoNewPrivs:\t1\nno-shadow\n0002\n1024\n8192\n");
}

// Two tasks run as two users: each writes its own worktree, neither can write the
// shared git directory (baton commits for them from outside), and what they wrote is
// still read by host git as root.
TEST_F(SandboxTest, TwoTaskUsersWriteTheirWorktreesButNotTheSharedGitDirectory) {
  if (geteuid() != 0) GTEST_SKIP() << "the sandbox user is chosen only as root";
  auto work = [&](const Worktree& wt, const SandboxSpec& spec, const std::string& file) {
    return run("cd '" + wt.path + "' && mkdir -p d && echo " + file + " > d/" + file +
                   " && { git add d 2>/dev/null && echo git-add-worked; true; }",
               spec);
  };
  auto a = work(a_, spec_, "a.txt");
  ASSERT_TRUE(a.status.success()) << a.stderr_tail;
  SandboxSpec b;
  b.workdir = b_.path;
  b.home = repo_dir_ + "/.baton/runs/r1/home/b";
  b.user = sandbox_user_for(SandboxIdRange{}, "r1", 1);
  ASSERT_NE(b.user->uid, spec_.user->uid);
  ASSERT_TRUE(add_worktree_mounts(b_, repo_, &b));
  auto second = work(b_, b, "b.txt");
  ASSERT_TRUE(second.status.success()) << second.stderr_tail;
  EXPECT_EQ(read_file(a_.path + "/d/a.txt"), "a.txt\n");
  EXPECT_EQ(read_file(b_.path + "/d/b.txt"), "b.txt\n");
  EXPECT_EQ(a.stdout_text.find("git-add-worked"), std::string::npos) << a.stdout_text;
  EXPECT_EQ(second.stdout_text.find("git-add-worked"), std::string::npos) << second.stdout_text;
  // The files are the tasks' users'; host git (root) reads them all the same.
  struct stat st {};
  ASSERT_EQ(::stat((a_.path + "/d/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, spec_.user->uid);
  EXPECT_EQ(sh(a_.path, "git status --porcelain --untracked-files=all d"), "?? d/a.txt\n");
}

// A `setpriv` or a library the task planted in its worktree, reachable through PATH
// or LD_PRELOAD, never runs before the switch to the sandbox user (it would be root).
TEST_F(SandboxTest, PlantedSetprivAndLoaderVariablesDoNotRunAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "the sandbox user is chosen only as root";
  write_file(a_.path + "/bin/setpriv", "#!/bin/sh\necho planted-setpriv-ran-as-$(id -u)\n");
  fs::permissions(a_.path + "/bin/setpriv", fs::perms::owner_all | fs::perms::group_all);
  SandboxSpec spec = spec_;
  exec::ProcessSpec p;
  p.argv = {"/bin/sh", "-c", "id -u; echo \"$LD_BIND_NOW\""};
  p.env["PATH"] = a_.path + "/bin:/usr/bin:/bin";
  p.env["LD_BIND_NOW"] = "1";
  p.log_path = dir_ / "logs/planted.log";
  fs::create_directories(dir_ / "logs");
  ASSERT_TRUE(wrap_in_bwrap(p, spec));
  EXPECT_EQ(p.env["LD_BIND_NOW"], "");  // not for bwrap, which runs as root
  auto loop = exec::Loop::create();
  exec::ProcessResult r;
  auto proc = exec::Supervised::start((*loop)->get(), p,
                                      [&](const exec::ProcessResult& result) { r = result; });
  ASSERT_TRUE(proc) << proc.error().message;
  (*loop)->run();
  EXPECT_EQ(r.stdout_text, std::to_string(spec.user->uid) + "\n1\n") << r.stderr_tail;
}

// As a sandbox user, a task adds objects to the shared git directory but cannot
// change or remove one that is there (another task's, or the base commit's).
TEST_F(SandboxTest, ExistingGitObjectsCannotBeReplaced) {
  if (geteuid() != 0) GTEST_SKIP() << "the sandbox user is chosen only as root";
  std::string blob = sh(repo_dir_, "echo base-content | git hash-object -w --stdin");
  blob.pop_back();
  std::string object = repo_dir_ + "/.git/objects/" + blob.substr(0, 2) + "/" + blob.substr(2);
  ASSERT_TRUE(fs::exists(object));
  std::string before = read_file(object);
  auto r = run("echo x > '" + object + "' 2>/dev/null && echo overwrote; rm -f '" + object +
               "' 2>/dev/null; test -e '" + object + "' || echo removed; mv '" + object +
               "' /tmp/o 2>/dev/null && echo moved; echo done");
  EXPECT_EQ(r.stdout_text, "done\n") << r.stderr_tail;
  EXPECT_EQ(read_file(object), before);
}

TEST_F(SandboxTest, CannotWriteTheRealHome) {
  const char* home = getenv("HOME");
  ASSERT_TRUE(home && *home);
  expect_write_fails(std::string(home) + "/baton-escape-" + unique_token());
}

TEST_F(SandboxTest, CannotWriteEtc) { expect_write_fails("/etc/baton-escape-" + unique_token()); }

TEST_F(SandboxTest, CannotWriteTheMainCheckout) {
  expect_write_fails(repo_dir_ + "/escape.txt");
  expect_write_fails(repo_dir_ + "/.baton/escape.txt");
  expect_write_fails(repo_dir_ + "/.git/hooks/post-commit");
  std::string config = read_file(repo_dir_ + "/.git/config");
  auto r = run("echo '[core]' >> '" + repo_dir_ + "/.git/config'");
  EXPECT_FALSE(r.status.success());
  EXPECT_EQ(read_file(repo_dir_ + "/.git/config"), config);
}

TEST_F(SandboxTest, CannotWriteAnotherTasksWorktree) {
  expect_write_fails(b_.path + "/escape.txt");
  expect_write_fails(b_.admin_dir + "/escape");
  expect_write_fails(a_.admin_dir + "/escape");
}

TEST_F(SandboxTest, CannotRemountReadOnlyPathsReadWrite) {
  std::string marker = "/usr/baton-escape-" + unique_token();
  auto r = run("for p in /usr /etc '" + repo_dir_ +
               "/.git/config'; do "
               "  mount -o remount,rw \"$p\" 2>/dev/null && echo REMOUNTED $p; "
               "  mount -o remount,bind,rw \"$p\" 2>/dev/null && echo REMOUNTED $p; "
               "done; touch '" +
               marker + "' 2>/dev/null && echo WROTE; true");
  ASSERT_TRUE(r.status.success()) << r.stderr_tail;
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(SandboxTest, CannotReadAFileThatIsNotMounted) {
  auto r = run("cat '" + (dir_ / "outside/secret.txt") + "'");
  EXPECT_FALSE(r.status.success());
  EXPECT_EQ(r.stdout_text.find("top-secret-value"), std::string::npos);
  auto ls = run("ls '" + dir_.path() + "'");
  EXPECT_EQ(ls.stdout_text.find("outside"), std::string::npos) << ls.stdout_text;
}

TEST_F(SandboxTest, NetworkIsOffUnlessAllowed) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));
  std::string script = "exec bash -c 'echo hello > /dev/tcp/127.0.0.1/" + port + "'";
  auto pending = [&] {
    pollfd p{listener, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  };

  auto off = run(script);
  EXPECT_FALSE(off.status.success());
  EXPECT_FALSE(pending()) << "a connection reached the host's listener";

  SandboxSpec with_network = spec_;
  with_network.network = true;
  auto on = run(script, with_network);
  EXPECT_TRUE(on.status.success()) << on.stderr_tail;
  EXPECT_TRUE(pending());
  close(listener);
}

TEST_F(SandboxTest, BackgroundProcessesEndWithTheTask) {
  std::string secs = "4242." + unique_token();
  auto r = run("sleep " + secs + " </dev/null >/dev/null 2>&1 & echo started");
  ASSERT_TRUE(r.status.success()) << r.stderr_tail;
  EXPECT_EQ(r.stdout_text, "started\n");
  EXPECT_TRUE(no_process_with_arg(secs));
}

TEST_F(SandboxTest, TimeoutStopsEverythingInTheSandbox) {
  std::string secs = "4343." + unique_token();
  auto r = run("sleep " + secs + " & sleep " + secs, spec_, 0.5);
  EXPECT_EQ(r.status.kind, exec::ExitStatus::Kind::kTimedOut) << r.status.to_string();
  EXPECT_TRUE(no_process_with_arg(secs));
}

TEST_F(SandboxTest, CredentialsFileIsReadOnlyInHome) {
  write_file(dir_ / "creds/auth.json", "{\"token\":\"t\"}\n");
  SandboxSpec spec = spec_;
  spec.home_files = {{dir_ / "creds/auth.json", ".codex/auth.json"},
                     {dir_ / "creds/missing.json", ".claude/.credentials.json"}};
  auto r =
      run("cat \"$HOME/.codex/auth.json\"; echo x >> \"$HOME/.codex/auth.json\" || echo RO; "
          "test -e \"$HOME/.claude/.credentials.json\" || echo ABSENT",
          spec);
  EXPECT_EQ(r.stdout_text, "{\"token\":\"t\"}\nRO\nABSENT\n") << r.stderr_tail;
  EXPECT_EQ(read_file(dir_ / "creds/auth.json"), "{\"token\":\"t\"}\n");
}

TEST_F(SandboxTest, FillingTmpStaysInsideTheSandbox) {
  struct statvfs before {};
  ASSERT_EQ(statvfs("/tmp", &before), 0);
  // 4 GiB asked for; the sandbox's /tmp is a tmpfs of kSandboxTmpBytes (512 MiB).
  auto r = run("dd if=/dev/zero of=/tmp/fill bs=1M count=4096 2>/dev/null; wc -c < /tmp/fill");
  struct statvfs after {};
  ASSERT_EQ(statvfs("/tmp", &after), 0);
  long long before_free = static_cast<long long>(before.f_bavail) * before.f_frsize;
  long long after_free = static_cast<long long>(after.f_bavail) * after.f_frsize;
  // Other processes write to /tmp too; a filled host /tmp would be down 4 GiB.
  EXPECT_LT(before_free - after_free, 1LL << 30);
  long long filled = std::atoll(r.stdout_text.c_str());
  EXPECT_LE(filled, kSandboxTmpBytes) << r.stdout_text << r.stderr_tail;
  EXPECT_GT(filled, kSandboxTmpBytes / 2) << r.stdout_text << r.stderr_tail;
}

TEST(SandboxSetupTest, MissingBwrapIsNamed) {
  auto r = check_bwrap("baton-no-such-bwrap");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "baton-no-such-bwrap is not installed");
}

TEST(SandboxSetupTest, WrapBuildsTheCommand) {
  Scratch dir;
  exec::ProcessSpec p;
  p.argv = {"claude", "-p", "hi"};
  SandboxSpec spec;
  spec.workdir = dir.path();
  spec.writable = {dir.path()};
  spec.home = dir / "home";
  ASSERT_TRUE(wrap_in_bwrap(p, spec));
  ASSERT_GE(p.argv.size(), 4u);
  EXPECT_EQ(p.argv[0], "bwrap");
  EXPECT_EQ(std::vector<std::string>(p.argv.end() - 4, p.argv.end()),
            (std::vector<std::string>{"--", "claude", "-p", "hi"}));
  auto has = [&](const std::string& a) {
    return std::find(p.argv.begin(), p.argv.end(), a) != p.argv.end();
  };
  EXPECT_TRUE(has("--unshare-net"));
  EXPECT_TRUE(has("--die-with-parent"));
  EXPECT_TRUE(has("--new-session"));
  EXPECT_TRUE(has("--unshare-pid"));
  if (geteuid() == 0) {
    EXPECT_TRUE(has("--cap-drop"));
  }
  EXPECT_EQ(p.env["HOME"], dir / "home");
  EXPECT_EQ(p.env["TMPDIR"], "/tmp");
  EXPECT_TRUE(fs::is_directory(dir / "home"));

  spec.writable = {dir / "missing"};
  exec::ProcessSpec q;
  q.argv = {"true"};
  auto bad = wrap_in_bwrap(q, spec);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "sandbox: " + (dir / "missing") + " does not exist");
}

TEST(SandboxSetupTest, SandboxIdRangeAndUsers) {
  auto d = sandbox_id_range(nullptr);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, 2000000000u);
  EXPECT_EQ(d->count, 65536u);
  EXPECT_EQ(d->gid, 2000000000u);
  auto r = sandbox_id_range("300000:100");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 300000u);
  EXPECT_EQ(r->count, 100u);
  EXPECT_EQ(r->gid, 300000u);
  EXPECT_EQ(sandbox_id_range("300000:100:4242")->gid, 4242u);
  for (const char* bad : {"x", "1", "0:10", "5:0", "1:2:0", "2147483000:1000", "1:2:3:4", "1:2x"}) {
    auto b = sandbox_id_range(bad);
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().message, std::string("BATON_SANDBOX_IDS: '") + bad +
                                     "': expected FIRST:COUNT or FIRST:COUNT:GID (ids above 0, "
                                     "below 2^31)");
  }
  // Each task of a run its own uid, in the range; the same again for the same run.
  std::set<uint32_t> uids;
  for (int task = 0; task < 100; ++task) {
    SandboxUser u = sandbox_user_for(*r, "20261205-120000-abcd", task);
    EXPECT_GE(u.uid, 300000u);
    EXPECT_LT(u.uid, 300100u);
    EXPECT_EQ(u.gid, 300000u);
    uids.insert(u.uid);
  }
  EXPECT_EQ(uids.size(), 100u);
  EXPECT_EQ(sandbox_user_for(*r, "run", 3).uid, sandbox_user_for(*r, "run", 3).uid);
}

TEST(SandboxSetupTest, ProgramDirs) {
  Scratch dir;
  write_file(dir / "tools/node_modules/pkg/cli.js", "");
  fs::create_directories(dir / "tools/node_modules/.bin");
  fs::create_symlink("../pkg/cli.js", dir / "tools/node_modules/.bin/agent");
  fs::permissions(dir / "tools/node_modules/pkg/cli.js", fs::perms::owner_all);
  fs::create_directories(dir / "bin");
  fs::create_directories(dir / "repo");
  std::string path = "/usr/bin:" + (dir / "tools/node_modules/.bin") + ":" + (dir / "bin") +
                     ":relative:" + dir.path() + ":/";
  auto dirs = program_dirs(path, "agent", {dir / "repo"});
  EXPECT_EQ(dirs, (std::vector<std::string>{dir / "tools/node_modules", dir / "bin"}));
}

}  // namespace
}  // namespace baton::isolation
