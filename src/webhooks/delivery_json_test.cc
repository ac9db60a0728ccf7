// The API's JSON form of a delivery.
#include "webhooks/delivery_json.h"

#include <gtest/gtest.h>

namespace baton::webhooks {
namespace {

store::WebhookDelivery delivery() {
  store::WebhookDelivery d;
  d.id = 12;
  d.webhook_id = "msg_00";
  d.endpoint_id = "abcd";
  d.url = "http://127.0.0.1:9/hook";
  d.secret_ref = "file:/secret/place";
  d.run_id = "r1";
  d.event_seq = 3;
  d.type = "task.failed";
  d.body = R"({"type":"task.failed","timestamp":"x","data":{"run_id":"r1"}})";
  d.status = "pending";
  d.attempts = 1;
  d.created_at = 100;
  d.next_attempt_at = 107;
  d.last_attempt_at = 100;
  d.last_status_code = 503;
  d.last_error = "HTTP 503";
  return d;
}

TEST(DeliveryJsonTest, PendingDelivery) {
  nlohmann::json j = delivery_json(delivery());
  EXPECT_EQ(j["id"], "12");
  EXPECT_EQ(j["status"], "pending");
  EXPECT_EQ(j["next_attempt_at"], 107);
  EXPECT_EQ(j["last_status_code"], 503);
  EXPECT_EQ(j["payload"]["data"]["run_id"], "r1");
  EXPECT_FALSE(j.contains("secret_ref"));
  EXPECT_EQ(j.dump().find("/secret/place"), std::string::npos);
}

TEST(DeliveryJsonTest, NullsForWhatDidNotHappen) {
  store::WebhookDelivery d = delivery();
  d.status = "delivered";
  d.last_status_code.reset();
  d.last_attempt_at = 0;
  d.body = "not json";
  nlohmann::json j = delivery_json(d);
  EXPECT_EQ(j["next_attempt_at"], 107);
  EXPECT_TRUE(j["last_attempt_at"].is_null());
  EXPECT_TRUE(j["last_status_code"].is_null());
  EXPECT_TRUE(j["payload"].is_null());
}

}  // namespace
}  // namespace baton::webhooks
