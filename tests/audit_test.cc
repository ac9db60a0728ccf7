// Integration tests: `baton audit verify|export` on real runs whose database is then
// tampered with (the sqlite3 CLI), and `baton cancel` of a live run and of a run
// whose orchestrator was killed.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

constexpr const char* kTwoTasks = R"(name: demo
inputs:
  who: {default: "wörld"}
tasks:
  - id: a
    run: echo "hello ${inputs.who}"
  - id: b
    run: echo beta
    dependencies: [a]
)";

// A task that records its pid (atomically) and then sleeps as that same process.
constexpr const char* kLongTask = R"(name: slow
tasks:
  - id: long
    run: echo $$ > long.tmp && mv long.tmp long.pid && exec sleep 60
  - id: after
    run: echo after
    dependencies: [long]
)";

std::string db_path(const ScratchDir& dir) { return dir.path() + "/.baton/state.db"; }

/// Runs SQL on DIR's state database with the sqlite3 CLI, behind baton's back.
void tamper(const ScratchDir& dir, const std::string& sql) {
  Outcome o = run_command({"sqlite3", db_path(dir), sql}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << "sqlite3 " << sql << ": " << o.err;
}

std::string sql_value(const ScratchDir& dir, const std::string& sql) {
  Outcome o = run_command({"sqlite3", db_path(dir), sql}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  if (!o.out.empty() && o.out.back() == '\n') o.out.pop_back();
  return o.out;
}

/// Runs FLOW (written as flow.yaml) to the end; returns the run id.
std::string finished_run(const ScratchDir& dir, const char* flow) {
  dir.write("flow.yaml", flow);
  Outcome o = run_baton({"run", "--plain", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json runs = status_json(dir);
  if (!runs.is_array() || runs.empty()) return "";
  return runs[0]["id"];
}

std::vector<json> read_lines(const std::string& path) {
  std::vector<json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) lines.push_back(json::parse(line, nullptr, false));
  return lines;
}

TEST(AuditTest, VerifyPassesOnARealRunAndNamesAnEditedEvent) {
  ScratchDir dir;
  std::string run = finished_run(dir, kTwoTasks);
  ASSERT_FALSE(run.empty());
  Outcome ok = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out.rfind("run " + run + ": ", 0), 0u) << ok.out;
  EXPECT_NE(ok.out.find(" events, chain intact; head hash "), std::string::npos) << ok.out;

  tamper(dir, R"(UPDATE events SET data = '{"exit":"exited 0"}' WHERE seq = 5)");
  Outcome broken = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_EQ(broken.out, "run " + run + ": chain broken: event 5: hash mismatch (edited?)\n");
}

TEST(AuditTest, VerifyNamesADeletedEvent) {
  ScratchDir dir;
  std::string run = finished_run(dir, kTwoTasks);
  tamper(dir, "DELETE FROM events WHERE seq = 4");
  Outcome o = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "run " + run + ": chain broken: event 4 missing (deleted?)\n");
}

TEST(AuditTest, VerifyNamesACutOffTail) {
  ScratchDir dir;
  std::string run = finished_run(dir, kTwoTasks);
  tamper(dir, "DELETE FROM events WHERE kind = 'run.finished'");
  Outcome o = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.out.find("missing (deleted?): the run ended (success) but its last event is"),
            std::string::npos)
      << o.out;
}

TEST(AuditTest, RunRecordsItsOrchestratorsStartTime) {
  ScratchDir dir;
  std::string run = finished_run(dir, kTwoTasks);
  std::string start =
      sql_value(dir, "SELECT orchestrator_start_time FROM runs WHERE id = '" + run + "'");
  EXPECT_GT(std::stoll(start), 0);
}

TEST(AuditTest, ExportIsJsonLinesThatAnIndependentVerifierAccepts) {
  ScratchDir dir;
  std::string run = finished_run(dir, kTwoTasks);
  Outcome o = run_baton({"audit", "export", run, "-o", "audit.jsonl"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_FALSE(dir.exists("audit.jsonl.tmp"));
  std::vector<json> lines = read_lines(dir.path() + "/audit.jsonl");
  ASSERT_GE(lines.size(), 2u);
  const json& header = lines[0];
  EXPECT_EQ(header["type"], "run");
  EXPECT_EQ(header["format"], "baton-audit");
  EXPECT_EQ(header["version"], 1);
  EXPECT_EQ(header["run"]["id"], run);
  EXPECT_EQ(header["run"]["status"], "success");
  EXPECT_EQ(header["chain"]["ok"], true);
  EXPECT_EQ(header["chain"]["events"], static_cast<int>(lines.size() - 1));
  EXPECT_EQ(lines[1]["kind"], "run.created");
  EXPECT_EQ(lines[1]["data"]["inputs"]["who"], "wörld");
  EXPECT_EQ(lines.back()["kind"], "run.finished");
  EXPECT_EQ(lines.back()["hash"], header["chain"]["head_hash"]);

  // Standard output gives the same events.
  Outcome out = run_baton({"audit", "export", run}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::istringstream stream(out.out);
  std::string first;
  std::getline(stream, first);
  std::string rest((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  std::string file = read_file(dir.path() + "/audit.jsonl");
  EXPECT_EQ(rest, file.substr(file.find('\n') + 1));

  // The Python verifier of docs/audit.md, run on the export.
  std::string doc = read_file(source_dir() + "/docs/audit.md");
  size_t begin = doc.find("```python\n", doc.find("<!-- verifier begin -->"));
  size_t end = doc.find("```\n", begin + 10);
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  dir.write("verify.py", doc.substr(begin + 10, end - begin - 10));
  Outcome py = run_command({"python3", "verify.py", "audit.jsonl"}, dir.path());
  if (py.exit_code == -1) GTEST_SKIP() << "python3 is not installed";
  EXPECT_EQ(py.exit_code, 0) << py.err;
  EXPECT_EQ(py.out, "ok " + std::to_string(lines.size() - 1) + " " +
                        header["chain"]["head_hash"].get<std::string>() + "\n");

  tamper(dir, "UPDATE events SET time = time + 1 WHERE seq = 2");
  Outcome bad = run_baton({"audit", "export", run, "-o", "bad.jsonl"}, dir.path());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "baton: run " + run + ": chain broken: event 2: hash mismatch (edited?)\n");
  EXPECT_EQ(read_lines(dir.path() + "/bad.jsonl")[0]["chain"]["broken_at"], 2);
  Outcome py_bad = run_command({"python3", "verify.py", "bad.jsonl"}, dir.path());
  EXPECT_NE(py_bad.exit_code, 0);
  EXPECT_EQ(py_bad.err, "event 2: hash mismatch\n");
}

TEST(AuditTest, UnknownRunIsAUsageError) {
  ScratchDir dir;
  finished_run(dir, kTwoTasks);
  for (const char* sub : {"verify", "export"}) {
    Outcome o = run_baton({"audit", sub, "nope"}, dir.path());
    EXPECT_EQ(o.exit_code, 2) << sub;
    EXPECT_EQ(o.err, "baton: no run 'nope' in " + db_path(dir) + "\n");
  }
  Outcome o = run_baton({"cancel", "nope"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
}

/// Kills the process group of the long task at the end of a test, if it is alive.
struct KillGroupAtExit {
  pid_t pid = 0;
  ~KillGroupAtExit() {
    if (pid > 0 && process_alive(pid)) ::kill(-pid, SIGKILL);
  }
};

/// A `baton run` of kLongTask whose long task is running.
struct LongRun {
  std::unique_ptr<BatonProcess> baton;
  std::string run;     ///< its run id
  pid_t task_pid = 0;  ///< the long task's process (and process group)
};

LongRun start_long_run(const ScratchDir& dir) {
  dir.write("flow.yaml", kLongTask);
  LongRun out;
  out.baton = std::make_unique<BatonProcess>(
      std::vector<std::string>{"run", "--plain", "flow.yaml"}, dir.path());
  EXPECT_TRUE(wait_for_file(dir.path() + "/long.pid"));
  out.task_pid = std::stoi(dir.read("long.pid"));
  json runs = status_json(dir);
  if (runs.is_array() && !runs.empty()) out.run = runs[0]["id"];
  return out;
}

TEST(CancelTest, CancelTerminatesARunningRunAndRecordsIt) {
  ScratchDir dir;
  LongRun long_run = start_long_run(dir);
  const std::string& run = long_run.run;
  const pid_t task_pid = long_run.task_pid;
  BatonProcess* baton = long_run.baton.get();
  KillGroupAtExit cleanup{task_pid};
  ASSERT_FALSE(run.empty());
  ASSERT_TRUE(process_alive(task_pid));

  Outcome cancel = run_baton({"cancel", run}, dir.path());
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  EXPECT_NE(cancel.out.find("run " + run + ": sent SIGTERM to its orchestrator (pid " +
                            std::to_string(baton->pid()) + ")\n"),
            std::string::npos)
      << cancel.out;
  EXPECT_NE(cancel.out.find("run " + run + " cancelled: 2 tasks cancelled\n"), std::string::npos)
      << cancel.out;

  Outcome ran = baton->wait();
  EXPECT_EQ(ran.exit_code, 3) << ran.out << ran.err;  // baton cancel: 3, not 143
  EXPECT_FALSE(process_alive(task_pid));  // the attempt's process was terminated and reaped

  json state = status_json(dir, run);
  EXPECT_EQ(state["status"], "cancelled");
  EXPECT_EQ(task_of(state, "long")["status"], "cancelled");
  EXPECT_EQ(task_of(state, "after")["status"], "cancelled");

  Outcome verify = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  std::string kinds = sql_value(
      dir, "SELECT group_concat(kind, ' ') FROM events WHERE run_id = '" + run + "' ORDER BY seq");
  EXPECT_NE(kinds.find("run.cancel_requested"), std::string::npos) << kinds;

  Outcome again = run_baton({"cancel", run}, dir.path());
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, "run " + run + " is already cancelled\n");
}

TEST(CancelTest, CancelOfARunWhoseOrchestratorWasKilledRecordsItCancelled) {
  ScratchDir dir;
  LongRun long_run = start_long_run(dir);
  const std::string& run = long_run.run;
  BatonProcess* baton = long_run.baton.get();
  KillGroupAtExit cleanup{long_run.task_pid};  // orphaned by the kill: baton cannot reach it
  ASSERT_FALSE(run.empty());
  baton->signal(SIGKILL);
  EXPECT_EQ(baton->wait().exit_code, 128 + SIGKILL);
  EXPECT_EQ(status_json(dir, run)["status"], "running");  // nobody recorded the end

  Outcome cancel = run_baton({"cancel", run}, dir.path());
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  EXPECT_EQ(cancel.out.rfind("run " + run +
                                 " cancelled (its orchestrator was not running): 2 tasks "
                                 "cancelled\n",
                             0),
            0u)
      << cancel.out;

  const std::string reason = "cancelled by baton cancel (orchestrator was not running)";
  json state = status_json(dir, run);
  EXPECT_EQ(state["status"], "cancelled");
  EXPECT_EQ(task_of(state, "long")["status"], "cancelled");
  EXPECT_EQ(task_of(state, "long")["reason"], reason);
  EXPECT_EQ(task_of(state, "after")["reason"], reason);
  EXPECT_EQ(state["attempts"][0]["status"], "cancelled");

  Outcome verify = run_baton({"audit", "verify", run}, dir.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST(CancelTest, CancelOfAFinishedRunChangesNothing) {
  ScratchDir dir;
  std::string run = finished_run(dir, kTwoTasks);
  Outcome o = run_baton({"cancel", run}, dir.path());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "run " + run + " already ended (success); nothing to cancel\n");
  EXPECT_EQ(status_json(dir, run)["status"], "success");
  EXPECT_EQ(run_baton({"audit", "verify", run}, dir.path()).exit_code, 0);
}

}  // namespace
}  // namespace baton::testing
