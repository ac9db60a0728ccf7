#include "httpjob/callback.h"

#include <gtest/gtest.h>

#include "httpjob/profile.h"

namespace baton::httpjob {
namespace {

using nlohmann::json;

Webhook langgraph_webhook() { return *builtin_profile("langgraph")->webhook; }

TEST(WebhookTest, BuiltinProfilesSayWhereTheUrlGoesAndHowBodiesAreVerified) {
  Webhook lg = langgraph_webhook();
  EXPECT_EQ(lg.url_field, "/webhook");
  EXPECT_EQ(lg.verify, WebhookVerify::kBearer);
  EXPECT_EQ(lg.id_field, "/run_id");
  Webhook signed_crew = *builtin_profile("crewai-signed")->webhook;
  EXPECT_EQ(signed_crew.verify, WebhookVerify::kHmac);
  EXPECT_EQ(signed_crew.secret_field, "/webhookSecret");
  EXPECT_EQ(builtin_profile("crewai")->webhook->url_field, "/crewWebhookUrl");
}

TEST(WebhookTest, MalformedWebhooksAreNamed) {
  auto error = [](const json& w) {
    auto r = parse_webhook(json{{"webhook", w}});
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(error(json::array()), "webhook: expected an object");
  EXPECT_EQ(error({{"verify", "bearer"}, {"id", "/id"}}), "webhook: missing 'url'");
  EXPECT_EQ(error({{"url", "/u"}, {"verify", "md5"}, {"id", "/id"}}),
            "webhook: verify must be bearer or hmac");
  EXPECT_EQ(error({{"url", "/u"}, {"verify", "hmac"}, {"id", "/id"}}),
            "webhook: hmac needs 'secret'");
  EXPECT_EQ(error({{"url", "u"}, {"verify", "bearer"}, {"id", "/id"}}),
            "webhook: 'url' must be a JSON pointer starting with /");
  EXPECT_EQ(error({{"url", "/u"}, {"verify", "bearer"}}), "webhook: missing 'id'");
  EXPECT_FALSE(*parse_webhook(json::object()));
}

TEST(WebhookTest, TheUrlAndSecretGoIntoCreatesBody) {
  Webhook w{"/hooks/crew", WebhookVerify::kHmac, "/hooks/secret", "/id", ""};
  json body =
      *with_webhook(json{{"inputs", 1}}, w, "http://127.0.0.1:1/v1/callbacks/r/t/1", "whsec_abc");
  EXPECT_EQ(body,
            (json{{"inputs", 1},
                  {"hooks",
                   {{"crew", "http://127.0.0.1:1/v1/callbacks/r/t/1"}, {"secret", "whsec_abc"}}}}));
  EXPECT_FALSE(with_webhook(json{{"hooks", 3}}, w, "u", "s"));
}

// The client's side of deduplication and of deliveries about other jobs: only a new
// delivery about the attempt's own job is applied.
TEST(WebhookTest, DeliveriesAreCheckedAgainstTheJobAndSeenOnce) {
  Webhook w = langgraph_webhook();
  std::set<std::string> seen;
  std::string status;
  json ours = {{"received", 1}, {"body", {{"run_id", "run-1"}, {"status", "success"}}}};
  EXPECT_EQ(check_delivery(ours, w, "run-1", &seen, &status), DeliveryVerdict::kApply);
  EXPECT_EQ(status, "success");
  EXPECT_EQ(check_delivery(ours, w, "run-1", &seen, &status), DeliveryVerdict::kDuplicate);
  json other = {{"received", 1}, {"body", {{"run_id", "run-2"}, {"status", "success"}}}};
  EXPECT_EQ(check_delivery(other, w, "run-1", &seen, &status), DeliveryVerdict::kOtherJob);
  json no_id = {{"received", 1}, {"body", {{"status", "success"}}}};
  EXPECT_EQ(check_delivery(no_id, w, "run-1", &seen, &status), DeliveryVerdict::kMalformed);
  // With a webhook-id, the id decides: the same id again is a replay, another is new.
  json signed_once = {{"id", "msg_1"}, {"body", {{"run_id", "run-1"}, {"status", "running"}}}};
  EXPECT_EQ(check_delivery(signed_once, w, "run-1", &seen, &status), DeliveryVerdict::kApply);
  EXPECT_EQ(check_delivery(signed_once, w, "run-1", &seen, &status), DeliveryVerdict::kDuplicate);
  signed_once["id"] = "msg_2";
  EXPECT_EQ(check_delivery(signed_once, w, "run-1", &seen, &status), DeliveryVerdict::kApply);
}

}  // namespace
}  // namespace baton::httpjob
