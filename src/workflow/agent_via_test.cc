// `agent: {use: NAME, via: cli|acp, permission: POLICY}`: the mapping form of a task's
// agent (docs/agents.md, "Agents over ACP") and its diagnostics.
#include <gtest/gtest.h>

#include "workflow/loader.h"

namespace baton::workflow {
namespace {

LoadResult load(const std::string& text) {
  LoadOptions options;
  options.known_agents = {"auggie", "claude", "gemini", "qwen"};
  RoleSpec coder;
  coder.name = "coder";
  coder.use = {"gemini", "auggie"};
  options.config_roles["coder"] = coder;
  return load_workflow_text(text, "flow.yaml", options);
}

TEST(AgentViaTest, TheMappingFormSetsAgentViaAndPermission) {
  LoadResult r = load(R"(name: w
tasks:
  - {id: a, agent: {use: gemini, via: acp, permission: deny}, parameters: {task: x}}
  - {id: b, agent: {use: qwen, via: acp}, parameters: {task: x}}
  - {id: c, agent: {use: gemini}, parameters: {task: x}}
  - {id: d, agent: gemini, parameters: {task: x}}
)");
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  const auto& t = r.workflow->tasks;
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].agent, "gemini");
  EXPECT_EQ(t[0].agent_via(), AgentVia::kAcp);
  EXPECT_EQ(t[0].acp_permission(), "deny");
  EXPECT_EQ(acp_permission_of(t[1], nullptr), "allow-worktree");
  EXPECT_EQ(t[1].agent_via(), AgentVia::kAcp);
  EXPECT_EQ(t[1].acp_permission(), "");
  EXPECT_EQ(t[2].agent_via(), std::nullopt);
  EXPECT_EQ(agent_via_of(t[2], nullptr), AgentVia::kCli);
  EXPECT_EQ(agent_via_of(t[3], nullptr), AgentVia::kCli);
}

TEST(AgentViaTest, BadValuesAreErrorsWithTheirPlace) {
  LoadResult r = load(R"(name: w
tasks:
  - {id: a, agent: {use: gemini, via: ssh}, parameters: {task: x}}
  - {id: b, agent: {use: gemini, permission: maybe}, parameters: {task: x}}
  - {id: c, agent: {use: gemini, how: acp}, parameters: {task: x}}
  - {id: d, agent: {use: coder, via: acp}, parameters: {task: x}}
)");
  std::string all = format_all(r.diagnostics);
  EXPECT_NE(all.find("flow.yaml:3:39: error: invalid value 'ssh' for 'via' in 'agent' in task 'a': "
                     "expected cli or acp"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("flow.yaml:4:46: error: invalid value 'maybe' for 'permission' in 'agent' in "
                     "task 'b': expected allow-worktree, allow-all or deny"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("flow.yaml:5:34: error: unknown key 'how' in 'agent' in task 'c'"),
            std::string::npos)
      << all;
  // A role whose agents include one that does not speak ACP.
  EXPECT_NE(all.find("flow.yaml:6:26: error: agent 'auggie' of task 'd' cannot be driven over ACP"),
            std::string::npos)
      << all;
}

TEST(AgentViaTest, ARoleSetsViaAndPermissionForItsTasks) {
  LoadResult r = load(R"(name: w
agents:
  fixer: {use: [qwen, gemini], via: acp, permission: allow-all}
tasks:
  - {id: a, agent: fixer, parameters: {task: x}}
  - {id: b, agent: {use: fixer, via: cli, permission: deny}, parameters: {task: x}}
)");
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  const RoleSpec& fixer = r.workflow->agents.at("fixer");
  EXPECT_EQ(fixer.via, AgentVia::kAcp);
  const auto& t = r.workflow->tasks;
  EXPECT_EQ(agent_via_of(t[0], &fixer), AgentVia::kAcp);
  EXPECT_EQ(acp_permission_of(t[0], &fixer), "allow-all");
  EXPECT_EQ(agent_via_of(t[1], &fixer), AgentVia::kCli);  // the task's own wins
  EXPECT_EQ(acp_permission_of(t[1], &fixer), "deny");
  LoadResult bad = load(R"(name: w
agents:
  a: {use: gemini, via: pipe}
  b: {use: [gemini, auggie], via: acp}
tasks:
  - {id: t, agent: b, parameters: {task: x}}
)");
  std::string all = format_all(bad.diagnostics);
  EXPECT_NE(all.find("flow.yaml:3:25: error: invalid value 'pipe' for 'via' in role 'a': expected "
                     "cli or acp"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("agent 'auggie' of task 't' cannot be driven over ACP"), std::string::npos)
      << all;
}

TEST(AgentViaTest, AcpInAContainerSandboxIsAnError) {
  LoadResult r = load(R"(name: w
tasks:
  - {id: a, agent: {use: gemini, via: acp}, sandbox: docker, parameters: {task: x}}
  - {id: b, agent: {use: gemini, via: acp}, sandbox: bwrap, parameters: {task: x}}
)");
  std::string all = format_all(r.diagnostics);
  EXPECT_NE(all.find("flow.yaml:3:26: error: task 'a' drives its agent over ACP, which cannot run "
                     "in a docker sandbox yet (the bridge, baton itself, is not in the image): use "
                     "sandbox bwrap or none, or via: cli"),
            std::string::npos)
      << all;
  EXPECT_EQ(r.diagnostics.size(), 1u) << all;
}

}  // namespace
}  // namespace baton::workflow
