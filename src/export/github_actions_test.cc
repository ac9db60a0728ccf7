// The GitHub Actions compiler: the jobs, needs and timeouts it writes, what it refuses
// (with the exact messages) and the injections it must not let through.
#include "export/github_actions.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "export/job_subset.h"
#include "workflow/loader.h"

namespace baton::exporter {
namespace {

using Lines = std::vector<std::string>;

struct Compiled {
  std::optional<std::string> yaml;
  Lines diagnostics;  // first lines of each diagnostic
};

Compiled compile(const std::string& text, GithubActionsOptions options = {}) {
  workflow::LoadOptions load;
  load.known_agents = {"claude", "codex"};
  workflow::LoadResult r = workflow::load_workflow_text(text, "flow.yaml", load);
  Compiled c;
  if (!r.workflow) {
    for (const auto& d : r.diagnostics) c.diagnostics.push_back("load: " + d.message);
    return c;
  }
  if (options.flow_path.empty()) options.flow_path = "flows/flow.yaml";
  workflow::SourceText source(text);
  workflow::DiagnosticSink sink("flow.yaml", &source);
  c.yaml = compile_github_actions(*r.workflow, options, sink);
  for (const auto& d : sink.diagnostics()) {
    std::string f = d.format();
    c.diagnostics.push_back(f.substr(0, f.find('\n')));
  }
  return c;
}

Lines seq(const YAML::Node& node) {
  Lines out;
  for (const auto& n : node) out.push_back(n.as<std::string>());
  return out;
}

TEST(GithubActionsTest, DiamondGetsOneJobPerTaskWithNeedsAndDownloads) {
  Compiled c = compile(R"(name: diamond
settings: {max_parallel: 4, timeout: 90, on_failure: continue}
tasks:
  - {id: a, run: echo a}
  - {id: b, run: echo b, dependencies: [a]}
  - {id: c, run: echo c, dependencies: [a], timeout: 5m, retry: {max_attempts: 2, delay: 30}}
  - {id: d, run: echo d, dependencies: [b, c]}
)");
  ASSERT_TRUE(c.yaml) << ::testing::PrintToString(c.diagnostics);
  EXPECT_TRUE(c.diagnostics.empty()) << ::testing::PrintToString(c.diagnostics);
  YAML::Node doc = YAML::Load(*c.yaml);
  YAML::Node jobs = doc["jobs"];
  ASSERT_EQ(jobs.size(), 5u);
  EXPECT_FALSE(jobs["a"]["needs"]);
  EXPECT_FALSE(jobs["a"]["if"]);
  EXPECT_EQ(seq(jobs["b"]["needs"]), (Lines{"a"}));
  EXPECT_EQ(seq(jobs["d"]["needs"]), (Lines{"b", "c"}));
  EXPECT_EQ(jobs["d"]["if"].as<std::string>(), "${{ !cancelled() }}");
  EXPECT_EQ(jobs["d"]["env"]["BATON_TASK"].as<std::string>(), "d");
  EXPECT_EQ(jobs["d"]["env"]["BATON_UPSTREAM"].as<std::string>(), "a b c");
  EXPECT_EQ(seq(jobs["d"]["runs-on"]), (Lines{"self-hosted"}));
  // 90 s + 10 s grace = 100 s -> 2 minutes, plus the overhead.
  EXPECT_EQ(jobs["a"]["timeout-minutes"].as<int>(), 2 + kJobOverheadMinutes);
  // c: 2 attempts of 300 s + 10 s grace, one 30 s delay: 650 s -> 11 minutes.
  EXPECT_EQ(jobs["c"]["timeout-minutes"].as<int>(), 11 + kJobOverheadMinutes);
  // d downloads a, b and c (dependency order), runs, uploads.
  YAML::Node steps = jobs["d"]["steps"];
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[0]["uses"].as<std::string>(), "actions/checkout@v4");
  EXPECT_EQ(steps[1]["with"]["name"].as<std::string>(), "baton-task-a");
  EXPECT_EQ(steps[2]["with"]["name"].as<std::string>(), "baton-task-b");
  EXPECT_EQ(steps[3]["with"]["name"].as<std::string>(), "baton-task-c");
  EXPECT_NE(steps[4]["run"].as<std::string>().find("--only \"$BATON_TASK\""), std::string::npos);
  // The flow's path comes after `--`: a path starting with '-' is never an option.
  EXPECT_NE(steps[4]["run"].as<std::string>().find("-- \"$BATON_FLOW\""), std::string::npos);
  EXPECT_EQ(steps[5]["with"]["name"].as<std::string>(), "baton-task-d");
  EXPECT_EQ(steps[6]["with"]["name"].as<std::string>(), "baton-state-d");
  // The finishing job waits for every task, always runs, exports the audit chains.
  YAML::Node finish = jobs[kFinishJob];
  EXPECT_EQ(seq(finish["needs"]), (Lines{"a", "b", "c", "d"}));
  EXPECT_EQ(finish["if"].as<std::string>(), "${{ always() }}");
  EXPECT_EQ(finish["steps"][4]["with"]["name"].as<std::string>(), "baton-audit");
  EXPECT_EQ(doc["env"]["BATON_FLOW"].as<std::string>(), "flows/flow.yaml");
}

TEST(GithubActionsTest, MaxParallelOneChainsTheJobsInDependencyOrder) {
  Compiled c = compile(R"(name: serial
settings: {max_parallel: 1}
tasks:
  - {id: a, run: 'true'}
  - {id: b, run: 'true'}
  - {id: c, run: 'true', dependencies: [a]}
)");
  ASSERT_TRUE(c.yaml);
  YAML::Node jobs = YAML::Load(*c.yaml)["jobs"];
  EXPECT_EQ(seq(jobs["b"]["needs"]), (Lines{"a"}));
  EXPECT_EQ(seq(jobs["c"]["needs"]), (Lines{"a", "b"}));
  // Downloads follow the DAG, not the added order: c needs only a's result.
  EXPECT_EQ(jobs["c"]["env"]["BATON_UPSTREAM"].as<std::string>(), "a");
}

TEST(GithubActionsTest, TranslationsAreWarnedAbout) {
  Compiled c = compile(R"(name: warned
settings: {max_parallel: 2, max_cost_usd: 5, agent_limits: {claude: 1}}
context:
  secrets: {KEY: {file: key.pem}}
tasks:
  - {id: a, run: 'true', secrets: [KEY]}
  - {id: b, run: 'true'}
  - {id: c, run: 'true'}
)");
  ASSERT_TRUE(c.yaml);
  EXPECT_EQ(c.diagnostics,
            (Lines{"flow.yaml:6:5: warning: task 'a': secret 'KEY' is read from the file key.pem: "
                   "it must exist on every runner",
                   "flow.yaml: warning: settings.max_parallel: 2 is not enforced across GitHub "
                   "Actions jobs: as many tasks run at once as runners with the labels are free",
                   "flow.yaml: warning: agent_limits and max_concurrent are not enforced across "
                   "GitHub Actions jobs; bound them with the runners' labels",
                   "flow.yaml: warning: settings.max_cost_usd: each job counts the cost of its "
                   "own task and the tasks upstream of it, not of the whole run",
                   "flow.yaml: warning: settings.on_failure: stop: a failed task cancels the "
                   "tasks downstream of it; jobs of other branches still run"}));
}

TEST(GithubActionsTest, WhatCannotBeMappedIsAnErrorAtItsPlace) {
  Compiled c = compile(R"(name: refused
settings: {isolation: worktree, on_failure: continue}
tasks:
  - id: deploy
    gate: {message: "ship it?"}
  - {id: fix, run: 'false', on_failure: escalate}
  - {id: wt, run: 'true', isolation: worktree}
hooks:
  on_start: [{run: echo start}]
)");
  EXPECT_FALSE(c.yaml);
  EXPECT_EQ(c.diagnostics,
            (Lines{"flow.yaml: error: settings.isolation: worktree: each job has its own "
                   "checkout; task branches and their integration order cannot be handed "
                   "between jobs",
                   "flow.yaml:9:14: error: hooks.on_start: a hook that must run before every "
                   "task has no job to run in (make it a task the others depend on)",
                   "flow.yaml:5:11: error: task 'deploy': gate: a GitHub Actions job cannot wait "
                   "for `baton approve` (use a GitHub environment with required reviewers around "
                   "the exported workflow instead)",
                   "flow.yaml:6:5: error: task 'fix': on_failure: escalate waits for `baton "
                   "approve`, which a GitHub Actions job cannot do",
                   "flow.yaml:7:5: error: task 'wt': isolation: worktree: each job has its own "
                   "checkout; task branches and their integration order cannot be handed between "
                   "jobs"}));
}

TEST(GithubActionsTest, TaskIdsThatAreNotJobIdsAreMappedAndCollisionsRefused) {
  EXPECT_EQ(gha_job_id("build-lib"), "build-lib");
  EXPECT_EQ(gha_job_id("9lives"), "task_9lives");
  EXPECT_EQ(gha_job_id("baton_finish"), "task_baton_finish");
  EXPECT_EQ(gha_job_id("Baton_x"), "task_Baton_x");
  Compiled ok = compile(R"(name: ids
tasks:
  - {id: 9lives, run: 'true'}
  - {id: baton_finish, run: 'true', dependencies: [9lives]}
)");
  ASSERT_TRUE(ok.yaml) << ::testing::PrintToString(ok.diagnostics);
  YAML::Node jobs = YAML::Load(*ok.yaml)["jobs"];
  EXPECT_EQ(jobs["task_9lives"]["env"]["BATON_TASK"].as<std::string>(), "9lives");
  EXPECT_EQ(seq(jobs["task_baton_finish"]["needs"]), (Lines{"task_9lives"}));
  Compiled clash = compile(R"(name: ids
settings: {on_failure: continue}
tasks:
  - {id: 1a, run: 'true'}
  - {id: task_1A, run: 'true'}
)");
  EXPECT_FALSE(clash.yaml);
  EXPECT_EQ(clash.diagnostics,
            (Lines{"flow.yaml:5:5: error: task 'task_1A' and task '1a' map to the same job id "
                   "'task_1A' (GitHub compares job ids ignoring case)"}));
}

// The attack: a workflow whose values carry GitHub expressions and shell syntax. None
// of them may reach a run: script or a place GitHub evaluates.
TEST(GithubActionsTest, HostileValuesNeverBecomeScriptOrExpressions) {
  const std::string hostile = R"Y(name: hostile
inputs:
  topic: {default: "x", description: "pick one"}
tasks:
  - id: a
    description: "$${{ secrets.D }}"
    run: "echo '$${{ secrets.X }}' $(rm -rf /) `id`"
    env: {E: "$${{ github.token }}"}
  - id: b
    agent: claude
    dependencies: [a]
    parameters: {task: "Summarise ${a.output}; $${{ secrets.GITHUB_TOKEN }} $(curl evil)"}
)Y";
  Compiled c = compile(hostile);
  ASSERT_TRUE(c.yaml) << ::testing::PrintToString(c.diagnostics);
  // Nothing of the tasks' text is in the file: baton reads it from the checkout.
  EXPECT_EQ(c.yaml->find("secrets.X"), std::string::npos);
  EXPECT_EQ(c.yaml->find("secrets.D"), std::string::npos);
  EXPECT_EQ(c.yaml->find("rm -rf"), std::string::npos);
  EXPECT_EQ(c.yaml->find("github.token"), std::string::npos);
  EXPECT_EQ(c.yaml->find("curl"), std::string::npos);
  // Every expression in the file is one of the compiler's own.
  const Lines allowed = {"${{ !cancelled() }}",   "${{ always() }}",        "${{ runner.temp }}",
                         "${{ toJSON(inputs) }}", "${{ github.workflow }}", "${{ github.ref }}"};
  for (size_t at = c.yaml->find("${{"); at != std::string::npos; at = c.yaml->find("${{", at + 1)) {
    std::string expr = c.yaml->substr(at, c.yaml->find("}}", at) + 2 - at);
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), expr), allowed.end()) << expr;
  }
  // Every run: script is the same constant for every task.
  YAML::Node jobs = YAML::Load(*c.yaml)["jobs"];
  EXPECT_EQ(jobs["a"]["steps"][1]["run"].as<std::string>(),
            jobs["b"]["steps"][2]["run"].as<std::string>());
}

TEST(GithubActionsTest, ValuesGithubWouldEvaluateAreRefused) {
  Compiled c = compile(R"(name: "n ${{ secrets.A }}"
inputs:
  topic: {default: "${{ secrets.B }}", description: "d ${{ github.token }}"}
  bad.name: {default: x}
tasks:
  - {id: a, run: 'true'}
)",
                       GithubActionsOptions{{"self-hosted", "${{ secrets.C }}"}, "f${{ x }}.yaml"});
  EXPECT_FALSE(c.yaml);
  EXPECT_EQ(c.diagnostics,
            (Lines{"flow.yaml: error: the workflow's name contains '${{', which GitHub Actions "
                   "would evaluate as an expression",
                   "flow.yaml: error: the workflow's path contains '${{', which GitHub Actions "
                   "would evaluate as an expression",
                   "flow.yaml: error: the runner label '${{ secrets.C }}' contains '${{', which "
                   "GitHub Actions would evaluate as an expression",
                   "flow.yaml:4:3: error: input 'bad.name' is not a GitHub Actions input id (a "
                   "letter or '_', then letters, digits, '_' and '-')",
                   "flow.yaml:3:3: error: the description of input 'topic' contains '${{', which "
                   "GitHub Actions would evaluate as an expression",
                   "flow.yaml:3:3: error: the default of input 'topic' contains '${{', which "
                   "GitHub Actions would evaluate as an expression"}));
}

TEST(GithubActionsTest, SecretsFromTheEnvironmentComeFromGithubSecrets) {
  Compiled c = compile(R"(name: s
settings: {on_failure: continue}
context:
  secrets: {TOKEN: {env: API_TOKEN}, BAD: {env: GITHUB_TOKEN}}
tasks:
  - {id: a, run: 'true', secrets: [TOKEN]}
  - {id: b, run: 'true'}
  - {id: c, run: 'true', secrets: [BAD]}
)");
  EXPECT_FALSE(c.yaml);
  EXPECT_EQ(c.diagnostics,
            (Lines{"flow.yaml:8:5: error: task 'c': secret 'BAD' reads $GITHUB_TOKEN, which is not "
                   "a GitHub secret name (letters, digits and '_', not starting with a digit or "
                   "GITHUB_)"}));
  Compiled ok = compile(R"(name: s
context:
  secrets: {TOKEN: {env: API_TOKEN}}
tasks:
  - {id: a, run: 'true', secrets: [TOKEN]}
  - {id: b, run: 'true'}
)");
  ASSERT_TRUE(ok.yaml);
  YAML::Node jobs = YAML::Load(*ok.yaml)["jobs"];
  EXPECT_EQ(jobs["a"]["env"]["API_TOKEN"].as<std::string>(), "${{ secrets.API_TOKEN }}");
  EXPECT_FALSE(jobs["b"]["env"]["API_TOKEN"]);  // only the task that lists it
}

TEST(GithubActionsTest, InputsBecomeDispatchInputsAsQuotedStrings) {
  Compiled c = compile(R"(name: i
inputs:
  mode: {default: "yes", description: "a: b # c"}
  count: {default: 3}
  who: {required: true}
tasks:
  - {id: a, run: 'true'}
)");
  ASSERT_TRUE(c.yaml);
  YAML::Node inputs = YAML::Load(*c.yaml)["on"]["workflow_dispatch"]["inputs"];
  EXPECT_EQ(inputs["mode"]["default"].as<std::string>(), "yes");
  EXPECT_NE(c.yaml->find("default: \"yes\""), std::string::npos);  // never the boolean yes
  EXPECT_EQ(inputs["mode"]["description"].as<std::string>(), "a: b # c");
  EXPECT_EQ(inputs["count"]["default"].as<std::string>(), "3");
  EXPECT_TRUE(inputs["who"]["required"].as<bool>());
  EXPECT_FALSE(inputs["who"]["default"]);
}

TEST(GithubActionsTest, RunnerLabelsComeFromTheOptionsElseTheSettingsElseSelfHosted) {
  const std::string flow = R"(name: labels
settings:
  github_actions: {runs_on: [self-hosted, gpu]}
tasks:
  - {id: a, run: 'true'}
)";
  Compiled from_settings = compile(flow);
  ASSERT_TRUE(from_settings.yaml);
  YAML::Node jobs = YAML::Load(*from_settings.yaml)["jobs"];
  EXPECT_EQ(seq(jobs["a"]["runs-on"]), (Lines{"self-hosted", "gpu"}));
  EXPECT_EQ(seq(jobs[kFinishJob]["runs-on"]), (Lines{"self-hosted", "gpu"}));
  GithubActionsOptions options;
  options.runs_on = {"baton"};
  Compiled from_options = compile(flow, options);
  ASSERT_TRUE(from_options.yaml);
  EXPECT_EQ(seq(YAML::Load(*from_options.yaml)["jobs"]["a"]["runs-on"]), (Lines{"baton"}));
  Compiled hostile = compile(R"(name: labels
settings:
  github_actions:
    runs_on: ["${{ secrets.X }}"]
tasks:
  - {id: a, run: 'true'}
)");
  EXPECT_FALSE(hostile.yaml);
  EXPECT_EQ(hostile.diagnostics,
            (Lines{"flow.yaml:4:15: error: the runner label '${{ secrets.X }}' contains '${{', "
                   "which GitHub Actions would evaluate as an expression"}));
  Compiled empty = compile(R"(name: labels
settings: {github_actions: {runs_on: [], runners: 2}}
tasks:
  - {id: a, run: 'true'}
)");
  EXPECT_EQ(empty.diagnostics,
            (Lines{"load: expected a runner label or a list of them for 'runs_on' in "
                   "settings.github_actions",
                   "load: unknown key 'runners' in settings.github_actions"}));
}

TEST(JobSubsetTest, KeepsTheTaskAndItsUpstreamWithoutHooks) {
  workflow::LoadResult r = workflow::load_workflow_text(R"(name: s
tasks:
  - {id: a, run: 'true'}
  - {id: x, run: 'true'}
  - {id: b, run: 'true', dependencies: [a]}
  - {id: c, run: 'true', dependencies: [b]}
  - {id: d, run: 'true', dependencies: [c]}
hooks:
  on_complete: [{run: 'true'}]
)",
                                                        "flow.yaml", {});
  ASSERT_TRUE(r.workflow);
  auto subset = workflow_for_task(*r.workflow, "c");
  ASSERT_TRUE(subset);
  Lines ids;
  for (const auto& t : subset->tasks) ids.push_back(t.id);
  EXPECT_EQ(ids, (Lines{"a", "b", "c"}));
  EXPECT_TRUE(subset->hooks.on_complete.empty());
  EXPECT_EQ(workflow_for_task(*r.workflow, "zz").error().message, "no task 'zz' in flow.yaml");
}

}  // namespace
}  // namespace baton::exporter
