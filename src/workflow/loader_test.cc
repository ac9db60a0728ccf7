// Tests of load_workflow_text/load_workflow_file: the model, and every class of
// diagnostic with its exact text and place.
#include "workflow/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "workflow/source.h"
#include "workflow/yaml_reader.h"

namespace baton::workflow {
namespace {

LoadOptions default_options() {
  LoadOptions options;
  options.known_agents = {"claude", "codex", "gemini"};
  RoleSpec planner;
  planner.name = "planner";
  planner.use = {"claude"};
  options.config_roles["planner"] = planner;
  return options;
}

LoadResult load(const std::string& text, const LoadOptions& options = default_options(),
                const std::string& name = "flow.yaml") {
  return load_workflow_text(text, name, options);
}

std::string report(const LoadResult& r) { return format_all(r.diagnostics); }

// The one diagnostic of R, formatted; a failure when there is not exactly one.
std::string only(const LoadResult& r) {
  EXPECT_EQ(r.diagnostics.size(), 1u) << report(r);
  return r.diagnostics.empty() ? "" : r.diagnostics[0].format();
}

// The first line of each diagnostic ("FILE:L:C: error: MESSAGE").
std::vector<std::string> heads(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    std::string f = d.format();
    out.push_back(f.substr(0, f.find('\n')));
  }
  return out;
}

using Lines = std::vector<std::string>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---------------------------------------------------------------------------
// The model

TEST(LoaderTest, GateAndEscalateAreRead) {
  LoadResult r = load(R"(name: gates
tasks:
  - id: build
    run: make
    on_failure: escalate
  - id: review
    dependencies: [build]
    gate: {message: "ship ${build.output}?"}
  - id: deploy
    dependencies: [review]
    gate: {}
    run: ./deploy
)");
  ASSERT_TRUE(r.ok()) << report(r);
  const Workflow& wf = *r.workflow;
  EXPECT_EQ(wf.tasks[0].on_failure, TaskFailureAction::kEscalate);
  EXPECT_FALSE(wf.tasks[0].gate());
  ASSERT_TRUE(wf.tasks[1].gate());
  EXPECT_EQ(wf.tasks[1].gate()->message, "ship ${build.output}?");
  EXPECT_TRUE(wf.tasks[1].is_gate_only());
  ASSERT_TRUE(wf.tasks[2].gate());
  EXPECT_FALSE(wf.tasks[2].is_gate_only());
}

TEST(LoaderTest, GateMessageIsCheckedLikeAnyTemplate) {
  LoadResult r = load(R"(name: gates
tasks:
  - id: review
    gate: {message: "ship ${nope.output}?", colour: red}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.size(), 2u) << report(r);
}

TEST(LoaderTest, SpecHashIgnoresCommentsAndLayoutButNotValues) {
  const std::string a = "name: h\ntasks:\n  - id: a\n    run: echo 1\n  - id: b\n    run: x\n";
  const std::string b =
      "name: h\ntasks:\n  # a comment\n  - {id: a, run: echo 1}\n  - id: b\n    run: y\n";
  LoadResult ra = load(a), rb = load(b);
  ASSERT_TRUE(ra.ok() && rb.ok()) << report(ra) << report(rb);
  EXPECT_EQ(ra.workflow->tasks[0].spec_sha256().size(), 64u);
  EXPECT_EQ(ra.workflow->tasks[0].spec_sha256(), rb.workflow->tasks[0].spec_sha256());
  EXPECT_NE(ra.workflow->tasks[1].spec_sha256(), rb.workflow->tasks[1].spec_sha256());
}

TEST(LoaderTest, SpecHashIsKeptAsBytesAndReadAsHex) {
  TaskSpec t;
  EXPECT_EQ(t.spec_sha256(), "");  // unknown: a task not read from a file
  const std::string hex = "00ff" + std::string(56, 'a') + "0123";
  t.set_spec_sha256(hex);
  EXPECT_EQ(t.spec_sha256(), hex);
  t.set_spec_sha256("not hex");
  EXPECT_EQ(t.spec_sha256(), "");
}

TEST(LoaderTest, MinimalWorkflowHasDefaults) {
  LoadResult r = load("name: demo\ntasks:\n  - id: a\n    run: 'true'\n");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty());
  const Workflow& wf = *r.workflow;
  EXPECT_EQ(wf.path, "flow.yaml");
  EXPECT_EQ(wf.name, "demo");
  EXPECT_EQ(wf.version, "");
  EXPECT_EQ(wf.settings.max_parallel, 3);
  EXPECT_EQ(wf.settings.timeout_s, 3600);
  EXPECT_EQ(wf.settings.on_failure, RunFailurePolicy::kStop);
  EXPECT_EQ(wf.settings.kill_grace_s, 10);
  ASSERT_EQ(wf.tasks.size(), 1u);
  const TaskSpec& a = wf.tasks[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.loc.line, 3);
  EXPECT_EQ(a.loc.column, 5);
  EXPECT_EQ(a.run_shell, "true");
  EXPECT_FALSE(a.run_argv.has_value());
  EXPECT_TRUE(a.is_command());
  EXPECT_FALSE(a.retry().has_value());
  EXPECT_FALSE(a.timeout_s.has_value());
  EXPECT_FALSE(a.on_failure.has_value());
  // No parameters or outputs written: the accessors answer an empty mapping, and a
  // task that sets none of the rarely used fields holds no TaskExtras at all.
  EXPECT_EQ(a.parameters(), nlohmann::json::object());
  EXPECT_EQ(a.outputs(), nlohmann::json::object());
  EXPECT_EQ(a.extras.get(), nullptr);
}

TEST(LoaderTest, ExtrasAreAllocatedOnlyByTheFieldsThatNeedThem) {
  LoadResult r = load(
      "name: demo\n"
      "tasks:\n"
      "  - {id: a, run: [true], timeout: 5s, dependencies: [], condition: 'true'}\n"
      "  - {id: b, run: [true], env: {X: '1'}}\n"
      "  - {id: c, run: [true], parameters: {}}\n");
  ASSERT_TRUE(r.ok()) << report(r);
  const Workflow& wf = *r.workflow;
  EXPECT_EQ(wf.tasks[0].extras.get(), nullptr);
  ASSERT_NE(wf.tasks[1].extras.get(), nullptr);
  EXPECT_EQ(wf.tasks[1].env(), (std::map<std::string, std::string>{{"X", "1"}}));
  // env alone: the mappings that were not written still read as {}.
  EXPECT_EQ(wf.tasks[1].parameters(), nlohmann::json::object());
  EXPECT_EQ(wf.tasks[1].outputs(), nlohmann::json::object());
  EXPECT_EQ(wf.tasks[2].parameters(), nlohmann::json::object());
}

TEST(LoaderTest, CopyingATaskCopiesItsExtras) {
  LoadResult r = load("name: demo\ntasks:\n  - {id: a, run: [true], model: m, env: {X: '1'}}\n");
  ASSERT_TRUE(r.ok()) << report(r);
  TaskSpec copy = r.workflow->tasks[0];
  copy.mutable_extras().env["X"] = "2";
  copy.mutable_extras().model = "other";
  EXPECT_EQ(r.workflow->tasks[0].env().at("X"), "1");
  EXPECT_EQ(r.workflow->tasks[0].model(), "m");
  EXPECT_EQ(copy.env().at("X"), "2");
  TaskSpec moved = std::move(copy);
  EXPECT_EQ(moved.model(), "other");
  copy = r.workflow->tasks[0];
  EXPECT_EQ(copy.model(), "m");
}

TEST(LoaderTest, HashIsOfTheBytes) {
  std::string text = "name: demo\ntasks:\n  - {id: a, run: 'true'}\n";
  LoadResult r = load(text);
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->source_sha256, sha256_hex(text));
  EXPECT_EQ(r.workflow->source_sha256.size(), 64u);
}

const char* kFullExample = R"(version: "1.0"
name: feature
description: Plan, build and test a feature
metadata: {author: me, tags: [demo], stars: 5}
inputs:
  feature_name: {required: true, description: what to build}
  mode: {default: quick}
  level: {default: 2}
settings:
  max_parallel: 4
  timeout: 1h
  on_failure: continue
  kill_grace: 5s
agents:
  planner: {use: [claude, codex], instructions: "You plan; you do not edit code."}
  solo: {use: gemini}
context:
  variables: {project: textstats, depth: 3}
  secrets: {API_TOKEN: {env: API_TOKEN}, KEY: {file: /run/key}}
tasks:
  - id: design
    agent: planner
    model: opus
    description: Design it
    parameters: {task: "Design ${feature_name}", hints: [a, "${mode}"], n: 1}
    outputs: {plan: the plan}
  - id: build
    run: make -j2
    dependencies: [design]
    retry: {max_attempts: 3, delay: 10s, backoff: exponential, max_delay: 1m, jitter: 0.2}
    timeout: 30m
    on_failure: retry
  - id: test
    run: [ctest, --output-on-failure]
    dependencies: [build]
    condition: "${build.status == 'success'}"
    env: {CTEST_PARALLEL_LEVEL: "2", WHO: "${design.agent}"}
    workdir: build
    on_failure: skip
hooks:
  on_start: [{run: "echo start"}]
  on_failure: [{run: "echo failed ${run.status}"}, {id: notify, agent: solo, description: tell}]
  on_success: [{run: "echo ok ${test.status}"}]
  on_complete: [{run: "echo done"}]
)";

TEST(LoaderTest, FullExampleFillsEveryField) {
  LoadResult r = load(kFullExample);
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);
  const Workflow& wf = *r.workflow;
  EXPECT_EQ(wf.version, "1.0");
  EXPECT_EQ(wf.name, "feature");
  EXPECT_EQ(wf.description, "Plan, build and test a feature");
  EXPECT_EQ(wf.metadata, nlohmann::json::parse(R"({"author":"me","tags":["demo"],"stars":5})"));
  ASSERT_EQ(wf.inputs.size(), 3u);
  EXPECT_TRUE(wf.inputs.at("feature_name").required);
  EXPECT_EQ(wf.inputs.at("feature_name").description, "what to build");
  EXPECT_FALSE(wf.inputs.at("feature_name").default_value.has_value());
  EXPECT_FALSE(wf.inputs.at("mode").required);
  EXPECT_EQ(wf.inputs.at("mode").default_value, nlohmann::json("quick"));
  EXPECT_EQ(wf.inputs.at("level").default_value, nlohmann::json(2));
  EXPECT_EQ(wf.settings.max_parallel, 4);
  EXPECT_EQ(wf.settings.timeout_s, 3600);
  EXPECT_EQ(wf.settings.on_failure, RunFailurePolicy::kContinue);
  EXPECT_EQ(wf.settings.kill_grace_s, 5);
  ASSERT_EQ(wf.agents.size(), 2u);
  const RoleSpec& planner = wf.agents.at("planner");
  EXPECT_EQ(planner.name, "planner");
  EXPECT_EQ(planner.use, (std::vector<std::string>{"claude", "codex"}));
  EXPECT_EQ(planner.instructions, "You plan; you do not edit code.");
  EXPECT_EQ(planner.loc.line, 15);
  EXPECT_EQ(planner.loc.column, 3);
  EXPECT_EQ(wf.agents.at("solo").use, (std::vector<std::string>{"gemini"}));
  EXPECT_EQ(wf.variables, nlohmann::json::parse(R"({"project":"textstats","depth":3})"));
  ASSERT_EQ(wf.secrets.size(), 2u);
  EXPECT_EQ(wf.secrets.at("API_TOKEN").name, "API_TOKEN");
  EXPECT_EQ(wf.secrets.at("API_TOKEN").env, "API_TOKEN");
  EXPECT_EQ(wf.secrets.at("KEY").file, "/run/key");

  ASSERT_EQ(wf.tasks.size(), 3u);
  const TaskSpec& design = wf.tasks[0];
  EXPECT_EQ(design.agent, "planner");
  EXPECT_EQ(design.model(), "opus");
  EXPECT_EQ(design.description(), "Design it");
  EXPECT_FALSE(design.is_command());
  EXPECT_EQ(
      design.parameters(),
      nlohmann::json::parse(R"({"task":"Design ${feature_name}","hints":["a","${mode}"],"n":1})"));
  EXPECT_EQ(design.outputs(), nlohmann::json::parse(R"({"plan":"the plan"})"));
  EXPECT_TRUE(design.dependencies.empty());

  const TaskSpec& build = wf.tasks[1];
  EXPECT_EQ(build.run_shell, "make -j2");
  EXPECT_EQ(build.dependencies, (std::vector<std::string>{"design"}));
  ASSERT_TRUE(build.retry().has_value());
  EXPECT_EQ(build.retry()->max_attempts, 3);
  EXPECT_EQ(build.retry()->delay_s, 10);
  EXPECT_EQ(build.retry()->backoff, Backoff::kExponential);
  EXPECT_EQ(build.retry()->max_delay_s, 60);
  EXPECT_DOUBLE_EQ(build.retry()->jitter, 0.2);
  EXPECT_EQ(build.timeout_s, 1800);
  EXPECT_EQ(build.failure_action(), TaskFailureAction::kRetry);

  const TaskSpec& test = wf.tasks[2];
  EXPECT_EQ(test.run_argv, (std::vector<std::string>{"ctest", "--output-on-failure"}));
  EXPECT_FALSE(test.run_shell.has_value());
  EXPECT_EQ(test.condition, "${build.status == 'success'}");
  EXPECT_EQ(test.env(), (std::map<std::string, std::string>{{"CTEST_PARALLEL_LEVEL", "2"},
                                                            {"WHO", "${design.agent}"}}));
  EXPECT_EQ(test.workdir(), "build");
  EXPECT_EQ(test.failure_action(), TaskFailureAction::kSkip);

  ASSERT_EQ(wf.hooks.on_start.size(), 1u);
  EXPECT_EQ(wf.hooks.on_start[0].id, "on_start.1");
  EXPECT_EQ(wf.hooks.on_start[0].run_shell, "echo start");
  ASSERT_EQ(wf.hooks.on_failure.size(), 2u);
  EXPECT_EQ(wf.hooks.on_failure[0].id, "on_failure.1");
  EXPECT_EQ(wf.hooks.on_failure[1].id, "notify");
  EXPECT_EQ(wf.hooks.on_failure[1].agent, "solo");
  ASSERT_EQ(wf.hooks.on_success.size(), 1u);
  EXPECT_EQ(wf.hooks.on_success[0].id, "on_success.1");
  ASSERT_EQ(wf.hooks.on_complete.size(), 1u);
  EXPECT_EQ(wf.hooks.on_complete[0].run_shell, "echo done");
}

TEST(LoaderTest, ScalarsResolveAsInYamlCoreSchema) {
  LoadResult r = load(R"(name: demo
context:
  variables:
    i: 42
    neg: -7
    f: 1.5
    e: 1e3
    t: true
    n: ~
    empty:
    s: "42"
    word: yes
    hex: 0x1F
    big: 123456789012345678901234
    block: |
      two
      lines
tasks:
  - {id: a, run: 'true'}
)");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->variables, nlohmann::json::parse(R"({"i":42,"neg":-7,"f":1.5,"e":1000.0,
      "t":true,"n":null,"empty":null,"s":"42","word":"yes","hex":31,
      "big":1.2345678901234568e+23,"block":"two\nlines\n"})"));
}

TEST(LoaderTest, EffectiveRetryOfOnFailureRetryWithoutBlock) {
  LoadResult r = load("name: d\ntasks:\n  - {id: a, run: x, on_failure: retry}\n");
  ASSERT_TRUE(r.ok()) << report(r);
  RetryPolicy p = r.workflow->tasks[0].effective_retry();
  EXPECT_EQ(p.max_attempts, 3);
  EXPECT_EQ(p.delay_s, 10);
  EXPECT_EQ(p.backoff, Backoff::kExponential);
}

TEST(LoaderTest, EmptyOptionalValuesAreAbsent) {
  LoadResult r = load(R"(name: demo
inputs:
  x:
settings:
agents:
context:
hooks:
  on_start:
tasks:
  - id: a
    run: 'true'
    dependencies:
    parameters:
    env:
    retry:
    outputs:
)");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->inputs.count("x"), 1u);
  EXPECT_FALSE(r.workflow->tasks[0].retry().has_value());
}

TEST(LoaderTest, DurationsInEveryPlace) {
  LoadResult r = load(R"(name: d
settings: {timeout: 90, kill_grace: 500ms}
tasks:
  - id: a
    run: x
    timeout: 1h30m
    retry: {delay: 1.5, max_delay: 2m30s}
)");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->settings.timeout_s, 90);
  EXPECT_DOUBLE_EQ(r.workflow->settings.kill_grace_s, 0.5);
  EXPECT_EQ(r.workflow->tasks[0].timeout_s, 5400);
  EXPECT_DOUBLE_EQ(r.workflow->tasks[0].retry()->delay_s, 1.5);
  EXPECT_EQ(r.workflow->tasks[0].retry()->max_delay_s, 150);
}

// ---------------------------------------------------------------------------
// Seed 001's templates, as files

std::string workflows_dir() { return std::string(BATON_SOURCE_DIR) + "/tests/workflows/"; }

LoadOptions seed_options() {
  LoadOptions options;
  options.known_agents = {"claude", "codex"};
  for (const char* role : {"planner", "researcher", "coder", "backend", "frontend", "checker"}) {
    RoleSpec spec;
    spec.name = role;
    spec.use = {"claude"};
    options.config_roles[role] = spec;
  }
  return options;
}

TEST(LoaderTest, SeedFeatureTemplateLoads) {
  std::string path = workflows_dir() + "seed001_feature.yaml";
  LoadResult r = load_workflow_file(path, seed_options());
  ASSERT_TRUE(r.ok()) << report(r);
  const Workflow& wf = *r.workflow;
  EXPECT_EQ(wf.path, path);
  EXPECT_EQ(wf.source_sha256, sha256_hex(read_file(path)));
  EXPECT_EQ(wf.name, "full-stack-feature-template");
  ASSERT_EQ(wf.tasks.size(), 5u);
  EXPECT_EQ(wf.tasks[3].id, "integrate");
  EXPECT_EQ(wf.tasks[3].dependencies, (std::vector<std::string>{"api", "ui"}));
  EXPECT_EQ(wf.tasks[4].agent, "checker");
  // ${feature_name} is neither declared nor given: a warning (once), not an error.
  ASSERT_EQ(r.diagnostics.size(), 1u) << report(r);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::kWarning);
  EXPECT_EQ(r.diagnostics[0].format(),
            path +
                ":6:23: warning: 'feature_name' is not a task, input or variable\n"
                "      task: \"Design ${feature_name} feature\"\n"
                "                      ^");
  EXPECT_FALSE(has_errors(r.diagnostics));
}

TEST(LoaderTest, SeedBugfixTemplateLoads) {
  std::string path = workflows_dir() + "seed001_bugfix.yaml";
  LoadOptions options = seed_options();
  options.provided_inputs["bug_description"] = "crash on start";
  LoadResult r = load_workflow_file(path, options);
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);  // the input is given: no warning
  EXPECT_EQ(r.workflow->name, "bug-fix-template");
  ASSERT_EQ(r.workflow->tasks.size(), 4u);
  EXPECT_EQ(r.workflow->tasks[0].agent, "researcher");
  EXPECT_EQ(r.workflow->tasks[3].dependencies, (std::vector<std::string>{"fix"}));
}

TEST(LoaderTest, SeedTemplatesNeedTheirRoles) {
  LoadOptions options;
  options.known_agents = {"claude", "codex"};
  LoadResult r = load_workflow_file(workflows_dir() + "seed001_bugfix.yaml", options);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r)[0], workflows_dir() +
                             "seed001_bugfix.yaml:4:12: error: unknown agent or role "
                             "'researcher' in task 'investigate'");
}

// ---------------------------------------------------------------------------
// Unknown keys, at every level

TEST(LoaderTest, UnknownTaskKeyWithSuggestionAndCaret) {
  LoadResult r = load("name: demo\ntasks:\n  - id: a\n    run: 'true'\n    dependecies: [b]\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(only(r),
            "flow.yaml:5:5: error: unknown key 'dependecies' in task 'a'; did you mean "
            "'dependencies'?\n    dependecies: [b]\n    ^");
}

TEST(LoaderTest, UnknownKeysAtEveryLevel) {
  LoadResult r = load(R"(name: demo
nmae: x
settings: {max_paralel: 2}
inputs:
  x: {requird: true}
agents:
  r: {use: [claude], instruction: hi}
context:
  variabls: {}
  secrets:
    S: {env: S, fil: f}
tasks:
  - id: a
    run: x
    retry: {max_atempts: 2}
hooks:
  on_fail: []
  on_start: [{run: x, timout: 1}]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:2:1: error: unknown key 'nmae' at the top level; did you mean 'name'?",
          "flow.yaml:3:12: error: unknown key 'max_paralel' in settings; did you mean "
          "'max_parallel'?",
          "flow.yaml:5:7: error: unknown key 'requird' in input 'x'; did you mean 'required'?",
          "flow.yaml:7:22: error: unknown key 'instruction' in role 'r'; did you mean "
          "'instructions'?",
          "flow.yaml:9:3: error: unknown key 'variabls' in context; did you mean 'variables'?",
          "flow.yaml:11:17: error: unknown key 'fil' in secret 'S'; did you mean 'file'?",
          "flow.yaml:15:13: error: unknown key 'max_atempts' in retry of task 'a'; did you mean "
          "'max_attempts'?",
          "flow.yaml:17:3: error: unknown key 'on_fail' in hooks; did you mean 'on_failure'?",
          "flow.yaml:18:23: error: unknown key 'timout' in hook 'on_start.1'; did you mean "
          "'timeout'?",
      }));
}

TEST(LoaderTest, UnknownKeyWithoutSuggestion) {
  LoadResult r = load("name: demo\nzzzzzz: 1\ntasks:\n  - {id: a, run: x}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:2:1: error: unknown key 'zzzzzz' at the top level"}));
}

TEST(LoaderTest, DuplicateKey) {
  LoadResult r = load("name: demo\ntasks:\n  - id: a\n    run: x\n    run: y\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:5:5: error: duplicate key 'run' in task 'a' (first at "
                             "line 4)"}));
}

// ---------------------------------------------------------------------------
// Types, enums, ranges, required fields

TEST(LoaderTest, TypeErrors) {
  LoadResult r = load(R"(name: [x]
settings: {max_parallel: lots, timeout: [1]}
tasks:
  - id: a
    run: {x: 1}
    dependencies: b
    parameters: [1]
    env: {A: [1]}
    retry: {jitter: much}
  - id: b
    run: [ok, [nested]]
    timeout: {}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r),
            (Lines{
                "flow.yaml:1:7: error: expected a string for 'name'",
                "flow.yaml:2:26: error: expected a number for 'max_parallel' in settings",
                "flow.yaml:2:41: error: expected a duration for 'timeout' in settings",
                "flow.yaml:5:10: error: expected a string or a list for 'run' in task 'a'",
                "flow.yaml:6:19: error: expected a list for 'dependencies' in task 'a'",
                "flow.yaml:7:17: error: expected a mapping for 'parameters' in task 'a'",
                "flow.yaml:8:14: error: expected a string for 'A' in env of task 'a'",
                "flow.yaml:9:21: error: expected a number for 'jitter' in retry of task 'a'",
                "flow.yaml:11:15: error: expected a string in 'run' in task 'b'",
                "flow.yaml:12:14: error: expected a duration for 'timeout' in task 'b'",
            }));
}

TEST(LoaderTest, EnumErrors) {
  LoadResult r = load(R"(name: demo
settings: {on_failure: halt}
tasks:
  - id: a
    run: x
    on_failure: sometimes
    retry: {backoff: linear}
)");
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:2:24: error: invalid value 'halt' for 'on_failure' in settings: expected stop "
          "or continue",
          "flow.yaml:6:17: error: invalid value 'sometimes' for 'on_failure' in task 'a': expected "
          "fail, skip, retry or escalate",
          "flow.yaml:7:22: error: invalid value 'linear' for 'backoff' in retry of task 'a': "
          "expected fixed or exponential",
      }));
}

TEST(LoaderTest, AMisspeltEnumValueGetsASuggestion) {
  LoadResult r = load("name: demo\ntasks:\n  - id: a\n    run: x\n    on_failure: retyr\n");
  EXPECT_EQ(only(r),
            "flow.yaml:5:17: error: invalid value 'retyr' for 'on_failure' in task 'a': expected "
            "fail, skip, retry or escalate; did you mean 'retry'?\n"
            "    on_failure: retyr\n"
            "                ^");
  r = load("name: demo\nsettings: {isolation: worktre}\ntasks:\n  - {id: a, run: x}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:2:23: error: invalid value 'worktre' for 'isolation' in "
                             "settings: expected none or worktree; did you mean 'worktree'?"}));
}

TEST(LoaderTest, ContinueOnATaskSaysItIsARunLevelSetting) {
  LoadResult r = load("name: demo\ntasks:\n  - id: a\n    run: x\n    on_failure: continue\n");
  EXPECT_EQ(only(r),
            "flow.yaml:5:17: error: invalid value 'continue' for 'on_failure' in task 'a': "
            "expected fail, skip, retry or escalate; 'continue' is a run-level setting "
            "(settings.on_failure: continue runs the other tasks after one fails); on a task, "
            "'skip' lets its dependants run\n"
            "    on_failure: continue\n"
            "                ^");
}

TEST(LoaderTest, RangeErrors) {
  LoadResult r = load(R"(name: demo
settings: {max_parallel: 0, timeout: 0}
tasks:
  - id: a
    run: x
    timeout: 0s
    retry: {max_attempts: 0, jitter: 1.5}
  - id: b
    run: x
    retry: {max_attempts: 2.5}
  - id: c
    run: x
    retry: {max_attempts: 2000000}
)");
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:2:26: error: 'max_parallel' in settings must be at least 1",
          "flow.yaml:2:38: error: 'timeout' in settings must be greater than 0",
          "flow.yaml:6:14: error: 'timeout' in task 'a' must be greater than 0",
          "flow.yaml:7:27: error: 'max_attempts' in retry of task 'a' must be at least 1",
          "flow.yaml:7:38: error: 'jitter' in retry of task 'a' must be between 0 and 1",
          "flow.yaml:10:27: error: expected a whole number for 'max_attempts' in retry of task 'b'",
          "flow.yaml:13:27: error: 'max_attempts' in retry of task 'c' must be at most 1000000",
      }));
}

TEST(LoaderTest, InvalidDurations) {
  LoadResult r = load(R"(name: demo
settings: {kill_grace: soon}
tasks:
  - id: a
    run: x
    timeout: 5x
    retry: {delay: -1}
)");
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:2:24: error: invalid duration 'soon': expected a number of seconds or a value "
          "like 30s, 10m, 1h",
          "flow.yaml:6:14: error: invalid duration '5x': expected a number of seconds or a value "
          "like 30s, 10m, 1h",
          "flow.yaml:7:20: error: invalid duration '-1': expected a number of seconds or a value "
          "like 30s, 10m, 1h",
      }));
}

TEST(LoaderTest, RequiredTopLevelKeys) {
  EXPECT_EQ(heads(load("description: x\n")),
            (Lines{"flow.yaml:1:1: error: missing 'name' at the top level",
                   "flow.yaml:1:1: error: missing 'tasks' at the top level"}));
  EXPECT_EQ(heads(load("name: x\ntasks: []\n")),
            (Lines{"flow.yaml:2:8: error: 'tasks' is empty; a workflow needs at least one task"}));
  EXPECT_EQ(heads(load("name: x\ntasks:\n")),
            (Lines{"flow.yaml:2:1: error: expected a list for 'tasks'"}));
  EXPECT_EQ(heads(load("- a\n- b\n")),
            (Lines{"flow.yaml:1:1: error: expected a mapping at the top level"}));
  EXPECT_EQ(heads(load("# only a comment\n")),
            (Lines{"flow.yaml: error: expected a mapping at the top level"}));
}

TEST(LoaderTest, TaskIds) {
  LoadResult r = load(R"(name: demo
tasks:
  - id: a
    run: x
  - run: y
  - id: "b c"
    run: x
  - id: -b
    run: x
  - id: a
    run: z
  - [not, a, mapping]
  - id: [x]
    run: x
)");
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:5:5: error: task 2 has no 'id'",
          "flow.yaml:6:9: error: invalid task id 'b c': use letters, digits, '_' and '-', not "
          "starting with '-'",
          "flow.yaml:8:9: error: invalid task id '-b': use letters, digits, '_' and '-', not "
          "starting with '-'",
          "flow.yaml:10:9: error: duplicate task id 'a' (first defined at line 3)",
          "flow.yaml:12:5: error: expected a mapping for task 6",
          "flow.yaml:13:5: error: expected a string for 'id' in task 7",
      }));
}

// An id names its attempts' files (255 bytes at most on Linux) and branches: ids and
// hook ids longer than kMaxTaskIdLength are refused before anything runs (issue 12).
TEST(LoaderTest, TaskIdsLongerThanTheLimitAreRefused) {
  const std::string longest(kMaxTaskIdLength, 'a');
  const std::string too_long(kMaxTaskIdLength + 1, 'b');
  const std::string way_too_long(300, 'c');
  LoadResult r =
      load("name: demo\ntasks:\n  - id: " + longest + "\n    run: x\n  - id: " + too_long +
           "\n    run: x\nhooks:\n  on_start: [{id: " + way_too_long + ", run: x}]\n");
  EXPECT_EQ(heads(r), (Lines{
                          "flow.yaml:5:9: error: task id '" + std::string(32, 'b') +
                              "...' is too long (129 characters; at most 128)",
                          "flow.yaml:8:19: error: hook id '" + std::string(32, 'c') +
                              "...' is too long (300 characters; at most 128)",
                      }));
}

TEST(LoaderTest, ReservedTaskIds) {
  LoadResult r = load("name: d\ntasks:\n  - {id: run, run: x}\n  - {id: env, run: x}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:10: error: task id 'run' is reserved: inputs, "
                             "variables, run, env and secrets name other values in templates",
                             "flow.yaml:4:10: error: task id 'env' is reserved: inputs, "
                             "variables, run, env and secrets name other values in templates"}));
}

TEST(LoaderTest, ManyTasksValidateQuickly) {
  // A chain of 5000 tasks, each reading its predecessor's output: the upstream
  // check must not be quadratic in the number of references.
  std::string text = "name: big\ntasks:\n  - {id: t0, run: 'true'}\n";
  for (int i = 1; i < 5000; ++i) {
    std::string prev = "t" + std::to_string(i - 1);
    text += "  - {id: t" + std::to_string(i) + ", run: 'echo ${" + prev + ".output}', " +
            "dependencies: [" + prev + "]}\n";
  }
  LoadResult r = load(text);
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->tasks.size(), 5000u);
}

TEST(LoaderTest, AgentOrRun) {
  LoadResult r = load(R"(name: demo
tasks:
  - id: a
    description: nothing to do
  - id: b
    agent: claude
    run: x
    description: d
  - id: c
    run: ""
  - id: d
    run: []
)");
  EXPECT_EQ(heads(r), (Lines{
                          "flow.yaml:3:5: error: task 'a' needs 'agent', 'run' or 'gate'",
                          "flow.yaml:5:5: error: task 'b' has both 'agent' and 'run'",
                          "flow.yaml:10:10: error: 'run' is empty in task 'c'",
                          "flow.yaml:12:10: error: 'run' is an empty list in task 'd'",
                      }));
}

TEST(LoaderTest, Secrets) {
  LoadResult r = load(R"(name: demo
context:
  secrets:
    A: {env: A, file: f}
    B: {}
    C: x
tasks:
  - {id: a, run: x}
)");
  EXPECT_EQ(heads(r), (Lines{
                          "flow.yaml:4:5: error: secret 'A' has both 'env' and 'file'",
                          "flow.yaml:5:5: error: secret 'B' needs 'env' or 'file'",
                          "flow.yaml:6:8: error: expected a mapping for secret 'C'",
                      }));
}

TEST(LoaderTest, EnvNames) {
  LoadResult r = load("name: d\ntasks:\n  - id: a\n    run: x\n    env: {GOOD_1: x, 1BAD: y}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:5:22: error: invalid environment variable name '1BAD' in "
                             "env of task 'a': use letters, digits and '_'"}));
}

// ---------------------------------------------------------------------------
// Dependencies and cycles

TEST(LoaderTest, UnknownDependencyWithSuggestion) {
  LoadResult r = load(R"(name: demo
tasks:
  - {id: design, run: x}
  - id: build
    run: x
    dependencies: [desing, zzz]
)");
  ASSERT_EQ(r.diagnostics.size(), 2u) << report(r);
  EXPECT_EQ(r.diagnostics[0].format(),
            "flow.yaml:6:20: error: unknown dependency 'desing' in task 'build'; did you mean "
            "'design'?\n    dependencies: [desing, zzz]\n                   ^");
  EXPECT_EQ(r.diagnostics[1].format().substr(0, 63),
            "flow.yaml:6:28: error: unknown dependency 'zzz' in task 'build'");
  r = load("name: d\ntasks:\n  - {id: a, run: x, dependencies: [zzz]}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:36: error: unknown dependency 'zzz' in task 'a'"}));
}

TEST(LoaderTest, DependencyListedTwiceIsAWarning) {
  LoadResult r = load(
      "name: d\ntasks:\n  - {id: a, run: x}\n  - {id: b, run: x, dependencies: "
      "[a, a]}\n");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(heads(r),
            (Lines{"flow.yaml:4:39: warning: dependency 'a' is listed twice in task 'b'"}));
}

TEST(LoaderTest, TwoTaskCycle) {
  LoadResult r = load(R"(name: demo
tasks:
  - id: a
    run: x
  - id: b
    run: x
    dependencies: [c]
  - id: c
    run: x
    dependencies: [b]
)");
  EXPECT_EQ(only(r),
            "flow.yaml:7:20: error: dependency cycle: b -> c -> b\n"
            "    dependencies: [c]\n"
            "                   ^");
}

TEST(LoaderTest, LongerCycleStartsAtTheFirstDeclaredTask) {
  LoadResult r = load(R"(name: demo
tasks:
  - {id: c, run: x, dependencies: [b]}
  - {id: a, run: x, dependencies: [c]}
  - {id: b, run: x, dependencies: [a]}
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:36: error: dependency cycle: c -> b -> a -> c"}));
}

TEST(LoaderTest, SelfDependencyIsACycle) {
  LoadResult r = load("name: d\ntasks:\n  - {id: a, run: x, dependencies: [a]}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:36: error: dependency cycle: a -> a"}));
}

TEST(LoaderTest, EachCycleIsReportedOnce) {
  LoadResult r = load(R"(name: demo
tasks:
  - {id: a, run: x, dependencies: [b]}
  - {id: b, run: x, dependencies: [a]}
  - {id: c, run: x, dependencies: [d, a]}
  - {id: d, run: x, dependencies: [c]}
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:36: error: dependency cycle: a -> b -> a",
                             "flow.yaml:5:36: error: dependency cycle: c -> d -> c"}));
}

TEST(LoaderTest, UpstreamChecksAreSkippedWhenThereIsACycle) {
  LoadResult r = load(R"(name: demo
tasks:
  - {id: a, run: 'echo ${c.output}'}
  - {id: b, run: x, dependencies: [c]}
  - {id: c, run: x, dependencies: [b]}
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:4:36: error: dependency cycle: b -> c -> b"}));
}

// ---------------------------------------------------------------------------
// Templates and conditions: the error at the offending character

TEST(LoaderTest, TemplateErrorInAPlainScalar) {
  LoadResult r = load("name: d\ntasks:\n  - id: a\n    run: echo ${fn:nope(1)}\n");
  EXPECT_EQ(only(r),
            "flow.yaml:4:17: error: unknown function 'fn:nope'\n"
            "    run: echo ${fn:nope(1)}\n"
            "                ^");
}

TEST(LoaderTest, TemplateErrorsInQuotedScalars) {
  LoadResult r = load(R"(name: d
tasks:
  - id: a
    run: 'it''s ${fn:nope(1)}'
  - id: b
    run: "say \"hi\" ${fn:nope(1)}"
  - id: c
    run: "\u00e9\x41 ${fn:nope(1)}"
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:4:19: error: unknown function 'fn:nope'",
                             "flow.yaml:6:24: error: unknown function 'fn:nope'",
                             "flow.yaml:8:24: error: unknown function 'fn:nope'"}));
}

TEST(LoaderTest, TemplateErrorsInBlockScalars) {
  LoadResult r = load(R"(name: d
tasks:
  - id: a
    run: |
      echo one

      echo ${fn:nope(1)}
  - id: b
    run: >
      echo one
        indented ${fn:bad(2)}
      echo
  - id: c
    run: >-
      echo one
      echo ${fn:nope(1)}
)");
  EXPECT_EQ(heads(r),
            (Lines{"flow.yaml:7:14: error: unknown function 'fn:nope'",
                   "flow.yaml:11:20: error: unknown function 'fn:bad'; did you mean 'fn:raw'?",
                   "flow.yaml:16:14: error: unknown function 'fn:nope'"}));
}

TEST(LoaderTest, TemplateErrorInAMultiLinePlainScalar) {
  LoadResult r = load(R"(name: d
tasks:
  - id: a
    run: echo one
      two ${fn:nope(1)}
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:5:13: error: unknown function 'fn:nope'"}));
}

TEST(LoaderTest, TemplateErrorsInEveryTemplatePlace) {
  LoadResult r = load(R"(name: d
tasks:
  - id: a
    run: [echo, "${fn:nope(1)}"]
    description: ${
    workdir: ${}
    env: {A: "${fn:nope(2)}"}
    condition: "${a.output =}"
  - id: b
    agent: claude
    parameters:
      task: ok
      nested: {list: [1, "x ${fn:nope(3)}"]}
)");
  std::vector<std::string> h = heads(r);
  ASSERT_EQ(h.size(), 6u) << report(r);
  EXPECT_EQ(h[0], "flow.yaml:4:20: error: unknown function 'fn:nope'");
  EXPECT_EQ(h[1].rfind("flow.yaml:5:18: error: ", 0), 0u) << h[1];
  EXPECT_EQ(h[2].rfind("flow.yaml:6:14: error: ", 0), 0u) << h[2];
  EXPECT_EQ(h[3], "flow.yaml:7:17: error: unknown function 'fn:nope'");
  EXPECT_EQ(h[4].rfind("flow.yaml:8:", 0), 0u) << h[4];
  EXPECT_EQ(h[5], "flow.yaml:13:31: error: unknown function 'fn:nope'");
}

TEST(LoaderTest, ConditionsMayBeBareExpressions) {
  LoadResult r = load(R"(name: d
inputs: {mode: {default: quick}}
tasks:
  - {id: a, run: x}
  - {id: b, run: x, dependencies: [a], condition: "a.status == 'success' && mode != 'x'"}
  - {id: c, run: x, dependencies: [a], condition: "${a.exit_code == 0}"}
  - {id: d, run: x, dependencies: [a], condition: true}
)");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);
  EXPECT_EQ(r.workflow->tasks[3].condition, "true");
}

TEST(LoaderTest, ReferencesInBareConditionsArePlaced) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x}
  - {id: b, run: x}
  - id: c
    run: x
    dependencies: [a]
    condition: a.status == 'success' && b.output
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:8:41: error: task 'c' refers to 'b.output' but 'b' is "
                             "not upstream of it; add it to dependencies"}));
}

TEST(LoaderTest, DollarDollarIsALiteral) {
  LoadResult r = load("name: d\ntasks:\n  - {id: a, run: 'echo $${HOME} $HOME'}\n");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);
}

// ---------------------------------------------------------------------------
// References

TEST(LoaderTest, ReferenceToATaskThatIsNotUpstream) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x}
  - {id: b, run: x}
  - id: c
    run: echo ${b.output} ${a.output}
    dependencies: [a]
)");
  EXPECT_EQ(only(r),
            "flow.yaml:6:17: error: task 'c' refers to 'b.output' but 'b' is not upstream of it; "
            "add it to dependencies\n"
            "    run: echo ${b.output} ${a.output}\n"
            "                ^");
}

TEST(LoaderTest, TransitiveUpstreamIsEnough) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x}
  - {id: b, run: x, dependencies: [a]}
  - {id: c, run: 'echo ${a.output} ${a.outputs.x} ${b.status}', dependencies: [b]}
)");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);
}

TEST(LoaderTest, ReferenceToADownstreamTaskInACondition) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x, condition: "${b.status == 'success'}"}
  - {id: b, run: x, dependencies: [a]}
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:35: error: task 'a' refers to 'b.status' but 'b' is "
                             "not upstream of it; add it to dependencies"}));
}

TEST(LoaderTest, UnknownFieldOfATask) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x}
  - {id: b, run: 'echo ${a.outptu} ${a.exit_code}', dependencies: [a]}
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:4:26: error: unknown field 'outptu' of task 'a'; did "
                             "you mean 'output'?"}));
}

TEST(LoaderTest, ATaskCannotReferToItself) {
  LoadResult r = load("name: d\ntasks:\n  - {id: a, run: 'echo ${a.status}'}\n");
  EXPECT_EQ(heads(r),
            (Lines{"flow.yaml:3:26: error: task 'a' refers to its own result 'a.status'"}));
}

TEST(LoaderTest, UnknownNamesAreWarnings) {
  LoadResult r = load(R"(name: d
inputs: {mode: {default: quick}}
context: {variables: {project: p}}
tasks:
  - id: a
    run: echo ${mode} ${project} ${inputs.mode} ${variables.project} ${env.HOME} ${run.id}
  - id: b
    run: echo ${mdoe} ${inputs.nope} ${variables.nope}
)");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:8:17: warning: 'mdoe' is not a task, input or variable; did you mean 'mode'?",
          "flow.yaml:8:25: warning: input 'nope' is not declared in 'inputs'",
          "flow.yaml:8:40: warning: variable 'nope' is not in 'context.variables'",
      }));
}

TEST(LoaderTest, ProvidedInputsAreKnownNames) {
  LoadOptions options = default_options();
  options.provided_inputs["who"] = "me";
  LoadResult r = load("name: d\ntasks:\n  - {id: a, run: 'echo ${who} ${inputs.who}'}\n", options);
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);
}

TEST(LoaderTest, HooksMayReferToAnyTaskAndTheRun) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x}
  - {id: b, run: x}
hooks:
  on_complete:
    - run: echo ${run.status} ${a.output} ${b.exit_code}
  on_failure:
    - run: echo ${b.nope}
)");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:9:19: error: unknown field 'nope' of task 'b'"}));
}

TEST(LoaderTest, ReferencesInParametersAndEnvAreChecked) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x}
  - id: b
    agent: claude
    parameters: {task: "Use ${a.output}"}
    env: {X: "${a.status}"}
)");
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:6:31: error: task 'b' refers to 'a.output' but 'a' is not upstream of it; add "
          "it to dependencies",
          "flow.yaml:7:17: error: task 'b' refers to 'a.status' but 'a' is not upstream of it; add "
          "it to dependencies",
      }));
}

// ---------------------------------------------------------------------------
// Agents and roles

TEST(LoaderTest, UnknownAgentOrRole) {
  LoadResult r = load(R"(name: d
agents:
  reviewer: {use: [claude]}
tasks:
  - {id: a, agent: planer, description: x}
  - {id: b, agent: reviewr, description: x}
  - {id: c, agent: nobody, description: x}
  - {id: d, agent: codex, description: x}
  - {id: e, agent: planner, description: x}
  - {id: f, agent: reviewer, description: x}
)");
  EXPECT_EQ(heads(r),
            (Lines{
                "flow.yaml:5:20: error: unknown agent or role 'planer' in task 'a'; did you mean "
                "'planner'?",
                "flow.yaml:6:20: error: unknown agent or role 'reviewr' in task 'b'; did you mean "
                "'reviewer'?",
                "flow.yaml:7:20: error: unknown agent or role 'nobody' in task 'c'",
            }));
}

TEST(LoaderTest, RolesMustNameKnownAgents) {
  LoadResult r = load(R"(name: d
agents:
  a: {use: [claude, cluade]}
  b: {instructions: x}
  c: {use: []}
  d: plain
tasks:
  - {id: t, run: x}
)");
  EXPECT_EQ(heads(r),
            (Lines{
                "flow.yaml:3:21: error: unknown agent 'cluade' in role 'a'; did you mean 'claude'?",
                "flow.yaml:4:3: error: missing 'use' in role 'b'",
                "flow.yaml:5:12: error: 'use' is empty in role 'c'",
                "flow.yaml:6:6: error: expected a mapping for role 'd'",
            }));
}

TEST(LoaderTest, AgentTasksNeedAnInstruction) {
  LoadResult r = load("name: d\ntasks:\n  - {id: a, agent: claude}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:5: error: task 'a' gives its agent no instruction: add "
                             "'parameters.task' or 'description'"}));
}

// ---------------------------------------------------------------------------
// Inputs

const char* kInputs = R"(name: d
inputs:
  feature_name: {required: true}
  mode: {required: true, default: quick}
  extra: {required: false}
  flag: {required: maybe}
tasks:
  - {id: a, run: 'echo ${feature_name}'}
)";

TEST(LoaderTest, RequiredInputsAreCheckedWhenAsked) {
  EXPECT_EQ(heads(load(kInputs)),
            (Lines{"flow.yaml:6:20: error: expected true or false for 'required' in input "
                   "'flag'"}));
  std::string text = kInputs;
  text.erase(text.find("  flag"), text.find("tasks:") - text.find("  flag"));
  LoadResult r = load(text);
  ASSERT_TRUE(r.ok()) << report(r);
  LoadOptions options = default_options();
  options.check_required_inputs = true;
  r = load(text, options);
  EXPECT_EQ(only(r),
            "flow.yaml:3:3: error: missing required input 'feature_name': give it with -i "
            "feature_name=VALUE\n  feature_name: {required: true}\n  ^");
  options.provided_inputs["feature_name"] = "search";
  r = load(text, options);
  EXPECT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);
}

// ---------------------------------------------------------------------------
// Hooks

TEST(LoaderTest, HookIdsAndDependencies) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x}
hooks:
  on_success:
    - {id: same, run: x}
    - {id: same, run: y}
    - {run: z, dependencies: [a]}
  on_start: {run: x}
)");
  EXPECT_EQ(
      heads(r),
      (Lines{
          "flow.yaml:7:12: error: duplicate hook id 'same' in on_success (first defined at line 6)",
          "flow.yaml:8:16: error: hooks have no 'dependencies'; they run in order",
          "flow.yaml:9:13: error: expected a list for 'on_start' in hooks",
      }));
}

// ---------------------------------------------------------------------------
// Several errors at once, in file order

TEST(LoaderTest, EveryErrorAtOnceInFileOrder) {
  LoadResult r = load(R"(name: demo
tasks:
  - id: a
    run: 'true'
    dependecies: [b]
  - id: b
    run: 'true'
    dependencies: [c]
  - id: c
    run: echo ${fn:nope(a.output)}
    dependencies: [b]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r),
            (Lines{
                "flow.yaml:5:5: error: unknown key 'dependecies' in task 'a'; did you mean "
                "'dependencies'?",
                "flow.yaml:8:20: error: dependency cycle: b -> c -> b",
                "flow.yaml:10:17: error: unknown function 'fn:nope'",
            }));
}

// ---------------------------------------------------------------------------
// Syntax errors, JSON, and refused files

TEST(LoaderTest, InvalidYamlHasAPlaceAndACaret) {
  LoadResult r = load("name: demo\ntasks:\n  - id: [unclosed\n");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].format().rfind("flow.yaml:4:1: error: invalid YAML: ", 0), 0u)
      << report(r);
  r = load("name: demo\n  bad: indent\n");
  EXPECT_EQ(only(r),
            "flow.yaml:2:6: error: invalid YAML: mapping values are not allowed in this context\n  "
            "bad: indent\n     ^");
}

TEST(LoaderTest, AnUnquotedColonInAValueSaysHowToQuoteIt) {
  LoadResult r = load("name: demo\ntasks:\n  - id: a\n    run: echo a: b\n");
  EXPECT_EQ(only(r),
            "flow.yaml:4:16: error: invalid YAML: mapping values are not allowed in this context "
            "(an unquoted ': ' inside a "
            "value starts a mapping); quote the whole value: run: \"echo a: b\"\n"
            "    run: echo a: b\n"
            "               ^");
  // A value holding double quotes or backslashes is quoted with single quotes.
  r = load("name: demo\ntasks:\n  - id: a\n    run: echo \"it's\": \\n\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:4:21: error: invalid YAML: mapping values are not allowed "
                             "in this context (an unquoted "
                             "': ' inside a value starts a mapping); quote the whole value: run: "
                             "'echo \"it''s\": \\n'"}));
  r = load("name: demo\ntasks:\n  - run: echo a: b\n    id: a\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:16: error: invalid YAML: mapping values are not allowed "
                             "in this context (an unquoted "
                             "': ' inside a value starts a mapping); quote the whole value: run: "
                             "\"echo a: b\""}));
}

TEST(LoaderTest, ATabInTheIndentationIsNamed) {
  LoadResult r = load("name: demo\ntasks:\n\t- id: a\n\t  run: echo\n");
  EXPECT_EQ(only(r),
            "flow.yaml:3:1: error: invalid YAML: found character that cannot start any token; "
            "line 3 is indented with a tab: YAML indentation must be spaces\n"
            "\t- id: a\n"
            "^");
  r = load("name: demo\ntasks:\n  - id: a\n\trun: echo\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:4:1: error: invalid YAML: found a tab character that "
                             "violates indentation (while scanning a plain scalar at line 3); line "
                             "4 is indented with a tab: YAML indentation must be spaces"}));
}

// ---------------------------------------------------------------------------
// -i KEY=VALUE

TEST(LoaderTest, AnUndeclaredProvidedInputIsAnErrorWithASuggestion) {
  const std::string text =
      "name: d\ninputs: {name: {default: you}}\ncontext: {variables: {project: p}}\n"
      "tasks:\n  - {id: a, run: 'echo ${name} ${project} ${inputs.who}'}\n";
  LoadOptions options = default_options();
  options.provided_inputs["nmae"] = "me";
  LoadResult r = load(text, options);
  EXPECT_EQ(heads(r),
            (Lines{"flow.yaml: error: -i nmae: the workflow declares no input 'nmae'; did you mean "
                   "'name'? (declare it under 'inputs', or set 'settings.allow_extra_inputs: "
                   "true' to accept any)",
                   "flow.yaml:5:45: warning: input 'who' is not declared in 'inputs'"}));
  // Declared inputs, context.variables (which -i overrides) and names a template reads.
  options.provided_inputs = {{"name", "me"}, {"project", "q"}, {"who", "w"}};
  r = load(text, options);
  EXPECT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.diagnostics.empty()) << report(r);
}

TEST(LoaderTest, AllowExtraInputsAcceptsAnyProvidedInput) {
  LoadOptions options = default_options();
  options.provided_inputs["ticket"] = "T-1";
  LoadResult r = load(
      "name: d\nsettings: {allow_extra_inputs: true}\ntasks:\n  - {id: a, run: 'true'}\n", options);
  EXPECT_TRUE(r.ok()) << report(r);
  EXPECT_TRUE(r.workflow->settings.allow_extra_inputs);
  r = load("name: d\ntasks:\n  - {id: a, run: 'true'}\n", options);
  EXPECT_EQ(heads(r), (Lines{"flow.yaml: error: -i ticket: the workflow declares no input "
                             "'ticket' (declare it under 'inputs', or set "
                             "'settings.allow_extra_inputs: true' to accept any)"}));
}

const char* kJson = R"({
  "version": "1.0",
  "name": "feature",
  "description": "Plan, build and test a feature",
  "metadata": {"author": "me", "tags": ["demo"], "stars": 5},
  "inputs": {
    "feature_name": {"required": true, "description": "what to build"},
    "mode": {"default": "quick"},
    "level": {"default": 2}
  },
  "settings": {"max_parallel": 4, "timeout": "1h", "on_failure": "continue", "kill_grace": "5s"},
  "agents": {
    "planner": {"use": ["claude", "codex"], "instructions": "You plan; you do not edit code."},
    "solo": {"use": "gemini"}
  },
  "context": {
    "variables": {"project": "textstats", "depth": 3},
    "secrets": {"API_TOKEN": {"env": "API_TOKEN"}, "KEY": {"file": "/run/key"}}
  },
  "tasks": [
    {"id": "design", "agent": "planner", "model": "opus", "description": "Design it",
     "parameters": {"task": "Design ${feature_name}", "hints": ["a", "${mode}"], "n": 1},
     "outputs": {"plan": "the plan"}},
    {"id": "build", "run": "make -j2", "dependencies": ["design"],
     "retry": {"max_attempts": 3, "delay": "10s", "backoff": "exponential", "max_delay": "1m",
               "jitter": 0.2},
     "timeout": "30m", "on_failure": "retry"},
    {"id": "test", "run": ["ctest", "--output-on-failure"], "dependencies": ["build"],
     "condition": "${build.status == 'success'}",
     "env": {"CTEST_PARALLEL_LEVEL": "2", "WHO": "${design.agent}"},
     "workdir": "build", "on_failure": "skip"}
  ],
  "hooks": {
    "on_start": [{"run": "echo start"}],
    "on_failure": [{"run": "echo failed ${run.status}"},
                   {"id": "notify", "agent": "solo", "description": "tell"}],
    "on_success": [{"run": "echo ok ${test.status}"}],
    "on_complete": [{"run": "echo done"}]
  }
}
)";

// Everything of the model except places and the file's name and hash.
nlohmann::json model_json(const Workflow& wf) {
  auto task_json = [](const TaskSpec& t) {
    nlohmann::json j = {{"id", t.id},
                        {"agent", t.agent},
                        {"description", t.description()},
                        {"parameters", t.parameters()},
                        {"dependencies", t.dependencies},
                        {"condition", t.condition},
                        {"env", t.env()},
                        {"workdir", t.workdir()},
                        {"outputs", t.outputs()},
                        {"model", t.model()}};
    if (t.run_argv) j["run_argv"] = *t.run_argv;
    if (t.run_shell) j["run_shell"] = *t.run_shell;
    if (t.timeout_s) j["timeout"] = *t.timeout_s;
    if (t.on_failure) j["on_failure"] = static_cast<int>(*t.on_failure);
    if (t.retry()) {
      j["retry"] = {t.retry()->max_attempts, t.retry()->delay_s,
                    static_cast<int>(t.retry()->backoff), t.retry()->max_delay_s.value_or(-1),
                    t.retry()->jitter};
    }
    return j;
  };
  nlohmann::json j = {{"version", wf.version},
                      {"name", wf.name},
                      {"description", wf.description},
                      {"metadata", wf.metadata},
                      {"variables", wf.variables},
                      {"settings",
                       {wf.settings.max_parallel, wf.settings.timeout_s,
                        static_cast<int>(wf.settings.on_failure), wf.settings.kill_grace_s}}};
  for (const auto& [name, in] : wf.inputs) {
    j["inputs"][name] = {in.required, in.default_value.value_or(nullptr), in.description};
  }
  for (const auto& [name, role] : wf.agents) j["agents"][name] = {role.use, role.instructions};
  for (const auto& [name, s] : wf.secrets) j["secrets"][name] = {s.env, s.file};
  for (const TaskSpec& t : wf.tasks) j["tasks"].push_back(task_json(t));
  for (const auto* list :
       {&wf.hooks.on_start, &wf.hooks.on_success, &wf.hooks.on_failure, &wf.hooks.on_complete}) {
    nlohmann::json hooks = nlohmann::json::array();
    for (const TaskSpec& t : *list) hooks.push_back(task_json(t));
    j["hooks"].push_back(hooks);
  }
  return j;
}

TEST(LoaderTest, JsonGivesTheSameModelAsYaml) {
  LoadResult yaml = load(kFullExample);
  LoadResult json = load(kJson, default_options(), "flow.json");
  ASSERT_TRUE(yaml.ok()) << report(yaml);
  ASSERT_TRUE(json.ok()) << report(json);
  EXPECT_TRUE(json.diagnostics.empty()) << report(json);
  EXPECT_EQ(json.workflow->path, "flow.json");
  EXPECT_EQ(model_json(*json.workflow), model_json(*yaml.workflow));
  EXPECT_EQ(json.workflow->tasks[1].loc.line, 24);
}

TEST(LoaderTest, JsonErrorsHavePlaces) {
  LoadResult r =
      load("{\n  \"name\": \"x\",\n  \"tasks\": [\n    {\"id\": \"a\" \"run\": \"x\"}\n  ]\n}\n",
           default_options(), "flow.json");
  EXPECT_EQ(only(r),
            "flow.json:4:20: error: invalid JSON: syntax error while parsing object - unexpected "
            "string literal; expected '}'\n"
            "    {\"id\": \"a\" \"run\": \"x\"}\n"
            "                   ^");
  r = load("{\"name\": \"x\", \"tasks\": [{\"id\": \"a\", \"run\": \"x\", \"timeout\": \"5x\"}]}",
           default_options(), "flow.json");
  EXPECT_EQ(heads(r), (Lines{"flow.json:1:60: error: invalid duration '5x': expected a number of "
                             "seconds or a value like 30s, 10m, 1h"}));
}

TEST(LoaderTest, JsonWithTabsAndTemplateErrorsIsPlaced) {
  LoadResult r = load(
      "{\n\t\"name\": \"x\",\n\t\"tasks\": [{\"id\": \"a\", \"run\": \"echo "
      "\\\"${fn:nope(1)}\\\"\"}]\n}\n",
      default_options(), "flow.json");
  EXPECT_EQ(heads(r), (Lines{"flow.json:3:41: error: unknown function 'fn:nope'"}));
}

TEST(LoaderTest, JsonThatTheYamlParserDoesNotReadStillLoads) {
  // libyaml refuses surrogate pairs (\\ud83d\\ude00); nlohmann::json reads them. The
  // loader falls back to the JSON tree: the same model, without places.
  LoadResult r = load(R"({"name": "x", "description": "smile \ud83d\ude00",
      "settings": {"max_parallel": 2, "timeout": 1e2},
      "inputs": {"i": {"required": false, "default": [1, 2.5, null, true]}},
      "tasks": [{"id": "a", "run": ["echo", "${i}"], "retry": {"jitter": 0.5}}]})",
                      default_options(), "flow.json");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->description, "smile \xF0\x9F\x98\x80");
  EXPECT_EQ(r.workflow->settings.max_parallel, 2);
  EXPECT_EQ(r.workflow->settings.timeout_s, 100);
  EXPECT_EQ(r.workflow->inputs.at("i").default_value,
            nlohmann::json::parse("[1, 2.5, null, true]"));
  EXPECT_EQ(r.workflow->tasks[0].run_argv, (std::vector<std::string>{"echo", "${i}"}));
  EXPECT_EQ(r.workflow->tasks[0].retry()->jitter, 0.5);
  r = load(R"({"name": "\ud83d\ude00", "tasks": [{"id": "a", "run": "${fn:nope(1)}"}]})",
           default_options(), "flow.json");
  EXPECT_EQ(heads(r), (Lines{"flow.json: error: unknown function 'fn:nope'"}));
}

TEST(LoaderTest, DeepNestingDoesNotCrash) {
  std::string deep(100000, '[');
  LoadResult r = load(deep);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("invalid YAML"), std::string::npos) << report(r);

  std::string dashes = "name: x\ntasks:\n";
  for (int i = 0; i < 100000; ++i) dashes += "- ";
  dashes += "x\n";
  r = load(dashes);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message,
            "invalid YAML: nesting is too deep (the limit is 2000 levels)");

  r = load(deep, default_options(), "flow.json");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("invalid JSON"), std::string::npos) << report(r);

  // Valid, deeply nested JSON in a parameter.
  std::string nested = std::string(50000, '[') + std::string(50000, ']');
  r = load(
      "{\"name\": \"x\", \"tasks\": [{\"id\": \"a\", \"run\": \"x\", \"parameters\": {\"p\": " +
          nested + "}}]}",
      default_options(), "flow.json");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("nesting is too deep"), std::string::npos) << report(r);
}

TEST(LoaderTest, RecursiveAndExplodingAliasesAreRefused) {
  LoadResult r = load("name: d\ntasks:\n  - {id: a, run: x, parameters: &p {task: t, self: *p}}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:33: error: the value of 'parameters' in task 'a' "
                             "contains itself through an alias (line 3)"}));
  // A cycle below anchors of large values: the YAML builder's alias limit cannot count
  // *s3 inside &s3 (not complete yet), so only the cycle check stops it. Written out
  // until 1000 levels deep, this 2 KB file stood for about 1.4 GB of strings.
  std::string cyclic = "name: d\nmetadata:\n  s0: &s0 \"" + std::string(1500, 'x') +
                       "\"\n"
                       "  s1: &s1 [*s0, *s0, *s0, *s0, *s0, *s0, *s0, *s0, *s0, *s0]\n"
                       "  s2: &s2 [*s1, *s1, *s1, *s1, *s1, *s1, *s1, *s1, *s1, *s1]\n"
                       "  s3: &s3 [*s2, *s2, *s2, *s2, *s2, *s2, *s3, *s2, *s2, *s2]\n"
                       "tasks:\n  - {id: a, run: x, parameters: {big: [*s2, *s3]}}\n";
  r = load(cyclic);
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:3: error: the value of 'metadata' contains itself "
                             "through an alias (line 6)",
                             "flow.yaml:8:33: error: the value of 'parameters' in task 'a' "
                             "contains itself through an alias (line 6)"}));
  // An anchor reached twice side by side is no cycle.
  r = load("name: d\ntasks:\n  - {id: a, run: x, parameters: {p: &p [1, {q: 2}], r: [*p, *p]}}\n");
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->tasks[0].parameters().dump(),
            R"({"p":[1,{"q":2}],"r":[[1,{"q":2}],[1,{"q":2}]]})");
  // Deep through aliases without a cycle: past kMaxJsonDepth, while each anchor stays
  // within the YAML parser's own nesting limit.
  r = load("name: d\nmetadata:\n  d0: &d0 " + std::string(400, '[') + std::string(400, ']') +
           "\n  d1: &d1 " + std::string(400, '[') + "*d0" + std::string(400, ']') +
           "\ntasks:\n  - {id: a, run: x, parameters: {p: " + std::string(300, '[') + "*d1" +
           std::string(300, ']') + "}}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:6:33: error: the value of 'parameters' in task 'a' "
                             "nests deeper than 1000 levels"}));
  // More values than the file's budget, without an alias (a 2 MB file).
  std::string many = "name: d\ntasks:\n  - {id: a, run: x, parameters: {p: [0";
  for (size_t i = 0; i < kMaxJsonValues; ++i) many += ",0";
  r = load(many + "]}}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:33: error: the value of 'parameters' in task 'a' "
                             "takes the file's values past 1000000"}));
  // "Billion laughs": ten levels of ten aliases each.
  std::string text = "name: d\nmetadata:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    text += "  l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  text += "tasks:\n  - {id: a, run: x}\n";
  r = load(text);
  ASSERT_EQ(r.diagnostics.size(), 1u) << report(r);
  // Refused while parsing, at the alias that takes the bytes materialized through
  // aliases past kMaxAliasBytes: the 7th of line 9 (each *l5 stands for 2111111 bytes).
  EXPECT_EQ(r.diagnostics[0].loc.line, 9);
  EXPECT_EQ(r.diagnostics[0].loc.column, 42);
  EXPECT_EQ(r.diagnostics[0].message,
            "alias *l5 stands for 2111111 bytes; with the aliases before it the file would "
            "materialize more than 16777216 bytes through aliases (the limit)");
}

TEST(LoaderTest, AnAliasedTemplateIsCheckedOnceAndItsErrorReportedOnce) {
  // One anchored scalar reached four times in one task's parameters: one error at its
  // place, not four.
  LoadResult r = load(
      "name: d\ntasks:\n  - id: a\n    run: x\n    parameters:\n      p: &p \"${nope\"\n"
      "      q: [*p, *p, *p]\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:6:14: error: unterminated '${'"}));
  // Each task still checks it: a reference is valid or not per task (here `b` is a
  // dependency of `c` only).
  r = load(
      "name: d\nmetadata: {m: &m \"${b.output}\"}\ntasks:\n  - {id: b, run: x}\n"
      "  - {id: a, run: x, parameters: {p: *m, q: [*m, *m]}}\n"
      "  - {id: c, run: x, dependencies: [b], parameters: {p: *m}}\n");
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:2:21: error: task 'a' refers to 'b.output' but 'b' is "
                             "not upstream of it; add it to dependencies"}));
}

TEST(LoaderTest, RefusedTexts) {
  EXPECT_EQ(only(load("")), "flow.yaml: error: the file is empty");
  EXPECT_EQ(only(load(std::string("name: x\n\0\x01", 10))),
            "flow.yaml: error: not a text file (NUL byte at offset 8)");
  EXPECT_EQ(only(load("name: \xff\n")),
            "flow.yaml: error: not a text file (invalid UTF-8 at offset 6)");
  std::string big(kMaxSourceBytes + 1, '#');
  EXPECT_EQ(only(load(big)), "flow.yaml: error: file is 16777217 bytes; the limit is 16777216");
}

TEST(LoaderTest, UnreadableFiles) {
  LoadResult r = load_workflow_file("/nonexistent/flow.yaml", default_options());
  EXPECT_EQ(only(r), "/nonexistent/flow.yaml: error: cannot read: No such file or directory");
  r = load_workflow_file("/tmp", default_options());
  EXPECT_EQ(only(r), "/tmp: error: cannot read: Is a directory");
}

TEST(LoaderTest, JsonFileFromDisk) {
  char dir_template[] = "/tmp/baton-loader-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/flow.json";
  std::ofstream(path) << kJson;
  LoadResult r = load_workflow_file(path, default_options());
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_EQ(r.workflow->path, path);
  EXPECT_EQ(r.workflow->source_sha256, sha256_hex(kJson));
  std::filesystem::remove_all(dir_template);
}

TEST(LoaderTest, ExampleWorkflowOfTheRepositoryLoads) {
  LoadResult r = load_workflow_file(
      std::string(BATON_SOURCE_DIR) + "/examples/textstats/workflow.yaml", default_options());
  ASSERT_TRUE(r.ok()) << report(r);
  EXPECT_FALSE(has_errors(r.diagnostics)) << report(r);
}

// --- values in shell run strings and workdir (issue 12) ---------------------------

TEST(LoaderTest, ShellRunRefusesUnplaceableValuesAndWarnsAtRaw) {
  LoadResult r = load(R"(name: d
inputs: {v: {}}
tasks:
  - id: a
    run: echo `echo ${v}` ${fn:raw(v)}
hooks:
  on_failure: [{run: "cat <<EOF\n${v}\nEOF"}]
)");
  const std::string why =
      " in a shell command; pass it as an environment variable (env:) or use the list form of "
      "'run'";
  EXPECT_EQ(heads(r),
            (Lines{"flow.yaml:5:21: error: a value cannot be placed safely inside backquotes "
                   "(use $(...) instead)" +
                       why,
                   "flow.yaml:7:34: error: a value cannot be placed safely inside a "
                   "here-document" +
                       why}));
  LoadResult raw = load("name: d\ninputs: {v: {}}\ntasks:\n  - id: a\n    run: cc ${fn:raw(v)}\n");
  EXPECT_EQ(heads(raw),
            (Lines{"flow.yaml:5:13: warning: fn:raw inserts its value into the shell "
                   "command unquoted: whoever controls the value controls the command"}));
  EXPECT_TRUE(raw.ok());
}

TEST(LoaderTest, LiteralWorkdirOutsideTheProjectIsAnError) {
  LoadResult r = load(R"(name: d
tasks:
  - {id: a, run: x, workdir: /etc}
  - {id: b, run: x, workdir: sub/../..}
  - {id: c, run: x, workdir: sub/..}
  - {id: d, run: x, workdir: "${where}"}
)");
  const std::string why =
      " is outside the task's directory: give a path inside the project (relative to its "
      "root, without leaving it through '..')";
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:30: error: workdir '/etc' of task 'a'" + why,
                             "flow.yaml:4:30: error: workdir 'sub/../..' of task 'b'" + why,
                             "flow.yaml:6:33: warning: 'where' is not a task, input or variable"}));
}

}  // namespace
}  // namespace baton::workflow
