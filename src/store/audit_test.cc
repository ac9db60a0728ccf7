// Tests of the audit chain: the store chains every event it appends, and
// verify_chain() finds edits, deletions and renumbering made behind its back with
// raw SQL on the real database file.
#include "store/audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "store/test_util.h"

namespace baton::store {
namespace {

using ::testing::HasSubstr;
using namespace baton::store::testing;

const std::string kZeros(64, '0');

void apply_ok(Store& store, const Batch& batch) {
  auto r = store.apply(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

std::vector<Event> events_of(Store& store, const std::string& run_id) {
  auto events = store.list_events(run_id, 0);
  EXPECT_TRUE(events.has_value()) << events.error().message;
  return events ? *events : std::vector<Event>{};
}

ChainReport verify_ok(Store& store, const std::string& run_id) {
  auto report = verify_run(store, run_id);
  EXPECT_TRUE(report.has_value()) << report.error().message;
  return report ? *report : ChainReport{};
}

void exec_sql(const std::string& path, const std::string& sql) {
  Db db = raw_db(path);
  auto r = db.exec(sql.c_str());
  ASSERT_TRUE(r.has_value()) << sql << ": " << r.error().message;
}

/// A store at dir/state.db holding run "r1" with six events (seqs 1..6) written in
/// three batches; FINISHED adds run.finished as event 7 and ends the run.
class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("state.db");
    store_ = open_or_die(path_);
    Batch first;
    first.run = make_run("r1");
    first.events = {make_event("r1", "run.created", 100.25, {{"tasks", 2}}),
                    make_event("r1", "task.ready", 100.5, {{"from", "pending"}}, "a")};
    apply_ok(*store_, first);
    Batch second;
    second.events = {make_event("r1", "task.running", 101, {{"attempt", 1}}, "a"),
                     make_event("r1", "attempt.started", 101, {{"attempt", 1}}, "a")};
    apply_ok(*store_, second);
    Batch third;
    third.events = {make_event("r1", "attempt.finished", 102.75, {{"exit", "exited 0"}}, "a"),
                    make_event("r1", "task.success", 102.75, {{"from", "running"}}, "a")};
    apply_ok(*store_, third);
  }

  void finish() {
    Batch batch;
    RunRecord run = make_run("r1");
    run.status = "success";
    run.ended_at = 103;
    batch.run = run;
    batch.events = {make_event("r1", "run.finished", 103, {{"status", "success"}})};
    apply_ok(*store_, batch);
  }

  ChainReport verify() { return verify_ok(*store_, "r1"); }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST(AuditHashTest, CanonicalFormIsNetstringsInDocumentedOrder) {
  ChainFields f{"r1", 1, 100.5, "", "run.created", "{}", kGenesisHash};
  EXPECT_EQ(canonical_event(f), "2:r1,1:1,5:100.5,0:,11:run.created,2:{},64:" + kZeros + ",");
  // Computed independently: printf '2:r1,...,' | sha256sum
  EXPECT_EQ(event_hash(f), "9323d3c7e27e6f410ee65e2c1d2c2e2a7f430ad97d0dc418d03af5ae574b3aac");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditHashTest, TimeIsPrintedWithSeventeenSignificantDigits) {
  ChainFields f{"r", 12, 0.1, "t", "k", "{}", "p"};
  EXPECT_EQ(canonical_event(f), "1:r,2:12,19:0.10000000000000001,1:t,1:k,2:{},1:p,");
  f.time = 1764000002.5;
  EXPECT_THAT(canonical_event(f), HasSubstr(",12:1764000002.5,"));
}

TEST(AuditHashTest, FieldBoundariesCannotBeShifted) {
  // The same bytes split differently between fields hash differently.
  ChainFields a{"r", 1, 1, "ab", "c", "{}", "p"};
  ChainFields b{"r", 1, 1, "a", "bc", "{}", "p"};
  EXPECT_NE(event_hash(a), event_hash(b));
}

TEST_F(ChainTest, EveryEventChainsFromThePreviousOne) {
  std::vector<Event> events = events_of(*store_, "r1");
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].prev_hash, kZeros);
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    EXPECT_EQ(e.hash.size(), 64u);
    if (i > 0) {
      EXPECT_EQ(e.prev_hash, events[i - 1].hash) << "event " << e.seq;
    }
    EXPECT_EQ(e.hash,
              event_hash({e.run_id, e.seq, e.time, e.task_id, e.kind, e.data.dump(), e.prev_hash}))
        << "event " << e.seq;
  }
  ChainReport report = verify();
  EXPECT_TRUE(report.ok()) << report.problem;
  EXPECT_EQ(report.events, 6);
  EXPECT_EQ(report.head_hash, events.back().hash);
  EXPECT_EQ(report.broken_at, 0);
}

TEST_F(ChainTest, ChainContinuesAfterReopen) {
  std::string head = events_of(*store_, "r1").back().hash;
  store_.reset();
  store_ = open_or_die(path_);
  finish();
  std::vector<Event> events = events_of(*store_, "r1");
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[6].prev_hash, head);
  EXPECT_TRUE(verify().ok()) << verify().problem;
}

TEST_F(ChainTest, EachRunHasItsOwnChain) {
  Batch batch;
  batch.run = make_run("r2", 2);
  batch.events = {make_event("r2", "run.created"), make_event("r1", "task.ready", 104, {}, "b")};
  apply_ok(*store_, batch);
  std::vector<Event> r2 = events_of(*store_, "r2");
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].prev_hash, kZeros);
  EXPECT_TRUE(verify().ok());
  EXPECT_TRUE(verify_ok(*store_, "r2").ok());
}

TEST_F(ChainTest, TwoStoresAppendingToOneRunKeepOneChain) {
  auto other = open_or_die(path_);
  Batch from_other;
  from_other.events = {make_event("r1", "run.cancel_requested")};
  apply_ok(*other, from_other);  // store_ has r1's head cached; it must notice this
  finish();
  std::vector<Event> events = events_of(*store_, "r1");
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events[6].kind, "run.cancel_requested");
  EXPECT_EQ(events[7].prev_hash, events[6].hash);
  EXPECT_TRUE(verify().ok()) << verify().problem;
}

TEST_F(ChainTest, RolledBackBatchLeavesTheChainIntact) {
  Batch bad;
  bad.events = {make_event("r1", "task.ready", 104, {}, "b"), make_event("ghost", "x")};
  ASSERT_FALSE(store_->apply(bad).has_value());
  finish();
  std::vector<Event> events = events_of(*store_, "r1");
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[6].kind, "run.finished");
  EXPECT_TRUE(verify().ok()) << verify().problem;
}

TEST_F(ChainTest, EditedDataIsAHashMismatch) {
  exec_sql(path_, R"(UPDATE events SET data = '{"exit":"exited 1"}' WHERE seq = 5)");
  ChainReport report = verify();
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.problem, "event 5: hash mismatch (edited?)");
  EXPECT_EQ(report.broken_at, 5);
  EXPECT_EQ(report.events, 5);
}

TEST_F(ChainTest, EveryCoveredColumnIsProtected) {
  for (const char* edit :
       {"time = time + 1", "task_id = 'b'", "kind = 'task.failed'", "data = '{}'",
        "prev_hash = NULL", "hash = NULL", "hash = upper(hash)", "run_id = run_id"}) {
    SCOPED_TRACE(edit);
    TempDir dir;
    const std::string path = dir.file("state.db");
    {
      auto store = open_or_die(path);
      Batch batch;
      batch.run = make_run("r1");
      batch.events = {make_event("r1", "run.created"), make_event("r1", "task.ready", 101, {}, "a"),
                      make_event("r1", "task.running", 102, {{"attempt", 1}}, "a")};
      apply_ok(*store, batch);
    }
    exec_sql(path, std::string("UPDATE events SET ") + edit + " WHERE seq = 2");
    auto store = open_or_die(path);
    ChainReport report = verify_ok(*store, "r1");
    if (std::string(edit) == "run_id = run_id") {  // a no-op edit changes nothing
      EXPECT_TRUE(report.ok()) << report.problem;
    } else {
      EXPECT_EQ(report.problem, "event 2: hash mismatch (edited?)");
    }
  }
}

TEST_F(ChainTest, DeletedEventIsMissing) {
  exec_sql(path_, "DELETE FROM events WHERE seq = 3");
  ChainReport report = verify();
  EXPECT_EQ(report.problem, "event 3 missing (deleted?)");
  EXPECT_EQ(report.broken_at, 3);
}

TEST_F(ChainTest, DeletedFirstEventIsMissing) {
  exec_sql(path_, "DELETE FROM events WHERE seq = 1");
  EXPECT_EQ(verify().problem, "event 1 missing (deleted?)");
}

TEST_F(ChainTest, NoEventsAtAllIsMissingEventOne) {
  exec_sql(path_, "DELETE FROM events");
  ChainReport report = verify();
  EXPECT_EQ(report.problem, "event 1 missing (deleted?)");
  EXPECT_EQ(report.head_hash, kZeros);
}

TEST_F(ChainTest, DeletedTailOfAnEndedRunIsMissing) {
  finish();
  EXPECT_TRUE(verify().ok());
  exec_sql(path_, "DELETE FROM events WHERE seq = 7");
  ChainReport report = verify();
  EXPECT_EQ(report.problem,
            "event 7 missing (deleted?): the run ended (success) but its last event is "
            "task.success, not run.finished");
  EXPECT_EQ(report.broken_at, 7);
}

TEST_F(ChainTest, RenumberedEventsAfterADeletionAreAHashMismatch) {
  // Hide the deletion of event 3 by closing the gap.
  exec_sql(path_,
           "DELETE FROM events WHERE seq = 3; UPDATE events SET seq = seq - 1 WHERE seq > 3");
  EXPECT_EQ(verify().problem, "event 3: hash mismatch (edited?)");
}

TEST_F(ChainTest, SwappedEventsAreAHashMismatch) {
  exec_sql(path_,
           "UPDATE events SET seq = -2 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3;"
           " UPDATE events SET seq = 3 WHERE seq = -2");
  EXPECT_EQ(verify().problem, "event 2: hash mismatch (edited?)");
}

TEST_F(ChainTest, EditWithARecomputedHashBreaksTheNextLink) {
  // Someone who knows the algorithm rewrites event 3 and its hash, but not event 4.
  std::vector<Event> events = events_of(*store_, "r1");
  const Event& e = events[2];
  const std::string data = R"({"attempt":7})";
  std::string forged = event_hash({e.run_id, e.seq, e.time, e.task_id, e.kind, data, e.prev_hash});
  exec_sql(path_, "UPDATE events SET data = '" + data + "', hash = '" + forged + "' WHERE seq = 3");
  ChainReport report = verify();
  EXPECT_EQ(report.problem, "event 4: prev_hash does not match event 3");
  EXPECT_EQ(report.broken_at, 4);
}

TEST_F(ChainTest, ForgedFirstEventMustChainFromGenesis) {
  std::vector<Event> events = events_of(*store_, "r1");
  const Event& e = events[0];
  const std::string prev(64, 'f');
  std::string forged =
      event_hash({e.run_id, e.seq, e.time, e.task_id, e.kind, e.data.dump(), prev});
  exec_sql(path_,
           "UPDATE events SET prev_hash = '" + prev + "', hash = '" + forged + "' WHERE seq = 1");
  EXPECT_EQ(verify().problem, "event 1: prev_hash is not the genesis hash (64 zeros)");
}

TEST_F(ChainTest, DataThatIsNotJsonIsReportedNotAnError) {
  exec_sql(path_, "UPDATE events SET data = '{broken' WHERE seq = 2");
  EXPECT_EQ(verify().problem, "event 2: hash mismatch (edited?)");
  auto stored = store_->list_stored_events("r1");
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  EXPECT_EQ((*stored)[1].data_json, "{broken");
  EXPECT_TRUE((*stored)[1].event.data.is_null());
}

TEST_F(ChainTest, VerifyOfAnUnknownRunIsAnError) {
  auto report = verify_run(*store_, "nope");
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().message, "no run 'nope'");
}

std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST_F(ChainTest, ExportWritesAHeaderAndOneLinePerEvent) {
  finish();
  std::ostringstream out;
  auto report = export_run(*store_, "r1", out, 1764000000.5);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_TRUE(report->ok());
  ASSERT_EQ(out.str().back(), '\n');
  std::vector<nlohmann::json> lines = parse_lines(out.str());
  ASSERT_EQ(lines.size(), 8u);

  const nlohmann::json& header = lines[0];
  EXPECT_EQ(header["type"], "run");
  EXPECT_EQ(header["format"], "baton-audit");
  EXPECT_EQ(header["version"], 1);
  EXPECT_EQ(header["exported_at"], 1764000000.5);
  const nlohmann::json& run = header["run"];
  EXPECT_EQ(run["id"], "r1");
  EXPECT_EQ(run["status"], "success");
  EXPECT_EQ(run["workflow_name"], "build");
  EXPECT_EQ(run["workflow_sha256"], "ab12");
  EXPECT_EQ(run["ended_at"], 103);
  EXPECT_EQ(run["orchestrator_pid"], 4242);
  for (const char* key : {"workflow_path", "inputs", "root_dir", "run_dir", "created_at",
                          "orchestrator_start_time"}) {
    EXPECT_TRUE(run.contains(key)) << key;
  }
  EXPECT_EQ(header["chain"]["ok"], true);
  EXPECT_EQ(header["chain"]["events"], 7);
  EXPECT_EQ(header["chain"]["head_hash"], report->head_hash);
  EXPECT_EQ(header["chain"]["broken_at"], 0);
  EXPECT_EQ(header["chain"]["problem"], "");

  std::vector<Event> events = events_of(*store_, "r1");
  for (size_t i = 0; i < events.size(); ++i) {
    const nlohmann::json& line = lines[i + 1];
    const Event& e = events[i];
    EXPECT_EQ(line.size(), 9u) << line.dump();
    EXPECT_EQ(line["type"], "event");
    EXPECT_EQ(line["run_id"], "r1");
    EXPECT_EQ(line["seq"], e.seq);
    EXPECT_EQ(line["time"].get<double>(), e.time);
    EXPECT_EQ(line["task_id"], e.task_id);
    EXPECT_EQ(line["kind"], e.kind);
    EXPECT_EQ(line["data"], e.data);
    EXPECT_EQ(line["prev_hash"], e.prev_hash);
    EXPECT_EQ(line["hash"], e.hash);
    // The export alone is enough to recompute the chain.
    EXPECT_EQ(line["hash"],
              event_hash({line["run_id"].get<std::string>(), line["seq"].get<int64_t>(),
                          line["time"].get<double>(), line["task_id"].get<std::string>(),
                          line["kind"].get<std::string>(), line["data"].dump(),
                          line["prev_hash"].get<std::string>()}));
  }
}

TEST_F(ChainTest, ExportOfABrokenChainSaysSoInTheHeader) {
  exec_sql(path_, "UPDATE events SET data = 'not json' WHERE seq = 4");
  std::ostringstream out;
  auto report = export_run(*store_, "r1", out, 1);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_FALSE(report->ok());
  std::vector<nlohmann::json> lines = parse_lines(out.str());
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0]["chain"]["ok"], false);
  EXPECT_EQ(lines[0]["chain"]["broken_at"], 4);
  EXPECT_EQ(lines[0]["chain"]["problem"], "event 4: hash mismatch (edited?)");
  EXPECT_TRUE(lines[4]["data"].is_null());
  EXPECT_EQ(lines[4]["data_text"], "not json");
  EXPECT_FALSE(lines[3].contains("data_text"));
}

TEST_F(ChainTest, ExportOfAnUnknownRunIsAnError) {
  std::ostringstream out;
  auto report = export_run(*store_, "nope", out, 1);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().message, "no run 'nope'");
  EXPECT_EQ(out.str(), "");
}

TEST(AuditMigrationTest, EventsOfASchemaOneDatabaseAreChainedOnUpgrade) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    for (const char* id : {"r1", "r2"}) {
      Batch batch;
      batch.run = make_run(id);
      batch.events = {make_event(id, "run.created"), make_event(id, "task.ready", 101, {}, "a")};
      apply_ok(*store, batch);
    }
  }
  // Turn the file back into what schema version 1 wrote.
  exec_sql(path,
           "ALTER TABLE events DROP COLUMN hash; ALTER TABLE events DROP COLUMN prev_hash;"
           " ALTER TABLE runs DROP COLUMN orchestrator_start_time;"
           " ALTER TABLE tasks DROP COLUMN spec_sha256; ALTER TABLE tasks DROP COLUMN gate;"
           " ALTER TABLE tasks DROP COLUMN dependencies;"
           " DROP TABLE webhook_deliveries; DROP TABLE webhook_endpoints;"
           " PRAGMA user_version = 1");
  auto store = open_or_die(path);
  {
    Db db = raw_db(path);
    EXPECT_EQ(db.query_int("PRAGMA user_version").value_or(-1), 5);
  }
  for (const char* id : {"r1", "r2"}) {
    ChainReport report = verify_ok(*store, id);
    EXPECT_TRUE(report.ok()) << id << ": " << report.problem;
    EXPECT_EQ(report.events, 2);
  }
  Batch more;
  more.events = {make_event("r1", "task.running", 102, {}, "a")};
  apply_ok(*store, more);
  EXPECT_TRUE(verify_ok(*store, "r1").ok());
  auto run = store->get_run("r1");
  ASSERT_TRUE(run.has_value() && run->has_value());
  EXPECT_EQ((*run)->orchestrator_start_time, 0);
}

TEST(StatusOfEventTest, OnlyStatusEventsRecordAStatus) {
  EXPECT_EQ(status_of_event("task.success"), "success");
  EXPECT_EQ(status_of_event("task.waiting"), "waiting");
  EXPECT_EQ(status_of_event("task.retried"), "pending");
  EXPECT_EQ(status_of_event("hook.failed"), "failed");
  EXPECT_EQ(status_of_event("hook.started"), "");
  EXPECT_EQ(status_of_event("task.committed"), "");
  EXPECT_EQ(status_of_event("task.output_truncated"), "");
  EXPECT_EQ(status_of_event("run.finished"), "");
}

TaskRecord task_row(const std::string& id, const std::string& status, const std::string& output) {
  TaskRecord t;
  t.run_id = "r1";
  t.task_id = id;
  t.status = status;
  t.output = output;
  return t;
}

// Rows written the way each writer writes them (a row with its status event) match
// the chain; a row edited afterwards is named with its field.
TEST(VerifyRowsTest, RowsWrittenWithTheirEventsMatchAndForgedOnesAreNamed) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Batch start;
  start.run = make_run("r1");
  start.tasks = {task_row("a", "pending", ""), task_row("b", "pending", "")};
  start.events = {make_event("r1", "run.created")};
  apply_ok(*store, start);
  Batch ended;
  ended.tasks = {task_row("a", "failed", "first try"),
                 task_row("hook:on_failure:n", "success", "h")};
  ended.events = {make_event("r1", "task.failed", 101, {{"from", "running"}}, "a"),
                  make_event("r1", "hook.started", 101, {}, "hook:on_failure:n"),
                  make_event("r1", "hook.success", 101, {}, "hook:on_failure:n")};
  apply_ok(*store, ended);
  Batch retried;  // baton retry: pending again, the output kept
  retried.tasks = {task_row("a", "pending", "first try")};
  retried.events = {make_event("r1", "task.retried", 102, {{"from", "failed"}}, "a")};
  apply_ok(*store, retried);
  Batch paused;
  RunRecord run = make_run("r1");
  run.status = "paused";
  paused.run = run;
  paused.events = {make_event("r1", "run.paused", 103)};
  apply_ok(*store, paused);
  ChainReport ok = verify_ok(*store, "r1");
  EXPECT_TRUE(ok.ok()) << ok.problem;
  auto events = *store->list_events("r1", 0);
  EXPECT_EQ(events[4].data.value("output_sha256", ""), sha256_hex("first try"));
  EXPECT_FALSE(events[0].data.contains("output_sha256"));

  exec_sql(path, "UPDATE tasks SET output = 'x' WHERE task_id = 'hook:on_failure:n'");
  ChainReport hook = verify_ok(*store, "r1");
  EXPECT_TRUE(hook.row_mismatch);
  EXPECT_EQ(hook.broken_at, 4);
  EXPECT_THAT(hook.problem, HasSubstr("tasks row 'hook:on_failure:n', field output: SHA-256 "));
  exec_sql(path, "UPDATE tasks SET output = 'h' WHERE task_id = 'hook:on_failure:n'");
  exec_sql(path, "UPDATE tasks SET status = 'success' WHERE task_id = 'b'");
  EXPECT_EQ(verify_ok(*store, "r1").problem,
            "tasks row 'b', field status: 'success', but no event says 'pending'");
  exec_sql(path, "UPDATE tasks SET status = 'pending' WHERE task_id = 'b'");
  exec_sql(path, "UPDATE runs SET status = 'running'");
  EXPECT_EQ(verify_ok(*store, "r1").problem,
            "runs row 'r1', field status: 'running', but event 6 (run.paused) says 'paused'");
}

}  // namespace
}  // namespace baton::store
