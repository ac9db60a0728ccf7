// The delivery worker against a real cpp-httplib receiver on 127.0.0.1 and a real store,
// on every back end (store/contract/backends.h: an SQLite file and a PostgreSQL
// database in the test binary's throwaway cluster); the clock and the random source
// are injected (no sleeping).
#include "webhooks/worker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>

#include "store/contract/backends.h"
#include "store/open_store.h"
#include "store/pg_test_cluster.h"
#include "store/store.h"
#include "util/held_port.h"
#include "webhooks/signature.h"
#include "webhooks/test_receiver.h"

namespace baton::webhooks {
namespace {

using store::WebhookStore;
using testing::Received;
using testing::Receiver;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSecretEnv = "BATON_TEST_WEBHOOK_SECRET";

const auto* const kCluster =
    ::testing::AddGlobalTestEnvironment(new store::testing::PgClusterEnvironment);

// A receiver's handler that holds every request unanswered until release() (or 30 s),
// then answers 200: a request in flight for as long as a test needs.
class HeldAnswers {
 public:
  Receiver::Handler handler() {
    return [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mutex_);
      released_cv_.wait_for(lock, std::chrono::seconds(30), [this] { return released_; });
      res.status = 200;
    };
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    released_cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
};

// A worker whose thread's first request its receiver holds in flight (start_held()).
struct InFlight {
  HeldAnswers held;
  Receiver receiver{held.handler()};
  std::unique_ptr<DeliveryWorker> worker;  // first to go: stop() cuts the request
};

template <typename Backend>
class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (store::contract::kIsPostgres<Backend>) {
      ASSERT_TRUE(store::testing::PgTestCluster::get().ok())
          << store::testing::PgTestCluster::get().error();
    }
    db_ = backend_.location();
    setenv(kSecretEnv, kSecret, 1);
    auto s = store::open_store(db_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
  }

  // A worker for endpoint URL (every type) with the fake clock and a fixed random number.
  std::unique_ptr<DeliveryWorker> worker(const std::string& url, double timeout = 5) {
    WorkerOptions options;
    options.now = [this] { return now_.load(); };
    options.random01 = [] { return 0.5; };
    options.timeout_seconds = timeout;
    auto w = DeliveryWorker::open(db_, {{url, {}, std::string("env:") + kSecretEnv}}, options);
    EXPECT_TRUE(w.has_value()) << w.error().message;
    return w ? std::move(*w) : nullptr;
  }

  // Starts F's worker (60 s timeout) on one pending delivery; true once its request
  // reached F's receiver, which holds it until F.held.release().
  bool start_held(InFlight& f) {
    f.worker = worker(f.receiver.url(), /*timeout=*/60);
    event("r1", "run.created");
    f.worker->start();
    return f.receiver.wait_for(1, std::chrono::seconds(30));
  }

  // Records run RUN (first call) and its event KIND at the fake time.
  void event(const std::string& run, const std::string& kind, nlohmann::json data = {},
             const std::string& task = "") {
    store::Batch batch;
    if (!runs_.count(run)) {
      store::RunRecord r;
      r.id = run;
      r.workflow_name = "w";
      r.status = "running";
      r.created_at = now_;
      batch.run = r;
      runs_.insert(run);
    }
    store::Event e;
    e.run_id = run;
    e.task_id = task;
    e.kind = kind;
    e.time = now_;
    e.data = data.is_null() ? nlohmann::json::object() : data;
    batch.events.push_back(e);
    auto applied = store_->apply(batch);
    ASSERT_TRUE(applied.has_value()) << applied.error().message;
  }

  std::vector<store::WebhookDelivery> deliveries() {
    auto ws = WebhookStore::open(db_);
    EXPECT_TRUE(ws.has_value());
    auto page = (*ws)->list_deliveries({});
    EXPECT_TRUE(page.has_value());
    return page->items;
  }

  // Verifies R as a receiver would, at the fake time.
  static void expect_signed(const Received& r, int64_t now) {
    auto key = parse_secret(kSecret);
    ASSERT_TRUE(key.has_value());
    auto ok = verify(*key, {r.id, r.timestamp, r.signature, r.body}, now);
    EXPECT_TRUE(ok.has_value()) << ok.error().message;
  }

  Backend backend_;
  std::string db_;  ///< the store's location: a file or a postgres:// URL
  std::unique_ptr<store::Store> store_;
  std::set<std::string> runs_;
  std::atomic<double> now_{1'800'000'000};
};

TYPED_TEST_SUITE(WorkerTest, store::contract::Backends, store::contract::BackendNames);

TYPED_TEST(WorkerTest, SignedDeliveryWithA2xxIsDelivered) {
  Receiver receiver;
  auto w = this->worker(receiver.url());
  this->event("r1", "run.created");
  auto sent = w->deliver_due();
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  EXPECT_EQ(*sent, 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  this->expect_signed(got[0], static_cast<int64_t>(this->now_.load()));
  EXPECT_EQ(got[0].timestamp, "1800000000");
  EXPECT_EQ(got[0].body, R"({"type":"run.started","timestamp":"2027-01-15T08:00:00.000Z",)"
                         R"("data":{"run_id":"r1","event_seq":1}})");
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "delivered");
  EXPECT_EQ(d[0].attempts, 1);
  EXPECT_EQ(d[0].last_status_code, 204);
  EXPECT_EQ(d[0].webhook_id, got[0].id);
  EXPECT_EQ(*w->deliver_due(), 0);  // nothing is sent twice
}

TYPED_TEST(WorkerTest, GoneDisablesTheEndpointAndItsPendingDeliveries) {
  Receiver receiver([](const httplib::Request&, httplib::Response& res) { res.status = 410; });
  WorkerOptions options;
  auto w = this->worker(receiver.url());
  this->event("r1", "run.created");
  this->event("r1", "task.failed", {}, "a");
  // One at a time: the first answer disables the endpoint before the second is sent.
  auto ws = WebhookStore::open(this->db_);
  ASSERT_TRUE(ws.has_value());
  auto claimed = (*ws)->claim_due(this->now_, 60, "other", 1);
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_TRUE((*ws)
                  ->record_attempt((*claimed)[0].id, "other",
                                   {store::WebhookAttemptResult::Next::kDisableEndpoint, 410,
                                    "410 Gone: endpoint disabled", 0},
                                   this->now_)
                  .value());
  EXPECT_EQ(*w->deliver_due(), 0);
  for (const auto& d : this->deliveries()) EXPECT_EQ(d.status, "disabled") << d.type;
  auto endpoints = (*ws)->list_endpoints();
  ASSERT_EQ(endpoints->size(), 1u);
  EXPECT_EQ((*endpoints)[0].status, "disabled");
  EXPECT_EQ((*endpoints)[0].reason, "410 Gone");
  // A later event for a disabled endpoint creates no delivery.
  this->event("r1", "run.finished", {{"status", "failed"}});
  EXPECT_EQ(this->deliveries().size(), 2u);
}

TYPED_TEST(WorkerTest, GoneFromTheReceiverDisablesTheEndpoint) {
  Receiver receiver([](const httplib::Request&, httplib::Response& res) { res.status = 410; });
  auto w = this->worker(receiver.url());
  this->event("r1", "run.created");
  this->event("r1", "task.failed", {}, "a");
  EXPECT_GE(*w->deliver_due(), 1);
  EXPECT_EQ(receiver.received().size(), 1u);  // the second was disabled, not sent
  for (const auto& d : this->deliveries()) EXPECT_EQ(d.status, "disabled") << d.type;
  // Redeliver re-enables the endpoint.
  auto ws = WebhookStore::open(this->db_);
  ASSERT_TRUE((*ws)->redeliver(this->deliveries()[0].id, this->now_).value());
  EXPECT_EQ((*(*ws)->list_endpoints())[0].status, "active");
}

TYPED_TEST(WorkerTest, ServiceUnavailableWithRetryAfterIsRetriedExactlyThatLater) {
  Receiver receiver([](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "7");
  });
  auto w = this->worker(receiver.url());
  this->event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].attempts, 1);
  EXPECT_EQ(d[0].last_status_code, 503);
  EXPECT_EQ(d[0].next_attempt_at, this->now_.load() + 7);
  this->now_ = this->now_ + 6.5;
  EXPECT_EQ(*w->deliver_due(), 0);
  this->now_ = this->now_ + 0.5;
  EXPECT_EQ(*w->deliver_due(), 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, got[1].id);  // the same webhook-id on every retry
  EXPECT_EQ(got[0].body, got[1].body);
}

TYPED_TEST(WorkerTest, ReceiverThatNeverAnswersIsATimeout) {
  HeldAnswers held;
  Receiver receiver(held.handler());
  auto w = this->worker(receiver.url(), /*timeout=*/0.5);
  this->event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  held.release();
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, "timeout");
  EXPECT_FALSE(d[0].last_status_code.has_value());
  EXPECT_EQ(d[0].next_attempt_at, this->now_.load() + 2.5);  // random 0.5 of the first bound, 5 s
}

TYPED_TEST(WorkerTest, ReceiverThatTricklesItsAnswerIsATimeout) {
  Receiver receiver([](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      // A byte every 50 ms, each well within the read timeout, until the sender leaves
      // (bounded: 30 s).
      for (int i = 0; i < 600; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!sink.is_writable() || !sink.write("x", 1)) return false;
      }
      sink.done();
      return true;
    });
  });
  auto w = this->worker(receiver.url(), /*timeout=*/0.5);
  this->event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, "timeout");
}

TYPED_TEST(WorkerTest, StopCutsTheRequestInFlightShortAndCountsNoAttempt) {
  InFlight f;
  ASSERT_TRUE(this->start_held(f));
  f.worker->stop();  // without the cut-off: blocks until the receiver answers 200 (30 s)
  f.held.release();
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].attempts, 0);
  // Its claim is released: another sender may take it at once.
  auto ws = WebhookStore::open(this->db_);
  EXPECT_EQ((*ws)->claim_due(this->now_, 60, "next", 16)->size(), 1u);
}

// drain() at a run's end lets the thread's request in flight finish instead of cutting
// it off and sending it again: the receiver got that one already.
TYPED_TEST(WorkerTest, DrainLetsTheRequestInFlightFinishAndSendsItOnce) {
  InFlight f;
  ASSERT_TRUE(this->start_held(f));
  std::promise<void> draining;
  std::future<int> drained = std::async(std::launch::async, [&] {
    draining.set_value();
    return f.worker->drain(30);
  });
  draining.get_future().wait();
  // A cut-off request is sent again at once: a second one here is the defect. Without
  // one within a second, the first is let finish.
  const bool resent = f.receiver.wait_for(2, std::chrono::seconds(1));
  f.held.release();
  EXPECT_EQ(drained.get(), 0);  // nothing was left for drain() itself to send
  EXPECT_FALSE(resent);
  EXPECT_EQ(f.receiver.received().size(), 1u);
  auto d = this->deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "delivered");
  EXPECT_EQ(d[0].attempts, 1);
}

TYPED_TEST(WorkerTest, RedirectIsAFailureAndIsNotFollowed) {
  std::atomic<int> followed{0};
  Receiver receiver([&](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/elsewhere") {
      ++followed;
      res.status = 200;
      return;
    }
    res.status = 302;
    res.set_header("Location", "/elsewhere");
  });
  auto w = this->worker(receiver.url());
  this->event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  EXPECT_EQ(followed.load(), 0);
  auto d = this->deliveries();
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_status_code, 302);
  EXPECT_EQ(d[0].last_error, "HTTP 302");
}

TYPED_TEST(WorkerTest, ConnectionRefusedIsRetried) {
  HeldPort down;  // the receiver is down: connections are refused
  const int port = down.port();
  ASSERT_GT(port, 0);
  auto w = this->worker("http://127.0.0.1:" + std::to_string(port) + "/hook");
  this->event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto d = this->deliveries();
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, "connection refused or failed");
}

TYPED_TEST(WorkerTest, AClaimOfAKilledSenderExpiresAndTheDeliveryIsSentAgain) {
  Receiver receiver;
  auto w = this->worker(receiver.url());
  this->event("r1", "run.created");
  auto ws = WebhookStore::open(this->db_);
  auto claimed = (*ws)->claim_due(this->now_, 60, "killed-sender", 16);  // and then it died
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(*w->deliver_due(), 0);  // leased: not sent twice at once
  this->now_ = this->now_ + 60;
  EXPECT_EQ(*w->deliver_due(), 1);
  EXPECT_EQ(this->deliveries()[0].status, "delivered");
  // The late sender's result is ignored: its lease is gone.
  EXPECT_FALSE((*ws)
                   ->record_attempt(
                       (*claimed)[0].id, "killed-sender",
                       {store::WebhookAttemptResult::Next::kRetry, 500, "", this->now_}, this->now_)
                   .value());
  EXPECT_EQ(this->deliveries()[0].status, "delivered");
}

TYPED_TEST(WorkerTest, MissingSecretIsAnAttemptThatNamesTheVariable) {
  Receiver receiver;
  auto w = this->worker(receiver.url());
  unsetenv(kSecretEnv);
  this->event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  EXPECT_TRUE(receiver.received().empty());
  auto d = this->deliveries();
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, std::string("environment variable ") + kSecretEnv + " is not set");
  setenv(kSecretEnv, "whsec_%%%", 1);
  this->now_ = this->now_ + 10;
  ASSERT_EQ(*w->deliver_due(), 1);
  EXPECT_EQ(this->deliveries()[0].last_error, std::string("secret in environment variable ") +
                                                  kSecretEnv +
                                                  ": the secret after whsec_ is not valid base64");
}

TYPED_TEST(WorkerTest, RedeliverSendsTheSameMessageAgain) {
  Receiver receiver;
  auto w = this->worker(receiver.url());
  this->event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto ws = WebhookStore::open(this->db_);
  const int64_t id = this->deliveries()[0].id;
  ASSERT_TRUE((*ws)->redeliver(id, this->now_).value());
  EXPECT_FALSE((*ws)->redeliver(id + 100, this->now_).value());
  EXPECT_EQ(this->deliveries()[0].status, "pending");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, got[1].id);
  EXPECT_EQ(this->deliveries()[0].status, "delivered");
}

TYPED_TEST(WorkerTest, TheThreadDeliversWhatTheRunRecords) {
  Receiver receiver;
  auto w = this->worker(receiver.url());
  w->start();
  this->event("r1", "run.created");
  this->event("r1", "task.failed", {{"reason", "exit 1"}}, "build");
  this->event("r1", "run.finished", {{"status", "failed"}});
  ASSERT_TRUE(receiver.wait_for(3, std::chrono::seconds(30)));
  w->stop();
  std::vector<std::string> types;
  for (const Received& r : receiver.received()) {
    this->expect_signed(r, static_cast<int64_t>(this->now_.load()));
    types.push_back(nlohmann::json::parse(r.body)["type"]);
  }
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"run.failed", "run.started", "task.failed"}));
  EXPECT_EQ(w->last_error(), "");
}

TYPED_TEST(WorkerTest, ListCursorAndCountsForTheApi) {
  auto w = this->worker("http://127.0.0.1:9/unused");
  for (int i = 0; i < 5; ++i) this->event("r" + std::to_string(i), "run.created");
  auto ws = WebhookStore::open(this->db_);
  store::WebhookDeliveryQuery q;
  q.limit = 2;
  auto first = (*ws)->list_deliveries(q);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].run_id, "r4");  // newest first
  EXPECT_EQ(first->items[1].run_id, "r3");
  q.before_id = first->next_before_id;
  auto second = (*ws)->list_deliveries(q);
  ASSERT_EQ(second->items.size(), 2u);
  EXPECT_EQ(second->items[0].run_id, "r2");
  q.before_id = second->next_before_id;
  auto last = (*ws)->list_deliveries(q);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->next_before_id, 0);
  q = {};
  q.status = "delivered";
  EXPECT_TRUE((*ws)->list_deliveries(q)->items.empty());
  auto counts = (*ws)->count_by_status();
  EXPECT_EQ((*counts)["pending"], 5);
  EXPECT_EQ((*counts)["delivered"], 0);
  EXPECT_EQ((*counts)["failed"], 0);
  EXPECT_EQ((*counts)["disabled"], 0);
}

}  // namespace
}  // namespace baton::webhooks
