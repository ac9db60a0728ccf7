// The PostgreSQL store's own mechanics: the run lease and its fencing token, a
// killed connection, and the feed's commit order (pg_store.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/pg_connection.h"
#include "store/pg_store.h"
#include "store/pg_test_cluster.h"
#include "store/process_identity.h"
#include "store/test_util.h"

namespace baton::store {
namespace {

using ::testing::HasSubstr;

const auto* const kCluster = ::testing::AddGlobalTestEnvironment(new testing::PgClusterEnvironment);

/// A child that sleeps until released: a live process on this host.
class Sleeper {
 public:
  Sleeper() {
    pid_ = fork();
    if (pid_ == 0) {
      pause();
      _exit(0);
    }
  }
  ~Sleeper() { stop(); }
  int pid() const { return pid_; }
  int64_t start_time() const { return process_start_time(pid_).value_or(0); }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

 private:
  int pid_ = 0;
};

class PgLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::PgTestCluster::get().ok()) << testing::PgTestCluster::get().error();
    url_ = testing::PgTestCluster::get().create_database();
    auto admin = PgConnection::connect(url_);
    ASSERT_TRUE(admin.has_value()) << admin.error().message;
    admin_ = std::make_unique<PgConnection>(std::move(*admin));
  }

  std::unique_ptr<Store> open(PgStoreOptions options = {}) {
    auto store = open_pg_store(url_, options);
    EXPECT_TRUE(store.has_value()) << store.error().message;
    if (!store) std::abort();
    return std::move(*store);
  }

  int64_t token(const std::string& run_id) {
    auto rows = admin_->query("SELECT token FROM run_leases WHERE run_id = $1", {run_id});
    EXPECT_TRUE(rows.has_value());
    return rows && rows->size() > 0 ? rows->int64(0, 0) : 0;
  }

  /// The lease of RUN_ID as if its holder had been paused past its end.
  void expire(const std::string& run_id) {
    ASSERT_TRUE(admin_
                    ->exec("UPDATE run_leases SET expires_at = clock_timestamp() - interval '1s'"
                           " WHERE run_id = $1",
                           {run_id})
                    .has_value());
  }

  int64_t events_of(const std::string& run_id) {
    auto rows = admin_->query("SELECT count(*) FROM events WHERE run_id = $1", {run_id});
    EXPECT_TRUE(rows.has_value());
    return rows ? rows->int64(0, 0) : -1;
  }

  static Batch event_batch(const std::string& run_id, const std::string& kind) {
    Batch b;
    b.events = {testing::make_event(run_id, kind)};
    return b;
  }

  std::string url_;
  std::unique_ptr<PgConnection> admin_;
};

TEST_F(PgLeaseTest, ALiveHolderKeepsTheLeaseAgainstAnotherStore) {
  Sleeper holder;
  auto a = open();
  auto b = open();
  auto first = a->acquire_run_lock("r1", holder.pid(), holder.start_time());
  ASSERT_TRUE(first.has_value() && first->acquired) << (first ? "" : first.error().message);
  auto second = b->acquire_run_lock("r1", getpid(), self_start_time());
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_FALSE(second->acquired);
  EXPECT_EQ(second->holder_pid, holder.pid());
  EXPECT_EQ(second->holder_start_time, holder.start_time());
}

TEST_F(PgLeaseTest, ADeadHolderOnThisHostIsTakenOverAtOnceWithANewToken) {
  Sleeper holder;
  auto a = open();
  ASSERT_TRUE(a->acquire_run_lock("r1", holder.pid(), holder.start_time())->acquired);
  const int64_t before = token("r1");
  holder.stop();
  auto b = open();
  auto taken = b->acquire_run_lock("r1", getpid(), self_start_time());
  ASSERT_TRUE(taken.has_value() && taken->acquired);
  EXPECT_GT(token("r1"), before);
}

TEST_F(PgLeaseTest, TheSameHolderReacquiresWithTheSameToken) {
  auto a = open();
  ASSERT_TRUE(a->acquire_run_lock("r1", getpid(), self_start_time())->acquired);
  const int64_t before = token("r1");
  ASSERT_TRUE(a->acquire_run_lock("r1", getpid(), self_start_time())->acquired);
  EXPECT_EQ(token("r1"), before);
}

TEST_F(PgLeaseTest, AnExpiredLeaseIsTakenOverAndTheOldHolderIsFencedAndTold) {
  Sleeper paused;  // alive: only the expiry frees its lease
  std::mutex mu;
  std::condition_variable told;
  std::string why;
  PgStoreOptions options;
  options.lease_seconds = 0.6;  // the old holder's renewals come every 0.2 s
  options.on_lease_lost = [&](const std::string&, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    why = reason;
    told.notify_all();
  };
  auto old_holder = open(options);
  ASSERT_TRUE(old_holder->acquire_run_lock("r1", paused.pid(), paused.start_time())->acquired);
  Batch first;
  first.run = testing::make_run("r1");
  ASSERT_TRUE(old_holder->apply(first).has_value());
  const int64_t old_token = token("r1");

  // Taken over while the old holder "slept": its lease ran out first.
  auto new_holder = open();
  expire("r1");
  auto taken = new_holder->acquire_run_lock("r1", getpid(), self_start_time());
  ASSERT_TRUE(taken.has_value() && taken->acquired);
  EXPECT_GT(token("r1"), old_token);
  ASSERT_TRUE(new_holder->apply(event_batch("r1", "run.resumed")).has_value());

  // The old holder wakes and writes: refused, nothing stored.
  auto refused = old_holder->apply(event_batch("r1", "task.success"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message, HasSubstr("fencing token " + std::to_string(old_token)));
  EXPECT_THAT(refused.error().message, HasSubstr("nothing was written"));
  EXPECT_EQ(events_of("r1"), 1);
  // And its renewal finds the lease gone and says so.
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(told.wait_for(lock, std::chrono::seconds(20), [&] { return !why.empty(); }));
  EXPECT_THAT(why, HasSubstr("run r1"));
}

TEST_F(PgLeaseTest, WritesUnderAnExpiredLeaseAreRefused) {
  PgStoreOptions options;
  options.lease_seconds = 600;  // no renewal during the test
  auto store = open(options);
  ASSERT_TRUE(store->acquire_run_lock("r1", getpid(), self_start_time())->acquired);
  Batch first;
  first.run = testing::make_run("r1");
  ASSERT_TRUE(store->apply(first).has_value());
  expire("r1");
  auto refused = store->apply(event_batch("r1", "task.success"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message, HasSubstr("expired"));
  EXPECT_EQ(events_of("r1"), 0);
}

TEST_F(PgLeaseTest, RenewalMovesTheExpiryOn) {
  PgStoreOptions options;
  options.lease_seconds = 0.6;
  auto store = open(options);
  ASSERT_TRUE(store->acquire_run_lock("r1", getpid(), self_start_time())->acquired);
  auto first = admin_->query("SELECT expires_at::text FROM run_leases WHERE run_id = 'r1'");
  ASSERT_TRUE(first.has_value());
  bool moved = false;
  for (int i = 0; i < 200 && !moved; ++i) {  // renewals come every 0.2 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto now = admin_->query("SELECT expires_at::text FROM run_leases WHERE run_id = 'r1'");
    moved = now && now->text(0, 0) != first->text(0, 0);
  }
  EXPECT_TRUE(moved);
}

TEST_F(PgLeaseTest, AKilledConnectionIsReopenedAndTheBatchWrittenOnce) {
  auto store = open();
  ASSERT_TRUE(store->acquire_run_lock("r1", getpid(), self_start_time())->acquired);
  Batch first;
  first.run = testing::make_run("r1");
  first.events = {testing::make_event("r1", "run.created")};
  ASSERT_TRUE(store->apply(first).has_value());
  auto killed = admin_->query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_TRUE(killed.has_value());
  ASSERT_GE(killed->int64(0, 0), 1);
  auto r = store->apply(event_batch("r1", "task.ready"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].seq, 2);
  EXPECT_EQ((*events)[1].prev_hash, (*events)[0].hash);
}

TEST_F(PgLeaseTest, AKilledConnectionBeforeAMultiPartBatchLosesNoPart) {
  auto store = open();
  Batch first;
  first.run = testing::make_run("r1");
  ASSERT_TRUE(store->apply(first).has_value());
  auto killed = admin_->query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_TRUE(killed.has_value());
  // The connection is found broken at BEGIN, before NEXT made any part: the batch is
  // written whole after reconnecting, FIRST and both parts.
  int made = 0;
  auto r = store->apply_parts(event_batch("r1", "one"), [&](Batch& part) {
    if (made == 2) return false;
    part.events = {testing::make_event("r1", made++ == 0 ? "two" : "three")};
    return true;
  });
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  std::vector<std::string> kinds;
  for (const Event& e : *events) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(PgLeaseTest, FeedReadersNeverSeeALaterIdBeforeAnEarlierCommit) {
  // Writers on their own connections commit events of their own runs as fast as they
  // can while a reader follows the feed: every id it sees must be greater than the
  // last, and at the end it must have seen every event exactly once.
  constexpr int kWriters = 3;
  constexpr int kBatches = 60;
  {
    auto setup = open();
    for (int w = 0; w < kWriters; ++w) {
      Batch b;
      b.run = testing::make_run("w" + std::to_string(w));
      ASSERT_TRUE(setup->apply(b).has_value());
    }
  }
  std::atomic<int> done{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto store = open();
      for (int i = 0; i < kBatches; ++i) {
        Batch b;
        for (int k = 0; k < 3; ++k)
          b.events.push_back(testing::make_event("w" + std::to_string(w), "tick"));
        (void)store->apply(b);
      }
      ++done;
    });
  }
  auto reader = open();
  int64_t last = 0;
  int64_t seen = 0;
  bool ordered = true;
  for (int rounds = 0; rounds < 100000; ++rounds) {
    const bool finished = done == kWriters;
    auto page = reader->list_feed(last, "", 1000);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    for (const FeedEvent& e : *page) {
      if (e.id <= last) ordered = false;
      last = e.id;
      ++seen;
    }
    if (finished && page->empty()) break;
  }
  for (auto& t : writers) t.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(seen, kWriters * kBatches * 3);
}

}  // namespace
}  // namespace baton::store
