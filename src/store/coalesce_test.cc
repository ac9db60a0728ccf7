#include "store/coalesce.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/test_util.h"

namespace baton::store {
namespace {

using testing::make_run;
using testing::open_or_die;
using testing::TempDir;

TaskRecord task(const std::string& id, const std::string& status, int position = 0) {
  TaskRecord t;
  t.run_id = "r";
  t.task_id = id;
  t.position = position;
  t.status = status;
  return t;
}

AttemptRecord attempt(const std::string& task_id, int number, const std::string& status) {
  AttemptRecord a;
  a.run_id = "r";
  a.task_id = task_id;
  a.number = number;
  a.status = status;
  return a;
}

std::vector<std::string> statuses(const std::vector<TaskRecord>& tasks) {
  std::vector<std::string> out;
  for (const auto& t : tasks) out.push_back(t.task_id + ":" + t.status);
  return out;
}

std::vector<std::string> statuses(const std::vector<AttemptRecord>& attempts) {
  std::vector<std::string> out;
  for (const auto& a : attempts) {
    out.push_back(a.task_id + "#" + std::to_string(a.number) + ":" + a.status);
  }
  return out;
}

// A task started in one step and ended in the next: its rows are written once, with
// their last values; other rows, the run and the events stay as they were.
TEST(CoalesceRowsTest, KeepsTheLastRecordOfEachRowAcrossParts) {
  std::vector<Batch> parts(3);
  parts[0].run = make_run("r");
  parts[0].tasks = {task("a", "running"), task("b", "running")};
  parts[0].attempts = {attempt("a", 1, "running"), attempt("b", 1, "running")};
  parts[0].events = {testing::make_event("r", "task.running", 1, {}, "a")};
  parts[1].tasks = {task("a", "success"), task("c", "running")};
  parts[1].attempts = {attempt("a", 1, "success"), attempt("a", 2, "running")};
  parts[1].events = {testing::make_event("r", "task.success", 2, {}, "a")};
  parts[2].tasks = {task("b", "failed")};
  parts[2].attempts = {attempt("b", 1, "failed")};

  EXPECT_EQ(coalesce_rows(parts), 4u);

  EXPECT_TRUE(parts[0].run.has_value());
  EXPECT_TRUE(parts[0].tasks.empty());
  EXPECT_TRUE(parts[0].attempts.empty());
  EXPECT_EQ(parts[0].events.size(), 1u);
  EXPECT_EQ(statuses(parts[1].tasks), (std::vector<std::string>{"a:success", "c:running"}));
  // Attempt a#2 is another row than a#1.
  EXPECT_EQ(statuses(parts[1].attempts), (std::vector<std::string>{"a#1:success", "a#2:running"}));
  EXPECT_EQ(parts[1].events.size(), 1u);
  EXPECT_EQ(statuses(parts[2].tasks), (std::vector<std::string>{"b:failed"}));
  EXPECT_EQ(statuses(parts[2].attempts), (std::vector<std::string>{"b#1:failed"}));
}

TEST(CoalesceRowsTest, TheSameIdInAnotherRunIsAnotherRow) {
  std::vector<Batch> parts(1);
  TaskRecord other = task("a", "success");
  other.run_id = "r2";
  parts[0].tasks = {task("a", "running"), other};
  EXPECT_EQ(coalesce_rows(parts), 0u);
  EXPECT_EQ(parts[0].tasks.size(), 2u);
}

// As the upsert's coalesce(): a later record without dependencies keeps the earlier's.
TEST(CoalesceRowsTest, ALaterRecordWithoutDependenciesKeepsTheEarlierOnes) {
  std::vector<Batch> parts(1);
  TaskRecord first = task("a", "pending");
  first.dependencies = std::vector<std::string>{"x", "y"};
  TaskRecord replaced = task("b", "pending");
  replaced.dependencies = std::vector<std::string>{"x"};
  TaskRecord own = task("b", "ready");
  own.dependencies = std::vector<std::string>{"z"};
  parts[0].tasks = {first, replaced, task("a", "ready"), own};
  EXPECT_EQ(coalesce_rows(parts), 2u);
  ASSERT_EQ(parts[0].tasks.size(), 2u);
  EXPECT_EQ(parts[0].tasks[0].status, "ready");
  EXPECT_EQ(parts[0].tasks[0].dependencies, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(parts[0].tasks[1].dependencies, (std::vector<std::string>{"z"}));
}

// The store holds the same rows whether the records were coalesced or not.
TEST(CoalesceRowsTest, TheStoreEndsTheSameEitherWay) {
  auto make_parts = [] {
    std::vector<Batch> parts(2);
    parts[0].run = make_run("r");
    TaskRecord a = task("a", "ready", 0);
    a.dependencies = std::vector<std::string>{};
    parts[0].tasks = {a, task("b", "ready", 1), task("a", "running", 0)};
    parts[0].attempts = {attempt("a", 1, "running")};
    AttemptRecord done = attempt("a", 1, "success");
    done.output = "42";
    done.ended_at = 7;
    TaskRecord moved = task("b", "success", 5);  // a position that changed
    moved.output = "out";
    parts[1].tasks = {task("a", "success", 0), moved};
    parts[1].attempts = {done};
    return parts;
  };
  TempDir dir;
  auto plain = open_or_die(dir.file("plain.db"));
  auto coalesced = open_or_die(dir.file("coalesced.db"));
  auto write = [](Store& store, std::vector<Batch> parts) {
    size_t next = 1;
    auto r = store.apply_parts(parts[0], [&](Batch& part) {
      if (next >= parts.size()) return false;
      part = std::move(parts[next++]);
      return true;
    });
    ASSERT_TRUE(r) << r.error().message;
  };
  write(*plain, make_parts());
  std::vector<Batch> parts = make_parts();
  EXPECT_EQ(coalesce_rows(parts), 4u);  // two of a, one of b, one of attempt a#1
  write(*coalesced, std::move(parts));

  auto tasks_of = [](Store& store) {
    std::vector<std::string> out;
    auto tasks = store.list_tasks("r");
    EXPECT_TRUE(tasks);
    for (const auto& t : *tasks) {
      out.push_back(t.task_id + " " + t.status + " " + std::to_string(t.position) + " " + t.output +
                    " " + (t.dependencies ? std::to_string(t.dependencies->size()) : "-"));
    }
    return out;
  };
  auto attempts_of = [](Store& store) {
    std::vector<std::string> out;
    auto attempts = store.list_attempts("r", "");
    EXPECT_TRUE(attempts);
    for (const auto& a : *attempts) {
      out.push_back(a.task_id + "#" + std::to_string(a.number) + " " + a.status + " " + a.output +
                    " " + std::to_string(a.ended_at));
    }
    return out;
  };
  EXPECT_EQ(tasks_of(*coalesced), tasks_of(*plain));
  EXPECT_EQ(attempts_of(*coalesced), attempts_of(*plain));
  EXPECT_EQ(tasks_of(*plain), (std::vector<std::string>{"a success 0  0", "b success 5 out -"}));
}

}  // namespace
}  // namespace baton::store
