// Integration tests: `baton init`, the live view on a terminal, and the state
// database after baton is killed with SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

TEST(InitTest, WritesConfigWithRolesAndAnExampleThatRuns) {
  ScratchDir dir;
  // Only the system directories: no agent CLI is installed on this PATH.
  Outcome o = run_baton({"init"}, dir.path(), {{"PATH", "/usr/bin:/bin"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::string config = dir.read(".baton/config.yaml");
  EXPECT_NE(config.find("#   claude    not found"), std::string::npos) << config;
  EXPECT_NE(config.find("  planner:\n    use: [claude, codex]"), std::string::npos) << config;
  EXPECT_NE(o.out.find("0 agent CLIs found"), std::string::npos) << o.out;
  // Refuses to overwrite without --force.
  EXPECT_EQ(run_baton({"init"}, dir.path()).exit_code, 2);
  o = run_baton({"run", ".baton/hello.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
}

TEST(InitTest, DetectsAnInstalledAgentAndPrefersIt) {
  ScratchDir dir;
  // An executable named codex that answers --version: enough for detection.
  dir.write("bin/codex", "#!/bin/sh\necho 'codex-cli 0.169.0'\n");
  ASSERT_EQ(std::system(("chmod +x " + dir.path() + "/bin/codex").c_str()), 0);
  Outcome o = run_baton({"init"}, dir.path(), {{"PATH", dir.path() + "/bin:/usr/bin:/bin"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::string config = dir.read(".baton/config.yaml");
  EXPECT_NE(config.find("codex-cli 0.169.0"), std::string::npos) << config;
  EXPECT_NE(config.find("  coder:\n    use: [codex]"), std::string::npos) << config;
}

TEST(LiveViewTest, RedrawsATableInPlaceOnATerminal) {
  ScratchDir dir;
  dir.write("flow.yaml",
            "name: tty\ntasks:\n  - {id: first, run: 'true'}\n"
            "  - {id: second, run: 'true', dependencies: [first]}\n");
  // util-linux `script` gives baton a pseudo-terminal as stdout.
  std::string cmd = "cd " + dir.path() + " && script -qec '" + BATON_BINARY +
                    " run flow.yaml' /dev/null > tty.out 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string screen = dir.read("tty.out");
  EXPECT_NE(screen.find("\x1b[2K"), std::string::npos);  // lines are cleared...
  EXPECT_NE(screen.find("\x1b[4A"), std::string::npos);  // ...and redrawn in place
  EXPECT_NE(screen.find("TASK"), std::string::npos);
  EXPECT_NE(screen.find("2 tasks: 2 success"), std::string::npos) << screen;
}

TEST(CrashTest, StateIsConsistentAfterSigkill) {
  ScratchDir dir;
  std::string yaml = "name: crash\nsettings: {max_parallel: 4}\ntasks:\n";
  for (int i = 0; i < 40; ++i) {
    yaml += "  - {id: t" + std::to_string(i) + ", run: 'echo " + std::to_string(i) + "'}\n";
  }
  // The marker starts only after all 40 ended: their success must be durable by then.
  yaml +=
      "  - id: marker\n    run: echo $$ > marker.pid; touch started; exec sleep 300\n"
      "    dependencies: [";
  for (int i = 0; i < 40; ++i) yaml += (i ? ", t" : "t") + std::to_string(i);
  yaml += "]\n";
  dir.write("flow.yaml", yaml);
  BatonProcess p({"run", "flow.yaml"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  p.signal(SIGKILL);
  Outcome killed = p.wait(10);
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  // The database opens, and every task recorded as succeeded has its attempt row.
  Outcome o = run_baton({"status", "--json"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto runs = nlohmann::json::parse(o.out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "running");  // nobody finished it: resume's job
  o = run_baton({"status", runs[0]["id"].get<std::string>(), "--json"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto run = nlohmann::json::parse(o.out);
  int succeeded = 0;
  for (const auto& t : run["tasks"]) {
    if (t["status"] != "success") continue;
    ++succeeded;
    bool has_attempt = false;
    for (const auto& a : run["attempts"]) {
      if (a["task"] == t["id"] && a["status"] == "success") has_attempt = true;
    }
    EXPECT_TRUE(has_attempt) << t["id"];
  }
  EXPECT_EQ(succeeded, 40);
  // The killed run's `sleep 300` outlives it in its own process group; clean up.
  pid_t marker = std::stoi(dir.read("marker.pid"));
  kill(-marker, SIGKILL);
}

}  // namespace
}  // namespace baton::testing
