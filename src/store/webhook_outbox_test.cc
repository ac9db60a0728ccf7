// The event kind -> webhook type mapping and the bodies. The outbox itself (deliveries
// written by apply() in the event's transaction) is tested on every back end in
// store/contract/webhook_store_contract_test.cc.
#include "store/webhook_outbox.h"

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace baton::store {
namespace {

using testing::make_event;

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
