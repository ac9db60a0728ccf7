// Integration test: the README's example workflow on a fresh git repository.
#include <gtest/gtest.h>

#include <cstdlib>

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

}  // namespace
}  // namespace baton::testing
