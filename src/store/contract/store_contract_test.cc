// The store's contract, run against every back end: SQLite (a file in a scratch
// directory) and PostgreSQL (a database of its own per test in the throwaway cluster
// of store/pg_test_cluster.h). Tests of one back end's own mechanics (SQLite's
// pragmas and file checks, PostgreSQL's leases) live beside it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/audit.h"
#include "store/contract/backends.h"
#include "store/open_store.h"
#include "store/pg_connection.h"
#include "store/pg_test_cluster.h"
#include "store/store.h"
#include "store/test_util.h"

namespace baton::store {
namespace {

using contract::BackendNames;
using contract::Backends;
using contract::PgBackend;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const auto* const kCluster = ::testing::AddGlobalTestEnvironment(new testing::PgClusterEnvironment);

template <typename Backend>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Backend, PgBackend>) {
      ASSERT_TRUE(testing::PgTestCluster::get().ok()) << testing::PgTestCluster::get().error();
    }
  }
  std::string location() const { return backend_.location(); }
  std::string where() const { return backend_.where(); }
  std::string stored_text(const std::string& s) const { return Backend::stored_text(s); }
  std::string foreign_key_message() const { return Backend::foreign_key_message(); }
  /// A new connection to the test's store; aborts the binary if it cannot open.
  std::unique_ptr<Store> open() {
    auto store = open_store(backend_.location());
    EXPECT_TRUE(store.has_value()) << store.error().message;
    if (!store) std::abort();
    return std::move(*store);
  }

  Backend backend_;
};

TYPED_TEST_SUITE(StoreContractTest, Backends, BackendNames);

RunRecord make_run(const std::string& id, double created_at = 1) {
  RunRecord r = testing::make_run(id, created_at);
  r.inputs = {{"n", 3}};
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

using testing::make_event;

TaskRecord task(const std::string& run, const std::string& id, const std::string& status,
                int position) {
  TaskRecord t = make_task(run, id, position);
  t.status = status;
  return t;
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

TYPED_TEST(StoreContractTest, RoundTripsEveryFieldOfEveryRecord) {
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
    auto store = this->open();
    Batch batch;
    batch.run = run;
    batch.tasks = {with_code, without_code};
    batch.attempts = {full, sparse};
    batch.events = {event};
    apply_ok(*store, batch);
  }
  auto store = this->open();  // read back through a fresh connection

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
  EXPECT_EQ(t.output, this->stored_text(with_code.output));
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
  data["output_sha256"] = sha256_hex(this->stored_text(with_code.output));
  EXPECT_EQ(e.data, data);
}

TYPED_TEST(StoreContractTest, UpsertOverwritesRunTaskAndAttempt) {
  auto store = this->open();
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

TYPED_TEST(StoreContractTest, EventSeqStartsAtOnePerRunAndContinuesAfterReopen) {
  {
    auto store = this->open();
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
  auto store = this->open();
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

TYPED_TEST(StoreContractTest, TwoStoresOnOneFileDoNotReuseSeqs) {
  auto a = this->open();
  auto b = this->open();
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

TYPED_TEST(StoreContractTest, ListEventsAfterSeq) {
  auto store = this->open();
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

TYPED_TEST(StoreContractTest, ListRunsNewestFirstWithIdTieBreakAndLimit) {
  auto store = this->open();
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

// A task row written again with another position (a workflow edited before resume)
// moves; written again with the same one (every status change) stays where it is.
TYPED_TEST(StoreContractTest, UpsertedTaskKeepsOrMovesItsPosition) {
  auto store = this->open();
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.tasks = {make_task("r1", "a", 0), make_task("r1", "b", 1), make_task("r1", "c", 2)};
  apply_ok(*store, batch);
  Batch update;
  update.tasks = {make_task("r1", "b", 1), make_task("r1", "a", 5)};
  update.tasks[0].status = "running";
  apply_ok(*store, update);

  auto tasks = store->list_tasks("r1");
  ASSERT_TRUE(tasks.has_value()) << tasks.error().message;
  std::vector<std::string> ids;
  for (const auto& t : *tasks) ids.push_back(t.task_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "c", "a"}));
  auto a = store->get_task("r1", "a");
  ASSERT_TRUE(a.has_value() && a->has_value());
  EXPECT_EQ((*a)->position, 5);
  auto b = store->get_task("r1", "b");
  ASSERT_TRUE(b.has_value() && b->has_value());
  EXPECT_EQ((*b)->position, 1);
  EXPECT_EQ((*b)->status, "running");
}

TYPED_TEST(StoreContractTest, ListTasksInPositionOrderAndGetTask) {
  auto store = this->open();
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

TYPED_TEST(StoreContractTest, ListAttemptsByTaskPositionThenNumberWithOrphansLast) {
  auto store = this->open();
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

TYPED_TEST(StoreContractTest, ForEachVisitsWhatListGivesInTheSameOrder) {
  auto store = this->open();
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

// The summary of a long run reads only the tasks that did not succeed, and every hook.
TYPED_TEST(StoreContractTest, ForEachTaskExceptLeavesOutOneStatusButNotTheHooks) {
  auto store = this->open();
  Batch batch;
  batch.run = make_run("r1", 1);
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"a", "success"},
      {"b", "failed"},
      {"c", "success"},
      {"d", "cancelled"},
      {"e", "success"},
      {"f", "skipped"},
      {"hook:on_failure:notify", "success"}};
  for (size_t i = 0; i < rows.size(); ++i) {
    TaskRecord t = make_task("r1", rows[i].first, static_cast<int>(i));
    t.status = rows[i].second;
    batch.tasks.push_back(t);
  }
  Batch other;
  other.run = make_run("r2", 2);
  other.tasks = {make_task("r2", "b", 0)};
  other.tasks[0].status = "failed";
  apply_ok(*store, batch);
  apply_ok(*store, other);

  std::vector<std::string> seen;
  auto each = [&](const TaskRecord& t) { seen.push_back(t.task_id + ":" + t.status); };
  ASSERT_TRUE(store->for_each_task_except("r1", "success", each));
  EXPECT_EQ(seen, (std::vector<std::string>{"b:failed", "d:cancelled", "f:skipped",
                                            "hook:on_failure:notify:success"}));
  seen.clear();
  ASSERT_TRUE(store->for_each_task_except("r1", "failed", each));
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "b:failed"), 0);
  seen.clear();
  ASSERT_TRUE(store->for_each_task_except("r1", "", each));
  EXPECT_EQ(seen.size(), rows.size());
  seen.clear();
  ASSERT_TRUE(store->for_each_task_except("nope", "success", each));
  EXPECT_TRUE(seen.empty());
}

TYPED_TEST(StoreContractTest, FailedBatchLeavesNothingAndDoesNotConsumeSeqs) {
  auto store = this->open();
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
  EXPECT_THAT(r.error().message, StartsWith(this->where() + ": cannot apply batch: "));
  EXPECT_THAT(r.error().message, HasSubstr(this->foreign_key_message()));
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

TYPED_TEST(StoreContractTest, ApplyPartsWritesEveryPartInOrderInOneTransaction) {
  auto store = this->open();
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

TYPED_TEST(StoreContractTest, ApplyPartsFailingInALaterPartLeavesNothing) {
  auto store = this->open();
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
  EXPECT_THAT(r.error().message, StartsWith(this->where() + ": cannot apply batch: "));
  EXPECT_THAT(r.error().message, HasSubstr("task ghost/t2"));
  EXPECT_EQ(calls, 2);  // no part is asked for after the failure
  auto run = store->get_run("r1");
  ASSERT_TRUE(run.has_value());
  EXPECT_FALSE(run->has_value());
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  EXPECT_TRUE(events->empty());
}

TYPED_TEST(StoreContractTest, TaskOfUnknownRunIsRejected) {
  auto store = this->open();
  Batch batch;
  batch.tasks = {make_task("nope", "a", 0)};
  auto r = store->apply(batch);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr(this->foreign_key_message()));
  EXPECT_THAT(r.error().message, HasSubstr(" (task nope/a)"));
}

TYPED_TEST(StoreContractTest, EmptyBatchIsANoOp) {
  auto store = this->open();
  EXPECT_TRUE(store->apply(Batch{}).has_value());
  auto runs = store->list_runs(10);
  ASSERT_TRUE(runs.has_value());
  EXPECT_TRUE(runs->empty());
}

TYPED_TEST(StoreContractTest, InvalidUtf8InJsonIsStoredNotThrown) {
  auto store = this->open();
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.run->inputs = {{"bad", std::string("\xff\xfe")}};
  auto r = store->apply(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto run = store->get_run("r1");
  ASSERT_TRUE(run.has_value() && run->has_value());
  EXPECT_EQ((*run)->inputs["bad"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // two U+FFFD
}

TYPED_TEST(StoreContractTest, RunsPageFiltersAndWalksTheCursorWithoutGapsOrRepeats) {
  auto store = this->open();
  Batch b;
  for (int i = 0; i < 7; ++i) {
    RunRecord r = make_run("r" + std::to_string(i), /*created_at=*/i < 4 ? 10 : 10 + i);
    r.status = i % 2 ? "failed" : "success";
    r.workflow_name = i < 5 ? "build" : "deploy";
    ASSERT_TRUE(store->apply(Batch{r, {}, {}, {}}));
  }
  // Newest first; the four runs with one created_at are ordered by id.
  std::vector<std::string> seen;
  RunPageQuery q;
  q.limit = 3;
  for (int page = 0; page < 5; ++page) {
    auto runs = store->list_runs_page(q);
    ASSERT_TRUE(runs) << runs.error().message;
    for (const auto& r : *runs) seen.push_back(r.id);
    if (runs->size() < 3) break;
    q.after_created_at = runs->back().created_at;
    q.after_id = runs->back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}));

  RunPageQuery failed_builds;
  failed_builds.status = "failed";
  failed_builds.workflow = "build";
  auto runs = store->list_runs_page(failed_builds);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, "r3");
  EXPECT_EQ((*runs)[1].id, "r1");
}

TYPED_TEST(StoreContractTest, RunTotalsCountTasksAndSumTokensAndKnownCosts) {
  auto store = this->open();
  Batch b;
  b.run = make_run("r");
  b.tasks = {task("r", "a", "success", 0), task("r", "b", "success", 1),
             task("r", "c", "running", 2)};
  AttemptRecord a1;
  a1.run_id = "r";
  a1.task_id = "a";
  a1.number = 1;
  a1.input_tokens = 100;
  a1.output_tokens = 20;
  a1.cached_tokens = 5;
  a1.cost_usd = 0.25;
  AttemptRecord a2 = a1;
  a2.task_id = "b";
  a2.cost_usd.reset();  // unknown cost: not summed, not zero
  b.attempts = {a1, a2};
  ASSERT_TRUE(store->apply(b));
  auto totals = store->run_totals("r");
  ASSERT_TRUE(totals) << totals.error().message;
  EXPECT_EQ(totals->tasks_total, 3);
  EXPECT_EQ(totals->tasks_by_status.at("success"), 2);
  EXPECT_EQ(totals->tasks_by_status.at("running"), 1);
  EXPECT_EQ(totals->input_tokens, 200);
  EXPECT_EQ(totals->output_tokens, 40);
  EXPECT_EQ(totals->cached_tokens, 10);
  ASSERT_TRUE(totals->cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*totals->cost_usd, 0.25);

  EXPECT_TRUE(totals->hooks_by_status.empty());
  EXPECT_EQ(totals->widest_task_id, 1u);
  EXPECT_EQ(totals->attempts_with_usage, 2);

  auto none = store->run_totals("nope");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->tasks_total, 0);
  EXPECT_FALSE(none->cost_usd.has_value());
  EXPECT_EQ(none->widest_task_id, 0u);
  EXPECT_EQ(none->attempts_with_usage, 0);
}

// What the run's summary reads instead of every row (cli/summary.cc): its hooks apart,
// its longest id in bytes, and whether any attempt has usage to show.
TYPED_TEST(StoreContractTest, RunTotalsCountHooksApartWidestIdInBytesAndAttemptsWithUsage) {
  auto store = this->open();
  Batch b;
  b.run = make_run("r");
  b.tasks = {task("r", "build", "success", 0), task("r", "hook:start:notify", "success", 1),
             task("r", "hook:end:page", "failed", 2), task("r", "Hook:x", "failed", 3),
             task("r", "caf\u00e9", "skipped", 4)};
  AttemptRecord plain;
  plain.run_id = "r";
  plain.task_id = "build";
  plain.number = 1;
  AttemptRecord agent = plain;
  agent.number = 2;
  agent.agent = "claude";
  AttemptRecord tokens = plain;
  tokens.task_id = "caf\u00e9";
  tokens.output_tokens = 3;
  AttemptRecord hook = plain;
  hook.task_id = "hook:end:page";
  b.attempts = {plain, agent, tokens, hook};
  ASSERT_TRUE(store->apply(b));
  auto totals = store->run_totals("r");
  ASSERT_TRUE(totals) << totals.error().message;
  EXPECT_EQ(totals->tasks_total, 5);
  EXPECT_EQ(totals->tasks_by_status,
            (std::map<std::string, int>{{"success", 2}, {"failed", 2}, {"skipped", 1}}));
  // "Hook:x" is not a hook: the prefix is case-sensitive.
  EXPECT_EQ(totals->hooks_by_status, (std::map<std::string, int>{{"success", 1}, {"failed", 1}}));
  EXPECT_EQ(totals->widest_task_id, std::string("hook:start:notify").size());
  EXPECT_EQ(totals->attempts_with_usage, 2);  // the agent's and the one with tokens
  EXPECT_FALSE(totals->cost_usd.has_value());

  Batch wide;
  wide.tasks = {
      task("r", "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "success", 5)};
  ASSERT_TRUE(store->apply(wide));
  totals = store->run_totals("r");
  ASSERT_TRUE(totals) << totals.error().message;
  EXPECT_EQ(totals->widest_task_id, 20u);  // ten two-byte characters
}

TYPED_TEST(StoreContractTest, FeedOrdersEveryRunsEventsByCommitAndFiltersByRun) {
  auto store = this->open();
  auto other = this->open();  // a second writer, as another baton
  ASSERT_TRUE(store->apply(Batch{make_run("r1"), {}, {}, {make_event("r1", "run.created")}}));
  ASSERT_TRUE(other->apply(Batch{make_run("r2"), {}, {}, {make_event("r2", "run.created")}}));
  ASSERT_TRUE(store->apply(Batch{{}, {}, {}, {make_event("r1", "task.ready")}}));
  auto head = store->last_feed_id();
  ASSERT_TRUE(head);
  auto all = store->list_feed(0, "", 100);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].event.run_id, "r1");
  EXPECT_EQ((*all)[1].event.run_id, "r2");
  EXPECT_EQ((*all)[2].event.kind, "task.ready");
  EXPECT_LT((*all)[0].id, (*all)[1].id);
  EXPECT_LT((*all)[1].id, (*all)[2].id);
  EXPECT_EQ(*head, (*all)[2].id);

  auto after_first = store->list_feed((*all)[0].id, "", 100);
  ASSERT_TRUE(after_first);
  EXPECT_EQ(after_first->size(), 2u);
  auto limited = store->list_feed(0, "", 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 1u);
  auto r1 = store->list_feed(0, "r1", 100);
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->size(), 2u);
  EXPECT_EQ((*r1)[1].event.seq, 2);

  auto exists = store->feed_event_exists((*all)[1].id);
  ASSERT_TRUE(exists);
  EXPECT_TRUE(*exists);
  auto missing = store->feed_event_exists(*head + 1);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TYPED_TEST(StoreContractTest, EmptyStoreHasFeedHeadZero) {
  auto store = this->open();
  auto head = store->last_feed_id();
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, 0);
}

TYPED_TEST(StoreContractTest, WaitingTasksOnlyOfRunsThatAreNotOver) {
  auto store = this->open();
  RunRecord live = make_run("live", 2);
  live.status = "waiting";
  RunRecord over = make_run("over", 1);
  over.status = "failed";
  ASSERT_TRUE(store->apply(Batch{
      live, {task("live", "gate", "waiting", 0), task("live", "build", "success", 1)}, {}, {}}));
  ASSERT_TRUE(store->apply(Batch{over, {task("over", "gate", "waiting", 0)}, {}, {}}));
  RunRecord older = make_run("z-older", 0.5);  // an id that sorts after, created before
  ASSERT_TRUE(store->apply(Batch{older, {task("z-older", "gate", "waiting", 0)}, {}, {}}));
  auto waiting = store->list_waiting_tasks(10);
  ASSERT_TRUE(waiting) << waiting.error().message;
  ASSERT_EQ(waiting->size(), 2u);
  EXPECT_EQ((*waiting)[0].run_id, "live");  // newest run first
  EXPECT_EQ((*waiting)[0].task_id, "gate");
  EXPECT_EQ((*waiting)[1].run_id, "z-older");
}

TYPED_TEST(StoreContractTest, DependenciesAreWrittenOnceAndKeptByLaterUpserts) {
  auto store = this->open();
  TaskRecord b = task("r", "b", "pending", 1);
  b.dependencies = std::vector<std::string>{"a", "x-y"};
  TaskRecord a = task("r", "a", "pending", 0);
  a.dependencies = std::vector<std::string>{};
  ASSERT_TRUE(store->apply(Batch{make_run("r"), {a, b}, {}, {}}));
  // A later upsert without them (the driver's) keeps them.
  TaskRecord later = task("r", "b", "success", 1);
  ASSERT_TRUE(store->apply(Batch{{}, {later}, {}, {}}));
  auto got = store->get_task("r", "b");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->status, "success");
  ASSERT_TRUE((*got)->dependencies.has_value());
  EXPECT_EQ(*(*got)->dependencies, (std::vector<std::string>{"a", "x-y"}));
  auto first = store->get_task("r", "a");
  ASSERT_TRUE(first && *first);
  ASSERT_TRUE((*first)->dependencies.has_value());
  EXPECT_TRUE((*first)->dependencies->empty());
}

}  // namespace
}  // namespace baton::store
