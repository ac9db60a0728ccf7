// Tests of the SQLite store against real database files in scratch directories.
#include "store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/audit.h"
#include "store/sqlite.h"

namespace baton::store {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace fs = std::filesystem;

/// A scratch directory from mkdtemp, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "baton-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

RunRecord make_run(const std::string& id, double created_at) {
  RunRecord r;
  r.id = id;
  r.workflow_name = "build";
  r.workflow_path = "/repo/build.baton.yaml";
  r.workflow_sha256 = "ab12";
  r.status = "running";
  r.inputs = {{"n", 3}};
  r.root_dir = "/repo";
  r.run_dir = "/repo/.baton/runs/" + id;
  r.created_at = created_at;
  r.orchestrator_pid = 4242;
  return r;
}

TaskRecord make_task(const std::string& run_id, const std::string& task_id, int position) {
  TaskRecord t;
  t.run_id = run_id;
  t.task_id = task_id;
  t.position = position;
  t.status = "pending";
  return t;
}

AttemptRecord make_attempt(const std::string& run_id, const std::string& task_id, int number) {
  AttemptRecord a;
  a.run_id = run_id;
  a.task_id = task_id;
  a.number = number;
  a.status = "running";
  return a;
}

Event make_event(const std::string& run_id, const std::string& kind) {
  Event e;
  e.run_id = run_id;
  e.kind = kind;
  e.time = 100.5;
  return e;
}

std::unique_ptr<Store> open_or_die(const std::string& path, StoreOptions options = {}) {
  auto store = open_sqlite_store(path, options);
  EXPECT_TRUE(store.has_value()) << store.error().message;
  if (!store) std::abort();
  return std::move(*store);
}

/// A raw connection for poking at the file behind the store's back.
Db raw_db(const std::string& path) {
  auto db = Db::open(path);
  if (!db) std::abort();
  return std::move(*db);
}

/// Applies BATCH and fails the test (with the message) if it did not succeed.
void apply_ok(Store& store, const Batch& batch) {
  auto r = store.apply(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

std::vector<int64_t> seqs(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

TEST(SqliteStoreTest, RoundTripsEveryFieldOfEveryRecord) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  RunRecord run;
  run.id = "20261124-014512-3fa9";
  run.workflow_name = "release";
  run.workflow_path = "/home/u/repo/release.yaml";
  run.workflow_sha256 = std::string(64, 'f');
  run.status = "failed";
  run.inputs = {
      {"version", "1.2.3"}, {"dry", true}, {"list", {1, 2.5, nullptr}}, {"nested", {{"é", "ünï"}}}};
  run.root_dir = "/home/u/repo";
  run.run_dir = "/home/u/repo/.baton/runs/20261124-014512-3fa9";
  run.created_at = 1764000000.125;
  run.ended_at = 1764000100.75;
  run.orchestrator_pid = 31337;
  run.orchestrator_start_time = 987654321;

  TaskRecord with_code;
  with_code.run_id = run.id;
  with_code.task_id = "test";
  with_code.position = 1;
  with_code.status = "failed";
  with_code.attempts = 2;
  with_code.agent = "claude";
  with_code.output = std::string("line1\nline2\0tail", 16);  // embedded NUL survives
  with_code.exit_code = 0;                                   // set to zero, distinct from null
  with_code.reason = "exit 1";
  with_code.started_at = 1764000001.5;
  with_code.ended_at = 1764000002.25;
  with_code.spec_sha256 = std::string(64, 'e');
  with_code.gate = "escalated";
  TaskRecord without_code = make_task(run.id, "lint", 0);

  AttemptRecord full;
  full.run_id = run.id;
  full.task_id = "test";
  full.number = 2;
  full.agent = "codex";
  full.status = "failed";
  full.exit_status = "exited 3";
  full.exit_code = 3;
  full.error_class = "rate_limit";
  full.error = "429 too many requests";
  full.log_path = "/logs/test.2.log";
  full.output = "answer";
  full.session_id = "sess-1";
  full.input_tokens = 5'000'000'000;  // beyond 32 bits
  full.output_tokens = 1234;
  full.cached_tokens = 99;
  full.cost_usd = 0.0;  // set to zero, distinct from null
  full.pid = 777;
  full.started_at = 1764000001.5;
  full.ended_at = 1764000002.25;
  AttemptRecord sparse = make_attempt(run.id, "test", 1);

  Event event;
  event.run_id = run.id;
  event.task_id = "test";
  event.kind = "task.failed";
  event.time = 1764000002.5;
  event.data = {{"reason", "exit 1"}, {"codes", {1, 2}}};

  {
    auto store = open_or_die(path);
    Batch batch;
    batch.run = run;
    batch.tasks = {with_code, without_code};
    batch.attempts = {full, sparse};
    batch.events = {event};
    apply_ok(*store, batch);
  }
  auto store = open_or_die(path);  // read back through a fresh connection

  auto got_run = store->get_run(run.id);
  ASSERT_TRUE(got_run.has_value()) << got_run.error().message;
  ASSERT_TRUE(got_run->has_value());
  const RunRecord& r = **got_run;
  EXPECT_EQ(r.id, run.id);
  EXPECT_EQ(r.workflow_name, run.workflow_name);
  EXPECT_EQ(r.workflow_path, run.workflow_path);
  EXPECT_EQ(r.workflow_sha256, run.workflow_sha256);
  EXPECT_EQ(r.status, run.status);
  EXPECT_EQ(r.inputs, run.inputs);
  EXPECT_EQ(r.root_dir, run.root_dir);
  EXPECT_EQ(r.run_dir, run.run_dir);
  EXPECT_EQ(r.created_at, run.created_at);
  EXPECT_EQ(r.ended_at, run.ended_at);
  EXPECT_EQ(r.orchestrator_pid, run.orchestrator_pid);
  EXPECT_EQ(r.orchestrator_start_time, run.orchestrator_start_time);

  auto tasks = store->list_tasks(run.id);
  ASSERT_TRUE(tasks.has_value()) << tasks.error().message;
  ASSERT_EQ(tasks->size(), 2u);
  const TaskRecord& t0 = (*tasks)[0];
  EXPECT_EQ(t0.task_id, "lint");
  EXPECT_EQ(t0.exit_code, std::nullopt);
  EXPECT_EQ(t0.output, "");
  const TaskRecord& t = (*tasks)[1];
  EXPECT_EQ(t.run_id, with_code.run_id);
  EXPECT_EQ(t.task_id, with_code.task_id);
  EXPECT_EQ(t.position, with_code.position);
  EXPECT_EQ(t.status, with_code.status);
  EXPECT_EQ(t.attempts, with_code.attempts);
  EXPECT_EQ(t.agent, with_code.agent);
  EXPECT_EQ(t.output, with_code.output);
  EXPECT_EQ(t.exit_code, std::optional<int>(0));
  EXPECT_EQ(t.reason, with_code.reason);
  EXPECT_EQ(t.started_at, with_code.started_at);
  EXPECT_EQ(t.ended_at, with_code.ended_at);
  EXPECT_EQ(t.spec_sha256, with_code.spec_sha256);
  EXPECT_EQ(t.gate, with_code.gate);

  auto attempts = store->list_attempts(run.id, "");
  ASSERT_TRUE(attempts.has_value()) << attempts.error().message;
  ASSERT_EQ(attempts->size(), 2u);
  const AttemptRecord& s = (*attempts)[0];
  EXPECT_EQ(s.number, 1);
  EXPECT_EQ(s.exit_code, std::nullopt);
  EXPECT_EQ(s.cost_usd, std::nullopt);
  const AttemptRecord& a = (*attempts)[1];
  EXPECT_EQ(a.run_id, full.run_id);
  EXPECT_EQ(a.task_id, full.task_id);
  EXPECT_EQ(a.number, full.number);
  EXPECT_EQ(a.agent, full.agent);
  EXPECT_EQ(a.status, full.status);
  EXPECT_EQ(a.exit_status, full.exit_status);
  EXPECT_EQ(a.exit_code, std::optional<int>(3));
  EXPECT_EQ(a.error_class, full.error_class);
  EXPECT_EQ(a.error, full.error);
  EXPECT_EQ(a.log_path, full.log_path);
  EXPECT_EQ(a.output, full.output);
  EXPECT_EQ(a.session_id, full.session_id);
  EXPECT_EQ(a.input_tokens, full.input_tokens);
  EXPECT_EQ(a.output_tokens, full.output_tokens);
  EXPECT_EQ(a.cached_tokens, full.cached_tokens);
  EXPECT_EQ(a.cost_usd, std::optional<double>(0.0));
  EXPECT_EQ(a.pid, full.pid);
  EXPECT_EQ(a.started_at, full.started_at);
  EXPECT_EQ(a.ended_at, full.ended_at);

  auto events = store->list_events(run.id, 0);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  const Event& e = (*events)[0];
  EXPECT_EQ(e.seq, 1);
  EXPECT_EQ(e.time, event.time);
  EXPECT_EQ(e.run_id, event.run_id);
  EXPECT_EQ(e.task_id, event.task_id);
  EXPECT_EQ(e.kind, event.kind);
  // A status event gets the digest of its task's row in the same batch (audit.h).
  nlohmann::json data = event.data;
  data["output_sha256"] = sha256_hex(with_code.output);
  EXPECT_EQ(e.data, data);
}

TEST(SqliteStoreTest, NullsAreStoredAsSqlNull) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.tasks = {make_task("r1", "a", 0)};
  batch.attempts = {make_attempt("r1", "a", 1)};
  apply_ok(*store, batch);

  Db db = raw_db(path);
  auto nulls = db.query_int(
      "SELECT (SELECT COUNT(*) FROM tasks WHERE exit_code IS NULL) +"
      " (SELECT COUNT(*) FROM attempts WHERE exit_code IS NULL AND cost_usd IS NULL)");
  ASSERT_TRUE(nulls.has_value()) << nulls.error().message;
  EXPECT_EQ(*nulls, 2);
  auto inputs = db.query_text("SELECT inputs FROM runs");
  ASSERT_TRUE(inputs.has_value()) << inputs.error().message;
  EXPECT_EQ(*inputs, R"({"n":3})");
}

TEST(SqliteStoreTest, UpsertOverwritesRunTaskAndAttempt) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch first;
  first.run = make_run("r1", 10);
  first.tasks = {make_task("r1", "a", 0)};
  AttemptRecord attempt = make_attempt("r1", "a", 1);
  attempt.exit_code = 5;
  attempt.cost_usd = 1.5;
  first.attempts = {attempt};
  apply_ok(*store, first);

  Batch second;
  RunRecord run = make_run("r1", 10);
  run.status = "success";
  run.ended_at = 20;
  run.inputs = nlohmann::json::array({"x"});
  second.run = run;
  TaskRecord task = make_task("r1", "a", 0);
  task.status = "success";
  task.attempts = 1;
  task.exit_code = 0;
  task.output = "done";
  second.tasks = {task};
  attempt.status = "success";
  attempt.exit_code.reset();  // back to null
  attempt.cost_usd.reset();
  attempt.output_tokens = 42;
  second.attempts = {attempt};
  apply_ok(*store, second);

  auto got = store->get_run("r1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->status, "success");
  EXPECT_EQ((*got)->ended_at, 20);
  EXPECT_EQ((*got)->inputs, nlohmann::json::array({"x"}));
  auto tasks = store->list_tasks("r1");
  ASSERT_TRUE(tasks.has_value());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].status, "success");
  EXPECT_EQ((*tasks)[0].exit_code, std::optional<int>(0));
  EXPECT_EQ((*tasks)[0].output, "done");
  auto attempts = store->list_attempts("r1", "a");
  ASSERT_TRUE(attempts.has_value());
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].status, "success");
  EXPECT_EQ((*attempts)[0].exit_code, std::nullopt);
  EXPECT_EQ((*attempts)[0].cost_usd, std::nullopt);
  EXPECT_EQ((*attempts)[0].output_tokens, 42);
}

TEST(SqliteStoreTest, EventSeqStartsAtOnePerRunAndContinuesAfterReopen) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    Batch batch;
    batch.run = make_run("r1", 1);
    batch.events = {make_event("r1", "run.created"), make_event("r1", "task.ready")};
    apply_ok(*store, batch);
    Batch other;
    other.run = make_run("r2", 2);
    other.events = {make_event("r2", "run.created")};
    apply_ok(*store, other);
    Batch more;
    more.events = {make_event("r1", "task.running")};
    apply_ok(*store, more);
  }
  auto store = open_or_die(path);
  Batch batch;
  batch.events = {make_event("r2", "task.ready"), make_event("r1", "run.success")};
  apply_ok(*store, batch);

  auto r1 = store->list_events("r1", 0);
  ASSERT_TRUE(r1.has_value()) << r1.error().message;
  EXPECT_EQ(seqs(*r1), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ((*r1)[3].kind, "run.success");
  auto r2 = store->list_events("r2", 0);
  ASSERT_TRUE(r2.has_value()) << r2.error().message;
  EXPECT_EQ(seqs(*r2), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*r2)[1].kind, "task.ready");
}

TEST(SqliteStoreTest, TwoStoresOnOneFileDoNotReuseSeqs) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto a = open_or_die(path);
  auto b = open_or_die(path);
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.events = {make_event("r1", "one")};
  apply_ok(*a, batch);  // a caches last seq 1
  Batch from_b;
  from_b.events = {make_event("r1", "two"), make_event("r1", "three")};
  apply_ok(*b, from_b);  // b reads 1 from the file
  Batch from_a;
  from_a.events = {make_event("r1", "four")};
  apply_ok(*a, from_a);  // a must notice b's commit instead of writing seq 2 again

  auto events = a->list_events("r1", 0);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  EXPECT_EQ(seqs(*events), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ((*events)[3].kind, "four");
}

TEST(SqliteStoreTest, ListEventsAfterSeq) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch batch;
  batch.run = make_run("r1", 1);
  for (const char* kind : {"a", "b", "c", "d"}) batch.events.push_back(make_event("r1", kind));
  apply_ok(*store, batch);

  auto after2 = store->list_events("r1", 2);
  ASSERT_TRUE(after2.has_value());
  EXPECT_EQ(seqs(*after2), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ((*after2)[0].kind, "c");
  auto after4 = store->list_events("r1", 4);
  ASSERT_TRUE(after4.has_value());
  EXPECT_TRUE(after4->empty());
  auto unknown = store->list_events("nope", 0);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_TRUE(unknown->empty());
}

TEST(SqliteStoreTest, ListRunsNewestFirstWithIdTieBreakAndLimit) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  for (auto [id, created] : std::vector<std::pair<std::string, double>>{
           {"old", 100}, {"tie-a", 200}, {"tie-b", 200}, {"new", 300}}) {
    Batch batch;
    batch.run = make_run(id, created);
    apply_ok(*store, batch);
  }
  auto all = store->list_runs(10);
  ASSERT_TRUE(all.has_value()) << all.error().message;
  std::vector<std::string> ids;
  for (const auto& r : *all) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"new", "tie-b", "tie-a", "old"}));

  auto two = store->list_runs(2);
  ASSERT_TRUE(two.has_value());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].id, "tie-b");
  auto none = store->list_runs(0);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(SqliteStoreTest, ListTasksInPositionOrderAndGetTask) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.run->id = "r1";
  // Inserted out of order, and with ids that sort differently from positions.
  batch.tasks = {make_task("r1", "zeta", 0), make_task("r1", "alpha", 2),
                 make_task("r1", "mid", 1)};
  Batch other;
  other.run = make_run("r2", 2);
  other.tasks = {make_task("r2", "alpha", 0)};
  apply_ok(*store, batch);
  apply_ok(*store, other);

  auto tasks = store->list_tasks("r1");
  ASSERT_TRUE(tasks.has_value());
  std::vector<std::string> ids;
  for (const auto& t : *tasks) ids.push_back(t.task_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"zeta", "mid", "alpha"}));

  auto found = store->get_task("r1", "alpha");
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->position, 2);
  auto missing = store->get_task("r1", "nope");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  auto no_run = store->get_task("r9", "alpha");
  ASSERT_TRUE(no_run.has_value());
  EXPECT_FALSE(no_run->has_value());
  auto run = store->get_run("r9");
  ASSERT_TRUE(run.has_value());
  EXPECT_FALSE(run->has_value());
}

TEST(SqliteStoreTest, ListAttemptsByTaskPositionThenNumberWithOrphansLast) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.tasks = {make_task("r1", "b", 0), make_task("r1", "a", 1)};
  batch.attempts = {make_attempt("r1", "a", 2),  make_attempt("r1", "orphan", 1),
                    make_attempt("r1", "a", 1),  make_attempt("r1", "b", 1),
                    make_attempt("r1", "b", 10), make_attempt("r1", "b", 2)};
  apply_ok(*store, batch);

  auto all = store->list_attempts("r1", "");
  ASSERT_TRUE(all.has_value()) << all.error().message;
  std::vector<std::string> order;
  for (const auto& a : *all) order.push_back(a.task_id + "#" + std::to_string(a.number));
  EXPECT_EQ(order, (std::vector<std::string>{"b#1", "b#2", "b#10", "a#1", "a#2", "orphan#1"}));

  auto only_a = store->list_attempts("r1", "a");
  ASSERT_TRUE(only_a.has_value());
  ASSERT_EQ(only_a->size(), 2u);
  EXPECT_EQ((*only_a)[0].number, 1);
  EXPECT_EQ((*only_a)[1].number, 2);
}

TEST(SqliteStoreTest, ForEachVisitsWhatListGivesInTheSameOrder) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.tasks = {make_task("r1", "zeta", 0), make_task("r1", "alpha", 2),
                 make_task("r1", "mid", 1)};
  batch.attempts = {make_attempt("r1", "alpha", 2), make_attempt("r1", "zeta", 1),
                    make_attempt("r1", "alpha", 1)};
  for (const char* kind : {"a", "b", "c"}) batch.events.push_back(make_event("r1", kind));
  apply_ok(*store, batch);

  std::vector<std::string> tasks;
  ASSERT_TRUE(store->for_each_task("r1", [&](const TaskRecord& t) { tasks.push_back(t.task_id); }));
  EXPECT_EQ(tasks, (std::vector<std::string>{"zeta", "mid", "alpha"}));
  std::vector<std::string> attempts;
  auto each = [&](const AttemptRecord& a) {
    attempts.push_back(a.task_id + "#" + std::to_string(a.number));
  };
  ASSERT_TRUE(store->for_each_attempt("r1", "", each));
  EXPECT_EQ(attempts, (std::vector<std::string>{"zeta#1", "alpha#1", "alpha#2"}));
  attempts.clear();
  ASSERT_TRUE(store->for_each_attempt("r1", "alpha", each));
  EXPECT_EQ(attempts, (std::vector<std::string>{"alpha#1", "alpha#2"}));
  std::vector<std::string> kinds;
  ASSERT_TRUE(store->for_each_event("r1", 1, [&](const Event& e) { kinds.push_back(e.kind); }));
  EXPECT_EQ(kinds, (std::vector<std::string>{"b", "c"}));
  tasks.clear();
  ASSERT_TRUE(
      store->for_each_task("nope", [&](const TaskRecord& t) { tasks.push_back(t.task_id); }));
  EXPECT_TRUE(tasks.empty());
}

TEST(SqliteStoreTest, FailedBatchLeavesNothingAndDoesNotConsumeSeqs) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Batch setup;
  setup.run = make_run("r1", 1);
  setup.events = {make_event("r1", "run.created")};
  apply_ok(*store, setup);

  Batch bad;
  RunRecord changed = make_run("r1", 1);
  changed.status = "success";
  bad.run = changed;
  bad.tasks = {make_task("r1", "a", 0)};
  bad.attempts = {make_attempt("r1", "a", 1)};
  bad.events = {make_event("r1", "task.ready"), make_event("ghost", "task.ready")};
  auto r = store->apply(bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith(path + ": cannot apply batch: "));
  EXPECT_THAT(r.error().message, HasSubstr("FOREIGN KEY constraint failed"));
  EXPECT_THAT(r.error().message, HasSubstr("ghost"));

  auto run = store->get_run("r1");
  ASSERT_TRUE(run.has_value() && run->has_value());
  EXPECT_EQ((*run)->status, "running");
  auto tasks = store->list_tasks("r1");
  ASSERT_TRUE(tasks.has_value());
  EXPECT_TRUE(tasks->empty());
  auto attempts = store->list_attempts("r1", "");
  ASSERT_TRUE(attempts.has_value());
  EXPECT_TRUE(attempts->empty());

  // The rolled-back event's seq 2 is given to the next event.
  Batch next;
  next.events = {make_event("r1", "task.ready")};
  apply_ok(*store, next);
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(seqs(*events), (std::vector<int64_t>{1, 2}));
}

TEST(SqliteStoreTest, ApplyPartsWritesEveryPartInOrderInOneTransaction) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch first;
  first.run = make_run("r1", 1);
  first.events = {make_event("r1", "run.created")};
  int calls = 0;
  auto r = store->apply_parts(first, [&](Batch& part) {
    if (calls == 3) return false;
    const std::string id = "t" + std::to_string(calls);
    part.tasks = {make_task("r1", id, calls)};
    part.events = {make_event("r1", "task.ready")};
    part.events[0].task_id = id;
    ++calls;
    return true;
  });
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(calls, 3);
  auto tasks = store->list_tasks("r1");
  ASSERT_TRUE(tasks.has_value());
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[2].task_id, "t2");
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(seqs(*events), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ((*events)[0].kind, "run.created");
  EXPECT_EQ((*events)[3].task_id, "t2");
  // The chain runs through the parts: store/audit.h accepts it.
  EXPECT_EQ((*events)[1].prev_hash, (*events)[0].hash);
  EXPECT_EQ((*events)[3].prev_hash, (*events)[2].hash);
}

TEST(SqliteStoreTest, ApplyPartsFailingInALaterPartLeavesNothing) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Batch first;
  first.run = make_run("r1", 1);
  first.events = {make_event("r1", "run.created")};
  int calls = 0;
  auto r = store->apply_parts(first, [&](Batch& part) {
    ++calls;
    // The second part names a run that does not exist: the whole transaction fails.
    part.tasks = {make_task(calls == 1 ? "r1" : "ghost", "t" + std::to_string(calls), calls)};
    return calls <= 2;
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith(path + ": cannot apply batch: "));
  EXPECT_THAT(r.error().message, HasSubstr("task ghost/t2"));
  EXPECT_EQ(calls, 2);  // no part is asked for after the failure
  auto run = store->get_run("r1");
  ASSERT_TRUE(run.has_value());
  EXPECT_FALSE(run->has_value());
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  EXPECT_TRUE(events->empty());
}

TEST(SqliteStoreTest, TaskOfUnknownRunIsRejected) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch batch;
  batch.tasks = {make_task("nope", "a", 0)};
  auto r = store->apply(batch);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("FOREIGN KEY constraint failed (task nope/a)"));
}

TEST(SqliteStoreTest, EmptyBatchIsANoOp) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  EXPECT_TRUE(store->apply(Batch{}).has_value());
  auto runs = store->list_runs(10);
  ASSERT_TRUE(runs.has_value());
  EXPECT_TRUE(runs->empty());
}

TEST(SqliteStoreTest, ReopeningKeepsEverythingAndSchemaVersionIsThree) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    Batch batch;
    batch.run = make_run("r1", 1);
    batch.tasks = {make_task("r1", "a", 0)};
    batch.attempts = {make_attempt("r1", "a", 1)};
    batch.events = {make_event("r1", "run.created")};
    apply_ok(*store, batch);
  }
  for (int i = 0; i < 2; ++i) {  // opening an up-to-date file migrates nothing
    auto store = open_or_die(path);
    auto runs = store->list_runs(10);
    ASSERT_TRUE(runs.has_value());
    ASSERT_EQ(runs->size(), 1u);
    EXPECT_EQ((*runs)[0].id, "r1");
    EXPECT_EQ(store->list_tasks("r1")->size(), 1u);
    EXPECT_EQ(store->list_attempts("r1", "")->size(), 1u);
    EXPECT_EQ(store->list_events("r1", 0)->size(), 1u);
  }
  Db db = raw_db(path);
  auto version = db.query_int("PRAGMA user_version");
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(*version, 5);
}

TEST(SqliteStoreTest, SchemaTwoDatabaseGainsTaskSpecHashAndGate) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    Batch batch;
    batch.run = make_run("r1", 1);
    batch.tasks = {make_task("r1", "a", 0)};
    apply_ok(*store, batch);
  }
  {  // what schema version 2 wrote
    Db db = raw_db(path);
    ASSERT_TRUE(
        db.exec("ALTER TABLE tasks DROP COLUMN spec_sha256;"
                " ALTER TABLE tasks DROP COLUMN gate; ALTER TABLE tasks DROP COLUMN dependencies;"
                " DROP TABLE webhook_deliveries;"
                " DROP TABLE webhook_endpoints; PRAGMA user_version = 2")
            .has_value());
  }
  auto store = open_or_die(path);
  auto task = store->get_task("r1", "a");
  ASSERT_TRUE(task.has_value() && task->has_value());
  EXPECT_EQ((*task)->spec_sha256, "");
  EXPECT_EQ((*task)->gate, "");
  EXPECT_FALSE((*task)->dependencies.has_value());  // unknown for rows written before v5
  TaskRecord approved = **task;
  approved.status = "waiting";
  approved.spec_sha256 = std::string(64, 'a');
  approved.gate = "approved";
  Batch batch;
  batch.tasks = {approved};
  apply_ok(*store, batch);
  auto again = store->get_task("r1", "a");
  ASSERT_TRUE(again.has_value() && again->has_value());
  EXPECT_EQ((*again)->status, "waiting");
  EXPECT_EQ((*again)->spec_sha256, std::string(64, 'a'));
  EXPECT_EQ((*again)->gate, "approved");
}

TEST(SqliteStoreTest, EmptyExistingFileBecomesAStore) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  std::ofstream(path).close();  // zero bytes: a valid, empty SQLite database
  auto store = open_or_die(path);
  Batch batch;
  batch.run = make_run("r1", 1);
  apply_ok(*store, batch);
  EXPECT_GT(fs::file_size(path), 0u);
}

TEST(SqliteStoreTest, WalModeIsOn) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Db db = raw_db(path);  // journal_mode=WAL is persistent: visible to every connection
  auto mode = db.query_text("PRAGMA journal_mode");
  ASSERT_TRUE(mode.has_value()) << mode.error().message;
  EXPECT_EQ(*mode, "wal");
}

TEST(SqliteStoreTest, CreatesMissingParentDirectories) {
  TempDir dir;
  const std::string path = dir.file("deep/er/state.db");
  auto store = open_sqlite_store(path);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_TRUE(fs::exists(path));
}

TEST(SqliteStoreTest, ParentThatIsAFileIsAnError) {
  TempDir dir;
  std::ofstream(dir.file("plain")) << "x";
  const std::string path = dir.file("plain/state.db");
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error().message,
              StartsWith(path + ": cannot create directory " + dir.file("plain") + ": "));
}

TEST(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { open_or_die(path); }
  {
    Db db = raw_db(path);
    ASSERT_TRUE(db.exec("PRAGMA user_version = 99").has_value());
  }
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message,
            path + ": schema version 99 is newer than this baton supports (5)");
}

TEST(SqliteStoreTest, GarbageFileIsNotABatonDatabase) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 512; ++i) out << "this is not sqlite ";
  }
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message, path + ": not a baton state database");
}

TEST(SqliteStoreTest, SomeoneElsesSqliteFileIsNotABatonDatabase) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  {
    Db db = raw_db(path);
    ASSERT_TRUE(db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)").has_value());
  }
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message, path + ": not a baton state database");
  Db db = raw_db(path);  // and we did not add our tables to it
  auto tables = db.query_int("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'");
  ASSERT_TRUE(tables.has_value());
  EXPECT_EQ(*tables, 1);
}

TEST(SqliteStoreTest, CorruptJsonColumnIsAnErrorNotAThrow) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Batch batch;
  batch.run = make_run("r1", 1);
  apply_ok(*store, batch);
  {
    Db db = raw_db(path);
    ASSERT_TRUE(db.exec("UPDATE runs SET inputs = '{broken'").has_value());
  }
  auto run = store->get_run("r1");
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().message, path + ": cannot read run r1: inputs of run r1 is not valid JSON");
}

TEST(SqliteStoreTest, InvalidUtf8InJsonIsStoredNotThrown) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.run->inputs = {{"bad", std::string("\xff\xfe")}};
  auto r = store->apply(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto run = store->get_run("r1");
  ASSERT_TRUE(run.has_value() && run->has_value());
  EXPECT_EQ((*run)->inputs["bad"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // two U+FFFD
}

/// A child process that holds BEGIN EXCLUSIVE on a database until told to commit.
class LockHolder {
 public:
  explicit LockHolder(const std::string& path) {
    if (pipe(ready_) != 0 || pipe(release_) != 0) std::abort();
    pid_ = fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      close(ready_[0]);
      close(release_[1]);
      sqlite3* db = nullptr;
      char byte = 'x';
      bool locked = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
                    sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK;
      if (!locked) byte = 'e';
      if (write(ready_[1], &byte, 1) != 1) _exit(2);
      if (read(release_[0], &byte, 1) < 0) _exit(3);  // EOF or a byte: commit
      int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      sqlite3_close(db);
      _exit(locked && rc == SQLITE_OK ? 0 : 1);
    }
    close(ready_[1]);
    close(release_[0]);
    char byte = 0;
    locked_ = read(ready_[0], &byte, 1) == 1 && byte == 'x';
  }
  ~LockHolder() { release(); }
  bool locked() const { return locked_; }
  /// Lets the child commit and reaps it; returns its exit code.
  int release() {
    if (pid_ <= 0) return exit_code_;
    close(release_[1]);
    close(ready_[0]);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

 private:
  int ready_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  pid_t pid_ = 0;
  bool locked_ = false;
  int exit_code_ = -1;
};

TEST(SqliteStoreTest, WriteLockHeldByAnotherProcessFailsWithDatabaseIsLocked) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path, StoreOptions{.busy_timeout_ms = 50});
  Batch first;
  first.run = make_run("r1", 1);
  first.events = {make_event("r1", "run.created")};
  apply_ok(*store, first);

  LockHolder holder(path);
  ASSERT_TRUE(holder.locked());
  Batch batch;
  batch.tasks = {make_task("r1", "a", 0)};
  batch.events = {make_event("r1", "task.ready")};
  auto r = store->apply(batch);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, path + ": cannot apply batch: database is locked");
  // WAL: readers are not blocked by the writer, and opening an up-to-date file
  // (as `baton status` does during a run) needs no write lock.
  auto reader = open_sqlite_store(path, StoreOptions{.busy_timeout_ms = 50});
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  auto runs = (*reader)->list_runs(10);
  ASSERT_TRUE(runs.has_value()) << runs.error().message;
  EXPECT_EQ(runs->size(), 1u);

  ASSERT_EQ(holder.release(), 0);
  apply_ok(*store, batch);  // the same batch goes through once the lock is gone
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(seqs(*events), (std::vector<int64_t>{1, 2}));
}

TEST(SqliteStoreTest, StatementWrapperBindsAndReads) {
  TempDir dir;
  Db db = raw_db(dir.file("plain.db"));
  ASSERT_TRUE(db.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, n INTEGER)").has_value());
  auto insert = db.prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
  ASSERT_TRUE(insert.has_value()) << insert.error().message;
  ASSERT_TRUE(
      insert->bind_all(int64_t{1} << 40, 2.5, std::string("hi"), std::optional<int>()).has_value());
  ASSERT_TRUE(insert->run().has_value());
  insert->reset();
  auto out_of_range = insert->bind(9, 1);
  ASSERT_FALSE(out_of_range.has_value());
  EXPECT_EQ(out_of_range.error().message, "column index out of range");

  auto select = db.prepare("SELECT i, d, s, n FROM t");
  ASSERT_TRUE(select.has_value());
  auto row = select->step();
  ASSERT_TRUE(row.has_value() && *row);
  EXPECT_EQ(select->int64_at(0), int64_t{1} << 40);
  EXPECT_EQ(select->double_at(1), 2.5);
  EXPECT_EQ(select->text_at(2), "hi");
  EXPECT_TRUE(select->is_null(3));
  EXPECT_EQ(select->optional_int_at(3), std::nullopt);
  row = select->step();
  ASSERT_TRUE(row.has_value());
  EXPECT_FALSE(*row);

  auto bad = db.prepare("SELECT nope FROM t");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "no such column: nope");
}

}  // namespace
}  // namespace baton::store
