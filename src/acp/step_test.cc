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

// The shapes of the pinned agents' updates (from their logs under tests/acp_test.cc).
TEST(CurrentStepTest, EachAgentsShapes) {
  auto permission = [](const json& tool_call) {
    return recv({{"jsonrpc", "2.0"},
                 {"id", 0},
                 {"method", "session/request_permission"},
                 {"params", {{"sessionId", "s"}, {"toolCall", tool_call}}}});
  };
  // opencode and Kilo: a call titled by its tool, then the request titled by the path.
  std::string opencode = update({{"sessionUpdate", "tool_call"},
                                 {"toolCallId", "c1"},
                                 {"kind", "edit"},
                                 {"status", "pending"},
                                 {"title", "write"},
                                 {"locations", json::array()}});
  EXPECT_EQ(current_step(opencode), "edit: write");
  opencode += permission({{"toolCallId", "c1"}, {"kind", "edit"}, {"title", "/w/out.txt"}});
  EXPECT_EQ(current_step(opencode), "edit: /w/out.txt");
  // Claude Code's adapter: the request has no kind; the call before it has.
  std::string claude = update({{"sessionUpdate", "tool_call"},
                               {"toolCallId", "toolu_1"},
                               {"kind", "edit"},
                               {"title", "Write"},
                               {"_meta", {{"claudeCode", {{"toolName", "mcp__acp__Write"}}}}}});
  claude += update({{"sessionUpdate", "usage_update"}, {"used", 10}});
  claude += permission({{"toolCallId", "toolu_1"},
                        {"title", "Write /w/out.txt"},
                        {"rawInput", {{"file_path", "/w/out.txt"}}}});
  EXPECT_EQ(current_step(claude), "edit: Write /w/out.txt");
  // Without that call in the tail: the request as it is.
  EXPECT_EQ(current_step(permission({{"toolCallId", "x"}, {"title", "Write /w/a"}})),
            "tool: Write /w/a");
  // Codex's adapter: the request (to leave its sandbox) before the call.
  std::string codex = permission({{"toolCallId", "call_1"},
                                  {"kind", "execute"},
                                  {"title", "echo x > ../x"},
                                  {"rawInput", {{"cwd", "/w"}}}});
  EXPECT_EQ(current_step(codex), "execute: echo x > ../x");
  codex += update({{"sessionUpdate", "tool_call"},
                   {"toolCallId", "call_2"},
                   {"kind", "execute"},
                   {"status", "in_progress"},
                   {"title", "printf ok > out.txt"}});
  codex += update({{"sessionUpdate", "usage_update"}, {"size", 258400}, {"used", 120}});
  EXPECT_EQ(current_step(codex), "execute: printf ok > out.txt");
  // Copilot CLI: a call titled by what it does, an "Info:" message after it.
  std::string copilot = update({{"sessionUpdate", "tool_call"},
                                {"toolCallId", "k1"},
                                {"kind", "edit"},
                                {"title", "Creating /w/out.txt"}});
  copilot += update({{"sessionUpdate", "agent_message_chunk"},
                     {"content", {{"type", "text"}, {"text", "Info: /w/out.txt"}}}});
  EXPECT_EQ(current_step(copilot), "edit: Creating /w/out.txt");
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
