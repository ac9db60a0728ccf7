// Security suite, bounded resources (issue 12, items 12-14): a task that prints
// hundreds of megabytes, a workflow whose aliases stand for gigabytes, and rows of
// state.db forged behind the audit chain's back.
//
// Memory is asserted as a bound that could fail: the peak resident set of `baton`
// (and, through wait4, of every process it waited for: the run supervisor,
// the tasks) must stay far below the bytes that went through it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness_util.h"

extern char** environ;

namespace baton::testing {
namespace {

using nlohmann::json;

/// What a `baton` process measured by run_measured() left.
struct Measured {
  int exit_code = -1;
  long peak_rss_kib = 0;  ///< ru_maxrss of wait4: baton and every descendant it reaped
  std::string out_path;   ///< where its stdout went
  std::string err;
};

/// Runs baton ARGS in CWD with its stdout in CWD/NAME.out and its address space
/// limited to AS_LIMIT bytes (so a regression fails the test instead of the machine),
/// and returns its exit code and peak RSS (KiB).
Measured run_measured(const std::vector<std::string>& args, const std::string& cwd,
                      const std::string& name, rlim_t as_limit = rlim_t{3} << 30) {
  Measured m;
  m.out_path = cwd + "/" + name + ".out";
  const std::string err_path = cwd + "/" + name + ".err";
  std::vector<std::string> argv_s{BATON_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    rlimit limit{as_limit, as_limit};
    ::setrlimit(RLIMIT_AS, &limit);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(m.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Linux also counts the forked copy of this test process before the exec (small
  // here: the test holds no large data), so the bound is, if anything, stricter.
  m.peak_rss_kib = usage.ru_maxrss;
  m.err = read_file(err_path);
  std::printf("baton %s: exit %d, peak RSS %ld KiB\n", args[0].c_str(), m.exit_code,
              m.peak_rss_kib);
  return m;
}

off_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

std::string sql_value(const ScratchDir& dir, const std::string& sql) {
  Outcome o = run_command({"sqlite3", dir.path() + "/.baton/state.db", sql}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  if (!o.out.empty() && o.out.back() == '\n') o.out.pop_back();
  return o.out;
}

void tamper(const ScratchDir& dir, const std::string& sql) {
  Outcome o = run_command({"sqlite3", dir.path() + "/.baton/state.db", sql}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << "sqlite3 " << sql << ": " << o.err;
}

constexpr long kMiB = 1024 * 1024;
// 100 MB of stdout per task (yes | head: no input file on disk).
constexpr const char* kHundredMB = "yes baton-output-line | head -c 100000000";

// Item 12: three parallel tasks each print 100 MB. Before: baton read each task's
// stdout capture (64 MiB) into memory and copied it several times (hundreds of MB of
// RSS) and stored it twice (tasks.output and attempts.output: ~400 MB of state.db).
TEST(BoundedTest, ThreeParallelLargeOutputsKeepRssAndStateDbSmall) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: big\nsettings: {max_parallel: 3}\ntasks:\n") +
                             "  - id: a\n    run: " + kHundredMB + "\n" + "  - id: b\n    run: " +
                             kHundredMB + "\n" + "  - id: c\n    run: " + kHundredMB + "\n");
  Measured run = run_measured({"run", "--plain", "flow.yaml"}, dir.path(), "run");
  ASSERT_EQ(run.exit_code, 0) << run.err << read_file(run.out_path);
  // 300 MB went through; baton and its supervisors stay under 64 MiB together.
  EXPECT_LT(run.peak_rss_kib, 64 * 1024) << "peak RSS of baton run (KiB)";
  // Each output is kept once and bounded: state.db holds a few MiB, not 300 MB.
  std::printf("state.db: %lld bytes\n",
              static_cast<long long>(file_size(dir.path() + "/.baton/state.db")));
  EXPECT_LT(file_size(dir.path() + "/.baton/state.db"), 8 * kMiB);
  EXPECT_EQ(sql_value(dir, "SELECT COALESCE(SUM(LENGTH(output)), 0) FROM attempts"), "0");
  std::string kept = sql_value(dir, "SELECT MAX(LENGTH(CAST(output AS BLOB))) FROM tasks");
  EXPECT_LE(std::stol(kept), 1100000) << "bytes of the longest tasks.output";
  // The cut is marked in the output itself and recorded as an event per task.
  std::string tail = sql_value(dir, "SELECT substr(output, -200) FROM tasks WHERE task_id = 'a'");
  EXPECT_NE(tail.find("…[output cut at 1048576 bytes; full log: "), std::string::npos) << tail;
  EXPECT_NE(tail.find("/logs/a.1.log]"), std::string::npos) << tail;
  EXPECT_EQ(sql_value(dir, "SELECT COUNT(*) FROM events WHERE kind = 'task.output_truncated'"),
            "3");
  // The log itself is complete.
  std::string log = sql_value(dir, "SELECT log_path FROM attempts WHERE task_id = 'b'");
  EXPECT_EQ(file_size(log), 100000000);
}

// Item 12: `baton logs` of a 100 MB log copies it in bounded chunks (before: the whole
// file in memory, twice); `status --json` prints a bounded preview with the size and a
// truncation flag (before: the whole stored output).
TEST(BoundedTest, LogsStreamAndStatusJsonIsBounded) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: big\ntasks:\n  - id: big\n    run: ") + kHundredMB +
                             "\n  - id: small\n    run: echo hello\n");
  Outcome run = run_baton({"run", "--plain", "flow.yaml"}, dir.path(), {}, 300);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string run_id = status_json(dir)[0]["id"];

  Measured logs = run_measured({"logs", run_id, "big"}, dir.path(), "logs");
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(file_size(logs.out_path), 100000000);
  EXPECT_LT(logs.peak_rss_kib, 32 * 1024) << "peak RSS of baton logs (KiB)";

  Measured status = run_measured({"status", run_id, "--json"}, dir.path(), "status");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_LT(file_size(status.out_path), 64 * 1024);
  json parsed = json::parse(read_file(status.out_path));
  const json big = task_of(parsed, "big");
  EXPECT_EQ(big["output_truncated"], true) << big.dump();
  EXPECT_GT(big["output_bytes"].get<long>(), 1000000) << big.dump();
  EXPECT_LE(big["output"].get<std::string>().size(), 4096u);
  const json small = task_of(parsed, "small");
  EXPECT_EQ(small["output"], "hello");
  EXPECT_EQ(small["output_bytes"], 5);
  EXPECT_EQ(small["output_truncated"], false);
}

// The 2 MB workflow of issue 12 (item 13): one 2 MB scalar anchored once and aliased
// by 200 tasks. Returns the file; *ALIAS_LINE (1-based) is the line of the first alias
// that the loader must refuse with a 16 MiB bound (the 9th: 9 x 2 MB > 16 MiB).
std::string alias_bomb(int* alias_line) {
  std::string text = "name: bomb\ntasks:\n  - id: t0\n    run: &big \"echo ";
  text.append(2000000, 'x');
  text += "\"\n";
  int line = 4;
  for (int i = 1; i <= 200; ++i) {
    text += "  - id: t" + std::to_string(i) + "\n    run: *big\n";
    line += 2;
    if (i == 9) *alias_line = line;
  }
  return text;
}

TEST(BoundedTest, AliasAmplificationFailsFastWithThePlace) {
  ScratchDir dir;
  int alias_line = 0;
  dir.write("bomb.yaml", alias_bomb(&alias_line));
  // Before: more than 4 GB (the 3 GiB limit made it fail with "cannot load").
  Measured m = run_measured({"validate", "bomb.yaml"}, dir.path(), "validate");
  EXPECT_EQ(m.exit_code, 2) << m.err;
  const std::string place = "bomb.yaml:" + std::to_string(alias_line) + ":10: error: alias *big";
  EXPECT_EQ(m.err.find(place), 0u) << m.err;
  EXPECT_NE(m.err.find("16777216 bytes"), std::string::npos) << m.err;
  EXPECT_LT(m.peak_rss_kib, 128 * 1024) << "peak RSS of baton validate (KiB)";
}

// Item 14: a run whose task b fails, then rows forged behind the chain's back.
constexpr const char* kMixedRun = R"(name: mixed
tasks:
  - id: a
    run: echo alpha
  - id: b
    run: echo beta; exit 3
)";

std::string mixed_run(const ScratchDir& dir) {
  dir.write("flow.yaml", kMixedRun);
  Outcome o = run_baton({"run", "--plain", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  std::string id = status_json(dir)[0]["id"];
  Outcome ok = run_baton({"audit", "verify", id}, dir.path());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  return id;
}

TEST(BoundedTest, AuditVerifyNamesAForgedTaskStatus) {
  ScratchDir dir;
  std::string run = mixed_run(dir);
  tamper(dir, "UPDATE tasks SET status = 'success' WHERE task_id = 'b'");
  Outcome o = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("tasks row 'b', field status: 'success'"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("says 'failed'"), std::string::npos) << o.out;
}

TEST(BoundedTest, AuditVerifyNamesAForgedTaskOutput) {
  ScratchDir dir;
  std::string run = mixed_run(dir);
  tamper(dir, "UPDATE tasks SET output = 'forged' WHERE task_id = 'a'");
  Outcome o = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("tasks row 'a', field output"), std::string::npos) << o.out;
}

TEST(BoundedTest, AuditVerifyNamesAForgedRunStatus) {
  ScratchDir dir;
  std::string run = mixed_run(dir);
  tamper(dir, "UPDATE runs SET status = 'success'");
  Outcome o = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("runs row '" + run + "', field status: 'success'"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("says 'failed'"), std::string::npos) << o.out;
}

}  // namespace
}  // namespace baton::testing
