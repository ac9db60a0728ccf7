// CommitThread against the real SQLite store: a transaction written on the thread, its
// parts in order; a store error (another connection holds the write lock) reported by
// wait() with nothing written; a transaction still in flight written before the
// destructor returns.
#include "engine/commit_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/test_util.h"

namespace baton::engine {
namespace {

using store::testing::make_event;
using store::testing::make_run;
using store::testing::open_or_die;
using store::testing::raw_db;
using store::testing::TempDir;

// Two parts: the run and its creation, then one event.
std::vector<store::Batch> two_parts(const std::string& run_id) {
  std::vector<store::Batch> parts(2);
  parts[0].run = make_run(run_id);
  parts[0].events.push_back(make_event(run_id, "run.created", 1));
  parts[1].events.push_back(make_event(run_id, "task.ready", 2, {}, "t"));
  return parts;
}

TEST(CommitThreadTest, WritesThePartsInOrderAsOneTransaction) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  CommitThread committer(*store);
  std::atomic<bool> written{false};
  committer.submit(two_parts("r1"), [&] { written = true; });
  EXPECT_TRUE(committer.busy());
  Result<void> result = committer.wait();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(written);  // signalled before wait() returned
  EXPECT_FALSE(committer.busy());
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, "run.created");
  EXPECT_EQ((*events)[1].kind, "task.ready");
  EXPECT_EQ((*events)[1].seq, (*events)[0].seq + 1);  // one chain, in the parts' order

  // The thread takes the next one.
  committer.submit(two_parts("r2"), nullptr);
  ASSERT_TRUE(committer.wait());
  auto run = store->get_run("r2");
  ASSERT_TRUE(run && *run);
}

// submit(fill): the parts are made on the commit thread, one per call, until FILL says
// none is left, and written as one transaction.
TEST(CommitThreadTest, PartsFilledOnTheThreadAreOneTransaction) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  CommitThread committer(*store);
  const std::thread::id caller = std::this_thread::get_id();
  int calls = 0;
  bool on_caller = false;
  committer.submit(
      [&](store::Batch& part) {
        on_caller |= std::this_thread::get_id() == caller;
        switch (calls++) {
          case 0:
            part.run = make_run("r1");
            part.events.push_back(make_event("r1", "run.created", 1));
            return true;
          case 1:
          case 2:
            part.events.push_back(
                make_event("r1", "task.ready", 2, {}, "t" + std::to_string(calls)));
            return true;
          default:
            return false;
        }
      },
      nullptr);
  ASSERT_TRUE(committer.wait());
  EXPECT_EQ(calls, 4);  // three parts, then "none left"
  EXPECT_FALSE(on_caller);
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].task_id, "t2");
  EXPECT_EQ((*events)[2].task_id, "t3");
  EXPECT_EQ((*events)[2].seq, (*events)[0].seq + 2);

  // Nothing to write: no transaction, and wait() is fine.
  committer.submit([](store::Batch&) { return false; }, nullptr);
  EXPECT_TRUE(committer.wait());
}

TEST(CommitThreadTest, AStoreErrorIsWaitsResultAndNothingIsWritten) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto opened = store::open_sqlite_store(path, store::StoreOptions{.busy_timeout_ms = 50});
  ASSERT_TRUE(opened) << opened.error().message;
  std::unique_ptr<store::Store> store = std::move(*opened);
  store::Db other = raw_db(path);
  ASSERT_TRUE(other.exec("BEGIN IMMEDIATE"));  // holds the write lock
  CommitThread committer(*store);
  committer.submit(two_parts("r1"), nullptr);
  Result<void> result = committer.wait();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("locked"), std::string::npos) << result.error().message;
  ASSERT_TRUE(other.exec("ROLLBACK"));
  auto run = store->get_run("r1");
  ASSERT_TRUE(run);
  EXPECT_FALSE(*run);  // all or nothing
  // The store is usable again, from the thread too.
  committer.submit(two_parts("r1"), nullptr);
  EXPECT_TRUE(committer.wait());
}

TEST(CommitThreadTest, TheDestructorWaitsForTheTransactionInFlight) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    CommitThread committer(*store);
    committer.submit(two_parts("r1"), nullptr);
  }  // not collected: written all the same, then the thread is joined
  auto store = open_or_die(path);
  auto run = store->get_run("r1");
  ASSERT_TRUE(run && *run);
}

}  // namespace
}  // namespace baton::engine
