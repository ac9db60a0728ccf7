// Integration test: the README's example workflow on a fresh git repository.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "harness_util.h"

namespace baton::testing {
namespace {

// Copies the example project into DIR and makes it a git repository.
void make_repo(const ScratchDir& dir) {
  std::string cmd = "cp -r " + source_dir() + "/examples/textstats/project/. " + dir.path() +
                    " && cd " + dir.path() +
                    " && git init -q && git -c user.name=t -c user.email=t@t add -A"
                    " && git -c user.name=t -c user.email=t@t commit -qm init";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(ExampleTest, RunsEndToEndWithTheReleaseBranchSkipped) {
  ScratchDir dir;
  make_repo(dir);
  Outcome o = run_baton({"run", source_dir() + "/examples/textstats/workflow.yaml", "--rehearse",
                         source_dir() + "/examples/textstats/rehearsal.yaml"},
                        dir.path(), agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("12 tasks: 11 success, 1 skipped"), std::string::npos) << o.out;
  EXPECT_NE(dir.read("docs/USAGE.md").find("./build/textstats FILE"), std::string::npos);
  EXPECT_NE(dir.read("REVIEW.md").find("No blocking issues."), std::string::npos);
  Outcome logs = run_baton({"logs", "last", "report"}, dir.path());
  EXPECT_NE(logs.out.find("TEXTSTATS (quick build)"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("tests:   5 passed, 0 failed"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("corpus:  2 9 5 (lines words longest), fetched in 2 attempts"),
            std::string::npos)
      << logs.out;
  EXPECT_NE(logs.out.find("package: skipped"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("docs:    Wrote docs/USAGE.md (build, run, output format). (claude)"),
            std::string::npos)
      << logs.out;
  EXPECT_NE(logs.out.find("review:  No blocking issues; findings in REVIEW.md. (codex)"),
            std::string::npos)
      << logs.out;
  EXPECT_TRUE(dir.exists(".baton/state.db"));
}

TEST(ExampleTest, ReleaseModeRunsThePackageBranch) {
  ScratchDir dir;
  make_repo(dir);
  Outcome o =
      run_baton({"run", source_dir() + "/examples/textstats/workflow.yaml", "-i", "mode=release",
                 "--rehearse", source_dir() + "/examples/textstats/rehearsal.yaml"},
                dir.path(), agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_TRUE(dir.exists("build/textstats.tar.gz"));
}

// README's second command: examples/protocols/run-example, run as the README says (with
// the setup and build that this test's build already did skipped), in a scratch
// repository. Claude Code plans (headless CLI), Gemini CLI implements over ACP, a
// command builds and tests, the example's A2A service writes NOTES.md.
TEST(ExampleTest, ProtocolsExampleMixesACliAnAcpAndAnA2aAgent) {
  std::string build = std::filesystem::path(BATON_BINARY).parent_path().string();
  if (!std::filesystem::exists(build + "/a2a-server/node_modules/@a2a-js/sdk")) {
    FAIL() << "the A2A server is not installed: run scripts/setup-a2a";
  }
  ScratchDir dir;
  Outcome o =
      run_command({"env", "PATH=" + agent_path()["PATH"], "BATON_EXAMPLE_NO_SETUP=1",
                   "BUILD_DIR=" + build, "BATON_EXAMPLE_WORK=" + dir.path(), "timeout", "-k", "5",
                   "300", source_dir() + "/examples/protocols/run-example", "--plain"},
                  dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("5 tasks: 5 success"), std::string::npos) << o.out;
  nlohmann::json run = last_run(dir);
  struct Want {
    std::string task, agent, output;
  };
  for (const Want& w :
       {Want{"plan", "claude",
             "Plan in PLAN.md - a usage line for any \"-\" argument, in src/main.c."},
        Want{"implement", "gemini",
             "Added the usage line to src/main.c (any \"-\" argument prints it)."},
        Want{"check", "",
             "5 passed, 0 failed\nusage: textstats [FILE]: prints lines, words, longest word"},
        Want{"notes", "release-notes",
             "NOTES.md: release notes from 3 inputs (change, check, plan)"}}) {
    SCOPED_TRACE(w.task);
    nlohmann::json t = task_of(run, w.task);
    EXPECT_EQ(t.value("status", ""), "success");
    EXPECT_EQ(t.value("agent", ""), w.agent);
    EXPECT_EQ(t.value("output", ""), w.output);
  }
  // Each agent ran the way the workflow says: Gemini over ACP (the bridge's log: baton
  // wrote the file for it), the notes over A2A (the client's log: the file part).
  Outcome impl = run_baton({"logs", "last", "implement", "--raw"}, dir.path());
  EXPECT_NE(impl.out.find("\"acp\":\"start\""), std::string::npos) << impl.out;
  EXPECT_NE(impl.out.find("\"method\":\"fs/write_text_file\""), std::string::npos) << impl.out;
  Outcome notes = run_baton({"logs", "last", "notes", "--raw"}, dir.path());
  EXPECT_NE(notes.out.find("\"a2a\":\"card\""), std::string::npos) << notes.out;
  EXPECT_NE(notes.out.find("\"a2a\":\"file\",\"bytes\""), std::string::npos) << notes.out;
  EXPECT_NE(dir.read("PLAN.md").find("# Plan: -h/--help"), std::string::npos);
  EXPECT_NE(dir.read("src/main.c").find("usage: textstats [FILE]"), std::string::npos);
  EXPECT_EQ(dir.read("NOTES.md"),
            "# Release notes\n\n"
            "- change: Added the usage line to src/main.c (any \"-\" argument prints it).\n"
            "- check: 5 passed, 0 failed\n"
            "- plan: Plan in PLAN.md - a usage line for any \"-\" argument, in src/main.c.\n");
  Outcome report = run_baton({"logs", "last", "report"}, dir.path());
  EXPECT_NE(report.out.find("notes     (release-notes): NOTES.md"), std::string::npos)
      << report.out;
  // The A2A service the script started is gone with it.
  size_t at = o.out.find("(pid ");
  ASSERT_NE(at, std::string::npos) << o.out;
  EXPECT_FALSE(process_alive(static_cast<pid_t>(std::stoi(o.out.substr(at + 5)))));
}

}  // namespace
}  // namespace baton::testing
