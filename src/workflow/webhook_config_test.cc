// The webhooks: list of .baton/config.yaml: what is read, and errors with FILE:LINE:COL.
#include <gtest/gtest.h>

#include "workflow/config.h"

namespace baton::workflow {
namespace {

TEST(WebhookConfigTest, ReadsEndpoints) {
  Result<Config> c = load_config_text(R"(webhooks:
  - url: http://127.0.0.1:9000/hook
    events: [run.failed, task.failed]
    secret: {env: BATON_WEBHOOK_SECRET}
  - {url: "https://hooks.example.com/baton?x=1", secret: {file: .baton/hook.secret}}
)",
                                      "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  ASSERT_EQ(c->webhooks.size(), 2u);
  EXPECT_EQ(c->webhooks[0].url, "http://127.0.0.1:9000/hook");
  EXPECT_EQ(c->webhooks[0].events, (std::vector<std::string>{"run.failed", "task.failed"}));
  EXPECT_EQ(c->webhooks[0].secret_env, "BATON_WEBHOOK_SECRET");
  EXPECT_EQ(c->webhooks[0].secret_file, "");
  EXPECT_EQ(c->webhooks[0].loc.line, 2);
  EXPECT_EQ(c->webhooks[1].url, "https://hooks.example.com/baton?x=1");
  EXPECT_TRUE(c->webhooks[1].events.empty());  // every type
  EXPECT_EQ(c->webhooks[1].secret_file, ".baton/hook.secret");
}

TEST(WebhookConfigTest, EmptyListIsNoEndpoints) {
  Result<Config> c = load_config_text("webhooks:\n", "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->webhooks.empty());
  c = load_config_text("webhooks: []\n", "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->webhooks.empty());
}

TEST(WebhookConfigTest, ErrorsNameThePlace) {
  Result<Config> c = load_config_text(R"(webhooks:
  - url: ftp://127.0.0.1/hook
    secret: {env: S}
  - url: http://127.0.0.1/hook
    events: [run.failed, run.exploded]
    secret: {env: S, file: f}
  - url: "http:///nohost"
    secret: S
    retries: 3
  - events: [task.failed]
  - just a string
)",
                                      "c.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message,
            "c.yaml:2:10: expected an http:// or https:// URL for 'url' in webhook 1\n"
            "c.yaml:5:26: unknown event type 'run.exploded' in webhook 2 (known: run.started, "
            "run.succeeded, run.failed, run.cancelled, task.failed, approval.requested, "
            "approval.resolved)\n"
            "c.yaml:6:13: expected {env: NAME} or {file: PATH} for 'secret' in webhook 2\n"
            "c.yaml:9:5: unknown key 'retries' in webhook 3\n"
            "c.yaml:7:10: expected an http:// or https:// URL for 'url' in webhook 3\n"
            "c.yaml:8:13: expected {env: NAME} or {file: PATH} for 'secret' in webhook 3\n"
            "c.yaml:10:5: missing 'url' in webhook 4\n"
            "c.yaml:10:5: missing 'secret' in webhook 4\n"
            "c.yaml:11:5: expected a mapping {url, events, secret} in webhook 5");
}

TEST(WebhookConfigTest, NotAListIsAnError) {
  Result<Config> c = load_config_text("webhooks: {url: http://x}\n", "c.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, "c.yaml:1:11: expected a list of endpoints for 'webhooks'");
}

}  // namespace
}  // namespace baton::workflow
