#include "acp/step.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace baton::acp {
namespace {

using nlohmann::json;

std::string recv(const json& message) {
  return json{{"acp", "recv"}, {"message", message}}.dump() + "\n";
}

std::string update(const json& u) {
  return recv({{"jsonrpc", "2.0"},
               {"method", "session/update"},
               {"params", {{"sessionId", "s"}, {"update", u}}}});
}

TEST(CurrentStepTest, TheLastToolCallOrPlanEntry) {
  std::string log = "{\"acp\":\"start\"}\n";
  EXPECT_EQ(current_step(log), "");
  log += update(
      {{"sessionUpdate", "plan"},
       {"entries", json::array({{{"content", "Read the code"}, {"status", "completed"}},
                                {{"content", "Run the tests"}, {"status", "in_progress"}}})}});
  EXPECT_EQ(current_step(log), "plan: Run the tests");
  log += update({{"sessionUpdate", "tool_call"},
                 {"toolCallId", "c1"},
                 {"kind", "execute"},
                 {"title", "make test"}});
  log += update(
      {{"sessionUpdate", "agent_message_chunk"}, {"content", {{"type", "text"}, {"text", "hi"}}}});
  EXPECT_EQ(current_step(log), "execute: make test");
  log +=
      update({{"sessionUpdate", "tool_call_update"}, {"toolCallId", "c1"}, {"status", "failed"}});
  EXPECT_EQ(current_step(log), "execute: make test (failed)");
  log += recv(
      {{"jsonrpc", "2.0"},
       {"id", 3},
       {"method", "session/request_permission"},
       {"params",
        {{"toolCall", {{"toolCallId", "c2"}, {"kind", "edit"}, {"title", "Writing to\na.txt"}}}}}});
  EXPECT_EQ(current_step(log), "edit: Writing to a.txt");
}

TEST(CurrentStepTest, ATailCutMidLineAndGarbageAreHarmless) {
  std::string log =
      update({{"sessionUpdate", "tool_call"}, {"kind", "read"}, {"title", std::string(300, 'x')}});
  EXPECT_EQ(current_step(log).size(), 120u);
  EXPECT_EQ(current_step(log.substr(10)), "");  // its start cut off
  EXPECT_EQ(current_step("{\"acp\":\"recv\",\"message\":[1,2]}\n\n\n{\"acp\":\"recv\",garbage"),
            "");
  EXPECT_EQ(current_step(""), "");
}

}  // namespace
}  // namespace baton::acp
