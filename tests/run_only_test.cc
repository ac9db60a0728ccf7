// `baton run FLOW --only TASK --results DIR` and `--finish`: one job of a workflow
// exported to GitHub Actions (docs/github-actions.md), and `baton export
// github-actions`' refusals, with their exact messages.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kFlow = R"(name: only
settings: {on_failure: continue}
tasks:
  - {id: a, run: echo a}
  - {id: b, run: 'echo "b saw ${a.output} ${a.outputs.n}"', dependencies: [a]}
  - {id: c, run: echo c, dependencies: [b]}
hooks:
  on_failure: [{run: echo the run failed}]
)";

json result(const std::string& task, const std::string& status, const std::string& output) {
  return {{"format", "baton-gha-result/1"},
          {"task", task},
          {"status", status},
          {"output", output},
          {"exit_code", 0},
          {"attempts", 1},
          {"run_id", "r-up"},
          {"audit_head", std::string(64, 'a')}};
}

class RunOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override { make_flow_repo(dir_, kFlow); }
  void put(const std::string& task, const json& j) { dir_.write("r/" + task + ".json", j.dump()); }
  json status() { return json::parse(run_baton({"status", "last", "--json"}, dir_.path()).out); }
  ScratchDir dir_;
};

TEST_F(RunOnlyTest, RunsTheTaskWithItsUpstreamResultsAndWritesItsOwn) {
  put("a", result("a", "success", R"({"n": 7})"));
  Outcome o =
      run_baton({"run", "flow.yaml", "--only", "b", "--results", "r", "--plain"}, dir_.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json b = json::parse(dir_.read("r/b.json"));
  EXPECT_EQ(b["status"], "success");
  EXPECT_EQ(b["output"], R"(b saw {"n": 7} 7)");
  EXPECT_EQ(b["format"], "baton-gha-result/1");
  // c is not part of b's job; a's end is imported, not run again.
  json s = status();
  ASSERT_EQ(s["tasks"].size(), 2u);
  EXPECT_EQ(s["tasks"][0]["id"], "a");
  EXPECT_EQ(s["tasks"][0]["status"], "success");
  EXPECT_EQ(s["attempts"].size(), 1u);
  // The run's chain names the chain it builds on, and is intact with its rows.
  Outcome verify = run_baton({"audit", "verify", "last"}, dir_.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  Outcome exported = run_baton({"audit", "export", "last"}, dir_.path());
  EXPECT_NE(exported.out.find(R"("imported":{"audit_head":")" + std::string(64, 'a')),
            std::string::npos)
      << exported.out;
  EXPECT_EQ(b["audit_head"].get<std::string>().size(), 64u);
}

TEST_F(RunOnlyTest, AFailedOrCancelledUpstreamTaskCancelsTheTask) {
  put("a", result("a", "failed", ""));
  Outcome o =
      run_baton({"run", "flow.yaml", "--only", "b", "--results", "r", "--plain"}, dir_.path());
  EXPECT_EQ(o.exit_code, 1);
  json b = json::parse(dir_.read("r/b.json"));
  EXPECT_EQ(b["status"], "cancelled");
  EXPECT_EQ(b["reason"], "dependency 'a' failed");
  // A cancelled upstream task stays cancelled: it never runs here.
  put("a", result("a", "cancelled", ""));
  o = run_baton({"run", "flow.yaml", "--only", "b", "--results", "r", "--plain"}, dir_.path());
  EXPECT_EQ(json::parse(dir_.read("r/b.json"))["status"], "cancelled");
  EXPECT_EQ(status()["tasks"][0]["status"], "cancelled");
  EXPECT_EQ(status()["attempts"].size(), 0u);
}

TEST_F(RunOnlyTest, FinishImportsEveryResultAndRunsTheEndHooks) {
  put("a", result("a", "success", "a"));
  put("b", result("b", "failed", ""));
  // c's job left no result: it is recorded cancelled.
  Outcome o = run_baton({"run", "flow.yaml", "--finish", "--results", "r", "--plain"}, dir_.path());
  EXPECT_EQ(o.exit_code, 1) << o.err;
  json s = status();
  ASSERT_EQ(s["tasks"].size(), 4u);
  EXPECT_EQ(s["tasks"][2]["status"], "cancelled");
  EXPECT_EQ(s["tasks"][2]["reason"], "its GitHub Actions job left no result");
  EXPECT_EQ(s["tasks"][3]["id"], "hook:on_failure:on_failure.1");
  EXPECT_EQ(s["tasks"][3]["output"], "the run failed");
  EXPECT_EQ(run_baton({"audit", "verify", "last"}, dir_.path()).exit_code, 0);
}

TEST_F(RunOnlyTest, BadUseAndBadResultsAreErrorsWithThePlace) {
  auto err = [&](std::vector<std::string> args) {
    Outcome o = run_baton(args, dir_.path());
    EXPECT_EQ(o.exit_code, 2) << o.out;
    return o.err;
  };
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "b"}),
            "baton: --only and --finish need --results DIR\n");
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "zz", "--results", "r"}),
            "baton: --only: no task 'zz' in flow.yaml\n");
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "b", "--results", "r"}),
            "baton: no result of task 'a' in r: its job did not run or did not upload it\n");
  dir_.write("r/a.json", "[1]");
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "b", "--results", "r"}),
            "baton: r/a.json: not a JSON object\n");
  put("a", result("b", "success", ""));
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "b", "--results", "r"}),
            "baton: r/a.json: \"task\" is not \"a\"\n");
  put("a", result("a", "running", ""));
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "b", "--results", "r"}),
            "baton: r/a.json: \"status\": 'running' is not an end (success, failed, skipped, "
            "cancelled)\n");
  json wrong = result("a", "success", "");
  wrong["exit_code"] = "0; rm -rf /";
  put("a", wrong);
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "b", "--results", "r"}),
            "baton: r/a.json: \"exit_code\" is not an integer\n");
  EXPECT_EQ(err({"run", "flow.yaml", "--only", "a", "--results", "r", "--inputs-json", "[1]"}),
            "baton: --inputs-json: not a JSON object\n");
  EXPECT_FALSE(dir_.exists(".baton/state.db"));  // nothing ran
}

TEST(ExportCommandTest, RefusalsNameThePlaceAndTheReason) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: gated
settings: {on_failure: continue}
tasks:
  - {id: build, run: make}
  - id: deploy
    dependencies: [build]
    gate: {message: "deploy?"}
)");
  Outcome o = run_baton({"export", "github-actions", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            "flow.yaml:7:11: error: task 'deploy': gate: a GitHub Actions job cannot wait for "
            "`baton approve` (use a GitHub environment with required reviewers around the "
            "exported workflow instead)\n"
            "    gate: {message: \"deploy?\"}\n"
            "          ^\n");
  ScratchDir other;
  other.write("flow.yaml", "name: x\ntasks:\n  - {id: a, run: 'true'}\n");
  git_sh(dir.path(), "mkdir -p sub");
  o = run_baton({"export", "github-actions", other.path() + "/flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "baton: " + other.path() + "/flow.yaml is outside the repository " + dir.path() +
                       ": the jobs find the workflow in their checkout\n");
  o = run_baton({"export", "github-actions", "flow.yaml", "--runs-on", "${{ secrets.X }}"},
                dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("flow.yaml: error: the runner label '${{ secrets.X }}' contains '${{', "
                       "which GitHub Actions would evaluate as an expression\n"),
            std::string::npos)
      << o.err;
}

}  // namespace
}  // namespace baton::testing
