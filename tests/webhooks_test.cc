// Webhooks end to end: the built `baton` delivers a run's webhooks, signed, to a
// receiver on 127.0.0.1; what it could not deliver (receiver down, baton SIGKILLed
// mid-delivery) stays in the store and a second sender delivers it (at least once).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "harness_util.h"
#include "store/webhook_store.h"
#include "util/held_port.h"
#include "webhooks/signature.h"
#include "webhooks/test_receiver.h"
#include "webhooks/worker.h"

namespace baton::testing {
namespace {

using json = nlohmann::json;
using webhooks::testing::Received;
using webhooks::testing::Receiver;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSecretEnv = "BATON_TEST_HOOK_SECRET";

const char* kFailingFlow = R"(name: hooks
tasks:
  - id: boom
    run: exit 3
)";

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A project in DIR whose config sends every webhook type to URL.
void write_project(const ScratchDir& dir, const std::string& url) {
  dir.write("flow.yaml", kFailingFlow);
  dir.write(".baton/config.yaml",
            "webhooks:\n  - url: " + url + "\n    secret: {env: " + kSecretEnv + "}\n");
}

std::map<std::string, std::string> secret_env() { return {{kSecretEnv, kSecret}}; }

// Each request verified as a receiver does (5-minute tolerance around NOW); their types.
std::multiset<std::string> verified_types(const std::vector<Received>& got, double now) {
  auto key = webhooks::parse_secret(kSecret);
  EXPECT_TRUE(key.has_value());
  std::multiset<std::string> types;
  for (const Received& r : got) {
    auto ok =
        webhooks::verify(*key, {r.id, r.timestamp, r.signature, r.body}, static_cast<int64_t>(now));
    EXPECT_TRUE(ok.has_value()) << ok.error().message << " " << r.body;
    types.insert(json::parse(r.body)["type"].get<std::string>());
  }
  return types;
}

std::vector<store::WebhookDelivery> deliveries(const ScratchDir& dir) {
  auto ws = store::WebhookStore::open(dir.path() + "/.baton/state.db");
  EXPECT_TRUE(ws.has_value()) << ws.error().message;
  if (!ws) return {};
  auto page = (*ws)->list_deliveries({});
  EXPECT_TRUE(page.has_value());
  return page ? page->items : std::vector<store::WebhookDelivery>{};
}

// A second sender, as `baton serve` or a later run would be, with its clock AHEAD
// seconds in the future (past any backoff or lease).
int deliver_with_second_sender(const ScratchDir& dir, const std::string& url, double ahead) {
  setenv(kSecretEnv, kSecret, 1);
  webhooks::WorkerOptions options;
  options.now = [ahead] { return unix_now() + ahead; };
  workflow::WebhookDef def;
  def.url = url;
  def.secret_env = kSecretEnv;
  auto worker = webhooks::DeliveryWorker::open(
      dir.path() + "/.baton/state.db", webhooks::endpoint_specs({def}, dir.path()), options);
  EXPECT_TRUE(worker.has_value()) << worker.error().message;
  if (!worker) return -1;
  int total = 0;
  for (int i = 0; i < 10; ++i) {  // bounded: a batch at a time
    auto sent = (*worker)->deliver_due();
    EXPECT_TRUE(sent.has_value()) << sent.error().message;
    if (!sent || *sent == 0) break;
    total += *sent;
  }
  return total;
}

TEST(WebhooksTest, AFailedRunDeliversRunStartedTaskFailedAndRunFailedSigned) {
  ScratchDir dir;
  Receiver receiver;
  write_project(dir, receiver.url());
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), secret_env());
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  // The run's end drained what was due: everything has arrived before baton exited.
  auto got = receiver.received();
  EXPECT_EQ(verified_types(got, unix_now()),
            (std::multiset<std::string>{"run.started", "task.failed", "run.failed"}));
  const std::string run_id = last_run(dir)["id"];
  for (const Received& r : got) {
    json body = json::parse(r.body);
    EXPECT_EQ(body["data"]["run_id"], run_id) << r.body;
    if (body["type"] == "task.failed") {
      EXPECT_EQ(body["data"]["task_id"], "boom");
    }
    if (body["type"] == "run.failed") {
      EXPECT_EQ(body["data"]["status"], "failed");
    }
  }
  for (const auto& d : deliveries(dir)) EXPECT_EQ(d.status, "delivered") << d.type;
}

TEST(WebhooksTest, AGateSendsApprovalRequestedThenResolvedWhenResumed) {
  ScratchDir dir;
  Receiver receiver;
  write_project(dir, receiver.url());
  dir.write("flow.yaml", R"(name: gated
tasks:
  - id: ship
    gate: {message: "ship?"}
    run: echo shipped
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path(), secret_env());
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
  EXPECT_EQ(verified_types(receiver.received(), unix_now()),
            (std::multiset<std::string>{"run.started", "approval.requested"}));
  // `baton approve` records the decision (and its delivery) but sends nothing itself;
  // the resumed run's sender does.
  o = run_baton({"approve", "last", "ship"}, dir.path(), secret_env());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(receiver.received().size(), 2u);
  o = run_baton({"resume", "last", "--plain"}, dir.path(), secret_env());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  auto got = receiver.received();
  EXPECT_EQ(verified_types(got, unix_now()),
            (std::multiset<std::string>{"run.started", "approval.requested", "approval.resolved",
                                        "run.succeeded"}));
  for (const Received& r : got) {
    json body = json::parse(r.body);
    if (body["type"] == "approval.resolved") {
      EXPECT_EQ(body["data"]["task_id"], "ship");
      EXPECT_EQ(body["data"]["decision"], "approve");
    }
  }
}

TEST(WebhooksTest, ReceiverDownLeavesThemPendingForTheNextSender) {
  ScratchDir dir;
  HeldPort down;  // the receiver is down: connections are refused
  const int port = down.port();
  ASSERT_GT(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  write_project(dir, url);
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), secret_env());
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  auto pending = deliveries(dir);
  ASSERT_EQ(pending.size(), 3u);
  for (const auto& d : pending) {
    EXPECT_EQ(d.status, "pending") << d.type;
    EXPECT_GE(d.attempts, 1) << d.type;
    EXPECT_EQ(d.last_error, "connection refused or failed") << d.type;
  }
  down.release();
  Receiver back(nullptr, port);
  ASSERT_EQ(back.port(), port);
  EXPECT_EQ(deliver_with_second_sender(dir, url, 7200), 3);
  EXPECT_EQ(verified_types(back.received(), unix_now() + 7200),
            (std::multiset<std::string>{"run.started", "task.failed", "run.failed"}));
  for (const auto& d : deliveries(dir)) EXPECT_EQ(d.status, "delivered") << d.type;
}

TEST(WebhooksTest, ASenderKilledMidDeliveryLosesNothing) {
  ScratchDir dir;
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  Receiver receiver([&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(m);  // holds the first request (and any other) until released
    cv.wait_for(lock, std::chrono::seconds(60), [&] { return release; });
    res.status = 204;
  });
  write_project(dir, receiver.url());
  BatonProcess baton({"run", "flow.yaml", "--plain"}, dir.path(), secret_env());
  ASSERT_TRUE(receiver.wait_for(1, std::chrono::seconds(60)));
  // The run goes on while its sender waits for the receiver: wait for its last event's
  // delivery to be in the store (bounded), then kill baton mid-delivery.
  for (int i = 0; i < 3000 && deliveries(dir).size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(deliveries(dir).size(), 3u);
  baton.signal(SIGKILL);
  Outcome killed = baton.wait();
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  // What reached the receiver before the kill (the thread's request, perhaps the end's
  // drain's too) was never answered, so nothing is delivered yet.
  const auto before = receiver.received();
  ASSERT_GE(before.size(), 1u);
  for (const auto& d : deliveries(dir)) EXPECT_EQ(d.status, "pending") << d.type;
  // After the dead sender's lease (60 s), a second sender delivers all three.
  EXPECT_EQ(deliver_with_second_sender(dir, receiver.url(), 120), 3);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), before.size() + 3);
  std::vector<Received> again(got.begin() + static_cast<long>(before.size()), got.end());
  EXPECT_EQ(verified_types(again, unix_now() + 120),
            (std::multiset<std::string>{"run.started", "task.failed", "run.failed"}));
  // At least once: what was in flight is sent again with the same webhook-id.
  for (const Received& r : before) {
    EXPECT_EQ(
        std::count_if(again.begin(), again.end(), [&](const Received& a) { return a.id == r.id; }),
        1);
  }
  for (const auto& d : deliveries(dir)) EXPECT_EQ(d.status, "delivered") << d.type;
}

}  // namespace
}  // namespace baton::testing
