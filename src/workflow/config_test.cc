// Tests of .baton/config.yaml loading, with real files in a scratch directory.
#include "workflow/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace baton::workflow {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/baton-config-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    std::string path = dir_ + "/config.yaml";
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigTest, MissingFileIsAnEmptyConfig) {
  Result<Config> c = load_config(dir_ + "/nope.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->roles.empty());
}

TEST_F(ConfigTest, ReadsRoles) {
  std::string path = write(R"(# baton configuration
agents:
  planner:
    use: [claude, codex]
    instructions: "You plan the work."
  coder:
    use: codex
  empty_instructions: {use: [claude], instructions: ""}
)");
  Result<Config> c = load_config(path);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  ASSERT_EQ(c->roles.size(), 3u);
  const RoleSpec& planner = c->roles.at("planner");
  EXPECT_EQ(planner.name, "planner");
  EXPECT_EQ(planner.use, (std::vector<std::string>{"claude", "codex"}));
  EXPECT_EQ(planner.instructions, "You plan the work.");
  EXPECT_EQ(planner.loc.line, 3);
  EXPECT_EQ(planner.loc.column, 3);
  EXPECT_EQ(c->roles.at("coder").use, (std::vector<std::string>{"codex"}));
  EXPECT_EQ(c->roles.at("empty_instructions").instructions, "");
}

TEST_F(ConfigTest, EmptyOrCommentOnlyFilesAreEmptyConfigs) {
  for (const char* text : {"", "# nothing yet\n", "agents:\n"}) {
    Result<Config> c = load_config(write(text));
    ASSERT_TRUE(c.has_value()) << text << ": " << c.error().message;
    EXPECT_TRUE(c->roles.empty());
  }
}

TEST_F(ConfigTest, BadYamlIsAnErrorWithAPlace) {
  std::string path = write("agents:\n  planner: {use: [claude\n");
  Result<Config> c = load_config(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message.rfind(path + ":3:1: invalid YAML: ", 0), 0u) << c.error().message;
}

TEST_F(ConfigTest, UnknownKeysAndWrongTypesAreErrors) {
  std::string path = write(R"(agnets: {}
agents:
  planner: {use: [claude], instrutions: x}
  coder: {}
  checker: {use: {a: 1}}
  list: [claude]
)");
  Result<Config> c = load_config(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message,
            path + ":1:1: unknown key 'agnets' at the top level; did you mean 'agents'?\n" + path +
                ":3:28: unknown key 'instrutions' in role 'planner'; did you mean "
                "'instructions'?\n" +
                path + ":4:3: missing 'use' in role 'coder'\n" + path +
                ":5:18: expected a list of agents for 'use' in role 'checker'\n" + path +
                ":6:9: expected a mapping for role 'list'");
}

TEST_F(ConfigTest, TopLevelMustBeAMapping) {
  std::string path = write("- a\n");
  Result<Config> c = load_config(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, path + ":1:1: expected a mapping at the top level");
}

TEST_F(ConfigTest, BinaryAndUnreadableFilesAreErrors) {
  std::string path = write(std::string("agents:\0", 8));
  Result<Config> c = load_config(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, path + ": not a text file (NUL byte at offset 7)");
  c = load_config(dir_);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, dir_ + ": cannot read: Is a directory");
}

TEST(ConfigTextTest, NamesTheFileGiven) {
  Result<Config> c = load_config_text("agents: 3\n", "cfg.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, "cfg.yaml:1:9: expected a mapping for 'agents'");
}

}  // namespace
}  // namespace baton::workflow

namespace baton::workflow {
namespace {

TEST(ConfigA2aTest, RemoteAgentsNameTheirSecretsByVariable) {
  auto c = load_config_text(R"(custom_agents:
  svc:
    a2a: {url: "http://127.0.0.1:8080/", auth: {bearer: {env: TOKEN}}}
  keyed:
    a2a: {url: "http://127.0.0.1:8080/", auth: {header: X-API-Key, env: KEY}}
)",
                            "c.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->custom_agents["svc"].a2a_url, "http://127.0.0.1:8080/");
  EXPECT_EQ(c->custom_agents["svc"].a2a_bearer_env, "TOKEN");
  EXPECT_EQ(c->custom_agents["keyed"].a2a_header, "X-API-Key");
  EXPECT_EQ(c->custom_agents["keyed"].a2a_header_env, "KEY");
}

TEST(ConfigA2aTest, BadRemoteAgentsAreErrorsWithAPlace) {
  auto error = [](const std::string& text) {
    auto c = load_config_text(text, "c.yaml");
    return c ? std::string("(loaded)") : c.error().message;
  };
  EXPECT_EQ(error("custom_agents:\n  s:\n    a2a: {url: \"http://h/\", auth: {bearer: tok}}\n"),
            "c.yaml:3:44: expected {env: NAME} for 'a2a.auth.bearer' (a secret is named by its "
            "environment variable, never written here) in custom agent 's'");
  EXPECT_EQ(error("custom_agents:\n  s:\n    a2a: {url: \"ftp://h/\"}\n"),
            "c.yaml:3:16: expected an http:// or https:// URL for 'a2a.url' in custom agent 's'");
  EXPECT_EQ(error("custom_agents:\n  s:\n    a2a: {auth: {header: X}}\n"),
            "c.yaml:3:17: expected both 'header' and 'env' in 'a2a.auth' in custom agent 's'\n"
            "c.yaml:3:10: missing 'a2a.url' in custom agent 's'");
  EXPECT_EQ(error("custom_agents:\n  s:\n    command: [x]\n    a2a: {url: \"http://h/\"}\n"),
            "c.yaml:3:5: give one of 'command', 'a2a' or 'http_job' in custom agent 's'");
}

TEST(ConfigHttpJobTest, HostedAgentsAreReadWithTheirPlaces) {
  auto c = load_config_text(R"(custom_agents:
  graph:
    http_job: {profile: langgraph, url: "http://127.0.0.1:2024", assistant_id: agent,
               input_key: prompt, output_key: output, auth: {env: LG_KEY}}
)",
                            "c.yaml");
  ASSERT_TRUE(c) << c.error().message;
  const CustomAgentDef& d = c->custom_agents["graph"];
  EXPECT_EQ(d.http_job_profile, "langgraph");
  EXPECT_EQ(d.http_job_url, "http://127.0.0.1:2024");
  EXPECT_EQ(d.http_job_assistant_id, "agent");
  EXPECT_EQ(d.http_job_input_key, "prompt");
  EXPECT_EQ(d.http_job_output_key, "output");
  EXPECT_EQ(d.http_job_auth_env, "LG_KEY");
  EXPECT_EQ(d.http_job_loc.line, 3);
  EXPECT_EQ(d.http_job_loc.column, 25);  // the profile's value: where its errors point
}

TEST(ConfigHttpJobTest, ADeclaredProfileIsKeptAsJsonWithThePlacesOfItsValues) {
  auto c = load_config_text(R"(custom_agents:
  crew2:
    http_job:
      url: "http://127.0.0.1:1"
      profile:
        extends: crewai
        create: {path: /v2/jobs, body: {n: 3, quoted: "3", gone: null}}
)",
                            "c.yaml");
  ASSERT_TRUE(c) << c.error().message;
  const CustomAgentDef& d = c->custom_agents["crew2"];
  EXPECT_EQ(d.http_job_profile, "crew2");  // named after its agent
  EXPECT_EQ(d.http_job_profile_doc,
            nlohmann::json::parse(R"({"extends": "crewai", "create": {"path": "/v2/jobs",
                "body": {"n": 3, "quoted": "3", "gone": null}}})"));
  EXPECT_EQ(d.http_job_profile_locs.at("").line, 6);
  EXPECT_EQ(d.http_job_profile_locs.at("/create/path").line, 7);
  EXPECT_EQ(d.http_job_profile_locs.at("/create/path").column, 24);
  EXPECT_EQ(d.http_job_loc.line, 6);
}

TEST(ConfigHttpJobTest, BadHostedAgentsAreErrorsWithAPlace) {
  auto error = [](const std::string& text) {
    auto c = load_config_text(text, "c.yaml");
    return c ? std::string("(loaded)") : c.error().message;
  };
  EXPECT_EQ(error("custom_agents:\n  s:\n    http_job: {profile: crewai, url: \"http://h\", "
                  "auth: tok}\n"),
            "c.yaml:3:56: expected {env: NAME} for 'http_job.auth' (a secret is named by its "
            "environment variable, never written here) in custom agent 's'");
  EXPECT_EQ(error("custom_agents:\n  s:\n    http_job: {url: \"http://h\"}\n"),
            "c.yaml:3:15: missing 'http_job.profile' in custom agent 's'");
  EXPECT_EQ(error("custom_agents:\n  s:\n    http_job: {profile: crewai, url: \"https://h\"}\n"),
            "c.yaml:3:38: expected an http:// URL for 'http_job.url' in custom agent 's'");
  EXPECT_EQ(error("custom_agents:\n  s:\n    http_job: [x]\n"),
            "c.yaml:3:15: expected a mapping {profile, url, assistant_id, auth} for 'http_job' in "
            "custom agent 's'");
}

}  // namespace
}  // namespace baton::workflow
