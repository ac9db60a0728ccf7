// The delivery worker against a real cpp-httplib receiver on 127.0.0.1 and a real
// SQLite store; the clock and the random source are injected (no sleeping).
#include "webhooks/worker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>

#include "store/store.h"
#include "webhooks/signature.h"
#include "webhooks/test_receiver.h"

namespace baton::webhooks {
namespace {

using store::WebhookStore;
using testing::Received;
using testing::Receiver;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSecretEnv = "BATON_TEST_WEBHOOK_SECRET";

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "baton-webhooks-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_ = dir_ + "/state.db";
    setenv(kSecretEnv, kSecret, 1);
    auto s = store::open_sqlite_store(db_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

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

  std::string dir_, db_;
  std::unique_ptr<store::Store> store_;
  std::set<std::string> runs_;
  std::atomic<double> now_{1'800'000'000};
};

TEST_F(WorkerTest, SignedDeliveryWithA2xxIsDelivered) {
  Receiver receiver;
  auto w = worker(receiver.url());
  event("r1", "run.created");
  auto sent = w->deliver_due();
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  EXPECT_EQ(*sent, 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  expect_signed(got[0], static_cast<int64_t>(now_.load()));
  EXPECT_EQ(got[0].timestamp, "1800000000");
  EXPECT_EQ(got[0].body, R"({"type":"run.started","timestamp":"2027-01-15T08:00:00.000Z",)"
                         R"("data":{"run_id":"r1","event_seq":1}})");
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "delivered");
  EXPECT_EQ(d[0].attempts, 1);
  EXPECT_EQ(d[0].last_status_code, 204);
  EXPECT_EQ(d[0].webhook_id, got[0].id);
  EXPECT_EQ(*w->deliver_due(), 0);  // nothing is sent twice
}

TEST_F(WorkerTest, GoneDisablesTheEndpointAndItsPendingDeliveries) {
  Receiver receiver([](const httplib::Request&, httplib::Response& res) { res.status = 410; });
  WorkerOptions options;
  auto w = worker(receiver.url());
  event("r1", "run.created");
  event("r1", "task.failed", {}, "a");
  // One at a time: the first answer disables the endpoint before the second is sent.
  auto ws = WebhookStore::open(db_);
  ASSERT_TRUE(ws.has_value());
  auto claimed = (*ws)->claim_due(now_, 60, "other", 1);
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_TRUE((*ws)
                  ->record_attempt((*claimed)[0].id, "other",
                                   {store::WebhookAttemptResult::Next::kDisableEndpoint, 410,
                                    "410 Gone: endpoint disabled", 0},
                                   now_)
                  .value());
  EXPECT_EQ(*w->deliver_due(), 0);
  for (const auto& d : deliveries()) EXPECT_EQ(d.status, "disabled") << d.type;
  auto endpoints = (*ws)->list_endpoints();
  ASSERT_EQ(endpoints->size(), 1u);
  EXPECT_EQ((*endpoints)[0].status, "disabled");
  EXPECT_EQ((*endpoints)[0].reason, "410 Gone");
  // A later event for a disabled endpoint creates no delivery.
  event("r1", "run.finished", {{"status", "failed"}});
  EXPECT_EQ(deliveries().size(), 2u);
}

TEST_F(WorkerTest, GoneFromTheReceiverDisablesTheEndpoint) {
  Receiver receiver([](const httplib::Request&, httplib::Response& res) { res.status = 410; });
  auto w = worker(receiver.url());
  event("r1", "run.created");
  event("r1", "task.failed", {}, "a");
  EXPECT_GE(*w->deliver_due(), 1);
  EXPECT_EQ(receiver.received().size(), 1u);  // the second was disabled, not sent
  for (const auto& d : deliveries()) EXPECT_EQ(d.status, "disabled") << d.type;
  // Redeliver re-enables the endpoint.
  auto ws = WebhookStore::open(db_);
  ASSERT_TRUE((*ws)->redeliver(deliveries()[0].id, now_).value());
  EXPECT_EQ((*(*ws)->list_endpoints())[0].status, "active");
}

TEST_F(WorkerTest, ServiceUnavailableWithRetryAfterIsRetriedExactlyThatLater) {
  Receiver receiver([](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "7");
  });
  auto w = worker(receiver.url());
  event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].attempts, 1);
  EXPECT_EQ(d[0].last_status_code, 503);
  EXPECT_EQ(d[0].next_attempt_at, now_.load() + 7);
  now_ = now_ + 6.5;
  EXPECT_EQ(*w->deliver_due(), 0);
  now_ = now_ + 0.5;
  EXPECT_EQ(*w->deliver_due(), 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, got[1].id);  // the same webhook-id on every retry
  EXPECT_EQ(got[0].body, got[1].body);
}

TEST_F(WorkerTest, ReceiverThatNeverAnswersIsATimeout) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  Receiver receiver([&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return release; });
    res.status = 200;
  });
  auto w = worker(receiver.url(), /*timeout=*/0.5);
  event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, "timeout");
  EXPECT_FALSE(d[0].last_status_code.has_value());
  EXPECT_EQ(d[0].next_attempt_at, now_.load() + 2.5);  // random 0.5 of the first bound, 5 s
}

TEST_F(WorkerTest, ReceiverThatTricklesItsAnswerIsATimeout) {
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
  auto w = worker(receiver.url(), /*timeout=*/0.5);
  event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, "timeout");
}

TEST_F(WorkerTest, StopCutsTheRequestInFlightShortAndCountsNoAttempt) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  Receiver receiver([&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return release; });
    res.status = 200;
  });
  auto w = worker(receiver.url(), /*timeout=*/60);
  event("r1", "run.created");
  w->start();
  ASSERT_TRUE(receiver.wait_for(1, std::chrono::seconds(30)));
  w->stop();  // without the cut-off: blocks until the receiver answers 200 (30 s)
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].attempts, 0);
  // Its claim is released: another sender may take it at once.
  auto ws = WebhookStore::open(db_);
  EXPECT_EQ((*ws)->claim_due(now_, 60, "next", 16)->size(), 1u);
}

TEST_F(WorkerTest, RedirectIsAFailureAndIsNotFollowed) {
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
  auto w = worker(receiver.url());
  event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  EXPECT_EQ(followed.load(), 0);
  auto d = deliveries();
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_status_code, 302);
  EXPECT_EQ(d[0].last_error, "HTTP 302");
}

TEST_F(WorkerTest, ConnectionRefusedIsRetried) {
  int port = 0;
  {
    Receiver gone;
    port = gone.port();
  }
  auto w = worker("http://127.0.0.1:" + std::to_string(port) + "/hook");
  event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto d = deliveries();
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, "connection refused or failed");
}

TEST_F(WorkerTest, AClaimOfAKilledSenderExpiresAndTheDeliveryIsSentAgain) {
  Receiver receiver;
  auto w = worker(receiver.url());
  event("r1", "run.created");
  auto ws = WebhookStore::open(db_);
  auto claimed = (*ws)->claim_due(now_, 60, "killed-sender", 16);  // and then it died
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(*w->deliver_due(), 0);  // leased: not sent twice at once
  now_ = now_ + 60;
  EXPECT_EQ(*w->deliver_due(), 1);
  EXPECT_EQ(deliveries()[0].status, "delivered");
  // The late sender's result is ignored: its lease is gone.
  EXPECT_FALSE((*ws)
                   ->record_attempt((*claimed)[0].id, "killed-sender",
                                    {store::WebhookAttemptResult::Next::kRetry, 500, "", now_},
                                    now_)
                   .value());
  EXPECT_EQ(deliveries()[0].status, "delivered");
}

TEST_F(WorkerTest, MissingSecretIsAnAttemptThatNamesTheVariable) {
  Receiver receiver;
  auto w = worker(receiver.url());
  unsetenv(kSecretEnv);
  event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  EXPECT_TRUE(receiver.received().empty());
  auto d = deliveries();
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].last_error, std::string("environment variable ") + kSecretEnv + " is not set");
  setenv(kSecretEnv, "whsec_%%%", 1);
  now_ = now_ + 10;
  ASSERT_EQ(*w->deliver_due(), 1);
  EXPECT_EQ(deliveries()[0].last_error, std::string("secret in environment variable ") +
                                            kSecretEnv +
                                            ": the secret after whsec_ is not valid base64");
}

TEST_F(WorkerTest, RedeliverSendsTheSameMessageAgain) {
  Receiver receiver;
  auto w = worker(receiver.url());
  event("r1", "run.created");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto ws = WebhookStore::open(db_);
  const int64_t id = deliveries()[0].id;
  ASSERT_TRUE((*ws)->redeliver(id, now_).value());
  EXPECT_FALSE((*ws)->redeliver(id + 100, now_).value());
  EXPECT_EQ(deliveries()[0].status, "pending");
  ASSERT_EQ(*w->deliver_due(), 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, got[1].id);
  EXPECT_EQ(deliveries()[0].status, "delivered");
}

TEST_F(WorkerTest, TheThreadDeliversWhatTheRunRecords) {
  Receiver receiver;
  auto w = worker(receiver.url());
  w->start();
  event("r1", "run.created");
  event("r1", "task.failed", {{"reason", "exit 1"}}, "build");
  event("r1", "run.finished", {{"status", "failed"}});
  ASSERT_TRUE(receiver.wait_for(3, std::chrono::seconds(30)));
  w->stop();
  std::vector<std::string> types;
  for (const Received& r : receiver.received()) {
    expect_signed(r, static_cast<int64_t>(now_.load()));
    types.push_back(nlohmann::json::parse(r.body)["type"]);
  }
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"run.failed", "run.started", "task.failed"}));
  EXPECT_EQ(w->last_error(), "");
}

TEST_F(WorkerTest, ListCursorAndCountsForTheApi) {
  auto w = worker("http://127.0.0.1:9/unused");
  for (int i = 0; i < 5; ++i) event("r" + std::to_string(i), "run.created");
  auto ws = WebhookStore::open(db_);
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
