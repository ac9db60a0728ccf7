// Integration tests: `baton agents` on a machine with some agent CLIs installed and
// some not (stub executables on PATH: detection runs `EXE --version`, nothing more),
// and custom agents from .baton/config.yaml, listed and run for real.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// A bin/ directory in DIR with executables that print VERSION for --version.
std::string stub_bin(const ScratchDir& dir, const std::map<std::string, std::string>& versions) {
  for (const auto& [exe, version] : versions) {
    dir.write("bin/" + exe, "#!/bin/sh\necho '" + version + "'\n");
    EXPECT_EQ(std::system(("chmod +x " + dir.path() + "/bin/" + exe).c_str()), 0);
  }
  return dir.path() + "/bin";
}

json find_agent(const json& list, const std::string& name) {
  for (const auto& a : list) {
    if (a["name"] == name) return a;
  }
  ADD_FAILURE() << "no agent " << name << " in " << list.dump();
  return json::object();
}

const char* kConfig = R"yaml(agents:
  coder:
    use: [claude, codex, shouter]
  reviewer:
    use: kilocode
custom_agents:
  shouter:
    command: [sh, -c, 'echo "ANSWER: $(tr a-z A-Z)"']
    answer: {regex: "ANSWER: (.*)"}
)yaml";

TEST(AgentsCommandTest, JsonSaysWhatIsInstalledWhereAndWhichRolesUseIt) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", kConfig);
  std::string bin = stub_bin(dir, {{"claude", "2.1.197 (Claude Code)"}, {"kilo", "7.7.7"}});
  Outcome o = run_baton({"agents", "--json"}, dir.path(), {{"PATH", bin + ":/usr/bin:/bin"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json list = json::parse(o.out);
  ASSERT_TRUE(list.is_array());

  json claude = find_agent(list, "claude");
  EXPECT_EQ(claude["installed"], true);
  EXPECT_EQ(claude["version"], "2.1.197 (Claude Code)");
  EXPECT_EQ(claude["path"], bin + "/claude");
  EXPECT_EQ(claude["kind"], "builtin");
  EXPECT_EQ(claude["roles"], json::array({"coder"}));

  json codex = find_agent(list, "codex");
  EXPECT_EQ(codex["installed"], false);
  EXPECT_EQ(codex["path"], "");
  EXPECT_EQ(codex["roles"], json::array({"coder"}));

  // Kilo Code's executable is `kilo`.
  json kilo = find_agent(list, "kilocode");
  EXPECT_EQ(kilo["executable"], "kilo");
  EXPECT_EQ(kilo["installed"], true);
  EXPECT_EQ(kilo["version"], "7.7.7");
  EXPECT_EQ(kilo["roles"], json::array({"reviewer"}));

  json cursor = find_agent(list, "cursor");
  EXPECT_EQ(cursor["executable"], "cursor-agent");
  EXPECT_EQ(cursor["installed"], false);
  EXPECT_EQ(cursor["roles"], json::array());

  json shouter = find_agent(list, "shouter");
  EXPECT_EQ(shouter["kind"], "custom");
  EXPECT_EQ(shouter["executable"], "sh");
  EXPECT_EQ(shouter["installed"], true);
  EXPECT_EQ(shouter["roles"], json::array({"coder"}));

  for (const char* name : {"auggie", "claude", "codex", "copilot", "cursor", "gemini", "kilocode",
                           "opencode", "qwen"}) {
    find_agent(list, name);
  }
  EXPECT_EQ(list.size(), 10u);
}

TEST(AgentsCommandTest, TableHasOneLinePerAgent) {
  ScratchDir dir;
  std::string bin = stub_bin(dir, {{"gemini", "0.61.0"}});
  Outcome o = run_baton({"agents"}, dir.path(), {{"PATH", bin + ":/usr/bin:/bin"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out.rfind("AGENT", 0), 0u) << o.out;
  EXPECT_NE(o.out.find("gemini                 yes        0.61.0   " + bin + "/gemini  -\n"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("\ncodex                  no         -        -"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("kilocode [kilo]"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\n1 of 9 agent CLIs installed\n"), std::string::npos) << o.out;
}

TEST(AgentsCommandTest, ABadCustomAgentIsReportedWithItsPlace) {
  ScratchDir dir;
  dir.write(".baton/config.yaml",
            "custom_agents:\n  claude:\n    command: [cat]\n  ok-one:\n    command: []\n");
  Outcome o = run_baton({"agents"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find(".baton/config.yaml:5:14: expected a list of non-empty strings (argv) "
                       "for 'command' in custom agent 'ok-one'"),
            std::string::npos)
      << o.err;

  dir.write(".baton/config.yaml", "custom_agents:\n  claude:\n    command: [cat]\n");
  o = run_baton({"agents"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find(".baton/config.yaml:2:3: custom agent 'claude': the name of a built-in "
                       "agent"),
            std::string::npos)
      << o.err;
}

TEST(AgentsCommandTest, ACustomAgentRunsInAWorkflow) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", kConfig);
  dir.write("flow.yaml", R"(name: custom
tasks:
  - {id: shout, agent: shouter, parameters: {task: "make it loud"}}
  - {id: echo, run: 'echo "got ${shout.output}"', dependencies: [shout]}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "shout")["output"], "MAKE IT LOUD");
  EXPECT_EQ(task_of(run, "echo")["output"], "got MAKE IT LOUD");
}

// The attempt NUMBER of TASK in RUN (as last_run() gives it).
json attempt_of(const json& run, const std::string& task, int number) {
  for (const auto& a : run["attempts"]) {
    if (a["task"] == task && a["number"] == number) return a;
  }
  ADD_FAILURE() << "no attempt " << number << " of " << task << " in " << run.dump();
  return json::object();
}

// opencode, Kilo and Copilot, the real CLIs (tests/rehearse_test.cc has Claude
// Code, Codex, Gemini and Qwen), each writes its file through its own write tool
// against the scripted model server. A missing CLI fails the test: CI installs them
// with scripts/setup-agents.
TEST(RehearsedAgentsTest, OpencodeKiloAndCopilotEachWriteTheirFile) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: three
settings: {max_parallel: 1}
tasks:
  - {id: by-opencode, agent: opencode, parameters: {task: "Write opencode.txt"}, timeout: 3m}
  - {id: by-kilocode, agent: kilocode, parameters: {task: "Write kilocode.txt"}, timeout: 3m}
  - {id: by-copilot, agent: copilot, parameters: {task: "Write copilot.txt"}, timeout: 3m}
)");
  dir.write("script.yaml", R"(tasks:
  by-opencode: [{write_file: {path: opencode.txt, content: "from opencode\n"}}, {text: "wrote it"}]
  by-kilocode: [{write_file: {path: kilocode.txt, content: "from kilocode\n"}}, {text: "wrote it"}]
  by-copilot: [{write_file: {path: copilot.txt, content: "from copilot\n"}}, {text: "wrote it"}]
)");
  ASSERT_EQ(run_command({"git", "init", "-q"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 540);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  for (const char* agent : {"opencode", "kilocode", "copilot"}) {
    SCOPED_TRACE(agent);
    EXPECT_EQ(dir.read(std::string(agent) + ".txt"), std::string("from ") + agent + "\n");
    std::string task = std::string("by-") + agent;
    EXPECT_EQ(task_of(run, task)["status"], "success");
    EXPECT_EQ(task_of(run, task)["output"], "wrote it");
    json attempt = attempt_of(run, task, 1);
    EXPECT_EQ(attempt["agent"], agent);
    if (std::string(agent) != "copilot") {  // Copilot reports no token counts
      EXPECT_GT(attempt.value("/usage/input_tokens"_json_pointer, 0), 0) << attempt.dump();
      EXPECT_GT(attempt.value("/usage/output_tokens"_json_pointer, 0), 0) << attempt.dump();
    }
  }
}

TEST(RehearsedAgentsTest, KiloGivesUpOnAServerErrorAsTransient) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: down
tasks:
  - {id: t, agent: kilocode, parameters: {task: "Write a.txt"}, timeout: 3m}
)");
  dir.write("script.yaml", "tasks:\n  t: [{fault: {status: 500, times: 100}}]\n");
  ASSERT_EQ(run_command({"git", "init", "-q"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["status"], "failed");
  EXPECT_EQ(attempt_of(run, "t", 1)["error_class"], "transient") << run.dump();
  EXPECT_FALSE(dir.exists("a.txt"));
}

}  // namespace
}  // namespace baton::testing
