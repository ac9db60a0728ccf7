// Integration tests: real agent CLIs (pinned in package.json, installed into
// .agents/ by scripts/setup-agents) driven by `baton run --rehearse` against the
// scripted model server on 127.0.0.1. Nothing here is a fake of a CLI: each test
// runs the real program and checks the file it wrote, the usage baton parsed, and
// the task's final state. A missing CLI fails the test: CI installs them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;
using nlohmann::literals::operator""_json_pointer;

// A git repository with FLOW and SCRIPT, as a user would have it.
void make_repo(const ScratchDir& dir, const std::string& flow, const std::string& script) {
  dir.write("flow.yaml", flow);
  dir.write("script.yaml", script);
  Outcome o = run_command({"git", "init", "-q"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
}

json attempt_of(const json& run, const std::string& task, int number) {
  if (!run.contains("attempts")) return json::object();
  for (const auto& a : run["attempts"]) {
    if (a["task"] == task && a["number"] == number) return a;
  }
  return json::object();
}

TEST(RehearseTest, FourAgentCLIsEachWriteTheirFile) {
  ScratchDir dir;
  make_repo(dir, R"(name: four
settings: {max_parallel: 4}
tasks:
  - {id: by-claude, agent: claude, parameters: {task: "Write claude.txt"}, timeout: 2m}
  - {id: by-codex, agent: codex, parameters: {task: "Write codex.txt"}, timeout: 2m}
  - {id: by-gemini, agent: gemini, parameters: {task: "Write gemini.txt"}, timeout: 2m}
  - {id: by-qwen, agent: qwen, parameters: {task: "Write qwen.txt"}, timeout: 2m}
)",
            R"(tasks:
  by-claude: [{write_file: {path: claude.txt, content: "from claude\n"}}, {text: "wrote it"}]
  by-codex: [{write_file: {path: codex.txt, content: "from codex\n"}}, {text: "wrote it"}]
  by-gemini: [{write_file: {path: gemini.txt, content: "from gemini\n"}}, {text: "wrote it"}]
  by-qwen: [{write_file: {path: qwen.txt, content: "from qwen\n"}}, {text: "wrote it"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  for (const char* agent : {"claude", "codex", "gemini", "qwen"}) {
    SCOPED_TRACE(agent);
    EXPECT_EQ(dir.read(std::string(agent) + ".txt"), std::string("from ") + agent + "\n");
    json run = last_run(dir);
    json task = task_of(run, std::string("by-") + agent);
    EXPECT_EQ(task["status"], "success") << task.dump();
    EXPECT_EQ(task["output"], "wrote it");
    json attempt = attempt_of(run, std::string("by-") + agent, 1);
    EXPECT_EQ(attempt["agent"], agent);
    EXPECT_GT(attempt.value("/usage/input_tokens"_json_pointer, 0), 0) << attempt.dump();
    EXPECT_GT(attempt.value("/usage/output_tokens"_json_pointer, 0), 0) << attempt.dump();
  }
  EXPECT_NE(o.out.find("rehearsal: "), std::string::npos) << o.out;
}

TEST(RehearseTest, ServerErrorThenSuccess) {
  ScratchDir dir;
  make_repo(dir, R"(name: flaky
tasks:
  - {id: t, agent: claude, parameters: {task: "Write a.txt"}, timeout: 2m}
)",
            R"(tasks:
  t:
    - fault: {status: 500, times: 1}
    - write_file: {path: a.txt, content: "after a 500\n"}
    - text: done
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("a.txt"), "after a 500\n");
}

TEST(RehearseTest, PersistentRateLimitFailsAsRateLimit) {
  ScratchDir dir;
  make_repo(dir, R"(name: limited
tasks:
  - {id: t, agent: claude, parameters: {task: "Write a.txt"}, timeout: 2m}
)",
            R"(tasks:
  t: [{fault: {status: 429, times: 1000}}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["status"], "failed");
  EXPECT_EQ(attempt_of(run, "t", 1)["error_class"], "rate_limit") << run.dump();
  EXPECT_FALSE(dir.exists("a.txt"));
}

TEST(RehearseTest, HangingModelIsEndedByBatonsTimeout) {
  ScratchDir dir;
  make_repo(dir, R"(name: hang
tasks:
  - {id: t, agent: codex, parameters: {task: "Write a.txt"}, timeout: 4s}
)",
            R"(tasks:
  t: [{fault: {kind: hang, times: 1000}}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 120);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["status"], "failed");
  EXPECT_EQ(attempt_of(run, "t", 1)["error_class"], "timeout") << run.dump();
  EXPECT_NE(task_of(run, "t").value("reason", "").find("timed out"), std::string::npos);
}

TEST(RehearseTest, ClaudePermissionDenialIsAFailure) {
  // acceptEdits lets Claude Code edit inside its working directory only; a write
  // elsewhere is denied, listed in permission_denials, and the CLI still exits 0.
  ScratchDir dir;
  ScratchDir outside;
  std::string target = outside.path() + "/escaped.txt";
  make_repo(
      dir, R"(name: denied
tasks:
  - {id: t, agent: claude, parameters: {task: "Write a file elsewhere"}, timeout: 2m}
)",
      "tasks:\n  t: [{write_file: {path: \"" + target + "\", content: \"x\"}}, {text: done}]\n");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["status"], "failed");
  EXPECT_NE(task_of(run, "t").value("reason", "").find("permission denied for Write"),
            std::string::npos)
      << run.dump();
  EXPECT_FALSE(outside.exists("escaped.txt"));
}

TEST(RehearseTest, QwenExitZeroApiErrorIsAFailure) {
  ScratchDir dir;
  make_repo(dir, R"(name: qwen500
tasks:
  - {id: t, agent: qwen, parameters: {task: "Write a.txt"}, timeout: 2m}
)",
            R"(tasks:
  t: [{fault: {status: 500, times: 1000}}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["status"], "failed");
  EXPECT_EQ(attempt_of(run, "t", 1)["error_class"], "transient") << run.dump();
}

TEST(RehearseTest, FallbackToTheRolesNextAgent) {
  ScratchDir dir;
  make_repo(dir, R"(name: fallback
agents:
  coder: {use: [claude, gemini]}
tasks:
  - {id: t, agent: coder, parameters: {task: "Write a.txt"}, timeout: 2m}
)",
            R"(tasks:
  "t:claude": [{fault: {status: 401, times: 1000}}]
  "t:gemini": [{write_file: {path: a.txt, content: "gemini took over\n"}}, {text: done}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("a.txt"), "gemini took over\n");
  json run = last_run(dir);
  EXPECT_EQ(attempt_of(run, "t", 1)["agent"], "claude");
  EXPECT_EQ(attempt_of(run, "t", 1)["error_class"], "auth") << run.dump();
  EXPECT_EQ(attempt_of(run, "t", 2)["agent"], "gemini");
  EXPECT_NE(o.out.find("claude>gemini"), std::string::npos) << o.out;
}

TEST(RehearseTest, RetryResumesTheSessionWithResumeSession) {
  // Attempt 1 is denied a write outside the repository (a permanent failure with a
  // session); fallback: same_agent retries it, and resume_session makes attempt 2
  // `claude --resume SESSION`, which continues that session.
  ScratchDir dir;
  ScratchDir outside;
  make_repo(dir, R"(name: resume
tasks:
  - id: t
    agent: claude
    parameters: {task: "Write a.txt"}
    timeout: 2m
    retry: {max_attempts: 2, delay: 0}
    fallback: same_agent
    resume_session: true
)",
            "tasks:\n  \"t:claude:1\": [{write_file: {path: \"" + outside.path() +
                "/x.txt\", content: x}}, {text: denied}]\n"
                "  \"t:claude:2\": [{write_file: {path: a.txt, content: \"resumed\\n\"}}, "
                "{text: done}]\n");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("a.txt"), "resumed\n");
  json run = last_run(dir);
  std::string first = attempt_of(run, "t", 1).value("session_id", "");
  EXPECT_FALSE(first.empty()) << run.dump();
  EXPECT_EQ(attempt_of(run, "t", 2).value("session_id", ""), first) << run.dump();
}

}  // namespace
}  // namespace baton::testing
