// Process supervision against real processes (sh, cat, sleep, head) on a real loop.
#include "exec/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "exec/child_env.h"
#include "exec/log_file.h"
#include "exec/loop.h"
#include "exec/process_group.h"

namespace baton::exec {
namespace {

using Kind = ExitStatus::Kind;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// True when PID no longer runs: gone, or a zombie nobody reaped yet (a grandchild is
// reparented to init, which may reap it late). Polls for up to 10 s: the death of a
// process that is not our child cannot be awaited as an event.
bool gone_or_zombie(int pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Calls ACTION once PREDICATE holds, checking every 5 ms on the loop; the watcher
// closes itself afterwards.
void when(uv_loop_t* loop, std::function<bool()> predicate, std::function<void()> action) {
  struct Watch {
    uv_timer_t timer;
    std::function<bool()> predicate;
    std::function<void()> action;
  };
  auto* watch = new Watch{{}, std::move(predicate), std::move(action)};
  uv_timer_init(loop, &watch->timer);
  watch->timer.data = watch;
  uv_timer_start(
      &watch->timer,
      [](uv_timer_t* timer) {
        auto* w = static_cast<Watch*>(timer->data);
        if (!w->predicate()) return;
        uv_timer_stop(timer);
        w->action();
        uv_close(reinterpret_cast<uv_handle_t*>(timer),
                 [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
      },
      5, 5);
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = Loop::create();
    ASSERT_TRUE(loop) << loop.error().message;
    loop_ = std::move(*loop);
    char tmpl[] = "/tmp/baton-exec-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = std::filesystem::canonical(tmpl).string();
  }

  void TearDown() override {
    loop_.reset();
    std::filesystem::remove_all(dir_);
  }

  uv_loop_t* loop() { return loop_->get(); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Runs SPEC to completion on the loop; expects exactly one exit callback.
  ProcessResult run(ProcessSpec spec) {
    int calls = 0;
    ProcessResult out;
    auto process = Process::start(loop(), std::move(spec), [&](const ProcessResult& r) {
      ++calls;
      out = r;
    });
    EXPECT_TRUE(process.has_value()) << (process ? "" : process.error().message);
    loop_->run();
    EXPECT_EQ(calls, 1);
    return out;
  }

  ProcessResult run_sh(const std::string& script) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", script};
    return run(std::move(spec));
  }

  std::unique_ptr<Loop> loop_;
  std::string dir_;
};

// --- ExitStatus -------------------------------------------------------------------

TEST(ExitStatusTest, ToStringForms) {
  ExitStatus s;
  EXPECT_EQ(s.to_string(), "exited 0");
  EXPECT_TRUE(s.success());
  s.code = 3;
  EXPECT_EQ(s.to_string(), "exited 3");
  EXPECT_FALSE(s.success());

  ExitStatus signaled{Kind::kSignaled, 0, 9, ""};
  EXPECT_EQ(signaled.to_string(), "killed by signal 9");
  EXPECT_FALSE(signaled.success());

  ExitStatus timed_out{Kind::kTimedOut, 0, SIGTERM, "", 30};
  EXPECT_EQ(timed_out.to_string(), "timed out after 30s (SIGTERM)");
  timed_out.timeout_s = 0.5;
  timed_out.signal = SIGKILL;
  EXPECT_EQ(timed_out.to_string(), "timed out after 0.5s (SIGKILL)");

  ExitStatus cancelled{Kind::kCancelled, 0, SIGKILL, ""};
  EXPECT_EQ(cancelled.to_string(), "cancelled (SIGKILL)");

  ExitStatus failed{Kind::kFailedToStart, 0, 0, "no such file or directory: foo"};
  EXPECT_EQ(failed.to_string(), "failed to start: no such file or directory: foo");
  EXPECT_FALSE(failed.success());
}

// --- Helpers ----------------------------------------------------------------------

TEST(ChildEnvTest, OverridesReplaceAndExtendEnviron) {
  ::setenv("BATON_EXEC_ENV_A", "from-baton", 1);
  ::setenv("BATON_EXEC_ENV_B", "keep", 1);
  std::vector<std::string> env =
      build_child_env({{"BATON_EXEC_ENV_A", "override"}, {"BATON_EXEC_ENV_NEW", "x=y"}});
  auto has = [&](const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
  };
  EXPECT_TRUE(has("BATON_EXEC_ENV_A=override"));
  EXPECT_FALSE(has("BATON_EXEC_ENV_A=from-baton"));
  EXPECT_TRUE(has("BATON_EXEC_ENV_B=keep"));
  EXPECT_TRUE(has("BATON_EXEC_ENV_NEW=x=y"));
}

TEST_F(ProcessTest, LogFileAppendsAndReportsOpenErrors) {
  auto log = LogFile::open(path("a.log"));
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_TRUE(log->append("one\n"));
  log->close();
  auto again = LogFile::open(path("a.log"));
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->append("two\n"));
  ASSERT_TRUE(again->sync());
  EXPECT_EQ(read_file(path("a.log")), "one\ntwo\n");

  auto missing = LogFile::open(path("no/such/dir.log"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "cannot open log file " + path("no/such/dir.log") + ": No such file or directory");
  EXPECT_EQ(missing.error().code, ENOENT);
}

TEST(ProcessGroupTest, LiveMembersAreFoundAndZombiesIgnored) {
  EXPECT_TRUE(group_has_live_members(::getpgrp()));
  EXPECT_FALSE(group_has_live_members(0));
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setpgid(0, 0);
    ::pause();
    ::_exit(0);
  }
  ::setpgid(child, child);  // also done here so the check below cannot race the child
  EXPECT_TRUE(group_has_live_members(child));
  ::kill(child, SIGKILL);
  siginfo_t info{};
  // Wait for it to become a zombie without reaping it.
  ASSERT_EQ(::waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(::kill(-child, 0), 0);  // the group still exists: its member is a zombie
  EXPECT_FALSE(group_has_live_members(child));
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(group_has_live_members(child));
}

// --- Exit statuses ----------------------------------------------------------------

TEST_F(ProcessTest, ExitCodeZeroIsSuccess) {
  ProcessResult r = run_sh("exit 0");
  EXPECT_EQ(r.status.kind, Kind::kExited);
  EXPECT_TRUE(r.status.success());
  EXPECT_EQ(r.status.to_string(), "exited 0");
  EXPECT_GT(r.pid, 0);
  EXPECT_GT(r.started_at, 1.6e9);
  EXPECT_GE(r.ended_at, r.started_at);
}

TEST_F(ProcessTest, NonZeroExitCodeIsReported) {
  ProcessResult r = run_sh("exit 3");
  EXPECT_EQ(r.status.kind, Kind::kExited);
  EXPECT_EQ(r.status.code, 3);
  EXPECT_FALSE(r.status.success());
  EXPECT_EQ(r.status.to_string(), "exited 3");
}

TEST_F(ProcessTest, KilledBySignalIsSignaled) {
  ProcessResult r = run_sh("kill -9 $$");
  EXPECT_EQ(r.status.kind, Kind::kSignaled);
  EXPECT_EQ(r.status.signal, 9);
  EXPECT_EQ(r.status.to_string(), "killed by signal 9");
}

// --- Output -----------------------------------------------------------------------

TEST_F(ProcessTest, CapturesStdoutAndStderrSeparately) {
  ProcessResult r = run_sh("printf 'hello\\nworld\\n'; printf oops >&2");
  EXPECT_EQ(r.stdout_text, "hello\nworld\n");
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_EQ(r.stderr_tail, "oops");
}

TEST_F(ProcessTest, StderrTailKeepsTheLast64KiB) {
  ProcessResult r = run_sh("head -c 300000 /dev/zero | tr '\\0' a >&2; printf END >&2");
  ASSERT_EQ(r.stderr_tail.size(), 64u * 1024);
  EXPECT_EQ(r.stderr_tail.substr(r.stderr_tail.size() - 4), "aEND");
  EXPECT_EQ(r.stderr_tail.find_first_not_of('a'), r.stderr_tail.size() - 3);
  EXPECT_EQ(r.stdout_text, "");
}

TEST_F(ProcessTest, LargeOutputIsFullyLoggedAndCaptureIsTruncated) {
  ProcessSpec spec;
  spec.argv = {"head", "-c", "10485760", "/dev/urandom"};
  spec.log_path = path("big.log");
  spec.max_capture_bytes = 1 << 20;
  ProcessResult r = run(std::move(spec));
  ASSERT_TRUE(r.status.success()) << r.status.to_string();
  EXPECT_TRUE(r.stdout_truncated);
  ASSERT_EQ(r.stdout_text.size(), 1u << 20);
  std::string log = read_file(path("big.log"));
  ASSERT_EQ(log.size(), 10485760u);
  EXPECT_EQ(log.compare(0, r.stdout_text.size(), r.stdout_text), 0);
}

TEST_F(ProcessTest, LogFileGetsBothStreamsAppended) {
  write_file(path("task.log"), "previous\n");
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo out1; echo err1 >&2; echo out2"};
  spec.log_path = path("task.log");
  ProcessResult r = run(std::move(spec));
  ASSERT_TRUE(r.status.success());
  std::string log = read_file(path("task.log"));
  EXPECT_EQ(log.rfind("previous\n", 0), 0u) << log;
  EXPECT_NE(log.find("err1\n"), std::string::npos) << log;
  size_t out1 = log.find("out1\n");
  size_t out2 = log.find("out2\n");
  ASSERT_NE(out1, std::string::npos) << log;
  ASSERT_NE(out2, std::string::npos) << log;
  EXPECT_LT(out1, out2);
  EXPECT_EQ(log.size(), std::string("previous\nout1\nerr1\nout2\n").size());
}

TEST_F(ProcessTest, LogIsWrittenWhileTheChildRuns) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo ready; while [ ! -e go ]; do sleep 0.01; done; echo done"};
  spec.cwd = dir_;
  spec.log_path = path("live.log");
  bool saw_ready_while_running = false;
  int calls = 0;
  ProcessResult result;
  auto process = Process::start(loop(), spec, [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(process);
  when(
      loop(), [&] { return read_file(path("live.log")) == "ready\n"; },
      [&] {
        saw_ready_while_running = (*process)->running();
        write_file(path("go"), "");
      });
  loop_->run();
  EXPECT_TRUE(saw_ready_while_running);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(read_file(path("live.log")), "ready\ndone\n");
}

TEST_F(ProcessTest, LogOpenFailureIsAnErrorNamingThePath) {
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.log_path = path("missing-dir/task.log");
  int calls = 0;
  auto process = Process::start(loop(), spec, [&](const ProcessResult&) { ++calls; });
  ASSERT_FALSE(process);
  EXPECT_EQ(process.error().message,
            "cannot open log file " + spec.log_path + ": No such file or directory");
  loop_->run();
  EXPECT_EQ(calls, 0);
}

TEST_F(ProcessTest, LogFileIsNotInheritedByTheChild) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "for f in /proc/$$/fd/*; do readlink \"$f\"; done; true"};
  spec.log_path = path("private.log");
  ProcessResult r = run(std::move(spec));
  ASSERT_TRUE(r.status.success()) << r.status.to_string() << r.stderr_tail << r.stdout_text;
  EXPECT_EQ(r.stdout_text.find("private.log"), std::string::npos) << r.stdout_text;
}

// --- Stdin, environment, working directory ------------------------------------------

TEST_F(ProcessTest, StdinDataIsPipedThenClosed) {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.stdin_data = std::string("line one\nline two\n");
  ProcessResult r = run(std::move(spec));
  EXPECT_TRUE(r.status.success());
  EXPECT_EQ(r.stdout_text, "line one\nline two\n");
}

TEST_F(ProcessTest, LargeStdinDataIsPipedWhileOutputFlows) {
  std::string input(3 << 20, 'x');
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.stdin_data = input;
  ProcessResult r = run(std::move(spec));
  EXPECT_TRUE(r.status.success());
  EXPECT_EQ(r.stdout_text.size(), input.size());
}

TEST_F(ProcessTest, StdinDataToAChildThatDoesNotReadIsHarmless) {
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.stdin_data = std::string(4 << 20, 'x');
  ProcessResult r = run(std::move(spec));
  EXPECT_TRUE(r.status.success()) << r.status.to_string();
}

TEST_F(ProcessTest, StdinIsDevNullByDefault) {
  ProcessSpec spec;
  spec.argv = {"readlink", "/proc/self/fd/0"};
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.stdout_text, "/dev/null\n");
}

TEST_F(ProcessTest, EnvironmentIsInheritedAndOverridden) {
  ::setenv("BATON_EXEC_TEST_INHERITED", "inherited", 1);
  ::setenv("BATON_EXEC_TEST_REPLACED", "old", 1);
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo $BATON_EXEC_TEST_INHERITED $BATON_EXEC_TEST_REPLACED $NEW_ONE"};
  spec.env = {{"BATON_EXEC_TEST_REPLACED", "new"}, {"NEW_ONE", "added"}};
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.stdout_text, "inherited new added\n");
}

TEST_F(ProcessTest, ProgramIsLookedUpInTheChildsPath) {
  std::filesystem::create_directory(path("bin"));
  write_file(path("bin/baton-hello-tool"), "#!/bin/sh\necho tool says $GREETING\n");
  ::chmod(path("bin/baton-hello-tool").c_str(), 0755);
  ProcessSpec spec;
  spec.argv = {"baton-hello-tool"};
  spec.env = {{"PATH", path("bin") + ":/usr/bin:/bin"}, {"GREETING", "hi"}};
  ProcessResult r = run(spec);
  ASSERT_TRUE(r.status.success()) << r.status.to_string();
  EXPECT_EQ(r.stdout_text, "tool says hi\n");

  // The same name is not found with baton's own PATH.
  spec.env.clear();
  r = run(spec);
  EXPECT_EQ(r.status.kind, Kind::kFailedToStart);
}

TEST_F(ProcessTest, RunsInTheGivenWorkingDirectory) {
  ProcessSpec spec;
  spec.argv = {"pwd"};
  spec.cwd = dir_;
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.stdout_text, dir_ + "\n");
}

TEST_F(ProcessTest, ChildLeadsItsOwnProcessGroupAndSession) {
  ProcessSpec spec;
  spec.argv = {"cat", "/proc/self/stat"};
  ProcessResult r = run(std::move(spec));
  // Fields after "(comm)": state ppid pgrp session ...
  std::istringstream fields(r.stdout_text.substr(r.stdout_text.rfind(')') + 1));
  std::string state;
  int ppid = 0, pgrp = 0, session = 0;
  fields >> state >> ppid >> pgrp >> session;
  EXPECT_EQ(ppid, ::getpid());
  EXPECT_EQ(pgrp, r.pid);
  EXPECT_EQ(session, r.pid);
}

TEST_F(ProcessTest, ChildGetsDefaultSignalDispositions) {
  // Starting a Process makes baton ignore SIGPIPE; the child must not inherit that.
  ProcessSpec spec;
  spec.argv = {"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"};
  ProcessResult r = run(std::move(spec));
  struct sigaction current {};
  sigaction(SIGPIPE, nullptr, &current);
  EXPECT_EQ(current.sa_handler, SIG_IGN);
  EXPECT_NE(r.stdout_text.find("SigBlk:\t0000000000000000"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("SigIgn:\t0000000000000000"), std::string::npos) << r.stdout_text;
}

// --- Failure to start ---------------------------------------------------------------

// The pids of this process's children, zombies included (/proc/self/task/*/children).
std::set<int> children_of_this_process() {
  std::set<int> pids;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "children");
    for (int pid; in >> pid;) pids.insert(pid);
  }
  return pids;
}

TEST_F(ProcessTest, MissingProgramFailsToStartThroughTheCallback) {
  const std::set<int> children_before = children_of_this_process();
  ProcessSpec spec;
  spec.argv = {"baton-no-such-program-xyz", "arg"};
  int calls = 0;
  ProcessResult result;
  auto process = Process::start(loop(), spec, [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(process);
  EXPECT_EQ(calls, 0);  // delivered on the loop, never from inside start()
  EXPECT_FALSE((*process)->running());
  EXPECT_EQ((*process)->pid(), 0);
  loop_->run();
  ASSERT_EQ(calls, 1);
  EXPECT_EQ(result.status.kind, Kind::kFailedToStart);
  EXPECT_EQ(result.status.error, "no such file or directory: baton-no-such-program-xyz");
  EXPECT_EQ(result.status.to_string(),
            "failed to start: no such file or directory: baton-no-such-program-xyz");
  EXPECT_EQ(result.pid, 0);
  // The child that failed to exec was reaped: this test binary has no child (not even
  // a zombie) it did not have before. Others may live on from earlier tests (a run
  // supervisor of a SupervisedTest run before this one under --gtest_shuffle).
  for (int pid : children_of_this_process()) {
    EXPECT_TRUE(children_before.count(pid)) << "child " << pid << " left behind";
  }
}

TEST_F(ProcessTest, NonExecutableFileFailsToStart) {
  write_file(path("not-executable"), "#!/bin/sh\n");
  ProcessSpec spec;
  spec.argv = {path("not-executable")};
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kFailedToStart);
  EXPECT_EQ(r.status.error, "permission denied: " + path("not-executable"));
}

TEST_F(ProcessTest, MissingWorkingDirectoryFailsToStartNamingIt) {
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.cwd = path("nope");
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kFailedToStart);
  EXPECT_EQ(r.status.error,
            "cannot enter working directory " + path("nope") + ": No such file or directory");
}

TEST_F(ProcessTest, EmptyArgvFailsToStart) {
  ProcessResult r = run(ProcessSpec{});
  EXPECT_EQ(r.status.kind, Kind::kFailedToStart);
  EXPECT_EQ(r.status.error, "empty argv");
}

// --- Timeout and termination -----------------------------------------------------------

TEST_F(ProcessTest, TimeoutSendsSigtermToTheGroup) {
  ProcessSpec spec;
  spec.argv = {"sleep", "100"};
  spec.timeout_s = 0.2;
  spec.kill_grace_s = 30;
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kTimedOut);
  EXPECT_EQ(r.status.signal, SIGTERM);
  EXPECT_EQ(r.status.to_string(), "timed out after 0.2s (SIGTERM)");
  EXPECT_LT(r.ended_at - r.started_at, 25);  // well before the grace would have run out
}

TEST_F(ProcessTest, TimeoutEscalatesToSigkillWhenTermIsIgnored) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "trap '' TERM; sleep 100"};
  spec.timeout_s = 0.5;
  spec.kill_grace_s = 0.2;
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kTimedOut);
  EXPECT_EQ(r.status.signal, SIGKILL);
  EXPECT_EQ(r.status.to_string(), "timed out after 0.5s (SIGKILL)");
}

TEST_F(ProcessTest, TerminateReportsCancelled) {
  ProcessSpec spec;
  spec.argv = {"sleep", "100"};
  int calls = 0;
  ProcessResult result;
  auto process = Process::start(loop(), spec, [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(process);
  EXPECT_TRUE((*process)->running());
  (*process)->terminate();
  loop_->run();
  ASSERT_EQ(calls, 1);
  EXPECT_EQ(result.status.kind, Kind::kCancelled);
  EXPECT_EQ(result.status.signal, SIGTERM);
  EXPECT_EQ(result.status.to_string(), "cancelled (SIGTERM)");
  EXPECT_FALSE((*process)->running());
  (*process)->terminate();  // no-op once ended
  loop_->run();
  EXPECT_EQ(calls, 1);
}

TEST_F(ProcessTest, TerminateEscalatesToSigkillAfterTheGrace) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "trap '' TERM; echo ready; sleep 100"};
  spec.log_path = path("stubborn.log");
  spec.kill_grace_s = 0.2;
  ProcessResult result;
  auto process = Process::start(loop(), spec, [&](const ProcessResult& r) { result = r; });
  ASSERT_TRUE(process);
  when(
      loop(), [&] { return read_file(spec.log_path) == "ready\n"; },
      [&] { (*process)->terminate(); });
  loop_->run();
  EXPECT_EQ(result.status.kind, Kind::kCancelled);
  EXPECT_EQ(result.status.to_string(), "cancelled (SIGKILL)");
}

// --- Process groups --------------------------------------------------------------------

TEST_F(ProcessTest, BackgroundGrandchildIsKilledAndTheLeaderStatusKept) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 100 & echo $! > grandchild.pid; exit 4"};
  spec.cwd = dir_;
  spec.kill_grace_s = 30;
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kExited);
  EXPECT_EQ(r.status.code, 4);
  int grandchild = std::stoi(read_file(path("grandchild.pid")));
  EXPECT_TRUE(gone_or_zombie(grandchild));
}

TEST_F(ProcessTest, BackgroundGrandchildIgnoringTermIsKilledAfterTheGrace) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "trap '' TERM; sleep 100 & echo $! > grandchild.pid"};
  spec.cwd = dir_;
  spec.kill_grace_s = 0.2;
  ProcessResult r = run(std::move(spec));
  EXPECT_TRUE(r.status.success()) << r.status.to_string();
  int grandchild = std::stoi(read_file(path("grandchild.pid")));
  EXPECT_TRUE(gone_or_zombie(grandchild));
}

TEST_F(ProcessTest, DestroyingARunningProcessKillsAndReapsTheGroup) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 100 & echo $! > grandchild.pid; wait"};
  spec.cwd = dir_;
  spec.kill_grace_s = 30;
  int calls = 0;
  auto started = Process::start(loop(), spec, [&](const ProcessResult&) { ++calls; });
  ASSERT_TRUE(started);
  std::unique_ptr<Process> process = std::move(*started);
  int leader = process->pid();
  when(
      loop(), [&] { return read_file(path("grandchild.pid")).ends_with("\n"); },
      [&] { process.reset(); });
  loop_->run();  // returns once the destroyed Process's handles have closed
  EXPECT_EQ(process, nullptr);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(::kill(leader, 0), -1);  // reaped synchronously: not even a zombie
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(gone_or_zombie(std::stoi(read_file(path("grandchild.pid")))));
}

// --- Callbacks and lifetime ------------------------------------------------------------

TEST_F(ProcessTest, CallbackMayDestroyTheProcess) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo bye"};
  std::unique_ptr<Process> process;
  int calls = 0;
  bool running_in_callback = true;
  std::string out;
  auto started = Process::start(loop(), spec, [&](const ProcessResult& r) {
    ++calls;
    running_in_callback = process->running();
    process.reset();
    out = r.stdout_text;  // R stays valid after the Process is gone
  });
  ASSERT_TRUE(started);
  process = std::move(*started);
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(running_in_callback);
  EXPECT_EQ(process, nullptr);
  EXPECT_EQ(out, "bye\n");
}

TEST_F(ProcessTest, ManyProcessesShareOneLoop) {
  constexpr int kCount = 6;
  std::vector<std::unique_ptr<Process>> processes;
  std::vector<std::string> outputs(kCount);
  int calls = 0;
  for (int i = 0; i < kCount; ++i) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", "echo task $0; exit $0", std::to_string(i)};
    auto started = Process::start(loop(), spec, [&, i](const ProcessResult& r) {
      ++calls;
      outputs[i] = r.stdout_text + r.status.to_string();
    });
    ASSERT_TRUE(started);
    processes.push_back(std::move(*started));
  }
  loop_->run();
  EXPECT_EQ(calls, kCount);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(outputs[i], "task " + std::to_string(i) + "\nexited " + std::to_string(i));
  }
}

}  // namespace
}  // namespace baton::exec
