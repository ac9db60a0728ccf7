// Webhooks on a PostgreSQL store (docs/postgres.md, docs/webhooks.md), through the built
// `baton` against the throwaway cluster of store/pg_test_cluster.h: a run's webhooks
// arrive signed at a receiver on 127.0.0.1, and what the run could not deliver is
// delivered by two senders at once, each delivery exactly once.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness_util.h"
#include "store/pg_connection.h"
#include "store/pg_test_cluster.h"
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

const auto* const kCluster =
    ::testing::AddGlobalTestEnvironment(new store::testing::PgClusterEnvironment);

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSecretEnv = "BATON_TEST_HOOK_SECRET";

// Three independent failing tasks: run.started, 3 task.failed, run.failed.
constexpr const char* kFailingFlow = R"(name: hooks
tasks:
  - id: a
    run: exit 3
  - id: b
    run: exit 3
  - id: c
    run: exit 3
)";

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class WebhooksPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& cluster = store::testing::PgTestCluster::get();
    ASSERT_TRUE(cluster.ok()) << cluster.error();
    url_ = cluster.create_database();
  }

  // A project whose config sends every webhook type to HOOK.
  void write_project(const std::string& hook) {
    dir_.write("flow.yaml", kFailingFlow);
    dir_.write(".baton/config.yaml",
               "webhooks:\n  - url: " + hook + "\n    secret: {env: " + kSecretEnv + "}\n");
  }

  Outcome run() {
    return run_baton({"--store", url_, "run", "--plain", "--run-id", "r1", "flow.yaml"},
                     dir_.path(), {{kSecretEnv, kSecret}});
  }

  std::vector<store::WebhookDelivery> deliveries() {
    auto ws = store::WebhookStore::open(url_);
    EXPECT_TRUE(ws.has_value()) << ws.error().message;
    if (!ws) return {};
    auto page = (*ws)->list_deliveries({});
    EXPECT_TRUE(page.has_value()) << page.error().message;
    return page ? page->items : std::vector<store::WebhookDelivery>{};
  }

  // Each request verified as a receiver whose clock reads NOW does (5-minute tolerance);
  // their types.
  static std::multiset<std::string> verified_types(const std::vector<Received>& got, double now) {
    auto key = webhooks::parse_secret(kSecret);
    EXPECT_TRUE(key.has_value());
    std::multiset<std::string> types;
    for (const Received& r : got) {
      auto ok = webhooks::verify(*key, {r.id, r.timestamp, r.signature, r.body},
                                 static_cast<int64_t>(now));
      EXPECT_TRUE(ok.has_value()) << ok.error().message << " " << r.body;
      types.insert(json::parse(r.body)["type"].get<std::string>());
    }
    return types;
  }

  ScratchDir dir_;
  std::string url_;
};

const std::multiset<std::string> kRunTypes = {"run.started", "task.failed", "task.failed",
                                              "task.failed", "run.failed"};

TEST_F(WebhooksPostgresTest, ARunOnPostgresDeliversItsWebhooksSigned) {
  Receiver receiver;
  write_project(receiver.url());
  Outcome o = run();
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_EQ(o.err.find("not sent"), std::string::npos) << o.err;
  EXPECT_FALSE(dir_.exists(".baton/state.db"));  // the outbox is PostgreSQL's
  // The run's end drained what was due: everything arrived before baton exited.
  auto got = receiver.received();
  EXPECT_EQ(verified_types(got, unix_now()), kRunTypes);
  for (const Received& r : got) EXPECT_EQ(json::parse(r.body)["data"]["run_id"], "r1") << r.body;
  auto rows = deliveries();
  ASSERT_EQ(rows.size(), kRunTypes.size());
  std::set<std::string> ids;
  for (const Received& r : got) ids.insert(r.id);
  for (const auto& d : rows) {
    EXPECT_EQ(d.status, "delivered") << d.type;
    EXPECT_EQ(d.attempts, 1) << d.type;
    EXPECT_EQ(ids.count(d.webhook_id), 1u) << d.webhook_id;
  }
}

TEST_F(WebhooksPostgresTest, TwoSendersDeliverWhatTheRunCouldNotEachExactlyOnce) {
  HeldPort down;  // the receiver is down: connections are refused
  const int port = down.port();
  ASSERT_GT(port, 0);
  const std::string hook = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  write_project(hook);
  Outcome o = run();
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  for (const auto& d : deliveries()) {  // tried once, refused, waiting for its retry
    EXPECT_EQ(d.status, "pending") << d.type;
    EXPECT_EQ(d.attempts, 1) << d.type;
  }

  // The receiver comes back; two senders (as `baton serve` on two machines would be),
  // each with its own connection, claim one delivery at a time, concurrently, with
  // clocks past the retry's backoff.
  down.release();
  Receiver back(nullptr, port);
  ASSERT_EQ(back.port(), port);
  setenv(kSecretEnv, kSecret, 1);
  workflow::WebhookDef def;
  def.url = hook;
  def.secret_env = kSecretEnv;
  webhooks::WorkerOptions options;
  options.now = [] { return unix_now() + 3600; };
  options.batch = 1;
  std::vector<std::unique_ptr<webhooks::DeliveryWorker>> senders;
  for (int i = 0; i < 2; ++i) {
    auto w =
        webhooks::DeliveryWorker::open(url_, webhooks::endpoint_specs({def}, dir_.path()), options);
    ASSERT_TRUE(w.has_value()) << w.error().message;
    senders.push_back(std::move(*w));
  }
  std::vector<int> sent(2, 0);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 100; ++round) {  // bounded
        auto n = senders[i]->deliver_due();
        if (!n) {
          errors[i] = n.error().message;
          return;
        }
        if (*n == 0) return;
        sent[i] += *n;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(sent[0] + sent[1], static_cast<int>(kRunTypes.size()));

  auto got = back.received();
  EXPECT_EQ(verified_types(got, options.now()), kRunTypes);  // signed at the senders' time
  std::set<std::string> ids;
  for (const Received& r : got) ids.insert(r.id);
  EXPECT_EQ(ids.size(), got.size());  // no delivery sent twice
  for (const auto& d : deliveries()) {
    EXPECT_EQ(d.status, "delivered") << d.type;
    EXPECT_EQ(d.attempts, 2) << d.type;  // the refused one and one more, not three
  }
}

}  // namespace
}  // namespace baton::testing
