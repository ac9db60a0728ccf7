#include "acp/invoker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/self_exe.h"

namespace baton::acp {
namespace {

using nlohmann::json;

exec::ProcessResult exited(int code, std::string out) {
  exec::ProcessResult r;
  r.status.kind = exec::ExitStatus::Kind::kExited;
  r.status.code = code;
  r.stdout_text = std::move(out);
  return r;
}

std::string result_line(bool success, const std::string& error_class, const std::string& error) {
  return json{{"acp", "result"},
              {"success", success},
              {"stop_reason", "end_turn"},
              {"text", "the answer"},
              {"session_id", "s-1"},
              {"tool_calls", 2},
              {"error_class", error_class},
              {"error", error},
              {"usage", {{"input_tokens", 10}, {"output_tokens", 4}, {"cached_tokens", 1}}}}
             .dump() +
         "\n";
}

TEST(AcpInvokerTest, BuildsTheBridgeCommandAroundTheAgentsAcpMode) {
  const agents::Invoker* gemini = acp_invoker("gemini", PermissionPolicy::kDeny);
  ASSERT_NE(gemini, nullptr);
  EXPECT_EQ(gemini->name(), "gemini");
  EXPECT_EQ(gemini->executable(), "gemini");
  agents::Invocation inv;
  inv.prompt = "do it";
  inv.workdir = "/repo";
  inv.model = "m1";
  inv.resume_session_id = "s-0";
  agents::Command cmd = gemini->build_command(inv);
  ASSERT_GE(cmd.argv.size(), 2u);
  EXPECT_EQ(cmd.argv[0], self_executable().value_or("baton"));
  std::vector<std::string> rest(cmd.argv.begin() + 1, cmd.argv.end());
  EXPECT_EQ(rest, (std::vector<std::string>{"__acp-bridge", "--cwd", "/repo", "--permission",
                                            "deny", "--resume", "s-0", "--auth", "gemini-api-key",
                                            "--no-fs-read", "--", "gemini", "--acp", "-m", "m1"}));
  EXPECT_EQ(cmd.stdin_data, "do it");
  const agents::Invoker* qwen = acp_invoker("qwen", PermissionPolicy::kAllowWorktree);
  ASSERT_NE(qwen, nullptr);
  agents::Command q = qwen->build_command(agents::Invocation{"p", "/w", "", "", 0});
  EXPECT_EQ(std::vector<std::string>(q.argv.end() - 3, q.argv.end()),
            (std::vector<std::string>{"--", "qwen", "--acp"}));
  EXPECT_EQ(acp_invoker("auggie", PermissionPolicy::kDeny), nullptr);
  EXPECT_EQ(acp_invoker("gemini", PermissionPolicy::kDeny), gemini);  // one per (agent, policy)
}

TEST(AcpInvokerTest, EachAgentsAcpCommandAndWhatTheBridgeIsTold) {
  // The agent's command after "--", then the bridge's options before it.
  auto split = [](const std::string& agent) {
    agents::Invocation inv;
    inv.prompt = "p";
    inv.workdir = "/w";
    inv.model = "m1";
    agents::Command cmd = acp_invoker(agent, PermissionPolicy::kAllowWorktree)->build_command(inv);
    auto dash = std::find(cmd.argv.begin(), cmd.argv.end(), "--");
    return std::make_pair(std::vector<std::string>(cmd.argv.begin() + 2, dash),
                          std::vector<std::string>(dash + 1, cmd.argv.end()));
  };
  const std::vector<std::string> base = {"--cwd", "/w", "--permission", "allow-worktree"};
  EXPECT_EQ(split("opencode").second, (std::vector<std::string>{"opencode", "acp"}));
  EXPECT_EQ(split("kilocode").second, (std::vector<std::string>{"kilo", "acp"}));
  EXPECT_EQ(split("copilot").second,
            (std::vector<std::string>{"copilot", "--acp", "--model", "m1"}));
  EXPECT_EQ(split("claude").second, (std::vector<std::string>{"claude-code-acp"}));
  EXPECT_EQ(split("codex").second.front(), "codex-acp");
  EXPECT_NE(std::find(split("codex").second.begin(), split("codex").second.end(),
                      "approval_policy=\"on-request\""),
            split("codex").second.end());
  for (const char* agent : {"opencode", "kilocode", "copilot", "claude"}) {
    EXPECT_EQ(split(agent).first, base) << agent;
  }
  std::vector<std::string> codex = base;
  codex.push_back("--commands-leave-sandbox");
  EXPECT_EQ(split("codex").first, codex);
  EXPECT_EQ(acp_invoker("claude", PermissionPolicy::kDeny)->executable(), "claude-code-acp");
  EXPECT_EQ(acp_invoker("kilocode", PermissionPolicy::kDeny)->executable(), "kilo");
  // opencode and Kilo are made to ask (their rehearsal configuration allows edits).
  agents::Command oc = acp_invoker("opencode", PermissionPolicy::kDeny)->build_command({});
  EXPECT_NE(oc.env["OPENCODE_PERMISSION"].find("\"edit\":\"ask\""), std::string::npos);
  EXPECT_EQ(acp_agent_names(), (std::vector<std::string>{"claude", "codex", "copilot", "gemini",
                                                         "kilocode", "opencode", "qwen"}));
}

TEST(AcpInvokerTest, ParsesTheFinalLine) {
  const agents::Invoker* inv = acp_invoker("gemini", PermissionPolicy::kAllowWorktree);
  agents::AgentResult ok =
      inv->parse(exited(0, "{\"acp\":\"start\"}\n" + result_line(true, "", "")));
  EXPECT_TRUE(ok.success);
  EXPECT_EQ(ok.text, "the answer");
  EXPECT_EQ(ok.session_id, "s-1");
  EXPECT_EQ(ok.usage.input_tokens, 10);
  EXPECT_EQ(ok.usage.cached_tokens, 1);
  EXPECT_EQ(ok.num_turns, 3);
  agents::AgentResult auth =
      inv->parse(exited(1, result_line(false, "auth", "session/new: no key")));
  EXPECT_FALSE(auth.success);
  EXPECT_EQ(auth.error_class, agents::ErrorClass::kAuth);
  EXPECT_EQ(auth.error, "session/new: no key");
  agents::AgentResult none = inv->parse(exited(1, "garbage\n"));
  EXPECT_FALSE(none.success);
  EXPECT_NE(none.error, "");
}

TEST(AcpInvokerTest, TheSupervisorsTimeoutAndCancelWinOverTheBridgesCancel) {
  const agents::Invoker* inv = acp_invoker("gemini", PermissionPolicy::kAllowWorktree);
  exec::ProcessResult r = exited(1, result_line(false, "cancelled", "cancelled"));
  r.status.kind = exec::ExitStatus::Kind::kTimedOut;
  EXPECT_EQ(inv->parse(r).error_class, agents::ErrorClass::kTimeout);
  r.status.kind = exec::ExitStatus::Kind::kCancelled;
  EXPECT_EQ(inv->parse(r).error_class, agents::ErrorClass::kCancelled);
}

TEST(AcpInvokerTest, TranscriptOfTheConversation) {
  auto recv = [](json m) { return json{{"acp", "recv"}, {"message", std::move(m)}}.dump() + "\n"; };
  auto update = [&](json u) {
    return recv({{"jsonrpc", "2.0"}, {"method", "session/update"}, {"params", {{"update", u}}}});
  };
  std::string log = "{\"acp\":\"start\",\"agent\":[\"gemini\",\"--acp\"]}\n";
  log += update({{"sessionUpdate", "plan"},
                 {"entries", json::array({{{"content", "Read"}, {"status", "completed"}},
                                          {{"content", "Fix"}, {"status", "pending"}}})}});
  log += update({{"sessionUpdate", "agent_message_chunk"}, {"content", {{"text", "Let me "}}}});
  log += update({{"sessionUpdate", "agent_message_chunk"}, {"content", {{"text", "look."}}}});
  log += update({{"sessionUpdate", "tool_call"},
                 {"toolCallId", "c1"},
                 {"kind", "execute"},
                 {"title", "make"}});
  log += update({{"sessionUpdate", "tool_call_update"},
                 {"toolCallId", "c1"},
                 {"status", "failed"},
                 {"content",
                  json::array({{{"type", "content"}, {"content", {{"text", "make: error 2"}}}}})}});
  log += json{{"acp", "permission"},
              {"decision", "reject"},
              {"tool", "Write /etc/x"},
              {"reason", "outside"}}
             .dump() +
         "\n";
  log += "npm warn something\n";
  log += result_line(true, "", "");
  std::string t = acp_invoker("gemini", PermissionPolicy::kAllowWorktree)->transcript(log);
  EXPECT_NE(t.find("note: plan: [completed] Read; [pending] Fix\n"), std::string::npos) << t;
  EXPECT_NE(t.find("agent: Let me look.\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tool execute: make\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  !! make: error 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("note: permission reject: Write /etc/x (outside)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("| npm warn something\n"), std::string::npos) << t;
  EXPECT_NE(t.find("answer:\n  the answer\n"), std::string::npos) << t;
  EXPECT_NE(t.find("usage: 10 in / 4 out / 1 cached tokens, 3 turns"), std::string::npos) << t;
  EXPECT_TRUE(is_acp_log(log));
  EXPECT_FALSE(is_acp_log("{\"type\":\"result\"}\n"));
}

}  // namespace
}  // namespace baton::acp
