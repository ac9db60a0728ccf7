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

}  // namespace
}  // namespace baton::testing
