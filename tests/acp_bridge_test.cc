// `baton __acp-bridge` as a process, with a fake agent: a `sh` script that answers the
// bridge's requests (ids 1, 2, 3: initialize, session/new, session/prompt) with canned
// lines and then misbehaves. What the real CLIs do is tested in acp_test.cc.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// The agent's answers to initialize and session/new, then REST after the prompt.
std::string agent_script(const std::string& rest) {
  return "read l; echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":1}}'; "
         "read l; echo '{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"sessionId\":\"s1\"}}'; "
         "read l; " +
         rest;
}

// The bridge's final line.
json final_line(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  if (end == std::string::npos) return json();
  size_t start = out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return json::parse(out.substr(start, end + 1 - start), nullptr, false);
}

TEST(AcpBridgeTest, ATurnThatEndsIsExitZeroWithTheAnswer) {
  ScratchDir dir;
  Outcome o = run_baton(
      {"__acp-bridge", "--cwd", dir.path(), "--", "sh", "-c",
       agent_script(
           "echo '{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{"
           "\"sessionId\":\"s1\",\"update\":{\"sessionUpdate\":\"agent_message_chunk\","
           "\"content\":{\"type\":\"text\",\"text\":\"all done\"}}}}'; "
           "echo '{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"stopReason\":\"end_turn\"}}'; "
           "read l")},
      dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json result = final_line(o.out);
  EXPECT_EQ(result["acp"], "result") << o.out;
  EXPECT_EQ(result["success"], true);
  EXPECT_EQ(result["text"], "all done");
  EXPECT_EQ(result["session_id"], "s1");
  EXPECT_NE(o.out.find(R"({"acp":"start","agent":["sh","-c",)"), std::string::npos) << o.out;
  // Each line the bridge logs carries its time (agents/event_time.h), in order: the
  // agent's first session/update can be timed from the log (bench/adapters_bench.py).
  int64_t last = 0;
  bool update = false;
  for (size_t at = 0, end; (end = o.out.find('\n', at)) != std::string::npos; at = end + 1) {
    json line = json::parse(o.out.substr(at, end - at), nullptr, false);
    if (!line.is_object() || line.value("acp", "") == "result") continue;
    ASSERT_TRUE(line["time_ms"].is_number_integer()) << line;
    EXPECT_GE(line["time_ms"].get<int64_t>(), last) << line;
    last = line["time_ms"];
    update = update || line.dump().find("session/update") != std::string::npos;
  }
  EXPECT_TRUE(update) << o.out;
  EXPECT_GT(last, 1700000000000);  // Unix milliseconds
}

TEST(AcpBridgeTest, AnAgentThatExitsMidTurnIsTransientWithItsStatus) {
  ScratchDir dir;
  Outcome o = run_baton(
      {"__acp-bridge", "--cwd", dir.path(), "--", "sh", "-c", agent_script("exit 7")}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_EQ(final_line(o.out)["error_class"], "transient") << o.out;
  EXPECT_NE(o.err.find("baton: acp: transient: the agent closed its stdout mid-turn (exited 7)\n"),
            std::string::npos)
      << o.err;
}

TEST(AcpBridgeTest, MalformedJsonRpcIsPermanent) {
  ScratchDir dir;
  Outcome o = run_baton({"__acp-bridge", "--cwd", dir.path(), "--", "sh", "-c",
                         agent_script("echo '{\"id\":3}'; read l")},
                        dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_EQ(final_line(o.out)["error_class"], "permanent") << o.out;
  EXPECT_NE(o.err.find("baton: acp: permanent: malformed JSON-RPC from the agent: jsonrpc is not "
                       "\"2.0\"\n"),
            std::string::npos)
      << o.err;
}

TEST(AcpBridgeTest, BadOptionsAndAMissingAgentAreNamed) {
  ScratchDir dir;
  Outcome bad = run_baton({"__acp-bridge", "--permission", "maybe", "--", "sh"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(
      bad.err.find("baton: __acp-bridge: --permission must be allow-worktree, allow-all or deny"),
      std::string::npos)
      << bad.err;
  EXPECT_EQ(final_line(bad.out)["success"], false);
  Outcome none = run_baton({"__acp-bridge", "--cwd", dir.path()}, dir.path());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no agent command after --"), std::string::npos) << none.err;
  Outcome missing =
      run_baton({"__acp-bridge", "--cwd", dir.path(), "--", "no-such-acp-agent-xyz"}, dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot start no-such-acp-agent-xyz: No such file or directory"),
            std::string::npos)
      << missing.err;
}

TEST(AcpBridgeTest, SigtermCancelsThenKillsTheAgentsGroup) {
  // The agent ignores session/cancel and SIGTERM, and leaves a child behind: after the
  // grace the bridge kills its whole process group.
  ScratchDir dir;
  BatonProcess bridge(
      {"__acp-bridge", "--cwd", dir.path(), "--cancel-grace", "0.5", "--", "sh", "-c",
       agent_script("trap '' TERM; sleep 300 & while read l; do :; done; wait")},
      dir.path());
  // Mid-turn once the prompt was sent.
  bool mid_turn = false;
  for (int i = 0; i < 300 && !mid_turn; ++i) {
    mid_turn =
        read_file(bridge.stdout_path()).find(R"("method":"session/prompt")") != std::string::npos;
    if (!mid_turn) wait_for_file(dir.path() + "/.never", 0.1);
  }
  ASSERT_TRUE(mid_turn) << read_file(bridge.stdout_path());
  bridge.signal(SIGTERM);
  Outcome o = bridge.wait(60);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find(R"("method":"session/cancel")"), std::string::npos) << o.out;
  EXPECT_EQ(final_line(o.out)["error_class"], "cancelled") << o.out;
  size_t at = o.out.find("\"agent_pid\":");
  ASSERT_NE(at, std::string::npos) << o.out;
  pid_t agent = std::stoi(o.out.substr(at + 12));
  EXPECT_FALSE(process_alive(agent));
  EXPECT_NE(::kill(-agent, 0), 0);  // the sleep is gone too
}

}  // namespace
}  // namespace baton::testing
