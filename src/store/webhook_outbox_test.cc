// The webhook outbox: deliveries are written by apply() in the event's transaction, for
// the subscribed types only; the event kind -> webhook type mapping.
#include "store/webhook_outbox.h"

#include <gtest/gtest.h>

#include "store/test_util.h"
#include "store/webhook_store.h"

namespace baton::store {
namespace {

using testing::make_event;
using testing::make_run;
using testing::open_or_die;
using testing::TempDir;

void apply_ok(Store& store, const Batch& batch) {
  auto r = store.apply(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

class WebhookOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("state.db");
    store_ = open_or_die(path_);
    auto ws = WebhookStore::open(path_);
    ASSERT_TRUE(ws.has_value()) << ws.error().message;
    webhooks_ = std::move(*ws);
    ASSERT_TRUE(webhooks_
                    ->register_endpoints(
                        {{"http://127.0.0.1:1/failures", {"run.failed", "task.failed"}, "env:X"},
                         {"http://127.0.0.1:1/all", {}, "env:Y"}},
                        10)
                    .has_value());
  }
  std::vector<WebhookDelivery> deliveries() {
    auto page = webhooks_->list_deliveries({});
    EXPECT_TRUE(page.has_value()) << page.error().message;
    return page ? page->items : std::vector<WebhookDelivery>{};
  }
  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<WebhookStore> webhooks_;
};

TEST_F(WebhookOutboxTest, SubscribedEventsGetTheirDeliveriesInTheSameBatch) {
  Batch batch;
  batch.run = make_run("r1");
  batch.events = {make_event("r1", "run.created", 100),
                  make_event("r1", "task.ready", 101, {}, "a"),
                  make_event("r1", "task.failed", 102, {{"reason", "exit 1"}}, "a")};
  apply_ok(*store_, batch);
  auto d = deliveries();
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

TEST_F(WebhookOutboxTest, AFailedBatchLeavesNoDelivery) {
  Batch batch;  // an event of a run that has no row: the foreign key fails the batch
  batch.events = {make_event("r1", "run.created", 100)};
  EXPECT_FALSE(store_->apply(batch).has_value());
  EXPECT_TRUE(deliveries().empty());
  Batch both;  // a good event before a bad one: neither is kept, nor its delivery
  both.run = make_run("r2");
  both.events = {make_event("r2", "run.created", 100), make_event("nope", "task.failed", 101)};
  EXPECT_FALSE(store_->apply(both).has_value());
  EXPECT_TRUE(deliveries().empty());
}

TEST_F(WebhookOutboxTest, UnsubscribedAndUnmappedKindsCreateNone) {
  Batch batch;
  batch.run = make_run("r1");
  batch.events = {make_event("r1", "task.success", 100, {}, "a"),
                  make_event("r1", "run.resumed", 101),
                  make_event("r1", "run.finished", 102, {{"status", "success"}})};
  apply_ok(*store_, batch);
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);  // run.succeeded, to /all only
  EXPECT_EQ(d[0].type, "run.succeeded");
  EXPECT_EQ(d[0].url, "http://127.0.0.1:1/all");
}

TEST_F(WebhookOutboxTest, RemovedEndpointsGetNothing) {
  ASSERT_TRUE(
      webhooks_->register_endpoints({{"http://127.0.0.1:1/all", {}, "env:Y"}}, 20).has_value());
  auto endpoints = webhooks_->list_endpoints();
  ASSERT_EQ(endpoints->size(), 2u);
  for (const auto& e : *endpoints) {
    EXPECT_EQ(e.status, e.url == "http://127.0.0.1:1/all" ? "active" : "removed") << e.url;
  }
  Batch batch;
  batch.run = make_run("r1");
  batch.events = {make_event("r1", "task.failed", 100, {}, "a")};
  apply_ok(*store_, batch);
  ASSERT_EQ(deliveries().size(), 1u);
}

TEST(WebhookTypeTest, EventKindsMapToWebhookTypes) {
  auto type = [](const std::string& kind, nlohmann::json data = nlohmann::json::object()) {
    return webhook_type_of(make_event("r", kind, 1, std::move(data))).value_or("-");
  };
  EXPECT_EQ(type("run.created"), "run.started");
  EXPECT_EQ(type("run.finished", {{"status", "success"}}), "run.succeeded");
  EXPECT_EQ(type("run.finished", {{"status", "failed"}}), "run.failed");
  EXPECT_EQ(type("run.finished", {{"status", "cancelled"}}), "run.cancelled");
  EXPECT_EQ(type("run.finished", {{"status", "paused"}}), "-");
  EXPECT_EQ(type("run.finished", nlohmann::json::array()), "-");
  EXPECT_EQ(type("task.failed"), "task.failed");
  EXPECT_EQ(type("task.waiting"), "approval.requested");
  EXPECT_EQ(type("task.approved"), "approval.resolved");
  EXPECT_EQ(type("task.rejected"), "approval.resolved");
  EXPECT_EQ(type("task.success"), "-");
  EXPECT_EQ(type("run.resumed"), "-");
}

TEST(WebhookTypeTest, BodiesAreThin) {
  Event e = make_event("r1", "task.rejected", 1764955800.25, {{"reason", "no"}}, "gate");
  EXPECT_EQ(webhook_body("approval.resolved", e, 9),
            R"({"type":"approval.resolved","timestamp":"2025-12-05T17:30:00.250Z",)"
            R"("data":{"run_id":"r1","event_seq":9,"task_id":"gate","decision":"reject"}})");
  e = make_event("r1", "run.finished", 0, {{"status", "cancelled"}, {"hook_failures", 1}});
  EXPECT_EQ(webhook_body("run.cancelled", e, 4),
            R"({"type":"run.cancelled","timestamp":"1970-01-01T00:00:00.000Z",)"
            R"("data":{"run_id":"r1","event_seq":4,"status":"cancelled"}})");
}

}  // namespace
}  // namespace baton::store
