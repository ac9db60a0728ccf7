// Attempts under a supervisor (supervised.h) against real processes: the built
// baton-supervise (BATON_SUPERVISE_BINARY), sh, sleep, cat, real files and locks.
#include "exec/supervised.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "exec/attempt_file.h"
#include "exec/child_spawn.h"
#include "exec/loop.h"
#include "exec/redactor.h"
#include "exec/spawn.h"

namespace baton::exec {
namespace {

using Kind = ExitStatus::Kind;
using State = AttemptState::Kind;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Bounded polling for an event in another process (up to 10 s); true once PREDICATE held.
bool eventually(const std::function<bool()>& predicate) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

// True when PID no longer runs: gone, or a zombie (reparented to init, reaped late).
bool gone_or_zombie(int pid) {
  return eventually([pid] {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
  });
}

// The pid written by the child into PATH, once it is there.
int pid_from_file(const std::string& path) {
  int pid = 0;
  eventually([&] {
    std::string text = read_file(path);
    if (text.empty() || text.back() != '\n') return false;
    pid = std::atoi(text.c_str());
    return true;
  });
  return pid;
}

// Calls ACTION once PREDICATE holds, checking every 5 ms on LOOP.
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

class SupervisedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("BATON_SUPERVISOR", BATON_SUPERVISE_BINARY, 1);
    auto loop = Loop::create();
    ASSERT_TRUE(loop) << loop.error().message;
    loop_ = std::move(*loop);
    char tmpl[] = "/tmp/baton-supervised-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = std::filesystem::canonical(tmpl).string();
  }

  void TearDown() override {
    loop_.reset();
    std::filesystem::remove_all(dir_);
  }

  uv_loop_t* loop() { return loop_->get(); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string log_path() const { return path("task.1.log"); }
  std::string control() const { return control_path_for(log_path()); }

  ProcessSpec sh(const std::string& script) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", script};
    spec.log_path = log_path();
    return spec;
  }

  // Runs SPEC to completion on the loop; expects exactly one exit callback.
  ProcessResult run(ProcessSpec spec) {
    int calls = 0;
    ProcessResult out;
    auto started = Supervised::start(loop(), std::move(spec), [&](const ProcessResult& r) {
      ++calls;
      out = r;
    });
    EXPECT_TRUE(started.has_value()) << (started ? "" : started.error().message);
    loop_->run();
    EXPECT_EQ(calls, 1);
    return out;
  }

  std::unique_ptr<Loop> loop_;
  std::string dir_;
};

// --- Redactor ---------------------------------------------------------------------

TEST(RedactorTest, ReplacesSecretsAcrossChunkBoundaries) {
  Redactor r({"hunter2", "", "abc"});
  std::string out = r.push("x hun");
  EXPECT_EQ(out, "x ");  // "hun" may be the start of a secret: held back
  out += r.push("ter2 y ab");
  out += r.push("c z a");
  out += r.finish();
  EXPECT_EQ(out, "x *** y *** z a");
}

TEST(RedactorTest, LongerSecretWinsAndHeldTailIsRedactedAtTheEnd) {
  Redactor r({"abc", "abcdef"});
  std::string out = r.push("abcd");
  EXPECT_EQ(out, "");  // "abcd" may become "abcdef"
  out += r.finish();   // it did not: "abc" is still a secret
  EXPECT_EQ(out, "***d");
  Redactor r2({"abc", "abcdef"});
  std::string out2 = r2.push("abcdefabc");
  EXPECT_EQ(out2, "***");
  EXPECT_EQ(out2 + r2.finish(), "******");
}

TEST(RedactorTest, NoSecretsPassesBytesThrough) {
  Redactor r({});
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.push(std::string("a\0b", 3)), std::string("a\0b", 3));
}

// --- Control file format ------------------------------------------------------------

TEST(AttemptFileTest, PathsAndRecordsRoundTrip) {
  EXPECT_EQ(control_path_for("/r/logs/t.2.log"), "/r/logs/t.2.attempt");
  EXPECT_EQ(control_path_for("/r/out"), "/r/out.attempt");
  EXPECT_EQ(stdout_path_for_control("/r/logs/t.2.attempt"), "/r/logs/t.2.stdout");

  StartedRecord started{123, 456, 7, 789, 1011, 1.5};
  ExitRecord exit;
  exit.status.kind = Kind::kTimedOut;
  exit.status.signal = SIGKILL;
  exit.status.timeout_s = 2.5;
  exit.child_pid = 789;
  exit.stderr_tail = "bad \xff byte";
  std::string text = format_started_record(started) + format_exit_record(exit) + "{\"rec";
  auto records = parse_control_records(text);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_TRUE(records->started);
  EXPECT_EQ(records->started->supervisor_start, 456);
  EXPECT_EQ(records->started->attempt_id, 7u);
  EXPECT_EQ(records->started->child_start, 1011);
  ASSERT_TRUE(records->exit);
  EXPECT_EQ(records->exit->status.to_string(), "timed out after 2.5s (SIGKILL)");
  EXPECT_EQ(records->exit->stderr_tail, "bad \xef\xbf\xbd byte");  // U+FFFD

  auto bad = parse_control_records("{\"record\":\"exit\",\"kind\":\"odd\"}\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "line 1: unknown exit kind");
}

TEST(AttemptFileTest, ATornRecordInAJournalHidesNoOtherRecord) {
  StartedRecord mine{123, 456, 7, 789, 1011, 1.5};
  mine.key = "t.1";
  StartedRecord other{123, 456, 8, 790, 1012, 1.6};
  other.key = "t.2";
  ExitRecord exit;
  exit.child_pid = 789;
  exit.key = "t.1";
  // t.2's started record torn by a crash, then a newline the clean-up wrote first.
  std::string torn = format_started_record(other);
  std::string text = format_started_record(mine) + torn.substr(0, torn.size() / 2) + "\n" +
                     format_exit_record(exit);
  auto records = parse_control_records(text, "t.1");
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_TRUE(records->started);
  EXPECT_EQ(records->started->attempt_id, 7u);
  ASSERT_TRUE(records->exit);
  auto theirs = parse_control_records(text, "t.2");
  ASSERT_TRUE(theirs) << theirs.error().message;
  EXPECT_FALSE(theirs->started);  // torn: as if never written, so never "finished"
  EXPECT_FALSE(theirs->exit);
}

TEST(AttemptFileTest, SpecRoundTripsBytesThatAreNotUtf8) {
  SupervisorSpec spec;
  spec.argv = {"prog", "arg\xff"};
  spec.env = {"A=\x80"};
  spec.stdin_data = std::string("in\0put", 6);
  spec.timeout_s = 1.5;
  spec.redact = {"s3cret"};
  spec.log_path = "/l";
  spec.stdout_path = "/o";
  auto decoded = decode_spec(encode_spec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->argv, spec.argv);
  EXPECT_EQ(decoded->env, spec.env);
  EXPECT_EQ(decoded->stdin_data, spec.stdin_data);
  EXPECT_EQ(decoded->timeout_s, 1.5);
  EXPECT_EQ(decoded->redact, spec.redact);
  EXPECT_TRUE(decoded->rlimits.empty());
  EXPECT_FALSE(decode_spec("junk"));
}

TEST(AttemptFileTest, SpecRoundTripsResourceLimits) {
  SupervisorSpec spec;
  spec.argv = {"prog"};
  spec.rlimits = {{RLIMIT_NPROC, 64}, {RLIMIT_DATA, 1ULL << 40}};
  spec.umask = 002;
  auto decoded = decode_spec(encode_spec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->rlimits.size(), 2u);
  EXPECT_EQ(decoded->rlimits[0].resource, RLIMIT_NPROC);
  EXPECT_EQ(decoded->rlimits[0].value, 64u);
  EXPECT_EQ(decoded->rlimits[1].resource, RLIMIT_DATA);
  EXPECT_EQ(decoded->rlimits[1].value, 1ULL << 40);
  EXPECT_EQ(decoded->umask, 002);
}

TEST(AttemptFileTest, SpecNamesItsBaseEnvironmentAndTheBaseRoundTrips) {
  SupervisorSpec spec;
  spec.argv = {"prog"};
  spec.env = {"BATON_TASK_ID=t1"};
  spec.env_base = 3;
  auto decoded = decode_spec(encode_spec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->env_base, 3u);
  EXPECT_EQ(decoded->env, spec.env);
  EXPECT_EQ(decoded->kill_grace_s, spec.kill_grace_s);
  EXPECT_EQ(decoded->max_capture_bytes, spec.max_capture_bytes);
  EXPECT_FALSE(decoded->timeout_s);
  EXPECT_EQ(decoded->umask, -1);

  std::vector<std::string> env = {"A=1", "B=\xff", "EMPTY="};
  auto base = decode_env(encode_env(env));
  ASSERT_TRUE(base) << base.error().message;
  EXPECT_EQ(*base, env);
}

// kEnded carries the exit record in binary; the orchestrator must read the same record
// as anyone reading the journal's JSON line, bad UTF-8 included.
TEST(AttemptFileTest, TheBinaryExitRecordReadsAsTheJournalsLine) {
  ExitRecord exit;
  exit.status.kind = Kind::kSignaled;
  exit.status.signal = SIGTERM;
  exit.status.error = "SIGTERM sent by \xc3";
  exit.child_pid = 4242;
  exit.started_at = 1765000000.123456;
  exit.ended_at = 1765000001.5;
  exit.stdout_truncated = true;
  exit.stdout_bytes = 12;
  exit.output_error = "cannot write \xe2\x82";
  exit.key = "t.3";
  for (const std::string tail :
       {std::string("plain"), std::string("bad \xff byte"), std::string("cut \xe2\x82(A"),
        std::string("overlong \xc0\xaf, surrogate \xed\xa0\x80, big \xf4\x90\x80\x80"),
        std::string("ok \xe2\x82\xac \xf0\x9f\x98\x80 end \xf0\x9f"), std::string("nul\0!", 5),
        std::string("ctl \x01\x1f\x7f \n\t\r\b\f \"q\" \\ end")}) {
    exit.stderr_tail = tail;
    auto binary = decode_exit(encode_exit(exit));
    ASSERT_TRUE(binary) << binary.error().message;
    auto line = parse_control_records(format_exit_record(exit));
    ASSERT_TRUE(line) << line.error().message;
    ASSERT_TRUE(line->exit);
    EXPECT_EQ(binary->stderr_tail, line->exit->stderr_tail) << tail;
    // ... and both as nlohmann's replacing dump of the same text reads back.
    const std::string dumped =
        nlohmann::json(tail).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    EXPECT_EQ(binary->stderr_tail, nlohmann::json::parse(dumped).get<std::string>()) << tail;
    EXPECT_EQ(binary->status.error, line->exit->status.error);
    EXPECT_EQ(binary->output_error, line->exit->output_error);
    EXPECT_EQ(binary->status.to_string(), line->exit->status.to_string());
    EXPECT_EQ(binary->child_pid, 4242);
    EXPECT_EQ(binary->started_at, exit.started_at);
    EXPECT_EQ(binary->ended_at, exit.ended_at);
    EXPECT_TRUE(binary->stdout_truncated);
    EXPECT_EQ(binary->stdout_bytes, 12);
    EXPECT_EQ(binary->key, "t.3");
  }
  EXPECT_FALSE(decode_exit(""));  // no kind
  EXPECT_FALSE(decode_exit(encode_exit(exit).substr(0, 7)));
}

TEST(AttemptFileTest, ASpecThatIsCutOrOddIsAnErrorNeverACrash) {
  SupervisorSpec spec;
  spec.argv = {"prog", "arg"};
  spec.timeout_s = 2;
  spec.rlimits = {{RLIMIT_NPROC, 5}};
  const std::string bytes = encode_spec(spec);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto decoded = decode_spec(std::string_view(bytes).substr(0, cut));
    if (decoded) EXPECT_FALSE(decoded->argv.empty());  // a prefix that ends between fields
  }
  auto truncated = decode_spec(bytes.substr(0, bytes.size() - 1));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().message, "bad supervisor spec: a truncated field");
  std::string unknown = bytes;
  unknown[0] = static_cast<char>(99);  // the first field's tag
  auto odd = decode_spec(unknown);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().message, "bad supervisor spec: a bad field (tag 99)");
  EXPECT_FALSE(decode_env(bytes));  // a spec is no environment
}

// --- Supervised: the Process contract ------------------------------------------------

TEST_F(SupervisedTest, ExitCodeStdoutStderrAndTimes) {
  ProcessResult r = run(sh("printf out; printf err >&2; exit 3"));
  EXPECT_EQ(r.status.kind, Kind::kExited);
  EXPECT_EQ(r.status.code, 3);
  EXPECT_EQ(r.stdout_text, "out");
  EXPECT_EQ(r.stderr_tail, "err");
  EXPECT_GT(r.pid, 0);
  EXPECT_GT(r.started_at, 0);
  EXPECT_GE(r.ended_at, r.started_at);
  AttemptState state = inspect_attempt(control());
  EXPECT_EQ(state.kind, State::kFinished) << state.detail;
  EXPECT_EQ(state.result.status.code, 3);
}

// A task starts with no signal blocked or ignored: SIGTERM from a cancel must end its
// shell, whatever the supervisor blocks for itself (SIGPIPE, its signalfd's signals)
// and whatever glibc's posix_spawn left ignored in it (its internal signals 32 and
// 33, SIG_IGN in every posix_spawn child, which exec keeps).
// The task's own process is read (exec: grep keeps the mask and the ignored signals it
// starts with); a child's view of the shell raced with dash, which blocks every signal
// while it waits for that child.
TEST_F(SupervisedTest, ChildStartsWithNoSignalBlockedOrIgnored) {
  ProcessResult r = run(sh("exec grep -E '^Sig(Blk|Ign)' /proc/self/status"));
  EXPECT_EQ(r.stdout_text, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(SupervisedTest, ResourceLimitsApplyToTheChildSoftAndHard) {
  ProcessSpec spec = sh("echo $(ulimit -n) $(ulimit -Hn) $(ulimit -t) $(umask)");
  spec.rlimits = {{RLIMIT_NOFILE, 77}, {RLIMIT_CPU, 9}};
  spec.umask = 002;
  ProcessResult r = run(spec);
  EXPECT_EQ(r.status.kind, Kind::kExited) << r.status.to_string();
  EXPECT_EQ(r.stdout_text, "77 77 9 0002\n");
}

TEST_F(SupervisedTest, ATaskWithoutLimitsStartsWithTheOpenFilesLimitBatonHad) {
  // The supervisor raises its own soft limit (it holds descriptors for every attempt);
  // the task must not inherit that. Lowered here first, so that a raise would show.
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit lowered = before;
  lowered.rlim_cur = 321;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  ProcessSpec spec = sh("ulimit -n");
  spec.log_path = path("nofile.1.log");
  // A supervisor of its own, started with the lowered limit: the same program under
  // another name is another supervisor.
  const std::filesystem::path program(BATON_SUPERVISE_BINARY);
  const std::string alias = (program.parent_path() / "." / program.filename()).string();
  ::setenv("BATON_SUPERVISOR", alias.c_str(), 1);
  auto other = Loop::create();
  ASSERT_TRUE(other);
  ProcessResult r;
  auto started = Supervised::start((*other)->get(), std::move(spec),
                                   [&](const ProcessResult& result) { r = result; });
  ASSERT_TRUE(started) << started.error().message;
  (*other)->run();
  ::setenv("BATON_SUPERVISOR", BATON_SUPERVISE_BINARY, 1);
  ::setrlimit(RLIMIT_NOFILE, &before);
  EXPECT_EQ(r.stdout_text, "321\n");
}

TEST_F(SupervisedTest, ALimitThatCannotBeSetFailsTheStart) {
  ProcessSpec spec = sh("echo ran");
  spec.rlimits = {{9999, 1}};  // no such resource
  ProcessResult r = run(spec);
  EXPECT_EQ(r.status.kind, Kind::kFailedToStart);
  EXPECT_EQ(r.status.error, "cannot set the resource limits: Invalid argument");
  EXPECT_EQ(r.stdout_text, "");
}

TEST_F(SupervisedTest, LogGetsOutputInOrderAsItArrives) {
  // The child writes, then waits until the test saw that write in the log.
  std::string go = path("go");
  ProcessSpec spec = sh("printf 'first\\000\\377\\n'; while [ ! -e " + go +
                        " ]; do sleep 0.01; done; printf 'second\\n'; printf 'third\\n' >&2");
  int calls = 0;
  ProcessResult result;
  auto started = Supervised::start(loop(), std::move(spec), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(started) << started.error().message;
  bool seen_while_running = false;
  when(
      loop(), [&] { return read_file(log_path()).size() == 8; },
      [&] {
        seen_while_running = (*started)->running();
        std::ofstream(go) << "";
      });
  loop_->run();
  EXPECT_TRUE(seen_while_running);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(read_file(log_path()), std::string("first\0\xff\nsecond\nthird\n", 21));
  EXPECT_EQ(result.stdout_text, std::string("first\0\xff\nsecond\n", 15));
}

TEST_F(SupervisedTest, StdoutCaptureIsBoundedAndTheLogKeepsAll) {
  ProcessSpec spec = sh("printf 'hello world'");
  spec.max_capture_bytes = 5;
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.stdout_text, "hello");
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(read_file(log_path()), "hello world");
}

TEST_F(SupervisedTest, StdinDataReachesTheChild) {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.log_path = log_path();
  spec.stdin_data = std::string("in\0put", 6);
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.stdout_text, std::string("in\0put", 6));
  ProcessResult none = run(sh("cat; echo end"));  // /dev/null by default
  EXPECT_EQ(none.stdout_text, "end\n");
  ProcessResult silent = run(sh("true"));  // no stdout, no stdout file
  EXPECT_EQ(silent.stdout_text, "");
  EXPECT_FALSE(std::filesystem::exists(stdout_path_for_control(control())));
  ProcessSpec quiet = sh("true");
  quiet.log_path = path("quiet.1.log");
  EXPECT_TRUE(run(std::move(quiet)).status.success());
  EXPECT_FALSE(std::filesystem::exists(path("quiet.1.log")));  // no output, no log file
  EXPECT_TRUE(std::filesystem::exists(path("quiet.1.attempt")));
}

TEST_F(SupervisedTest, EnvironmentCwdAndOwnSession) {
  ProcessSpec spec = sh("echo $BATON_SV_TEST; pwd; ps -o sid= -o pgid= -p $$");
  spec.env = {{"BATON_SV_TEST", "set"}};
  spec.cwd = dir_;
  ProcessResult r = run(std::move(spec));
  std::istringstream lines(r.stdout_text);
  std::string env, cwd;
  int sid = 0, pgid = 0;
  lines >> env >> cwd >> sid >> pgid;
  EXPECT_EQ(env, "set");
  EXPECT_EQ(cwd, dir_);
  EXPECT_EQ(sid, r.pid);
  EXPECT_EQ(pgid, r.pid);
}

TEST_F(SupervisedTest, KilledBySignalIsSignaled) {
  ProcessResult r = run(sh("kill -9 $$"));
  EXPECT_EQ(r.status.kind, Kind::kSignaled);
  EXPECT_EQ(r.status.signal, SIGKILL);
}

TEST_F(SupervisedTest, MissingProgramAndDirectoryFailToStart) {
  ProcessSpec spec;
  spec.argv = {"baton-no-such-program"};
  spec.log_path = log_path();
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kFailedToStart);
  EXPECT_EQ(r.status.error, "no such file or directory: baton-no-such-program");

  ProcessSpec in_missing = sh("true");
  in_missing.cwd = path("missing");
  r = run(std::move(in_missing));
  EXPECT_EQ(r.status.to_string(), "failed to start: cannot enter working directory " +
                                      path("missing") + ": No such file or directory");
}

TEST_F(SupervisedTest, StartErrorsNameTheReason) {
  ProcessSpec spec;
  spec.argv = {"true"};
  auto no_log = Supervised::start(loop(), spec, nullptr);
  ASSERT_FALSE(no_log);
  EXPECT_EQ(no_log.error().message, "a supervised attempt needs a log path");
  spec.log_path = path("missing/x.log");
  auto bad_log = Supervised::start(loop(), spec, nullptr);
  ASSERT_FALSE(bad_log);
  // The control file beside the log cannot be made: the error names it.
  EXPECT_NE(bad_log.error().message.find(path("missing/x.attempt")), std::string::npos)
      << bad_log.error().message;
}

TEST_F(SupervisedTest, TimeoutKillsTheWholeGroupIncludingAGrandchild) {
  std::string grandchild = path("grandchild");
  ProcessSpec spec = sh("sleep 100 & echo $! > " + grandchild + "; sleep 100");
  spec.timeout_s = 0.2;
  spec.kill_grace_s = 5;
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kTimedOut);
  EXPECT_EQ(r.status.signal, SIGTERM);
  EXPECT_EQ(r.status.to_string(), "timed out after 0.2s (SIGTERM)");
  int pid = pid_from_file(grandchild);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(gone_or_zombie(pid));
}

TEST_F(SupervisedTest, TimeoutEscalatesToSigkillWhenTermIsIgnored) {
  ProcessSpec spec = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
  spec.timeout_s = 0.1;
  spec.kill_grace_s = 0.2;
  ProcessResult r = run(std::move(spec));
  EXPECT_EQ(r.status.kind, Kind::kTimedOut);
  EXPECT_EQ(r.status.signal, SIGKILL);
}

TEST_F(SupervisedTest, TerminateReportsCancelled) {
  int calls = 0;
  ProcessResult result;
  auto started = Supervised::start(loop(), sh("echo up; sleep 100"), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_GT((*started)->pid(), 0);
  when(
      loop(), [&] { return read_file(log_path()) == "up\n"; }, [&] { (*started)->terminate(); });
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.status.kind, Kind::kCancelled);
  EXPECT_EQ(result.status.signal, SIGTERM);
  EXPECT_FALSE((*started)->running());
}

// Only baton's own requests (request_pidfd) cancel: a plain kill(2) of the supervisor by
// anyone else ends the attempt as killed by that signal, naming the sender.
TEST_F(SupervisedTest, SigtermFromAnotherProcessIsNotACancellation) {
  int calls = 0;
  ProcessResult result;
  auto started = Supervised::start(loop(), sh("echo up; sleep 100"), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(started) << started.error().message;
  when(
      loop(), [&] { return read_file(log_path()) == "up\n"; },
      [&] { ::kill((*started)->supervisor_pid(), SIGTERM); });
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.status.kind, Kind::kSignaled);
  EXPECT_EQ(result.status.signal, SIGTERM);
  EXPECT_EQ(result.status.to_string(),
            "killed by signal 15 (SIGTERM sent to its supervisor by pid " +
                std::to_string(::getpid()) + ")");
  EXPECT_TRUE(gone_or_zombie(result.pid));
}

TEST_F(SupervisedTest, CancelAttemptFromAnotherProcessesView) {
  int calls = 0;
  ProcessResult result;
  auto started = Supervised::start(loop(), sh("echo up; sleep 100"), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(started) << started.error().message;
  Result<void> cancelled = fail("not called");
  when(
      loop(), [&] { return read_file(log_path()) == "up\n"; },
      [&] { cancelled = cancel_attempt(control()); });
  loop_->run();
  EXPECT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(result.status.kind, Kind::kCancelled);
  auto again = cancel_attempt(control());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message,
            "cannot cancel attempt " + control() + ": not running (cancelled (SIGTERM))");
}

TEST_F(SupervisedTest, DestroyingARunningAttemptKillsAndReapsEverything) {
  std::string grandchild = path("grandchild");
  int calls = 0;
  auto started =
      Supervised::start(loop(), sh("sleep 100 & echo $! > " + grandchild + "; sleep 100"),
                        [&](const ProcessResult&) { ++calls; });
  ASSERT_TRUE(started) << started.error().message;
  int child = (*started)->pid();
  int supervisor = (*started)->supervisor_pid();
  int grand = pid_from_file(grandchild);
  ASSERT_GT(child, 0);
  ASSERT_GT(grand, 0);
  started->reset();
  // The run supervisor serves the next attempts; the attempt's child was its own and is
  // reaped.
  EXPECT_EQ(::kill(supervisor, 0), 0);
  EXPECT_EQ(::kill(child, 0), -1);
  EXPECT_TRUE(gone_or_zombie(grand));
  loop_->run();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(inspect_attempt(control()).result.status.kind, Kind::kCancelled);
}

TEST_F(SupervisedTest, SecretsAreRedactedEvenWhenSplitAcrossWrites) {
  std::string go = path("go");
  ProcessSpec spec = sh("printf 'before hun'; while [ ! -e " + go +
                        " ]; do sleep 0.01; done; printf 'ter2 after\\n'; echo hunter2 >&2");
  spec.redact = {"hunter2"};
  int calls = 0;
  ProcessResult result;
  auto started = Supervised::start(loop(), std::move(spec), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(started) << started.error().message;
  // "hun" is held back until the next read shows whether the secret follows.
  when(
      loop(), [&] { return read_file(log_path()) == "before "; }, [&] { std::ofstream(go) << ""; });
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.stdout_text, "before *** after\n");
  EXPECT_EQ(result.stderr_tail, "***\n");
  EXPECT_EQ(read_file(log_path()), "before *** after\n***\n");
  EXPECT_EQ(read_file(control()).find("hunter2"), std::string::npos);
}

TEST_F(SupervisedTest, ProcessRedactsTheSameWay) {
  // exec::Process shares the Redactor: same spec, same output.
  std::string go = path("go");
  ProcessSpec spec = sh("printf 'before hun'; while [ ! -e " + go +
                        " ]; do sleep 0.01; done; printf 'ter2 after\\n'; echo hunter2 >&2");
  spec.redact = {"hunter2"};
  int calls = 0;
  ProcessResult result;
  auto started = Process::start(loop(), std::move(spec), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(started) << started.error().message;
  when(
      loop(), [&] { return read_file(log_path()) == "before "; }, [&] { std::ofstream(go) << ""; });
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.stdout_text, "before *** after\n");
  EXPECT_EQ(result.stderr_tail, "***\n");
  EXPECT_EQ(read_file(log_path()), "before *** after\n***\n");
}

// --- Surviving the orchestrator ---------------------------------------------------

TEST_F(SupervisedTest, DetachThenAttachFromAnotherLoopGetsTheRealResult) {
  std::string go = path("go");
  auto started = Supervised::start(
      loop(), sh("while [ ! -e " + go + " ]; do sleep 0.01; done; echo out; exit 4"),
      [](const ProcessResult&) { ADD_FAILURE() << "callback after detach"; });
  ASSERT_TRUE(started) << started.error().message;
  int supervisor = (*started)->supervisor_pid();
  int child = (*started)->pid();
  (*started)->detach();
  EXPECT_FALSE((*started)->running());
  started->reset();  // does not stop a detached attempt
  loop_->run();

  AttemptState state = inspect_attempt(control());
  EXPECT_EQ(state.kind, State::kRunning) << state.detail;
  EXPECT_EQ(state.supervisor_pid, supervisor);
  EXPECT_EQ(state.child_pid, child);

  auto other = Loop::create();
  ASSERT_TRUE(other);
  int calls = 0;
  ProcessResult result;
  auto attached = Supervised::attach((*other)->get(), control(), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(attached) << attached.error().message;
  EXPECT_EQ((*attached)->pid(), child);
  EXPECT_TRUE((*attached)->running());
  std::ofstream(go) << "";
  (*other)->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.status.kind, Kind::kExited);
  EXPECT_EQ(result.status.code, 4);
  EXPECT_EQ(result.stdout_text, "out\n");
  EXPECT_EQ(result.pid, child);
}

TEST_F(SupervisedTest, AttemptThatEndedUnwatchedIsFinishedWithItsRealResult) {
  auto started = Supervised::start(loop(), sh("echo hi; echo oops >&2; exit 5"), nullptr);
  ASSERT_TRUE(started) << started.error().message;
  int supervisor = (*started)->supervisor_pid();
  (*started)->detach();
  started->reset();
  ASSERT_TRUE(eventually([&] { return inspect_attempt(control()).kind == State::kFinished; }));
  AttemptState state = inspect_attempt(control());
  EXPECT_EQ(state.result.status.code, 5);
  EXPECT_EQ(state.result.stdout_text, "hi\n");
  EXPECT_EQ(state.result.stderr_tail, "oops\n");

  // attach() to a finished attempt calls back on the next loop iteration.
  int calls = 0;
  ProcessResult result;
  auto attached = Supervised::attach(loop(), control(), [&](const ProcessResult& r) {
    ++calls;
    result = r;
  });
  ASSERT_TRUE(attached) << attached.error().message;
  EXPECT_EQ(calls, 0);
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.status.code, 5);
  EXPECT_EQ(result.stdout_text, "hi\n");
  EXPECT_EQ(::kill(supervisor, 0), 0);  // the run supervisor lives on for the next attempts
}

TEST_F(SupervisedTest, KilledSupervisorIsLostAndCleanUpKillsTheRest) {
  std::string grandchild = path("grandchild");
  auto started =
      Supervised::start(loop(), sh("sleep 100 & echo $! > " + grandchild + "; wait"), nullptr);
  ASSERT_TRUE(started) << started.error().message;
  int supervisor = (*started)->supervisor_pid();
  int child = (*started)->pid();
  int grand = pid_from_file(grandchild);
  ASSERT_GT(grand, 0);
  (*started)->detach();
  started->reset();

  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  ASSERT_TRUE(gone_or_zombie(supervisor));
  EXPECT_TRUE(gone_or_zombie(child));  // PR_SET_PDEATHSIG
  EXPECT_EQ(::kill(grand, 0), 0);      // a grandchild does not inherit it

  AttemptState state = inspect_attempt(control());
  EXPECT_EQ(state.kind, State::kLost) << state.detail;
  EXPECT_EQ(state.child_pid, child);
  EXPECT_EQ(state.detail, "supervisor died before recording the end");
  auto attached = Supervised::attach(loop(), control(), nullptr);
  EXPECT_FALSE(attached);

  ASSERT_TRUE(clean_up_lost_attempt(control()));
  EXPECT_TRUE(gone_or_zombie(grand));
  state = inspect_attempt(control());
  EXPECT_EQ(state.kind, State::kLost);
  EXPECT_EQ(state.detail, "supervisor died before recording the end (cleaned up)");
  EXPECT_TRUE(clean_up_lost_attempt(control()));  // idempotent
}

TEST_F(SupervisedTest, WatchedAttemptWhoseSupervisorDiesEndsAsLost) {
  int calls = 0;
  ProcessResult result;
  std::string grandchild = path("grandchild");
  auto started = Supervised::start(loop(), sh("sleep 100 & echo $! > " + grandchild + "; wait"),
                                   [&](const ProcessResult& r) {
                                     ++calls;
                                     result = r;
                                   });
  ASSERT_TRUE(started) << started.error().message;
  int supervisor = (*started)->supervisor_pid();
  int grand = 0;
  when(
      loop(), [&] { return (grand = pid_from_file(grandchild)) > 0; },
      [&] { ::kill(supervisor, SIGKILL); });
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.status.kind, Kind::kLost);
  EXPECT_EQ(result.status.to_string(),
            "supervisor died (pid " + std::to_string(supervisor) + ", before recording the end)");
  EXPECT_TRUE(gone_or_zombie(supervisor));
  EXPECT_TRUE(gone_or_zombie(result.pid));
  EXPECT_TRUE(gone_or_zombie(grand));  // killed with the rest of the group
  EXPECT_EQ(inspect_attempt(control()).detail,
            "supervisor died before recording the end (cleaned up)");
}

TEST_F(SupervisedTest, OrchestratorDyingBeforeTheSpawnLeavesItNotStarted) {
  EXPECT_EQ(inspect_attempt(control()).kind, State::kNotStarted);
  EXPECT_EQ(inspect_attempt(control()).detail, "no control file");
  int fd = ::open(control().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  EXPECT_EQ(inspect_attempt(control()).kind, State::kRunning);  // about to be spawned
  ::close(fd);                                                  // the orchestrator died here
  AttemptState state = inspect_attempt(control());
  EXPECT_EQ(state.kind, State::kNotStarted);
  EXPECT_EQ(state.detail, "never handed to a supervisor");
  EXPECT_FALSE(clean_up_lost_attempt(control()));
  EXPECT_FALSE(cancel_attempt(control()));
}

TEST_F(SupervisedTest, ManyAttemptsShareOneLoop) {
  constexpr int kAttempts = 16;
  std::vector<std::unique_ptr<Supervised>> attempts;
  std::vector<int> codes(kAttempts, -1);
  for (int i = 0; i < kAttempts; ++i) {
    ProcessSpec spec = sh("echo " + std::to_string(i) + "; exit " + std::to_string(i));
    spec.log_path = path("t." + std::to_string(i) + ".log");
    auto started = Supervised::start(loop(), std::move(spec), [&codes, i](const ProcessResult& r) {
      codes[i] = r.status.code;
      EXPECT_EQ(r.stdout_text, std::to_string(i) + "\n");
    });
    ASSERT_TRUE(started) << started.error().message;
    attempts.push_back(std::move(*started));
  }
  loop_->run();
  for (int i = 0; i < kAttempts; ++i) EXPECT_EQ(codes[i], i);
}

TEST_F(SupervisedTest, ASecondStartOnALiveAttemptIsRefused) {
  auto first = Supervised::start(loop(), sh("sleep 100"), nullptr);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_GT((*first)->pid(), 0);
  auto second = Supervised::start(loop(), sh("true"), nullptr);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "cannot start attempt " + control() + ": a live supervisor holds it");
}

// --- The run supervisor (supervisor.h) -------------------------------------------------

// Field 4 of /proc/PID/stat (the parent's pid), or 0.
int parent_of(int pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream rest(stat.substr(paren + 2));
  std::string state;
  int ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

std::string cwd_of(int pid) {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec).string();
}

TEST_F(SupervisedTest, OneSupervisorRunsEveryAttemptOfALoopOutsideTheCallersDirectory) {
  std::string before = std::filesystem::current_path().string();
  std::filesystem::current_path(dir_);
  auto first = Supervised::start(loop(), sh("sleep 100"), nullptr);
  ProcessSpec other = sh("sleep 100");
  other.log_path = path("other.1.log");
  auto second = Supervised::start(loop(), std::move(other), nullptr);
  std::filesystem::current_path(before);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second) << second.error().message;
  const int supervisor = (*first)->supervisor_pid();
  EXPECT_EQ((*second)->supervisor_pid(), supervisor);
  EXPECT_EQ(parent_of(supervisor), ::getpid());
  // Each child is the supervisor's own and works in the directory the caller was in.
  EXPECT_EQ(parent_of((*first)->pid()), supervisor);  // pid() waits until the child exists
  EXPECT_EQ(cwd_of(supervisor), "/");                 // it has set itself up by then
  EXPECT_EQ(cwd_of((*first)->pid()), dir_);
  EXPECT_NE((*first)->pid(), (*second)->pid());
  // Stop requests name one attempt: cancelling the first leaves the second running.
  (*first)->terminate();
  EXPECT_TRUE(eventually([&] { return inspect_attempt(control()).kind == State::kFinished; }));
  EXPECT_EQ(inspect_attempt(control()).result.status.kind, Kind::kCancelled);
  EXPECT_EQ(inspect_attempt(control_path_for(path("other.1.log"))).kind, State::kRunning);
  (*second)->terminate();
  loop_->run();
  EXPECT_EQ(inspect_attempt(control_path_for(path("other.1.log"))).result.status.kind,
            Kind::kCancelled);
}

TEST_F(SupervisedTest, AStopRequestRightAfterTheStartIsNotLost) {
  // The request may reach the supervisor before it has read the kStart.
  for (int i = 0; i < 20; ++i) {
    ProcessSpec spec = sh("sleep 100");
    spec.log_path = path("t." + std::to_string(i) + ".log");
    ProcessResult result;
    auto started =
        Supervised::start(loop(), std::move(spec), [&](const ProcessResult& r) { result = r; });
    ASSERT_TRUE(started) << started.error().message;
    (*started)->terminate();
    loop_->run();
    EXPECT_EQ(result.status.kind, Kind::kCancelled) << i << ": " << result.status.to_string();
  }
}

TEST_F(SupervisedTest, KilledSupervisorLosesEveryAttemptItRan) {
  std::vector<std::unique_ptr<Supervised>> attempts;
  std::vector<ProcessResult> results(3);
  for (int i = 0; i < 3; ++i) {
    ProcessSpec spec = sh("echo up; sleep 100");
    spec.log_path = path("t." + std::to_string(i) + ".log");
    auto started = Supervised::start(loop(), std::move(spec),
                                     [&results, i](const ProcessResult& r) { results[i] = r; });
    ASSERT_TRUE(started) << started.error().message;
    attempts.push_back(std::move(*started));
  }
  const int supervisor = attempts[0]->supervisor_pid();
  when(
      loop(),
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (read_file(path("t." + std::to_string(i) + ".log")) != "up\n") return false;
        }
        return true;
      },
      [&] { ::kill(supervisor, SIGKILL); });
  loop_->run();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results[i].status.kind, Kind::kLost) << i;
    EXPECT_TRUE(gone_or_zombie(results[i].pid)) << i;
  }
  // The next attempt gets a new supervisor.
  ProcessResult again = run(sh("echo again; exit 3"));
  EXPECT_EQ(again.status.code, 3);
  EXPECT_EQ(again.stdout_text, "again\n");
}

TEST_F(SupervisedTest, HundredsOfAttemptsHandedOverBeforeTheLoopRunsAllEnd) {
  // More ends than the socket holds: the supervisor queues them and never blocks.
  constexpr int kAttempts = 400;
  std::vector<std::unique_ptr<Supervised>> attempts;
  int ended = 0;
  for (int i = 0; i < kAttempts; ++i) {
    ProcessSpec spec;
    spec.argv = {"true"};
    spec.log_path = path("t." + std::to_string(i) + ".log");
    auto started = Supervised::start(loop(), std::move(spec), [&](const ProcessResult& r) {
      ended += r.status.success() ? 1 : 0;
    });
    ASSERT_TRUE(started) << started.error().message;
    attempts.push_back(std::move(*started));
  }
  loop_->run();
  EXPECT_EQ(ended, kAttempts);
}

TEST_F(SupervisedTest, AStdinLargerThanAMessageTravelsInAMemfd) {
  ProcessSpec spec = sh("wc -c");
  spec.stdin_data = std::string(200 * 1024, 'x');
  ProcessResult result = run(std::move(spec));
  EXPECT_EQ(result.status.code, 0);
  EXPECT_EQ(result.stdout_text, "204800\n");
}

TEST_F(SupervisedTest, AProgramFoundOnceStillRunsAfterItMoved) {
  // The supervisor caches where "tool" was found; when that file goes, the child
  // searches PATH again and finds the new one.
  std::filesystem::create_directories(path("a"));
  std::filesystem::create_directories(path("b"));
  auto write_tool = [&](const std::string& dir, const std::string& word) {
    std::string file = path(dir + "/tool");
    std::ofstream(file) << "#!/bin/sh\necho " << word << "\n";
    std::filesystem::permissions(file, std::filesystem::perms::owner_all);
  };
  write_tool("a", "first");
  auto tool = [&](int n) {
    ProcessSpec spec;
    spec.argv = {"tool"};
    spec.env = {{"PATH", path("a") + ":" + path("b") + ":/usr/bin:/bin"}};
    spec.log_path = path("t." + std::to_string(n) + ".log");
    return spec;
  };
  EXPECT_EQ(run(tool(1)).stdout_text, "first\n");
  std::filesystem::remove(path("a/tool"));
  write_tool("b", "second");
  EXPECT_EQ(run(tool(2)).stdout_text, "second\n");
  std::filesystem::remove(path("b/tool"));
  ProcessResult missing = run(tool(3));
  EXPECT_EQ(missing.status.kind, Kind::kFailedToStart);
  EXPECT_EQ(missing.status.error, "no such file or directory: tool");
}

TEST(ChildEnvironmentTest, TheTasksEntriesReplaceTheBasesAndKeepItsOrder) {
  const std::vector<std::string> base = {"A=1", "HOME=/h", "PATH=/bin", "Z=9"};
  const std::vector<std::string> own = {"PATH=/opt/bin", "BATON_TASK_ID=t", "ZZ=last"};
  std::vector<const char*> envp = merge_environment(base, own);
  ASSERT_FALSE(envp.empty());
  EXPECT_EQ(envp.back(), nullptr);
  std::vector<std::string> got(envp.begin(), envp.end() - 1);
  EXPECT_EQ(got, (std::vector<std::string>{"A=1", "BATON_TASK_ID=t", "HOME=/h", "PATH=/opt/bin",
                                           "Z=9", "ZZ=last"}));
  EXPECT_EQ(path_in(envp), "/opt/bin");
  // An unsorted base still loses exactly the replaced entry.
  const std::vector<std::string> unsorted = {"Z=9", "PATH=/bin", "A=1"};
  const std::vector<std::string> path_only = {"PATH=/x"};
  std::vector<const char*> odd = merge_environment(unsorted, path_only);
  std::vector<std::string> odd_got(odd.begin(), odd.end() - 1);
  std::sort(odd_got.begin(), odd_got.end());
  EXPECT_EQ(odd_got, (std::vector<std::string>{"A=1", "PATH=/x", "Z=9"}));
  EXPECT_EQ(path_in(merge_environment({}, {})), "");
}

TEST(ProgramCacheTest, LooksUpOncePerPathAndNameAndSkipsRelativeEntries) {
  ProgramCache cache;
  EXPECT_EQ(cache.resolve("/nonexistent:/usr/bin:/bin", "true"), "/usr/bin/true");
  EXPECT_EQ(cache.resolve("/nonexistent:/usr/bin:/bin", "true"), "/usr/bin/true");
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 1u);
  // Another PATH is another lookup (env.PATH per task is honoured).
  EXPECT_EQ(cache.resolve("/bin:/usr/bin", "true"), "/bin/true");
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.resolve("/usr/bin", "./true"), "./true");  // a path is not looked up
  EXPECT_EQ(cache.resolve("bin:/usr/bin", "true"), "");      // relative entry first
  EXPECT_EQ(cache.resolve(":/usr/bin", "true"), "");         // "" is the current directory
  EXPECT_EQ(cache.resolve("/usr/bin", "no-such-program-xyz"), "");
  EXPECT_EQ(cache.resolve("", "true"), "/bin/true");  // glibc's default PATH
  cache.forget("/bin:/usr/bin", "true");
  EXPECT_EQ(cache.resolve("/bin:/usr/bin", "true"), "/bin/true");
  EXPECT_EQ(cache.hits(), 1u);
}

TEST_F(SupervisedTest, TheSupervisorOutlivesItsOrchestratorAndExitsAfterItsLastAttempt) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t orchestrator = ::fork();
  ASSERT_GE(orchestrator, 0);
  if (orchestrator == 0) {
    // A forked process starts a supervisor of its own (the inherited one is the parent's).
    ::close(pipe_fds[0]);
    auto loop = Loop::create();
    if (!loop) ::_exit(2);
    auto started = Supervised::start((*loop)->get(), sh("sleep 100"), nullptr);
    if (!started) ::_exit(3);
    int pids[2] = {(*started)->supervisor_pid(), (*started)->pid()};
    if (::write(pipe_fds[1], pids, sizeof pids) != static_cast<ssize_t>(sizeof pids)) ::_exit(4);
    (*started)->detach();
    ::_exit(0);  // as if SIGKILLed: nothing cleaned up
  }
  ::close(pipe_fds[1]);
  int pids[2] = {0, 0};
  ASSERT_EQ(::read(pipe_fds[0], pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(orchestrator, &status, 0), orchestrator);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(pids[0], orchestrator);
  EXPECT_EQ(::kill(pids[0], 0), 0) << "the supervisor died with its orchestrator";
  EXPECT_EQ(::kill(pids[1], 0), 0) << "the attempt died with its orchestrator";
  AttemptState state = inspect_attempt(control());
  ASSERT_EQ(state.kind, State::kRunning) << state.detail;
  auto cancelled = cancel_attempt(control());
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  ASSERT_TRUE(eventually([&] { return inspect_attempt(control()).kind == State::kFinished; }));
  EXPECT_EQ(inspect_attempt(control()).result.status.kind, Kind::kCancelled);
  // With its orchestrator gone and nothing left to run, it exits.
  EXPECT_TRUE(eventually([&] { return gone_or_zombie(pids[0]); }));
}

TEST_F(SupervisedTest, AttemptsOfADirectoryShareOneJournalAndReadOnlyTheirOwnRecords) {
  // One inode per supervisor and directory (a new file per attempt cost an inode
  // allocation each, issue 17): each control file is a hard link to the journal and
  // each attempt reads only its own records in it.
  const std::vector<int> codes = {0, 3, 5};
  std::vector<std::unique_ptr<Supervised>> attempts;
  std::vector<std::string> controls;
  for (size_t i = 0; i < codes.size(); ++i) {
    ProcessSpec spec = sh("echo out" + std::to_string(i) + "; exit " + std::to_string(codes[i]));
    spec.log_path = path("t" + std::to_string(i) + ".1.log");
    controls.push_back(control_path_for(spec.log_path));
    auto started = Supervised::start(loop(), std::move(spec), nullptr);
    ASSERT_TRUE(started) << started.error().message;
    attempts.push_back(std::move(*started));
  }
  loop_->run();
  struct stat first {};
  ASSERT_EQ(::stat(controls[0].c_str(), &first), 0);
  EXPECT_EQ(first.st_nlink, codes.size() + 1) << "the attempts' links and the journal's name";
  for (size_t i = 0; i < codes.size(); ++i) {
    struct stat st {};
    ASSERT_EQ(::stat(controls[i].c_str(), &st), 0);
    EXPECT_EQ(st.st_ino, first.st_ino) << controls[i];
    AttemptState state = inspect_attempt(controls[i]);
    ASSERT_EQ(state.kind, State::kFinished) << state.detail;
    EXPECT_EQ(state.result.status.code, codes[i]) << controls[i];
    EXPECT_EQ(state.result.stdout_text, "out" + std::to_string(i) + "\n");
  }
}

TEST_F(SupervisedTest, ALinkedAttemptItsSupervisorNeverGotIsNotStartedOnceDrained) {
  // The orchestrator links an attempt's control file to the live supervisor's journal
  // before it sends the attempt: dying in between leaves a locked file without a
  // "started" record. The supervisor's "drained" record (written at its socket's EOF,
  // after every attempt it was sent has started) says that one never will.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t orchestrator = ::fork();
  ASSERT_GE(orchestrator, 0);
  if (orchestrator == 0) {
    ::close(pipe_fds[0]);
    auto loop = Loop::create();
    if (!loop) ::_exit(2);
    auto started = Supervised::start((*loop)->get(), sh("sleep 100"), nullptr);
    if (!started) ::_exit(3);
    int pid = (*started)->supervisor_pid();
    if (::write(pipe_fds[1], &pid, sizeof pid) != static_cast<ssize_t>(sizeof pid)) ::_exit(4);
    (*started)->detach();
    // The link of an attempt that was never sent, as the orchestrator makes it.
    if (::link(control().c_str(), path("ghost.1.attempt").c_str()) != 0) ::_exit(5);
    ::_exit(0);  // as if SIGKILLed between the link and the send
  }
  ::close(pipe_fds[1]);
  int supervisor = 0;
  ASSERT_EQ(::read(pipe_fds[0], &supervisor, sizeof supervisor),
            static_cast<ssize_t>(sizeof supervisor));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(orchestrator, &status, 0), orchestrator);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const std::string ghost = path("ghost.1.attempt");
  ASSERT_TRUE(eventually([&] { return inspect_attempt(ghost).kind == State::kNotStarted; }))
      << inspect_attempt(ghost).detail;
  EXPECT_EQ(inspect_attempt(ghost).detail, "never handed to a supervisor");
  EXPECT_EQ(inspect_attempt(control()).kind, State::kRunning) << "its journal is still locked";
  EXPECT_FALSE(cancel_attempt(ghost));
  ASSERT_TRUE(cancel_attempt(control()));
  ASSERT_TRUE(eventually([&] { return inspect_attempt(control()).kind == State::kFinished; }));
  EXPECT_EQ(inspect_attempt(control()).result.status.kind, Kind::kCancelled);
  EXPECT_EQ(inspect_attempt(ghost).kind, State::kNotStarted);
  EXPECT_TRUE(eventually([&] { return gone_or_zombie(supervisor); }));
}

}  // namespace
}  // namespace baton::exec

namespace baton::exec {
namespace {

// The base environment goes to the supervisor once; a change of baton's own environment
// (setenv, unsetenv) reaches the attempts started after it.
TEST_F(SupervisedTest, AChangeOfTheOrchestratorsEnvironmentReachesTheNextAttempt) {
  ::setenv("BATON_SV_BASE", "first", 1);
  ProcessSpec one = sh("echo \"${BATON_SV_BASE-unset}\"");
  ProcessResult first = run(one);
  EXPECT_EQ(first.stdout_text, "first\n");
  ::setenv("BATON_SV_BASE", "second", 1);
  ProcessSpec two = sh("echo \"${BATON_SV_BASE-unset}\"");
  two.log_path = path("task.2.log");
  ProcessResult second = run(two);
  EXPECT_EQ(second.stdout_text, "second\n");
  ::unsetenv("BATON_SV_BASE");
  ProcessSpec three = sh("echo \"${BATON_SV_BASE-unset}\"");
  three.log_path = path("task.3.log");
  ProcessResult third = run(three);
  EXPECT_EQ(third.stdout_text, "unset\n");
  // A task's own entry wins over the base's.
  ::setenv("BATON_SV_BASE", "base", 1);
  ProcessSpec four = sh("echo \"$BATON_SV_BASE\"");
  four.log_path = path("task.4.log");
  four.env = {{"BATON_SV_BASE", "own"}};
  EXPECT_EQ(run(four).stdout_text, "own\n");
  ::unsetenv("BATON_SV_BASE");
}

// Programs are looked up once per PATH, but a task's own env.PATH is its own key: two
// tasks naming the same program in different PATHs each run their own.
TEST_F(SupervisedTest, ATasksOwnPathFindsItsOwnProgram) {
  for (const char* name : {"a", "b"}) {
    std::filesystem::create_directory(path(name));
    const std::string tool = path(std::string(name) + "/baton-sv-tool");
    std::ofstream(tool) << "#!/bin/sh\necho from-" << name << "\n";
    std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  }
  for (int round = 0; round < 2; ++round) {
    for (const char* name : {"a", "b"}) {
      ProcessSpec spec;
      spec.argv = {"baton-sv-tool"};
      spec.env = {{"PATH", path(name) + ":/usr/bin:/bin"}};
      spec.log_path = path(std::string("t-") + name + "." + std::to_string(round) + ".log");
      ProcessResult result = run(spec);
      EXPECT_EQ(result.stdout_text, std::string("from-") + name + "\n") << round;
    }
  }
}

// pid() asks the supervisor (no message per start otherwise), and the "started" record's
// start time is the child's as /proc shows it (or one tick less): clean_up_lost_attempt
// tells the group's own leader from a reused pid by it.
TEST_F(SupervisedTest, PidIsAnsweredAndTheStartedRecordHasTheChildsStartTime) {
  ProcessSpec spec;
  spec.argv = {"sleep", "30"};
  spec.log_path = log_path();
  auto started = Supervised::start(loop(), std::move(spec), [](const ProcessResult&) {});
  ASSERT_TRUE(started) << started.error().message;
  const int pid = (*started)->pid();
  ASSERT_GT(pid, 0);
  auto records = parse_control_records(read_file(control()), control_key_for(control()));
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_TRUE(records->started);
  EXPECT_EQ(records->started->child_pid, pid);
  auto ticks = process_start_ticks(pid);
  ASSERT_TRUE(ticks) << ticks.error().message;
  EXPECT_TRUE(*ticks == records->started->child_start ||
              *ticks == records->started->child_start + 1)
      << *ticks << " vs " << records->started->child_start;
  started->reset();  // kills and reaps
  EXPECT_TRUE(gone_or_zombie(pid));

  // One that failed to start has no pid.
  ProcessSpec missing;
  missing.argv = {"/nonexistent/baton-sv-none"};
  missing.log_path = path("task.2.log");
  auto failed = Supervised::start(loop(), std::move(missing), [](const ProcessResult&) {});
  ASSERT_TRUE(failed) << failed.error().message;
  EXPECT_EQ((*failed)->pid(), 0);
  loop_->run();
}

}  // namespace
}  // namespace baton::exec
