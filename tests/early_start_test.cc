// Integration tests: an attempt started before the transaction that records it commits
// (a plain command task whose readiness was already committed: engine/run.cc,
// early_start_ok()). A `baton run` killed in that window leaves the task recorded ready
// with no row for the attempt; `baton resume` must find the attempt by its control file
// and record it, never run it a second time. The window is milliseconds wide, so the
// tests kill the run later and put the rows back as they were in it (SQLite, raw).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// The number of events of KIND about task TASK.
int count_of(const std::vector<json>& events, const std::string& kind, const std::string& task) {
  int n = 0;
  for (const json& e : events) n += e.value("kind", "") == kind && e.value("task_id", "") == task;
  return n;
}

// Runs SQL on the state database DB_PATH; false (with the message) on an error.
::testing::AssertionResult exec_sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    return ::testing::AssertionFailure() << db_path << ": " << message;
  }
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) return ::testing::AssertionFailure() << sql << ": " << message;
  return ::testing::AssertionSuccess();
}

// One slot: `first` runs, then `quick` starts on the slot it frees, after `quick` was
// recorded ready: an early start. `quick` waits for the file `go`.
constexpr const char* kFlow = R"(name: early
settings: {max_parallel: 1}
tasks:
  - id: first
    run: "true"
  - id: quick
    run: "echo started >> started; while [ ! -f go ]; do sleep 0.02; done; echo done >> ledger; echo quick-output"
  - id: after
    dependencies: [quick]
    run: "echo ${quick.output} >> after"
)";

// Kills `baton run` while `quick` runs and puts quick's rows back as a kill between
// its start and the commit leaves them: task ready, no attempt row, the chain ending
// before its start. Returns the run.
json killed_before_the_commit(const ScratchDir& dir) {
  dir.write("flow.yaml", kFlow);
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_TRUE(wait_for_file(dir.path() + "/started"));
  run.signal(SIGKILL);
  run.wait();
  json r = last_run(dir);
  EXPECT_TRUE(exec_sql(dir.path() + "/.baton/state.db",
                       "UPDATE tasks SET status = 'ready', attempts = 0, started_at = 0 "
                       "WHERE task_id = 'quick';"
                       "DELETE FROM attempts WHERE task_id = 'quick';"
                       // The last two events of the chain, written with those rows.
                       "DELETE FROM events WHERE task_id = 'quick' AND "
                       "kind IN ('task.running', 'attempt.started');"));
  return r;
}

// `quick`'s start and `first`'s end need no durability before anything (engine/run.cc,
// "deferrable"); they are committed all the same while `quick` runs, within kDeferMs.
TEST(EarlyStartTest, GroupedTransactionIsCommittedWhileTheTaskRuns) {
  ScratchDir dir;
  dir.write("flow.yaml", kFlow);
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  // The bound only stops a hang (the task runs until `go`), so it is the suite's wide one.
  EXPECT_TRUE(eventually([&] {
    json r = last_run(dir);
    return task_of(r, "quick")["status"] == "running" && task_of(r, "first")["status"] == "success";
  }));
  EXPECT_EQ(dir.read("ledger"), "");  // still running
  dir.write("go", "");
  EXPECT_EQ(run.wait().exit_code, 0);
  EXPECT_EQ(dir.read("after"), "quick-output\n");
}

TEST(EarlyStartTest, AttemptThatFinishedBeforeItsRowIsRecordedOnResumeNotRerun) {
  ScratchDir dir;
  json r = killed_before_the_commit(dir);
  const std::string control = r["run_dir"].get<std::string>() + "/logs/quick.1.attempt";
  dir.write("go", "");
  ASSERT_TRUE(eventually([&] { return read_file(control).find("\"exit\"") != std::string::npos; }));

  Outcome o = run_baton({"resume", r["id"], "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("started"), "started\n");
  EXPECT_EQ(dir.read("ledger"), "done\n");  // not run twice
  EXPECT_EQ(dir.read("after"), "quick-output\n");
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "quick")["attempts"], 1);
  EXPECT_EQ(task_of(r, "quick")["output"], "quick-output");
  auto events = events_of(dir, r["id"]);
  // Recovered from its end; re-attached when its supervisor had not exited yet.
  // (`first`'s end may have been waiting for the same commit: recovered too.)
  EXPECT_EQ(count_of(events, "attempt.recovered", "quick") +
                count_of(events, "attempt.reattached", "quick"),
            1);
  EXPECT_EQ(count_of(events, "attempt.not_started", "quick"), 0);
  EXPECT_EQ(run_baton({"audit", "verify", r["id"]}, dir.path()).exit_code, 0);
}

TEST(EarlyStartTest, AttemptStillRunningBeforeItsRowIsReattachedOnResume) {
  ScratchDir dir;
  json r = killed_before_the_commit(dir);
  BatonProcess resume({"resume", r["id"], "--plain"}, dir.path());
  // Re-attached, not started again: the attempt's event is in the chain before `go`.
  // (audit export while the resume writes: a failed read counts as not yet.)
  ASSERT_TRUE(eventually([&] {
    Outcome e = run_baton({"audit", "export", r["id"]}, dir.path());
    return e.exit_code == 0 && e.out.find("\"attempt.reattached\"") != std::string::npos;
  }));
  dir.write("go", "");
  EXPECT_EQ(resume.wait().exit_code, 0);
  EXPECT_EQ(dir.read("started"), "started\n");
  EXPECT_EQ(dir.read("ledger"), "done\n");
  EXPECT_EQ(dir.read("after"), "quick-output\n");
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "quick")["attempts"], 1);
  EXPECT_EQ(run_baton({"audit", "verify", r["id"]}, dir.path()).exit_code, 0);
}

TEST(EarlyStartTest, CancelOfTheKilledRunStopsTheAttemptStartedBeforeItsRow) {
  ScratchDir dir;
  json r = killed_before_the_commit(dir);
  const std::string control = r["run_dir"].get<std::string>() + "/logs/quick.1.attempt";
  Outcome o = run_baton({"cancel", r["id"]}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  // Stopped by its supervisor (never `go`): its end is in the control file.
  EXPECT_TRUE(eventually([&] { return read_file(control).find("\"exit\"") != std::string::npos; }));
  EXPECT_EQ(dir.read("ledger"), "");
  r = last_run(dir);
  EXPECT_EQ(r["status"], "cancelled");
  EXPECT_EQ(task_of(r, "quick")["status"], "cancelled");
}

// A grouped transaction is written on the commit thread (engine/commit_thread.h): while
// it waits for the store (another connection holds SQLite's write lock), the run goes
// on ending and starting tasks. Written on the loop, it held everything back until the
// lock was released.
TEST(EarlyStartTest, TasksGoOnStartingWhileAGroupedTransactionWaitsForTheStore) {
  ScratchDir dir;
  std::string flow = "name: wide\nsettings: {max_parallel: 2}\ntasks:\n";
  for (int i = 0; i < 60; ++i) {
    flow += "  - {id: t" + std::to_string(i) + ", run: \"echo t" + std::to_string(i) +
            " >> ledger; sleep 0.05\"}\n";
  }
  dir.write("flow.yaml", flow);
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  auto lines = [&] {
    std::string ledger = dir.read("ledger");
    return static_cast<int>(std::count(ledger.begin(), ledger.end(), '\n'));
  };
  ASSERT_TRUE(eventually([&] { return lines() >= 2; }));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/.baton/state.db").c_str(), &db), SQLITE_OK);
  // baton may be committing right now (the first starts' grouped transaction follows
  // them): wait for its lock rather than fail with SQLITE_BUSY (CI did once).
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  // Within 10 ms a grouped transaction waits for the lock (baton's busy timeout is 5 s);
  // six more tasks then take at least 150 ms.
  const int held_at = lines();
  const bool went_on = eventually([&] { return lines() >= held_at + 6; }, 4);
  EXPECT_TRUE(went_on) << "ledger: " << held_at << " lines when locked, " << lines() << " now";
  ASSERT_EQ(sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(lines(), 60);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(task_of(r, "t" + std::to_string(i))["status"], "success");
  EXPECT_EQ(run_baton({"audit", "verify", r["id"]}, dir.path()).exit_code, 0);
}

// A new run's tasks without dependencies are recorded ready in the transaction that
// creates the run (engine/run.cc, Driver::run): no committed state shows them pending,
// and the first of them start before the transaction that records their starts. A
// reader polls the state database from the start of `baton run` to the end of its first
// task; before, a second transaction made them ready milliseconds after the run's rows.
TEST(EarlyStartTest, ANewRunsFirstTasksAreRecordedReadyWithTheRun) {
  ScratchDir dir;
  std::string flow = "name: wide\nsettings: {max_parallel: 2}\ntasks:\n";
  for (int i = 0; i < 1000; ++i) flow += "  - {id: t" + std::to_string(i) + ", run: [\"true\"]}\n";
  dir.write("flow.yaml", flow);
  const std::string db_path = dir.path() + "/.baton/state.db";
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  sqlite3* db = nullptr;
  ASSERT_TRUE(eventually(
      [&] {
        if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
          return true;
        }
        sqlite3_close(db);
        db = nullptr;
        return false;
      },
      30));
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT count(*), coalesce(sum(status = 'pending'), 0), "
                               "coalesce(sum(status = 'success'), 0) FROM tasks",
                               -1, &count, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  int seen_rows = 0;  // observations of the run's rows
  int pending_seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(sqlite3_step(count), SQLITE_ROW) << sqlite3_errmsg(db);
    const int rows = sqlite3_column_int(count, 0);
    const int pending = sqlite3_column_int(count, 1);
    const int succeeded = sqlite3_column_int(count, 2);
    sqlite3_reset(count);
    if (rows > 0) ++seen_rows;
    pending_seen = std::max(pending_seen, pending);
    if (succeeded > 0) break;
  }
  sqlite3_finalize(count);
  sqlite3_close(db);
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_GT(seen_rows, 0);
  EXPECT_EQ(pending_seen, 0) << "a committed state showed " << pending_seen
                             << " tasks without dependencies pending";
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  auto events = events_of(dir, r["id"]);
  EXPECT_EQ(count_of(events, "task.ready", "t999"), 1);
  EXPECT_EQ(count_of(events, "task.ready", "t0"), 1);
  EXPECT_EQ(run_baton({"audit", "verify", r["id"]}, dir.path()).exit_code, 0);
  // The attempt row's start is the process's, from its control file's "started" record
  // (engine/attempt.h, judge_attempt), not the time the driver prepared it.
  double recorded = 0;
  for (const json& a : r["attempts"]) {
    if (a["task"] == "t0") recorded = a["started_at"].get<double>();
  }
  const json started = started_record(r["run_dir"].get<std::string>() + "/logs/t0.1.attempt");
  ASSERT_TRUE(started.is_object());
  EXPECT_NEAR(recorded, started["started_at"].get<double>(), 1e-6);
}

// The first integer column of the first row SQL gives on the state database DB_PATH
// (-1 on an error).
int query_int(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  int value = -1;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

// A run of more than 256 tasks writes most rows in its second transaction (engine/run.cc,
// SecondRows): a ready task's and a pending one's from their status alone, a task
// skipped by its condition in the first step from the row the loop made (its reason).
// Every row is written once with its DAG's edges, and the chain holds every event.
TEST(EarlyStartTest, ARunOfMoreThan256TasksRecordsEveryRowWithItsEdges) {
  ScratchDir dir;
  std::string flow = "name: wide\nsettings: {max_parallel: 4}\ntasks:\n";
  for (int i = 0; i < 400; ++i) flow += "  - {id: t" + std::to_string(i) + ", run: [\"true\"]}\n";
  flow += "  - {id: skipped, condition: \"${1 == 2}\", run: [\"true\"]}\n";
  flow += "  - {id: after, dependencies: [t399, skipped], run: [\"true\"]}\n";
  dir.write("flow.yaml", flow);
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  const std::string db = dir.path() + "/.baton/state.db";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks"), 402);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE status = 'success'"), 401);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE dependencies IS NULL"), 0);
  EXPECT_EQ(query_int(db,
                      "SELECT count(*) FROM tasks WHERE task_id = 'skipped' AND "
                      "status = 'skipped' AND reason != '' AND position = 400"),
            1);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE task_id = 't399' AND position = 399"),
            1);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM events WHERE kind = 'task.ready'"), 401);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM events WHERE kind = 'task.skipped'"), 1);
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(run_baton({"audit", "verify", r["id"]}, dir.path()).exit_code, 0);
}

// A new run of more than 256 tasks commits its run row with the rows of its first 256
// ready tasks, which start at once, and writes the other rows in a second transaction
// while they run (engine/run.cc, "the first transaction in two"). A `baton run` killed
// between the two leaves a run with 256 task rows, two of them running before their
// row; the test kills the run later and puts the database back as that kill leaves it
// (the chain cut after the 256th `task.ready`). `baton resume` must run each of the
// other tasks once, record their DAG's edges, and never start t0 or t1 again.
TEST(EarlyStartTest, ARunKilledBetweenItsFirstTwoTransactionsResumesEveryTaskOnce) {
  ScratchDir dir;
  std::string flow = "name: wide\nsettings: {max_parallel: 2}\ntasks:\n";
  for (int i = 0; i < 300; ++i) {
    const std::string id = "t" + std::to_string(i);
    flow += "  - {id: " + id + ", run: \"echo " + id + " >> ledger" +
            (i < 2 ? "; while [ ! -f go ]; do sleep 0.02; done" : "") + "\"}\n";
  }
  flow += "  - {id: after, dependencies: [t299], run: \"echo after >> ledger\"}\n";
  dir.write("flow.yaml", flow);
  const std::string db = dir.path() + "/.baton/state.db";
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  auto lines = [&] {
    std::string ledger = dir.read("ledger");
    return static_cast<int>(std::count(ledger.begin(), ledger.end(), '\n'));
  };
  ASSERT_TRUE(eventually([&] { return lines() == 2; }));  // t0 and t1 hold both slots
  ASSERT_TRUE(eventually([&] { return query_int(db, "SELECT count(*) FROM tasks") == 301; }));
  run.signal(SIGKILL);
  run.wait();
  json r = last_run(dir);
  const std::string id = r["id"];
  const std::string cut = "(SELECT seq FROM events WHERE run_id = '" + id +
                          "' AND task_id = 't255' AND "
                          "kind = 'task.ready')";
  // What the first transaction wrote: the run's events, then the first 256 tasks' ready.
  EXPECT_EQ(
      query_int(db, "SELECT count(*) FROM events WHERE kind = 'task.ready' AND seq <= " + cut),
      256);
  ASSERT_TRUE(exec_sql(db, "DELETE FROM events WHERE seq > " + cut +
                               ";"
                               "DELETE FROM tasks WHERE task_id NOT IN (SELECT task_id FROM events "
                               "WHERE kind = 'task.ready');"
                               "UPDATE tasks SET status = 'ready', attempts = 0, started_at = 0;"
                               "DELETE FROM attempts;"));
  ASSERT_EQ(query_int(db, "SELECT count(*) FROM tasks"), 256);
  dir.write("go", "");

  Outcome o = run_baton({"resume", id, "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string ledger = dir.read("ledger");
  for (int i = 0; i < 300; ++i) {
    const std::string line = "t" + std::to_string(i) + "\n";
    size_t n = 0;
    for (size_t at = ledger.find(line); at != std::string::npos; at = ledger.find(line, at + 1)) {
      n += at == 0 || ledger[at - 1] == '\n';
    }
    EXPECT_EQ(n, 1u) << line;
  }
  EXPECT_EQ(lines(), 301);
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "t0")["attempts"], 1);
  EXPECT_EQ(task_of(r, "after")["status"], "success");
  // Rows written by the resume carry their edges, as the new run's would have.
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE dependencies IS NULL"), 0);
  EXPECT_EQ(query_int(db,
                      "SELECT count(*) FROM tasks WHERE task_id = 'after' AND "
                      "dependencies = '[\"t299\"]'"),
            1);
  EXPECT_EQ(run_baton({"audit", "verify", id}, dir.path()).exit_code, 0);
}

}  // namespace
}  // namespace baton::testing
