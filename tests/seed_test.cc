// Integration test: both templates of seed 001 run as written, given agents for
// their roles: real Claude Code, Codex, Gemini CLI and Qwen Code under --rehearse.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

void run_template(const std::string& file, const std::string& input, int tasks) {
  ScratchDir dir;
  ASSERT_EQ(run_command({"git", "init", "-q"}, dir.path()).exit_code, 0);
  dir.write(".baton/config.yaml", R"(agents:
  planner: {use: [claude]}
  researcher: {use: [gemini]}
  coder: {use: [codex]}
  backend: {use: [codex]}
  frontend: {use: [claude]}
  checker: {use: [qwen]}
)");
  dir.write("script.yaml", "fallback:\n  - text: done\n");
  Outcome o = run_baton({"run", source_dir() + "/tests/workflows/" + file, "-i", input,
                         "--rehearse", "script.yaml", "--plain"},
                        dir.path(), agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find(std::to_string(tasks) + " tasks: " + std::to_string(tasks) + " success"),
            std::string::npos)
      << o.out;
  nlohmann::json run = last_run(dir);
  for (const auto& t : run["tasks"]) EXPECT_EQ(t["output"], "done") << t.dump();
}

TEST(SeedTemplateTest, FullStackFeatureRunsAsWritten) {
  run_template("seed001_feature.yaml", "feature_name=search", 5);
}

TEST(SeedTemplateTest, BugFixRunsAsWritten) {
  run_template("seed001_bugfix.yaml", "bug_description=crash on empty input", 4);
}

}  // namespace
}  // namespace baton::testing
