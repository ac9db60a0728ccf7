// Tests of the concurrency keys: settings.agent_limits, a role's max_concurrent, and
// agent_limits of .baton/config.yaml; how the loader merges them; their errors.
#include <gtest/gtest.h>

#include "workflow/config.h"
#include "workflow/loader.h"

namespace baton::workflow {
namespace {

LoadOptions options() {
  LoadOptions o;
  o.known_agents = {"claude", "codex", "gemini"};
  return o;
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

TEST(AgentLimitsKeysTest, SettingsAndRolesAreRead) {
  LoadResult r = load_workflow_text(R"(name: x
settings:
  agent_limits: {claude: 2, codex: 1}
agents:
  coder: {use: [claude, codex], max_concurrent: 1}
  reviewer: {use: claude}
tasks:
  - {id: a, agent: coder, description: hi}
)",
                                    "flow.yaml", options());
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  const Settings& s = r.workflow->settings;
  EXPECT_EQ(s.agent_limits, (std::map<std::string, int>{{"claude", 2}, {"codex", 1}}));
  EXPECT_EQ(s.role_limits, (std::map<std::string, int>{{"coder", 1}}));
  EXPECT_EQ(r.workflow->agents.at("coder").max_concurrent, 1);
  EXPECT_FALSE(r.workflow->agents.at("reviewer").max_concurrent.has_value());
}

TEST(AgentLimitsKeysTest, TheFileOverridesTheConfigAgentByAgentAndRoleByRole) {
  LoadOptions o = options();
  o.config_agent_limits = {{"claude", 4}, {"codex", 3}};
  RoleSpec coder;
  coder.name = "coder";
  coder.use = {"claude"};
  coder.max_concurrent = 2;
  RoleSpec planner = coder;
  planner.name = "planner";
  planner.max_concurrent = 5;
  o.config_roles = {{"coder", coder}, {"planner", planner}};
  LoadResult r = load_workflow_text(R"(name: x
settings: {agent_limits: {claude: 1}}
agents:
  coder: {use: claude}
tasks:
  - {id: a, agent: planner, description: hi}
  - {id: b, agent: coder, description: hi}
)",
                                    "flow.yaml", o);
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  const Settings& s = r.workflow->settings;
  EXPECT_EQ(s.agent_limits, (std::map<std::string, int>{{"claude", 1}, {"codex", 3}}));
  // The file's coder (no limit) replaces the config's; the config's planner keeps its.
  EXPECT_EQ(s.role_limits, (std::map<std::string, int>{{"planner", 5}}));
}

TEST(AgentLimitsKeysTest, ZeroNegativeAndNonNumbersAreErrorsAtTheirPlace) {
  LoadResult r = load_workflow_text(R"(name: x
settings:
  agent_limits: {claude: 0, codex: -2, gemini: 1.5}
agents:
  coder: {use: claude, max_concurrent: 0}
  tester: {use: claude, max_concurrent: many}
tasks:
  - {id: a, agent: coder, description: hi}
)",
                                    "flow.yaml", options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(heads(r), (std::vector<std::string>{
                          "flow.yaml:3:26: error: 'claude' in 'agent_limits' in settings must be "
                          "at least 1",
                          "flow.yaml:3:36: error: 'codex' in 'agent_limits' in settings must be "
                          "at least 1",
                          "flow.yaml:3:48: error: expected a whole number for 'gemini' in "
                          "'agent_limits' in settings",
                          "flow.yaml:5:40: error: 'max_concurrent' in role 'coder' must be at "
                          "least 1",
                          "flow.yaml:6:41: error: expected a whole number for 'max_concurrent' "
                          "in role 'tester'",
                      }));
}

TEST(AgentLimitsKeysTest, AnUnknownAgentInAgentLimitsIsAnError) {
  LoadResult r = load_workflow_text(
      "name: x\nsettings:\n  agent_limits: {claud: 1}\ntasks: [{id: a, run: 'true'}]\n",
      "flow.yaml", options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(heads(r), (std::vector<std::string>{
                          "flow.yaml:3:18: error: unknown agent 'claud' in 'agent_limits' in "
                          "settings; did you mean 'claude'?"}));
}

TEST(AgentLimitsKeysTest, AgentLimitsMustBeAMapping) {
  LoadResult r = load_workflow_text("name: x\nsettings: {agent_limits: [claude]}\ntasks: []\n",
                                    "flow.yaml", options());
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(heads(r).empty());
  EXPECT_EQ(heads(r)[0],
            "flow.yaml:2:26: error: expected a mapping (agent: attempts at once) for "
            "'agent_limits' in settings");
}

TEST(AgentLimitsKeysTest, ConfigReadsAgentLimitsAndRoleLimits) {
  Result<Config> c = load_config_text(R"(agent_limits: {claude: 2, codex: 1}
agents:
  coder: {use: [claude, codex], max_concurrent: 1}
)",
                                      "config.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->agent_limits, (std::map<std::string, int>{{"claude", 2}, {"codex", 1}}));
  EXPECT_EQ(c->roles.at("coder").max_concurrent, 1);
}

TEST(AgentLimitsKeysTest, ConfigRefusesALimitBelowOne) {
  Result<Config> c = load_config_text("agent_limits:\n  claude: -1\n", "config.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message,
            "config.yaml:2:11: 'claude' in 'agent_limits' at the top level must be at least 1");
  c = load_config_text("agents:\n  coder: {use: claude, max_concurrent: 0}\n", "config.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message,
            "config.yaml:2:40: 'max_concurrent' in role 'coder' must be at least 1");
}

}  // namespace
}  // namespace baton::workflow
