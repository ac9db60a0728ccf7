// Integration tests of agents over ACP (`agent: {use: gemini, via: acp}`): the real
// pinned Gemini CLI in its ACP mode, driven by `baton __acp-bridge` under
// `baton run --rehearse` against the scripted model server on 127.0.0.1. The suite is
// named RehearseTest so that it holds the agent_cli lock (CMakeLists.txt).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;
using nlohmann::literals::operator""_json_pointer;

void make_repo(const ScratchDir& dir, const std::string& flow, const std::string& script) {
  dir.write("flow.yaml", flow);
  dir.write("script.yaml", script);
  Outcome o = run_command({"git", "init", "-q"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
}

json first_attempt(const json& run) {
  if (!run.contains("attempts") || run["attempts"].empty()) return json::object();
  return run["attempts"][0];
}

// The pid the bridge started the agent as, from its log's first line.
pid_t agent_pid_in(const std::string& log) {
  size_t at = log.find("\"agent_pid\":");
  return at == std::string::npos ? -1 : std::stoi(log.substr(at + 12));
}

// What each pinned agent does over ACP (docs/agents.md, "Which agents speak ACP").
struct AcpAgent {
  const char* name;        // baton's name
  const char* command;     // the first word of its ACP command, as logged
  bool writes_through_fs;  // it writes files through the client's fs/write_text_file
  const char* tool_kind;   // the kind of the tool call that writes the file
  bool reports_tokens;     // the prompt response (or its updates) carry token counts
  bool asks_for_outside;   // a write outside is a permission request (else its own
                           // sandbox fails it: Codex)
  bool uses_terminal;      // runs its shell commands through the client's terminal/*
};

const AcpAgent kAcpAgents[] = {
    {"gemini", "gemini", true, "edit", true, true, false},
    {"qwen", "qwen", true, "edit", true, true, false},
    {"opencode", "opencode", true, "edit", true, true, false},
    {"kilocode", "kilo", true, "edit", true, true, false},
    // Copilot CLI writes the file itself after the permission.
    {"copilot", "copilot", false, "edit", true, true, false},
    // Claude Code through @zed-industries/claude-code-acp: no usage in its answers.
    {"claude", "claude-code-acp", true, "edit", false, true, true},
    // Codex through @zed-industries/codex-acp: a shell command in its sandbox, which
    // needs no permission inside the workspace; no usage either.
    {"codex", "codex-acp", false, "execute", false, false, false},
};

// Printed by its name, so that the test names CTest discovers are stable.
void PrintTo(const AcpAgent& agent, std::ostream* os) { *os << agent.name; }

class RehearsedAcpTest : public ::testing::TestWithParam<AcpAgent> {};

std::string agent_flow(const std::string& agent) {
  return R"(name: acp
tasks:
  - {id: t, agent: {use: )" +
         agent + R"(, via: acp}, parameters: {task: "Write the file"}, timeout: 2m}
)";
}

TEST_P(RehearsedAcpTest, WritesItsFileInTheWorktreeAndLogsTheConversation) {
  const AcpAgent& agent = GetParam();
  ScratchDir dir;
  make_repo(dir, agent_flow(agent.name), R"(tasks:
  t: [{write_file: {path: out.txt, content: "over acp\n"}}, {text: "wrote it"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("out.txt"), "over acp\n");
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["status"], "success");
  EXPECT_EQ(task_of(run, "t")["output"], "wrote it");
  json attempt = first_attempt(run);
  EXPECT_EQ(attempt["agent"], agent.name);
  if (agent.reports_tokens) {
    EXPECT_GT(attempt.value("/usage/input_tokens"_json_pointer, 0), 0) << attempt.dump();
    EXPECT_GT(attempt.value("/usage/output_tokens"_json_pointer, 0), 0) << attempt.dump();
  }
  EXPECT_FALSE(attempt.value("session_id", "").empty()) << attempt.dump();
  std::string log = read_file(attempt.value("log", ""));
  EXPECT_NE(log.find(std::string(R"({"acp":"start","agent":[")") + agent.command + "\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(R"("method":"session/prompt")"), std::string::npos) << log;
  // The write was asked for and allowed by the policy (Codex asks only to leave its
  // sandbox: nothing to ask here).
  if (agent.asks_for_outside) {
    EXPECT_NE(log.find(R"({"acp":"permission","decision":"allow")"), std::string::npos) << log;
  } else {
    EXPECT_EQ(log.find(R"({"acp":"permission")"), std::string::npos) << log;
  }
  EXPECT_EQ(log.find(R"("method":"fs/write_text_file")") != std::string::npos,
            agent.writes_through_fs)
      << log;
  EXPECT_NE(log.find(R"({"acp":"result")"), std::string::npos) << log;

  Outcome logs = run_baton({"logs", run["id"], "t"}, dir.path());
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find(std::string("tool ") + agent.tool_kind + ": "), std::string::npos)
      << logs.out;
  EXPECT_NE(logs.out.find("answer:\n  wrote it\n"), std::string::npos) << logs.out;
  EXPECT_EQ(logs.out.find("\"jsonrpc\""), std::string::npos) << logs.out;  // no raw JSON
}

TEST_P(RehearsedAcpTest, AWriteOutsideTheWorktreeIsRefused) {
  const AcpAgent& agent = GetParam();
  ScratchDir dir;
  // Next to the scratch directory, named after it: no other test writes there.
  std::string escape =
      "../" + std::filesystem::path(dir.path()).filename().string() + "-escape.txt";
  make_repo(dir, agent_flow(agent.name),
            "tasks:\n  t: [{write_file: {path: " + escape +
                ", content: \"escaped\\n\"}}, {text: \"tried\"}]\n");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_FALSE(dir.exists(escape)) << o.out << o.err;
  std::string log = read_file(first_attempt(last_run(dir)).value("log", ""));
  EXPECT_NE(log.find(R"({"acp":"start")"), std::string::npos) << log;
  // Refused by the permission policy, or by the agent itself before it asks (gemini's
  // workspace check; Codex's sandbox, whose refusal the model is told: codex-acp 0.16
  // does not always report a command that fails at once as a tool call).
  bool rejected = log.find(R"({"acp":"permission","decision":"reject")") != std::string::npos;
  bool failed = log.find(R"("status":"failed")") != std::string::npos;
  if (agent.asks_for_outside) {
    EXPECT_TRUE(rejected || failed) << log;
    if (std::string(agent.name) != "gemini") EXPECT_TRUE(rejected) << log;
  } else {
    std::string served =
        read_file(dir.path() + "/.baton/runs/" + last_run(dir).value("id", "") + "/rehearse.jsonl");
    EXPECT_NE(served.find("Read-only file system"), std::string::npos) << served << log;
  }
  EXPECT_EQ(log.find(R"({"acp":"permission","decision":"allow")"), std::string::npos) << log;
}

TEST_P(RehearsedAcpTest, RunsAShellCommandInTheWorktree) {
  // Allowed by the policy (it names no path outside), or run in the agent's own
  // sandbox without asking (Codex); Claude Code's adapter runs it in baton's terminal.
  const AcpAgent& agent = GetParam();
  ScratchDir dir;
  make_repo(dir, agent_flow(agent.name), R"(tasks:
  t: [{run: "echo ran > ran.txt"}, {text: "ran it"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ran.txt"), "ran\n");
  // The command ran to its end: the tool's result the model was sent is no time-out
  // (Claude Code's Bash stops waiting, and kills, after the call's own `timeout`).
  std::string served =
      read_file(dir.path() + "/.baton/runs/" + last_run(dir).value("id", "") + "/rehearse.jsonl");
  EXPECT_EQ(served.find("Timed out"), std::string::npos) << served;
  std::string log = read_file(first_attempt(last_run(dir)).value("log", ""));
  EXPECT_EQ(log.find(R"({"acp":"permission","decision":"reject")"), std::string::npos) << log;
  EXPECT_EQ(log.find(R"("method":"terminal/create")") != std::string::npos, agent.uses_terminal)
      << log;
  if (agent.uses_terminal) {
    EXPECT_NE(log.find(R"("method":"terminal/wait_for_exit")"), std::string::npos) << log;
  }
}

INSTANTIATE_TEST_SUITE_P(Agents, RehearsedAcpTest, ::testing::ValuesIn(kAcpAgents),
                         [](const ::testing::TestParamInfo<AcpAgent>& info) {
                           return std::string(info.param.name);
                         });

TEST(RehearseTest, AcpGeminiInjectedFaultsAreClassifiedFailures) {
  struct Case {
    const char* fault;
    const char* error_class;
  } cases[] = {{"{status: 400, times: 10}", "permanent"}, {"{status: 401, times: 10}", "auth"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fault);
    ScratchDir dir;
    make_repo(dir, R"(name: acp
tasks:
  - {id: t, agent: {use: gemini, via: acp}, parameters: {task: "Write a.txt"}, timeout: 2m}
)",
              std::string("tasks:\n  t: [{fault: ") + c.fault + "}]\n");
    Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                          agent_path(), 180);
    EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
    json run = last_run(dir);
    EXPECT_EQ(task_of(run, "t")["status"], "failed");
    json attempt = first_attempt(run);
    EXPECT_EQ(attempt["error_class"], c.error_class) << attempt.dump();
    EXPECT_NE(task_of(run, "t").value("reason", "").find("(injected by the rehearsal script)"),
              std::string::npos)
        << run.dump();
  }
}

// The failures mid-turn, for gemini and opencode (a Node CLI and a Bun binary).
class RehearsedAcpMidTurnTest : public ::testing::TestWithParam<AcpAgent> {};

TEST_P(RehearsedAcpMidTurnTest, HangingPastTheTimeoutIsEnded) {
  const AcpAgent& agent = GetParam();
  ScratchDir dir;
  make_repo(dir,
            R"(name: acp
tasks:
  - {id: t, agent: {use: )" +
                std::string(agent.name) +
                R"(, via: acp}, parameters: {task: "Write a.txt"}, timeout: 8s}
)",
            R"(tasks:
  t: [{fault: {kind: hang, times: forever}}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  json attempt = first_attempt(run);
  EXPECT_EQ(attempt["error_class"], "timeout") << attempt.dump();
  std::string log = read_file(attempt.value("log", ""));
  EXPECT_NE(log.find(R"("method":"session/cancel")"), std::string::npos) << log;
  pid_t pid = agent_pid_in(log);
  ASSERT_GT(pid, 0) << log;
  EXPECT_FALSE(process_alive(pid));
  EXPECT_NE(::kill(-pid, 0), 0);  // nothing left in the agent's process group
}

TEST_P(RehearsedAcpMidTurnTest, AnAgentThatDiesMidTurnIsATransientFailure) {
  // The agent (its process group) is SIGKILLed while its model request after a write
  // hangs: its stdout closes mid-turn.
  const AcpAgent& agent = GetParam();
  ScratchDir dir;
  make_repo(dir,
            R"(name: acp
tasks:
  - {id: t, agent: {use: )" +
                std::string(agent.name) +
                R"(, via: acp}, parameters: {task: "Write a.txt"}, timeout: 2m}
)",
            R"(tasks:
  t: [{write_file: {path: a.txt, content: "a\n"}}, {fault: {kind: hang, times: forever}}]
)");
  BatonProcess baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                     agent_path());
  std::string run_id, log_path;
  bool mid_turn = false;
  for (int i = 0; i < 900 && !mid_turn; ++i) {
    wait_for_file(dir.path() + "/.never", 0.1);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/.baton/runs", ec)) {
      run_id = e.path().filename().string();
      log_path = (e.path() / "logs" / "t.1.log").string();
    }
    // The file written, the next model request served and hanging.
    std::string served = read_file(dir.path() + "/.baton/runs/" + run_id + "/rehearse.jsonl");
    mid_turn = !log_path.empty() && dir.exists("a.txt") &&
               std::count(served.begin(), served.end(), '\n') >= 2;
  }
  ASSERT_TRUE(mid_turn) << read_file(log_path);
  // While it runs, `baton logs` shows the current step: the write, from this agent's
  // own update shapes.
  Outcome logs = run_baton({"logs", run_id, "t"}, dir.path());
  EXPECT_NE(logs.out.find("now: edit: "), std::string::npos) << logs.out << logs.err;
  EXPECT_EQ(logs.out.find("\"jsonrpc\""), std::string::npos) << logs.out;
  pid_t pid = agent_pid_in(read_file(log_path));
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(-pid, SIGKILL), 0);  // its group: gemini runs itself again as a child
  Outcome ran = baton.wait(120);
  EXPECT_EQ(ran.exit_code, 1) << ran.out << ran.err;
  json attempt = first_attempt(status_json(dir, run_id));
  EXPECT_EQ(attempt["error_class"], "transient") << attempt.dump();
  EXPECT_NE(attempt.value("error", "")
                .find("the agent closed its stdout mid-turn (killed by "
                      "signal 9"),
            std::string::npos)
      << attempt.dump();
  EXPECT_NE(::kill(-pid, 0), 0);  // nothing left in the agent's process group
}

INSTANTIATE_TEST_SUITE_P(Agents, RehearsedAcpMidTurnTest,
                         ::testing::Values(kAcpAgents[0], kAcpAgents[2]),
                         [](const ::testing::TestParamInfo<AcpAgent>& info) {
                           return std::string(info.param.name);
                         });

TEST(RehearseTest, AcpGeminiCancelMidTurnLeavesNothingRunning) {
  ScratchDir dir;
  make_repo(dir, R"(name: acp
tasks:
  - {id: t, agent: {use: gemini, via: acp}, parameters: {task: "Write a.txt"}, timeout: 5m}
)",
            R"(tasks:
  t: [{fault: {kind: hang, times: forever}}]
)");
  BatonProcess baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                     agent_path());
  // Mid-turn: the prompt was sent and the model request hangs.
  // The attempt's log appears once the run and its attempt exist.
  std::string log_path;
  std::string run_id;
  for (int i = 0; i < 600 && log_path.empty(); ++i) {
    wait_for_file(dir.path() + "/.never", 0.1);
    std::error_code ec;
    if (!std::filesystem::exists(dir.path() + "/.baton/runs", ec)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/.baton/runs", ec)) {
      run_id = e.path().filename().string();
      if (std::filesystem::exists(e.path() / "logs" / "t.1.log")) {
        log_path = (e.path() / "logs" / "t.1.log").string();
      }
    }
  }
  ASSERT_FALSE(log_path.empty());
  // Mid-turn: the prompt was sent and the model's request hangs (served, not answered).
  bool mid_turn = false;
  for (int i = 0; i < 600 && !mid_turn; ++i) {
    mid_turn = read_file(log_path).find(R"("method":"session/prompt")") != std::string::npos &&
               !read_file(dir.path() + "/.baton/runs/" + run_id + "/rehearse.jsonl").empty();
    if (!mid_turn) wait_for_file(dir.path() + "/.never", 0.1);
  }
  ASSERT_TRUE(mid_turn) << read_file(log_path);
  json run = status_json(dir, run_id);
  // While it runs, `baton logs` shows the transcript so far and the current step.
  Outcome logs = run_baton({"logs", run_id, "t"}, dir.path());
  EXPECT_NE(logs.out.find("now: "), std::string::npos) << logs.out << logs.err;
  EXPECT_NE(logs.out.find(" (running)\n"), std::string::npos) << logs.out;
  EXPECT_EQ(logs.out.find("\"jsonrpc\""), std::string::npos) << logs.out;
  Outcome cancel = run_baton({"cancel", run["id"]}, dir.path());
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  Outcome ran = baton.wait(120);
  EXPECT_EQ(ran.exit_code, 3) << ran.out << ran.err;
  run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["status"], "cancelled") << run.dump();
  std::string log = read_file(log_path);
  EXPECT_NE(log.find(R"("method":"session/cancel")"), std::string::npos) << log;
  pid_t agent = agent_pid_in(log);
  ASSERT_GT(agent, 0) << log;
  EXPECT_FALSE(process_alive(agent));
  EXPECT_NE(::kill(-agent, 0), 0);
}

TEST(RehearseTest, AcpAgentThatCannotSpeakAcpIsAValidationError) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: acp
tasks:
  - id: t
    agent: {use: auggie, via: acp}
    parameters: {task: x}
  - {id: u, agent: {use: gemini, via: acpx}, parameters: {task: x}}
  - {id: v, agent: {via: acp}, parameters: {task: x}}
)");
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_NE(o.exit_code, 0);
  std::string all = o.out + o.err;
  EXPECT_NE(
      all.find(
          "flow.yaml:4:18: error: agent 'auggie' of task 't' cannot be driven over ACP by this "
          "baton (via: acp supports claude, codex, copilot, gemini, kilocode, opencode, qwen)"),
      std::string::npos)
      << all;
  EXPECT_NE(
      all.find("flow.yaml:6:39: error: invalid value 'acpx' for 'via' in 'agent' in task 'u': "
               "expected cli or acp"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("flow.yaml:7:20: error: 'agent' has no 'use' in task 'v'"), std::string::npos)
      << all;
}

}  // namespace
}  // namespace baton::testing

namespace baton::testing {
namespace {

// A retry with resume_session asks for session/load of the first attempt's session.
class RehearsedAcpResumeTest : public ::testing::TestWithParam<AcpAgent> {};

TEST_P(RehearsedAcpResumeTest, RetryAsksToLoadTheSessionWithResumeSession) {
  // Attempt 1 fails (HTTP 400: permanent) after a tool call; fallback: same_agent
  // retries it, and resume_session makes attempt 2 ask for session/load of attempt 1's
  // session. opencode loads it (it replays the conversation first). gemini-cli 0.61
  // lists only sessions with "resumable content": whether attempt 1's tool call was
  // saved as such before it was stopped depends on timing (a loaded machine saves it),
  // so gemini either loads it or answers "No previous sessions found", and then the
  // bridge starts a new session rather than failing the retry (both paths are tested
  // against a scripted peer: ClientTest.SessionLoadResumesWhenTheAgentSupportsIt and
  // ClientTest.AFailedSessionLoadFallsBackToANewSession).
  const std::string agent = GetParam().name;
  ScratchDir dir;
  make_repo(
      dir,
      R"(name: resume
tasks:
  - id: t
    agent: {use: )" +
          agent + R"(, via: acp}
    parameters: {task: "Write a.txt"}
    timeout: 2m
    retry: {max_attempts: 2, delay: 0}
    fallback: same_agent
    resume_session: true
)",
      "tasks:\n  \"t:" + agent +
          R"(:1": [{write_file: {path: a.txt, content: "first\n"}}, {fault: {status: 400, times: 10}}]
  "t:)" + agent +
          R"(:2": [{write_file: {path: a.txt, content: "resumed\n"}}, {text: done}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("a.txt"), "resumed\n");
  json run = last_run(dir);
  ASSERT_EQ(run["attempts"].size(), 2u) << run.dump();
  std::string first = run["attempts"][0].value("session_id", "");
  ASSERT_FALSE(first.empty()) << run.dump();
  std::string log = read_file(run["attempts"][1].value("log", ""));
  EXPECT_NE(log.find(R"("method":"session/load","params":{"cwd":")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("sessionId":")" + first + "\""), std::string::npos) << log;
  const bool loaded = log.find("; starting a new session") == std::string::npos;
  if (agent != "gemini") EXPECT_TRUE(loaded) << log;
  if (loaded) {
    EXPECT_NE(log.find(R"("sessionUpdate":"user_message_chunk")"), std::string::npos) << log;
    EXPECT_EQ(run["attempts"][1].value("session_id", ""), first) << run.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Agents, RehearsedAcpResumeTest,
                         ::testing::Values(kAcpAgents[0], kAcpAgents[2]),
                         [](const ::testing::TestParamInfo<AcpAgent>& info) {
                           return std::string(info.param.name);
                         });

TEST(RehearseTest, AcpCodexAskingToLeaveItsSandboxIsRejected) {
  // codex-acp asks only to run a command outside its sandbox (the model asks for
  // require_escalated): allow-worktree rejects it, and Codex then ends its turn.
  ScratchDir dir;
  std::string escape = "../" + std::filesystem::path(dir.path()).filename().string() + "-esc.txt";
  make_repo(dir, agent_flow("codex"),
            "tasks:\n  t: [{call: {name: exec_command, arguments: {cmd: \"echo x > " + escape +
                "\", sandbox_permissions: require_escalated, justification: \"needed\"}}}, "
                "{text: \"tried\"}]\n");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_FALSE(dir.exists(escape));
  json attempt = first_attempt(last_run(dir));
  EXPECT_EQ(attempt["error_class"], "permanent") << attempt.dump();
  EXPECT_NE(attempt.value("error", "").find("after a rejected tool call"), std::string::npos)
      << attempt.dump();
  std::string log = read_file(attempt.value("log", ""));
  EXPECT_NE(log.find(R"({"acp":"permission","decision":"reject")"), std::string::npos) << log;
  EXPECT_NE(log.find("a command the agent asks to run outside its own sandbox"), std::string::npos)
      << log;
}

TEST(RehearseTest, AcpSelectedByTheRole) {
  ScratchDir dir;
  make_repo(dir, R"(name: acp-role
agents:
  coder: {use: [qwen], via: acp, permission: deny}
tasks:
  - {id: t, agent: coder, parameters: {task: "Write a.txt"}, timeout: 2m}
)",
            R"(tasks:
  t: [{write_file: {path: a.txt, content: "denied\n"}}, {text: "could not"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists("a.txt"));  // the role's policy: deny
  std::string log = read_file(first_attempt(last_run(dir)).value("log", ""));
  EXPECT_NE(log.find(R"({"acp":"start","agent":["qwen","--acp")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"({"acp":"permission","decision":"reject")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("policy":"deny")"), std::string::npos) << log;
}

TEST(RehearseTest, AcpGeminiShellCommandsRunOnlyWhenAllowed) {
  // Neither pinned CLI uses the client's terminal/*: each runs the command itself after
  // a permission request (kind "execute", no path), which the policy decides.
  ScratchDir dir;
  make_repo(dir, R"(name: acp-shell
settings: {max_parallel: 1}
tasks:
  - {id: yes, agent: {use: gemini, via: acp}, parameters: {task: "Run it"}, timeout: 2m}
  - {id: no, agent: {use: gemini, via: acp, permission: deny}, parameters: {task: "Run it"}, timeout: 2m}
)",
            R"(tasks:
  yes: [{run: "echo allowed > yes.txt"}, {text: "ran it"}]
  no: [{run: "echo denied > no.txt"}, {text: "was refused"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("yes.txt"), "allowed\n");
  EXPECT_FALSE(dir.exists("no.txt"));
  json run = last_run(dir);
  Outcome yes = run_baton({"logs", run["id"], "yes"}, dir.path());
  EXPECT_NE(yes.out.find("tool execute: echo allowed > yes.txt\n"), std::string::npos) << yes.out;
  EXPECT_NE(yes.out.find("permission allow: "), std::string::npos) << yes.out;
  Outcome no = run_baton({"logs", run["id"], "no"}, dir.path());
  EXPECT_NE(no.out.find("permission reject: echo denied > no.txt (policy deny)"), std::string::npos)
      << no.out;
}

TEST(RehearseTest, AcpUnderBwrapInWorktrees) {
  // The bridge and the agent run inside the task's bwrap sandbox, in its worktree; the
  // agents write through fs/write_text_file, which the bridge serves inside it too.
  ScratchDir dir;
  make_flow_repo(dir, R"(name: acp-bwrap
settings: {isolation: worktree, sandbox: bwrap, integrate: none}
tasks:
  - {id: g, agent: {use: gemini, via: acp}, network: true, parameters: {task: "Write g.txt"}, timeout: 3m}
  - {id: q, agent: {use: qwen, via: acp}, network: true, parameters: {task: "Write q.txt"}, timeout: 3m}
)");
  dir.write("script.yaml", R"(tasks:
  g: [{write_file: {path: g.txt, content: "from gemini\n"}}, {text: "wrote it"}]
  q: [{write_file: {path: q.txt, content: "from qwen\n"}}, {text: "wrote it"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 300);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string run = last_run(dir).value("id", "");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/tasks/" + run + "/g:g.txt"), "from gemini\n");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/tasks/" + run + "/q:q.txt"), "from qwen\n");
}

TEST(RehearseTest, AcpAttemptOutlivesAKilledBatonAndResumeReadsIt) {
  // baton is SIGKILLed mid-turn (its model server with it); the bridge, under its run
  // supervisor, ends the attempt on its own (the model unreachable: transient), and
  // `baton resume` recovers that attempt, reads the bridge's final line (the task's
  // via picks the ACP invoker) and retries it against the new server.
  ScratchDir dir;
  make_repo(dir, R"(name: acp-crash
tasks:
  - id: t
    agent: {use: gemini, via: acp}
    parameters: {task: "Write a.txt"}
    timeout: 2m
    retry: {max_attempts: 2, delay: 0}
)",
            R"(tasks:
  "t:gemini:1": [{fault: {kind: hang, times: forever}}]
  "t:gemini:2": [{write_file: {path: a.txt, content: "after resume\n"}}, {text: done}]
)");
  std::string run_id, log_path;
  {
    BatonProcess baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                       agent_path());
    bool mid_turn = false;
    for (int i = 0; i < 600 && !mid_turn; ++i) {
      wait_for_file(dir.path() + "/.never", 0.1);
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/.baton/runs", ec)) {
        run_id = e.path().filename().string();
        log_path = (e.path() / "logs" / "t.1.log").string();
      }
      mid_turn = !log_path.empty() &&
                 read_file(log_path).find(R"("method":"session/prompt")") != std::string::npos &&
                 !read_file(dir.path() + "/.baton/runs/" + run_id + "/rehearse.jsonl").empty();
    }
    ASSERT_TRUE(mid_turn);
    baton.signal(SIGKILL);
    baton.wait(60);
  }
  Outcome o = run_baton({"resume", run_id, "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("a.txt"), "after resume\n");
  json run = status_json(dir, run_id);
  ASSERT_EQ(run["attempts"].size(), 2u) << run.dump();
  EXPECT_EQ(run["attempts"][0]["error_class"], "transient") << run.dump();
  EXPECT_NE(run["attempts"][0].value("error", "").find("session/prompt: "), std::string::npos)
      << run.dump();
  EXPECT_EQ(task_of(run, "t")["status"], "success");
}

}  // namespace
}  // namespace baton::testing
