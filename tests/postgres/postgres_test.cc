// baton on a PostgreSQL store (docs/postgres.md), driven through the built binary
// against the throwaway cluster of store/pg_test_cluster.h (one per binary): a run and
// its status, two orchestrators racing for one run, the database connection killed
// mid-run, and a lease holder paused past its lease, taken over and fenced.
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include "harness_util.h"
#include "store/pg_connection.h"
#include "store/pg_test_cluster.h"

namespace baton::testing {
namespace {

const auto* const kCluster =
    ::testing::AddGlobalTestEnvironment(new store::testing::PgClusterEnvironment);

// Task a says it started, then waits for the test's `go` file; b follows it.
constexpr const char* kWaitingFlow = R"(version: "1.0"
name: gated
tasks:
  - id: a
    run: "touch started; while [ ! -e go ]; do sleep 0.02; done; echo a-done"
  - id: b
    run: echo b-done
    dependencies: [a]
)";

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& cluster = store::testing::PgTestCluster::get();
    ASSERT_TRUE(cluster.ok()) << cluster.error();
    url_ = cluster.create_database();
    auto db = store::PgConnection::connect(url_);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    db_ = std::make_unique<store::PgConnection>(std::move(*db));
  }

  /// BATON_STORE for the test's database, with short leases.
  std::map<std::string, std::string> env(const std::string& lease = "30") const {
    return {{"BATON_STORE", url_}, {"BATON_LEASE_SECONDS", lease}};
  }

  std::string query_text(const std::string& sql) {
    auto rows = db_->query(sql.c_str());
    EXPECT_TRUE(rows.has_value()) << (rows ? "" : rows.error().error.message);
    return rows && rows->size() > 0 ? rows->text(0, 0) : "";
  }

  /// Waits (bounded) until SQL's first cell is "t".
  bool wait_until(const std::string& sql, double timeout_s = 30) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      if (query_text(sql) == "t") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  int64_t event_count() { return std::stoll(query_text("SELECT count(*) FROM events")); }

  std::string url_;
  std::unique_ptr<store::PgConnection> db_;
};

TEST_F(PostgresTest, ARunIsRecordedInPostgresAndStatusReadsItBack) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(version: "1.0"
name: small
tasks:
  - id: a
    run: echo hello
  - id: b
    run: echo world
    dependencies: [a]
)");
  Outcome run =
      run_baton({"--store", url_, "run", "--plain", "--run-id", "r1", "flow.yaml"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(dir.exists(".baton/state.db"));  // the state is in PostgreSQL only
  EXPECT_EQ(query_text("SELECT status FROM runs WHERE id = 'r1'"), "success");
  EXPECT_EQ(query_text("SELECT string_agg(task_id || '=' || status, ',' ORDER BY position)"
                       " FROM tasks WHERE run_id = 'r1'"),
            "a=success,b=success");

  // BATON_STORE instead of --store; a status read from the database.
  Outcome status = run_baton({"status", "r1", "--json"}, dir.path(), env());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto json = nlohmann::json::parse(status.out);
  EXPECT_EQ(json["status"], "success");
  EXPECT_EQ(json["tasks"].size(), 2u);
  Outcome audit = run_baton({"audit", "verify", "r1"}, dir.path(), env());
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("chain intact"), std::string::npos) << audit.out;
  // --store after the command works too, and wins over BATON_STORE.
  Outcome after = run_baton({"status", "r1", "--store", url_}, dir.path(),
                            {{"BATON_STORE", "postgres://nobody@127.0.0.1:1/none"}});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(after.out.find("success"), std::string::npos) << after.out;
  // Logs stay on files beside the project.
  EXPECT_NE(
      read_file(query_text("SELECT log_path FROM attempts WHERE task_id = 'a'")).find("hello"),
      std::string::npos);
}

TEST_F(PostgresTest, TwoOrchestratorsRaceForOneRunAndTheLoserExitsSeven) {
  ScratchDir dir;
  dir.write("flow.yaml", kWaitingFlow);
  {
    // The first orchestrator dies while a runs: the run is left to be resumed.
    BatonProcess first({"run", "--plain", "--run-id", "r1", "flow.yaml"}, dir.path(), env());
    ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
    first.signal(SIGKILL);
    first.wait();
  }
  BatonProcess one({"resume", "--plain", "r1"}, dir.path(), env());
  BatonProcess two({"resume", "--plain", "r1"}, dir.path(), env());
  // The loser exits at once (the winner waits for `go`).
  int fds[2] = {static_cast<int>(syscall(SYS_pidfd_open, one.pid(), 0)),
                static_cast<int>(syscall(SYS_pidfd_open, two.pid(), 0))};
  pollfd pfds[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
  ASSERT_GT(poll(pfds, 2, 60000), 0);
  const bool one_lost = (pfds[0].revents & POLLIN) != 0;
  close(fds[0]);
  close(fds[1]);
  BatonProcess& loser = one_lost ? one : two;
  BatonProcess& winner = one_lost ? two : one;
  Outcome lost = loser.wait();
  EXPECT_EQ(lost.exit_code, 7) << lost.err;
  EXPECT_NE(lost.err.find("already being run"), std::string::npos) << lost.err;
  dir.write("go", "");
  Outcome won = winner.wait();
  EXPECT_EQ(won.exit_code, 0) << won.err;
  EXPECT_EQ(query_text("SELECT status FROM runs WHERE id = 'r1'"), "success");
}

TEST_F(PostgresTest, AKilledDatabaseConnectionMidRunLosesNothing) {
  ScratchDir dir;
  dir.write("flow.yaml", kWaitingFlow);
  BatonProcess run({"run", "--plain", "--run-id", "r1", "flow.yaml"}, dir.path(), env("3"));
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  ASSERT_TRUE(
      wait_until("SELECT count(*) = 1 FROM tasks WHERE run_id = 'r1' AND status = 'running'"));
  // Every connection of the run (its store's and its lease thread's) is terminated.
  const std::string killed = query_text(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_GE(std::stoi(killed), 1);
  dir.write("go", "");
  Outcome out = run.wait();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(query_text("SELECT status FROM runs WHERE id = 'r1'"), "success");
  EXPECT_EQ(query_text("SELECT string_agg(task_id || '=' || status, ',' ORDER BY position)"
                       " FROM tasks WHERE run_id = 'r1'"),
            "a=success,b=success");
  // Nothing twice, nothing lost: one attempt each, an intact chain ending the run.
  EXPECT_EQ(query_text("SELECT count(*) FROM attempts WHERE run_id = 'r1'"), "2");
  Outcome audit = run_baton({"audit", "verify", "r1"}, dir.path(), env());
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

TEST_F(PostgresTest, AHolderPausedPastItsLeaseIsTakenOverAndFencedWhenItWakes) {
  ScratchDir dir;
  dir.write("flow.yaml", kWaitingFlow);
  BatonProcess paused({"run", "--plain", "--run-id", "r1", "flow.yaml"}, dir.path(), env("1"));
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  ASSERT_TRUE(
      wait_until("SELECT count(*) = 1 FROM tasks WHERE run_id = 'r1' AND status = 'running'"));
  paused.signal(SIGSTOP);
  ASSERT_TRUE(wait_until("SELECT expires_at < clock_timestamp() FROM run_leases"));

  // Another orchestrator takes the run over, adopts the running attempt and ends it.
  BatonProcess next({"resume", "--plain", "r1"}, dir.path(), env("1"));
  ASSERT_TRUE(
      wait_until("SELECT count(*) = 1 FROM events WHERE run_id = 'r1' AND kind = 'run.resumed'"));
  dir.write("go", "");
  Outcome resumed = next.wait();
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(query_text("SELECT status FROM runs WHERE id = 'r1'"), "success");
  const int64_t events = event_count();
  const std::string rows = query_text(
      "SELECT string_agg(task_id || '=' || status || '/' || attempts, ',' ORDER BY position)"
      " FROM tasks");

  // The paused one wakes: it finds its lease gone and stops, writing nothing.
  paused.signal(SIGCONT);
  Outcome fenced = paused.wait();
  EXPECT_EQ(fenced.exit_code, 7) << fenced.err;
  EXPECT_NE(fenced.err.find("lease of run r1"), std::string::npos) << fenced.err;
  EXPECT_EQ(event_count(), events);
  EXPECT_EQ(query_text("SELECT string_agg(task_id || '=' || status || '/' || attempts, ','"
                       " ORDER BY position) FROM tasks"),
            rows);
  EXPECT_EQ(query_text("SELECT status FROM runs WHERE id = 'r1'"), "success");
  Outcome audit = run_baton({"audit", "verify", "r1"}, dir.path(), env());
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

TEST_F(PostgresTest, ServeListsRunsAndEventsFromPostgres) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(version: "1.0"
name: small
tasks:
  - id: a
    run: echo hello
)");
  ASSERT_EQ(
      run_baton({"run", "--plain", "--run-id", "r1", "flow.yaml"}, dir.path(), env()).exit_code, 0);
  BatonProcess serve({"serve", "--listen", "127.0.0.1:0"}, dir.path(), env());
  const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  int port = 0;
  for (int i = 0; i < 3000 && port == 0; ++i) {  // at most 30 s
    std::smatch m;
    const std::string out = read_file(serve.stdout_path());
    if (std::regex_search(out, m, listening)) port = std::stoi(m[1]);
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(port, 0) << "baton serve did not start";
  std::string token = dir.read(".baton/serve/token");
  while (!token.empty() && token.back() == '\n') token.pop_back();
  httplib::Client client("127.0.0.1", port);
  client.set_bearer_token_auth(token.c_str());
  auto runs = client.Get("/api/v1/runs");
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->status, 200) << runs->body;
  EXPECT_NE(runs->body.find("\"r1\""), std::string::npos) << runs->body;
  auto run = client.Get("/api/v1/runs/r1");
  ASSERT_TRUE(run);
  EXPECT_EQ(run->status, 200) << run->body;
  EXPECT_NE(run->body.find("success"), std::string::npos) << run->body;
  EXPECT_FALSE(dir.exists(".baton/state.db"));
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30).exit_code, 0);
}

}  // namespace
}  // namespace baton::testing
