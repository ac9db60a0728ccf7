#include "a2a/protocol.h"

#include <gtest/gtest.h>

namespace baton::a2a {
namespace {

using nlohmann::json;

TEST(A2aProtocolTest, CardOf10PrefersTheJsonRpcInterfaceOfVersion1) {
  json card = json::parse(R"({"name":"r","capabilities":{"streaming":true},
    "supportedInterfaces":[{"url":"http://h:1/grpc","protocolBinding":"GRPC","protocolVersion":"1.0"},
                           {"url":"http://h:1/old","protocolBinding":"JSONRPC","protocolVersion":"0.3"},
                           {"url":"http://h:1/rpc","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]})");
  auto c = parse_card(card);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->version, Version::k10);
  EXPECT_EQ(c->rpc_url, "http://h:1/rpc");
  EXPECT_TRUE(c->streaming);
  card["supportedInterfaces"].erase(2);  // only 0.3 over JSON-RPC left
  c = parse_card(card);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->version, Version::k03);
  EXPECT_EQ(c->rpc_url, "http://h:1/old");
}

TEST(A2aProtocolTest, CardOf03AndBadCards) {
  auto c = parse_card(json::parse(R"({"name":"r","url":"http://h:2/","protocolVersion":"0.3.0"})"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->version, Version::k03);
  EXPECT_FALSE(c->streaming);
  EXPECT_EQ(parse_card(json::array()).error().message, "the agent card is not a JSON object");
  EXPECT_EQ(
      parse_card(
          json::parse(
              R"({"supportedInterfaces":[{"url":"http://h/","protocolBinding":"GRPC","protocolVersion":"1.0"}]})"))
          .error()
          .message,
      "the agent card offers no JSON-RPC interface of A2A 1.x or 0.3");
  EXPECT_EQ(parse_card(json::parse(R"({"url":"file:///etc/passwd"})")).error().message,
            "the agent card's endpoint is not an http:// or https:// URL with a host: "
            "file:///etc/passwd");
}

// The card comes from the agent's server, and the client splits its endpoint to compare
// origins before it sends the prompt and the credentials there: an endpoint with no host
// is refused when the card is read (the client once split "http://" to nothing and read
// past it).
TEST(A2aProtocolTest, ACardWhoseEndpointHasNoHostIsRefused) {
  for (const char* url : {"http://", "https://", "http:///rpc", "http://?x=1", "http://#f"}) {
    json card = {{"name", "r"}, {"url", url}, {"protocolVersion", "0.3.0"}};
    auto c = parse_card(card);
    ASSERT_FALSE(c) << url;
    EXPECT_EQ(c.error().message,
              std::string("the agent card's endpoint is not an http:// or https:// URL with a "
                          "host: ") +
                  url);
  }
}

TEST(A2aProtocolTest, MethodNamesAndStatesOfBothVersions) {
  EXPECT_STREQ(method_name(Version::k10, Method::kSend), "SendMessage");
  EXPECT_STREQ(method_name(Version::k03, Method::kSend), "message/send");
  EXPECT_STREQ(method_name(Version::k10, Method::kResubscribe), "SubscribeToTask");
  EXPECT_STREQ(method_name(Version::k03, Method::kResubscribe), "tasks/resubscribe");
  EXPECT_STREQ(method_name(Version::k03, Method::kCancel), "tasks/cancel");
  EXPECT_EQ(parse_state("TASK_STATE_INPUT_REQUIRED"), TaskState::kInputRequired);
  EXPECT_EQ(parse_state("input-required"), TaskState::kInputRequired);
  EXPECT_EQ(parse_state("TASK_STATE_COMPLETED"), TaskState::kCompleted);
  EXPECT_EQ(parse_state("bogus"), TaskState::kUnknown);
  EXPECT_TRUE(is_terminal(TaskState::kRejected));
  EXPECT_FALSE(is_terminal(TaskState::kInputRequired));
  EXPECT_TRUE(is_interrupted(TaskState::kAuthRequired));
}

TEST(A2aProtocolTest, SendParamsCarryTheIdempotencyKey) {
  json v1 = send_params(Version::k10, "hi", "baton-r-t-1", true);
  EXPECT_EQ(v1["message"]["messageId"], "baton-r-t-1");
  EXPECT_EQ(v1["message"]["role"], "ROLE_USER");
  EXPECT_EQ(v1["message"]["parts"][0]["text"], "hi");
  EXPECT_EQ(v1["configuration"]["returnImmediately"], true);
  json v03 = send_params(Version::k03, "hi", "baton-r-t-1", true);
  EXPECT_EQ(v03["message"]["kind"], "message");
  EXPECT_EQ(v03["message"]["parts"][0]["kind"], "text");
  EXPECT_EQ(v03["configuration"]["blocking"], false);
}

TEST(A2aProtocolTest, ResultsOfBothVersions) {
  auto u = parse_result(Version::k10,
                        json::parse(R"({"task":{"id":"T","status":{"state":"TASK_STATE_WORKING",
    "message":{"parts":[{"text":"busy"}]}},"artifacts":[{"artifactId":"a","parts":[{"text":"x"},
    {"raw":"aGk=","filename":"f.txt"}]}]}})"));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->task_id, "T");
  EXPECT_EQ(u->state, TaskState::kWorking);
  EXPECT_EQ(u->status_text, "busy");
  ASSERT_EQ(u->artifacts.size(), 1u);
  EXPECT_EQ(u->artifacts[0].parts[1].file_name, "f.txt");
  EXPECT_EQ(u->artifacts[0].parts[1].bytes, "hi");

  u = parse_result(Version::k03, json::parse(R"({"kind":"status-update","taskId":"T","final":true,
    "status":{"state":"completed"}})"));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->state, TaskState::kCompleted);
  EXPECT_TRUE(u->final);
  u = parse_result(Version::k03,
                   json::parse(R"({"kind":"artifact-update","taskId":"T","append":true,
    "artifact":{"artifactId":"a","parts":[{"kind":"file","file":{"name":"../x","bytes":"!!"}}]}})"));
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->artifacts[0].append);
  EXPECT_TRUE(u->artifacts[0].parts[0].bad);  // not base64
  EXPECT_EQ(u->artifacts[0].parts[0].file_name, "../x");
  EXPECT_FALSE(parse_result(Version::k03, json::parse(R"({"kind":"nonsense"})")));
  EXPECT_FALSE(parse_result(Version::k10, json::parse(R"({"nonsense":1})")));
  EXPECT_FALSE(parse_result(Version::k10, json("text")));
}

TEST(A2aProtocolTest, Base64) {
  EXPECT_EQ(base64_decode("ZmlsZSBib2R5Cg=="), "file body\n");
  EXPECT_EQ(base64_decode("ZmlsZSBib2R5Cg"), "file body\n");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("a b"));
}

}  // namespace
}  // namespace baton::a2a
