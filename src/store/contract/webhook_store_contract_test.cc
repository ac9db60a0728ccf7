// WebhookStore's contract on every back end (contract/backends.h): the outbox that
// apply() fills in the event's transaction, endpoints, claims under leases (two senders
// never hold one delivery at once, also when they claim concurrently), results,
// redelivery, the list and the counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/contract/backends.h"
#include "store/open_store.h"
#include "store/pg_connection.h"
#include "store/pg_test_cluster.h"
#include "store/store.h"
#include "store/test_util.h"
#include "store/webhook_store.h"

namespace baton::store {
namespace {

using contract::BackendNames;
using contract::Backends;
using testing::make_event;
using testing::make_run;
using Next = WebhookAttemptResult::Next;

const auto* const kCluster = ::testing::AddGlobalTestEnvironment(new testing::PgClusterEnvironment);

void apply_ok(Store& store, const Batch& batch) {
  auto r = store.apply(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

template <typename Backend>
class WebhookStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (contract::kIsPostgres<Backend>) {
      ASSERT_TRUE(testing::PgTestCluster::get().ok()) << testing::PgTestCluster::get().error();
    }
    auto store = open_store(backend_.location());
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(*store);
    webhooks_ = open_webhooks();
    ASSERT_TRUE(webhooks_);
    ASSERT_TRUE(webhooks_
                    ->register_endpoints(
                        {{"http://127.0.0.1:1/failures", {"run.failed", "task.failed"}, "env:X"},
                         {"http://127.0.0.1:1/all", {}, "env:Y"}},
                        10)
                    .has_value());
  }
  /// A second connection, as another sender (another process or machine) has.
  std::unique_ptr<WebhookStore> open_webhooks() {
    auto ws = WebhookStore::open(backend_.location());
    EXPECT_TRUE(ws.has_value()) << ws.error().message;
    return ws ? std::move(*ws) : nullptr;
  }
  std::vector<WebhookDelivery> deliveries() {
    auto page = webhooks_->list_deliveries({});
    EXPECT_TRUE(page.has_value()) << page.error().message;
    return page ? page->items : std::vector<WebhookDelivery>{};
  }
  /// Run RUN with N task.failed events at time 100: 2N deliveries (both endpoints).
  void failures(const std::string& run, int n) {
    Batch batch;
    batch.run = make_run(run);
    for (int i = 0; i < n; ++i) {
      batch.events.push_back(make_event(run, "task.failed", 100, {}, "t" + std::to_string(i)));
    }
    apply_ok(*store_, batch);
  }

  Backend backend_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<WebhookStore> webhooks_;
};

TYPED_TEST_SUITE(WebhookStoreContractTest, Backends, BackendNames);

TYPED_TEST(WebhookStoreContractTest, SubscribedEventsGetTheirDeliveriesInTheSameBatch) {
  Batch batch;
  batch.run = make_run("r1");
  batch.events = {make_event("r1", "run.created", 100),
                  make_event("r1", "task.ready", 101, {}, "a"),
                  make_event("r1", "task.failed", 102, {{"reason", "exit 1"}}, "a")};
  apply_ok(*this->store_, batch);
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 3u);  // run.started to /all; task.failed to both
  // Newest first.
  EXPECT_EQ(d[0].type, "task.failed");
  EXPECT_EQ(d[1].type, "task.failed");
  EXPECT_EQ(d[2].type, "run.started");
  EXPECT_EQ(d[2].url, "http://127.0.0.1:1/all");
  EXPECT_EQ(d[2].secret_ref, "env:Y");
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].event_seq, 3);
  EXPECT_EQ(d[0].next_attempt_at, 102);
  EXPECT_EQ(d[0].body, R"({"type":"task.failed","timestamp":"1970-01-01T00:01:42.000Z",)"
                       R"("data":{"run_id":"r1","event_seq":3,"task_id":"a"}})");
  EXPECT_NE(d[0].webhook_id, d[1].webhook_id);
  EXPECT_EQ(d[0].webhook_id.rfind("msg_", 0), 0u);
  EXPECT_EQ(d[0].webhook_id.size(), 4u + 32u);
}

TYPED_TEST(WebhookStoreContractTest, AFailedBatchLeavesNoDelivery) {
  Batch batch;  // an event of a run that has no row: the foreign key fails the batch
  batch.events = {make_event("r1", "run.created", 100)};
  EXPECT_FALSE(this->store_->apply(batch).has_value());
  EXPECT_TRUE(this->deliveries().empty());
  Batch both;  // a good event before a bad one: neither is kept, nor its delivery
  both.run = make_run("r2");
  both.events = {make_event("r2", "run.created", 100), make_event("nope", "task.failed", 101)};
  EXPECT_FALSE(this->store_->apply(both).has_value());
  EXPECT_TRUE(this->deliveries().empty());
}

TYPED_TEST(WebhookStoreContractTest, UnsubscribedAndUnmappedKindsCreateNone) {
  Batch batch;
  batch.run = make_run("r1");
  batch.events = {make_event("r1", "task.success", 100, {}, "a"),
                  make_event("r1", "run.resumed", 101),
                  make_event("r1", "run.finished", 102, {{"status", "success"}})};
  apply_ok(*this->store_, batch);
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 1u);  // run.succeeded, to /all only
  EXPECT_EQ(d[0].type, "run.succeeded");
  EXPECT_EQ(d[0].url, "http://127.0.0.1:1/all");
}

TYPED_TEST(WebhookStoreContractTest, RemovedEndpointsGetNothing) {
  ASSERT_TRUE(this->webhooks_->register_endpoints({{"http://127.0.0.1:1/all", {}, "env:Y"}}, 20)
                  .has_value());
  auto endpoints = this->webhooks_->list_endpoints();
  ASSERT_EQ(endpoints->size(), 2u);
  for (const auto& e : *endpoints) {
    EXPECT_EQ(e.status, e.url == "http://127.0.0.1:1/all" ? "active" : "removed") << e.url;
  }
  Batch batch;
  batch.run = make_run("r1");
  batch.events = {make_event("r1", "task.failed", 100, {}, "a")};
  apply_ok(*this->store_, batch);
  ASSERT_EQ(this->deliveries().size(), 1u);
}

TYPED_TEST(WebhookStoreContractTest, OpenNamesTheLocationWhenItCannotOpen) {
  testing::TempDir dir;
  const std::string file = dir.file("not-a-database.db");
  std::ofstream(file) << "this is not an SQLite database, it is plain text\n";
  auto ws = WebhookStore::open(
      contract::kIsPostgres<TypeParam> ? "postgres://baton:secret@127.0.0.1:1/none" : file);
  ASSERT_FALSE(ws.has_value());
  if constexpr (contract::kIsPostgres<TypeParam>) {
    EXPECT_NE(ws.error().message.find("postgres://baton:***@127.0.0.1:1/none"), std::string::npos)
        << ws.error().message;
    EXPECT_EQ(ws.error().message.find("secret"), std::string::npos) << ws.error().message;
  } else {
    EXPECT_NE(ws.error().message.find(file), std::string::npos) << ws.error().message;
  }
}

TYPED_TEST(WebhookStoreContractTest, EndpointsKeepTheirEventsAndADisabledOneStaysDisabled) {
  auto endpoints = this->webhooks_->list_endpoints();
  ASSERT_TRUE(endpoints.has_value()) << endpoints.error().message;
  ASSERT_EQ(endpoints->size(), 2u);
  for (const WebhookEndpoint& e : *endpoints) {
    EXPECT_EQ(e.id, webhook_endpoint_id(e.url));
    EXPECT_EQ(e.status, "active");
    EXPECT_EQ(e.updated_at, 10);
    if (e.url == "http://127.0.0.1:1/failures") {
      EXPECT_EQ(e.events, (std::vector<std::string>{"run.failed", "task.failed"}));
      EXPECT_EQ(e.secret_ref, "env:X");
    } else {
      EXPECT_TRUE(e.events.empty());
    }
  }
  this->failures("r1", 1);
  auto claimed = this->webhooks_->claim_due(1000, 60, "a", 1);
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_TRUE(
      this->webhooks_
          ->record_attempt((*claimed)[0].id, "a", {Next::kDisableEndpoint, 410, "gone", 0}, 1000)
          .value());
  const std::string gone = (*claimed)[0].endpoint_id;
  ASSERT_TRUE(this->webhooks_
                  ->register_endpoints({{"http://127.0.0.1:1/failures", {}, "env:X"},
                                        {"http://127.0.0.1:1/all", {}, "env:Y"}},
                                       20)
                  .has_value());
  auto after = this->webhooks_->list_endpoints();
  ASSERT_TRUE(after.has_value()) << after.error().message;
  for (const WebhookEndpoint& e : *after) {
    EXPECT_EQ(e.status, e.id == gone ? "disabled" : "active") << e.url;
    EXPECT_EQ(e.reason, e.id == gone ? "410 Gone" : "") << e.url;
  }
  for (const WebhookDelivery& d : this->deliveries()) {  // its pending ones with it
    EXPECT_EQ(d.status, d.endpoint_id == gone ? "disabled" : "pending") << d.url;
  }
}

TYPED_TEST(WebhookStoreContractTest, AClaimIsExclusiveUntilItsLeaseEnds) {
  this->failures("r1", 2);  // 4 deliveries due at 100
  auto other = this->open_webhooks();
  EXPECT_TRUE(this->webhooks_->claim_due(99, 60, "a", 16)->empty());  // not due yet
  auto a = this->webhooks_->claim_due(1000, 60, "a", 3);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  ASSERT_EQ(a->size(), 3u);
  EXPECT_LT((*a)[0].id, (*a)[1].id);  // oldest due first
  auto b = other->claim_due(1000, 60, "b", 16);
  ASSERT_EQ(b->size(), 1u);  // the one a did not take
  for (const auto& d : *a) EXPECT_NE(d.id, (*b)[0].id);
  EXPECT_TRUE(other->claim_due(1059, 60, "c", 16)->empty());
  EXPECT_EQ(*this->webhooks_->next_due_at(), std::optional<double>(1060));
  // b's result is not a's to record; a's release makes it due again for others.
  EXPECT_FALSE(
      this->webhooks_->record_attempt((*a)[0].id, "b", {Next::kDelivered, 200, "", 0}, 1001)
          .value());
  EXPECT_TRUE(this->webhooks_->release_claim((*a)[0].id, "a").value());
  EXPECT_FALSE(this->webhooks_->release_claim((*a)[0].id, "a").value());
  auto c = other->claim_due(1001, 60, "c", 16);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].id, (*a)[0].id);
  // Expired leases are claimed again (a sender that died).
  auto d = other->claim_due(1060, 60, "d", 16);
  EXPECT_EQ(d->size(), 3u);
}

TYPED_TEST(WebhookStoreContractTest, ResultsRetriesAndRedelivery) {
  this->failures("r1", 1);
  auto claimed = this->webhooks_->claim_due(1000, 60, "a", 16);
  ASSERT_EQ(claimed->size(), 2u);
  const int64_t retried = (*claimed)[0].id, failed = (*claimed)[1].id;
  ASSERT_TRUE(
      this->webhooks_
          ->record_attempt(retried, "a", {Next::kRetry, 503, "503 Service Unavailable", 1300}, 1001)
          .value());
  ASSERT_TRUE(this->webhooks_
                  ->record_attempt(failed, "a", {Next::kFailed, std::nullopt, "timeout", 0}, 1002)
                  .value());
  auto r = this->webhooks_->get_delivery(retried);
  ASSERT_TRUE(r.has_value() && r->has_value());
  EXPECT_EQ((*r)->status, "pending");
  EXPECT_EQ((*r)->attempts, 1);
  EXPECT_EQ((*r)->last_status_code, std::optional<int>(503));
  EXPECT_EQ((*r)->last_error, "503 Service Unavailable");
  EXPECT_EQ((*r)->last_attempt_at, 1001);
  EXPECT_EQ((*r)->next_attempt_at, 1300);
  auto f = this->webhooks_->get_delivery(failed);
  EXPECT_EQ((*f)->status, "failed");
  EXPECT_EQ((*f)->last_status_code, std::nullopt);
  EXPECT_EQ((*f)->last_error, "timeout");
  EXPECT_FALSE(this->webhooks_->get_delivery(failed + 1000)->has_value());
  EXPECT_TRUE(this->webhooks_->claim_due(1299, 60, "a", 16)->empty());
  EXPECT_EQ(this->webhooks_->claim_due(1300, 60, "a", 16)->size(), 1u);
  // Redelivery: pending again, attempts 0, the same webhook-id and body.
  ASSERT_TRUE(this->webhooks_->redeliver(failed, 2000).value());
  EXPECT_FALSE(this->webhooks_->redeliver(failed + 1000, 2000).value());
  auto again = this->webhooks_->get_delivery(failed);
  EXPECT_EQ((*again)->status, "pending");
  EXPECT_EQ((*again)->attempts, 0);
  EXPECT_EQ((*again)->webhook_id, (*f)->webhook_id);
  EXPECT_EQ((*again)->body, (*f)->body);
  auto counts = this->webhooks_->count_by_status();
  ASSERT_TRUE(counts.has_value()) << counts.error().message;
  EXPECT_EQ(*counts, (std::map<std::string, int64_t>{
                         {"pending", 2}, {"delivered", 0}, {"failed", 0}, {"disabled", 0}}));
}

TYPED_TEST(WebhookStoreContractTest, ListPagesNewestFirstAndFilters) {
  for (int i = 0; i < 5; ++i) {
    Batch batch;
    batch.run = make_run("r" + std::to_string(i));
    batch.events = {make_event("r" + std::to_string(i), "run.created", 100)};
    apply_ok(*this->store_, batch);
  }
  WebhookDeliveryQuery q;
  q.limit = 2;
  auto first = this->webhooks_->list_deliveries(q);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].run_id, "r4");
  EXPECT_EQ(first->items[1].run_id, "r3");
  q.before_id = first->next_before_id;
  auto second = this->webhooks_->list_deliveries(q);
  ASSERT_EQ(second->items.size(), 2u);
  EXPECT_EQ(second->items[0].run_id, "r2");
  q.before_id = second->next_before_id;
  auto last = this->webhooks_->list_deliveries(q);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->next_before_id, 0);
  q = {};
  q.run_id = "r2";
  EXPECT_EQ(this->webhooks_->list_deliveries(q)->items.size(), 1u);
  q = {};
  q.status = "delivered";
  EXPECT_TRUE(this->webhooks_->list_deliveries(q)->items.empty());
  EXPECT_EQ((*this->webhooks_->count_by_status())["pending"], 5);
  EXPECT_EQ(*this->webhooks_->next_due_at(), std::optional<double>(100));
}

TYPED_TEST(WebhookStoreContractTest, ConcurrentSendersNeverClaimOneDeliveryTwice) {
  this->failures("r1", 100);  // 200 deliveries
  constexpr int kSenders = 4;
  std::vector<std::vector<int64_t>> taken(kSenders);
  std::vector<std::string> errors(kSenders);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      auto ws = this->open_webhooks();  // a connection per sender
      const std::string owner = "sender-" + std::to_string(s);
      ready.fetch_add(1);
      while (ready.load() < kSenders) std::this_thread::yield();
      for (int round = 0; round < 1000; ++round) {  // bounded
        auto claimed = ws->claim_due(1000, 600, owner, 3);
        if (!claimed) {
          errors[s] = claimed.error().message;
          return;
        }
        if (claimed->empty()) return;
        for (const WebhookDelivery& d : *claimed) {
          taken[s].push_back(d.id);
          auto held = ws->record_attempt(d.id, owner, {Next::kDelivered, 200, "", 0}, 1001);
          if (!held || !*held) {
            errors[s] = "lost the lease of " + std::to_string(d.id);
            return;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> all;
  size_t total = 0;
  for (int s = 0; s < kSenders; ++s) {
    EXPECT_EQ(errors[s], "") << "sender " << s;
    total += taken[s].size();
    all.insert(taken[s].begin(), taken[s].end());
  }
  EXPECT_EQ(total, 200u);  // every delivery taken once: none twice, none left
  EXPECT_EQ(all.size(), 200u);
  EXPECT_EQ((*this->webhooks_->count_by_status())["delivered"], 200);
  for (const WebhookDelivery& d : this->deliveries()) EXPECT_EQ(d.attempts, 1) << d.id;
}

TYPED_TEST(WebhookStoreContractTest, PostgresSkipsRowsAnotherSenderIsClaimingInsteadOfWaiting) {
  if constexpr (!contract::kIsPostgres<TypeParam>) {
    GTEST_SKIP() << "row locks are PostgreSQL's";
  } else {
    this->failures("r1", 1);
    const int64_t oldest = this->deliveries().back().id;
    // Another sender's claim in flight: its transaction holds the oldest row's lock.
    auto conn = PgConnection::connect(this->backend_.location());
    ASSERT_TRUE(conn.has_value()) << conn.error().message;
    ASSERT_TRUE(conn->exec("BEGIN").has_value());
    ASSERT_TRUE(conn->exec("SELECT id FROM webhook_deliveries WHERE id = $1 FOR UPDATE",
                           {std::to_string(oldest)})
                    .has_value());
    auto claimed = this->webhooks_->claim_due(1000, 60, "a", 16);  // returns, never waits
    ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_NE((*claimed)[0].id, oldest);
    ASSERT_TRUE(conn->exec("ROLLBACK").has_value());
    claimed = this->webhooks_->claim_due(1000, 60, "a", 16);
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ((*claimed)[0].id, oldest);
  }
}

TYPED_TEST(WebhookStoreContractTest, PostgresReconnectsAfterItsConnectionWasKilled) {
  if constexpr (!contract::kIsPostgres<TypeParam>) {
    GTEST_SKIP() << "pg_terminate_backend is PostgreSQL's";
  } else {
    this->failures("r1", 1);
    auto admin = PgConnection::connect(this->backend_.location());
    ASSERT_TRUE(admin.has_value()) << admin.error().message;
    auto killed = admin->query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    ASSERT_TRUE(killed.has_value()) << killed.error().error.message;
    ASSERT_GE(killed->int64(0, 0), 1);  // the WebhookStore's connection among them
    auto claimed = this->webhooks_->claim_due(1000, 60, "a", 16);
    ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
    EXPECT_EQ(claimed->size(), 2u);
    EXPECT_TRUE(
        this->webhooks_->record_attempt((*claimed)[0].id, "a", {Next::kDelivered, 200, "", 0}, 1001)
            .value());
  }
}

}  // namespace
}  // namespace baton::store
