// Rehearsal environments: variables, arguments and config files per agent CLI; the
// files parse (JSON with nlohmann, TOML by a small reader of the subset written).
#include "agents/rehearsal_env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agents/custom.h"

namespace baton::agents {
namespace {

const std::string kBase = "http://127.0.0.1:4567";
const std::string kKey = "baton-rehearse:build:codex:1";
const std::string kHome = "/tmp/rehearse-home";

RehearsalEnv env_for(const std::string& agent, const std::string& model = "mock-model") {
  auto env = rehearsal_env(agent, kBase, kKey, kHome, model);
  EXPECT_TRUE(env.has_value()) << agent << ": " << (env ? "" : env.error().message);
  return env ? *env : RehearsalEnv{};
}

std::string file(const RehearsalEnv& env, const std::string& path) {
  for (const auto& [p, content] : env.files) {
    if (p == path) return content;
  }
  ADD_FAILURE() << "no file " << path;
  return "";
}

// The TOML subset config.toml uses: [table.name] headers and key = value lines
// (strings, booleans, integers). Returns "table.key" -> raw value; fails the test on
// any other line.
std::map<std::string, std::string> read_toml(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, table;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[') {
      EXPECT_EQ(line.back(), ']') << line;
      table = line.substr(1, line.size() - 2);
      continue;
    }
    size_t eq = line.find(" = ");
    EXPECT_NE(eq, std::string::npos) << line;
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 3);
    bool ok = value == "true" || value == "false" ||
              value.find_first_not_of("0123456789") == std::string::npos ||
              (value.size() >= 2 && value.front() == '"' && value.back() == '"' &&
               value.find('"', 1) == value.size() - 1);
    EXPECT_TRUE(ok) << "not a TOML value: " << line;
    EXPECT_FALSE(out.count((table.empty() ? "" : table + ".") + key)) << "duplicate " << key;
    out[(table.empty() ? "" : table + ".") + key] = value;
  }
  return out;
}

TEST(RehearsalEnvTest, EveryCliGetsAnIsolatedHome) {
  for (const char* agent :
       {"claude", "codex", "gemini", "qwen", "opencode", "kilocode", "copilot"}) {
    RehearsalEnv env = env_for(agent);
    EXPECT_EQ(env.env.at("HOME"), kHome) << agent;
    EXPECT_EQ(env.env.at("XDG_CONFIG_HOME"), kHome + "/.config") << agent;
    EXPECT_EQ(env.env.at("TMPDIR"), kHome + "/.tmp") << agent;
    EXPECT_NE(std::find(env.dirs.begin(), env.dirs.end(), kHome + "/.tmp"), env.dirs.end());
    for (const auto& [path, content] : env.files) {
      EXPECT_EQ(path.rfind(kHome + "/", 0), 0u) << agent << " writes outside HOME: " << path;
    }
  }
}

TEST(RehearsalEnvTest, Claude) {
  RehearsalEnv env = env_for("claude");
  EXPECT_EQ(env.env.at("ANTHROPIC_BASE_URL"), kBase);
  EXPECT_EQ(env.env.at("ANTHROPIC_API_KEY"), kKey);
  EXPECT_EQ(env.env.at("CLAUDE_CODE_MAX_RETRIES"), "2");
  EXPECT_GT(std::stoi(env.env.at("API_TIMEOUT_MS")), 0);
  EXPECT_EQ(env.env.at("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"), "1");
  EXPECT_EQ(env.extra_args, (std::vector<std::string>{"--model", "mock-model"}));
}

TEST(RehearsalEnvTest, CodexConfigTomlNamesTheProvider) {
  RehearsalEnv env = env_for("codex");
  EXPECT_EQ(env.env.at("CODEX_HOME"), kHome + "/.codex");
  EXPECT_EQ(env.env.at("BATON_REHEARSE_KEY"), kKey);
  auto toml = read_toml(file(env, kHome + "/.codex/config.toml"));
  EXPECT_EQ(toml["model_provider"], "\"rehearse\"");
  EXPECT_EQ(toml["model"], "\"mock-model\"");
  EXPECT_EQ(toml["check_for_update_on_startup"], "false");
  EXPECT_EQ(toml["model_providers.rehearse.base_url"], "\"" + kBase + "/v1\"");
  EXPECT_EQ(toml["model_providers.rehearse.wire_api"], "\"responses\"");
  EXPECT_EQ(toml["model_providers.rehearse.env_key"], "\"BATON_REHEARSE_KEY\"");
  EXPECT_EQ(toml["model_providers.rehearse.name"], "\"baton rehearsal\"");
  EXPECT_EQ(toml["analytics.enabled"], "false");
}

TEST(RehearsalEnvTest, CodexModelNameIsEscapedInToml) {
  RehearsalEnv env = env_for("codex", "we\"ird\\model");
  auto text = file(env, kHome + "/.codex/config.toml");
  EXPECT_NE(text.find("model = \"we\\\"ird\\\\model\"\n"), std::string::npos) << text;
}

TEST(RehearsalEnvTest, GeminiSettingsSelectTheApiKeyAuth) {
  RehearsalEnv env = env_for("gemini");
  EXPECT_EQ(env.env.at("GOOGLE_GEMINI_BASE_URL"), kBase);
  EXPECT_EQ(env.env.at("GEMINI_API_KEY"), kKey);
  auto settings = nlohmann::json::parse(file(env, kHome + "/.gemini/settings.json"));
  EXPECT_EQ(settings["security"]["auth"]["selectedType"], "gemini-api-key");
  EXPECT_EQ(settings["general"]["enableAutoUpdate"], false);
  EXPECT_EQ(env.extra_args, (std::vector<std::string>{"-m", "mock-model"}));
}

TEST(RehearsalEnvTest, QwenUsesTheOpenAiAuthType) {
  RehearsalEnv env = env_for("qwen");
  EXPECT_EQ(env.env.at("OPENAI_BASE_URL"), kBase + "/v1");
  EXPECT_EQ(env.env.at("OPENAI_API_KEY"), kKey);
  EXPECT_EQ(env.env.at("OPENAI_MODEL"), "mock-model");
  EXPECT_EQ(env.extra_args, (std::vector<std::string>{"--auth-type", "openai"}));
  auto settings = nlohmann::json::parse(file(env, kHome + "/.qwen/settings.json"));
  EXPECT_TRUE(settings.is_object());
}

TEST(RehearsalEnvTest, OpencodeAndKiloConfigContent) {
  RehearsalEnv oc = env_for("opencode");
  auto config = nlohmann::json::parse(oc.env.at("OPENCODE_CONFIG_CONTENT"));
  const auto& provider = config["provider"]["rehearse"];
  EXPECT_EQ(provider["npm"], "@ai-sdk/openai-compatible");
  EXPECT_EQ(provider["options"]["baseURL"], kBase + "/v1");
  EXPECT_EQ(provider["options"]["apiKey"], kKey);
  EXPECT_EQ(provider["models"]["mock-model"]["tool_call"], true);
  EXPECT_EQ(config["model"], "rehearse/mock-model");
  EXPECT_EQ(config["permission"]["edit"], "allow");
  EXPECT_EQ(config["snapshot"], false);
  EXPECT_EQ(oc.env.at("OPENCODE_DISABLE_MODELS_FETCH"), "1");
  EXPECT_EQ(oc.env.at("OPENCODE_DISABLE_AUTOUPDATE"), "1");

  RehearsalEnv kilo = env_for("kilocode");
  auto kconfig = nlohmann::json::parse(kilo.env.at("KILO_CONFIG_CONTENT"));
  EXPECT_EQ(kconfig["enabled_providers"], nlohmann::json::array({"rehearse"}));
  EXPECT_EQ(kconfig["provider"]["rehearse"]["options"]["baseURL"], kBase + "/v1");
  EXPECT_EQ(kilo.env.at("KILO_TELEMETRY_LEVEL"), "off");
  EXPECT_EQ(kilo.env.at("KILO_NO_DAEMON"), "1");
  EXPECT_FALSE(kilo.env.count("OPENCODE_CONFIG_CONTENT"));
}

TEST(RehearsalEnvTest, CopilotIsOfflineWithAProvider) {
  RehearsalEnv env = env_for("copilot");
  EXPECT_EQ(env.env.at("COPILOT_PROVIDER_BASE_URL"), kBase + "/v1");
  EXPECT_EQ(env.env.at("COPILOT_PROVIDER_API_KEY"), kKey);
  EXPECT_EQ(env.env.at("COPILOT_MODEL"), "mock-model");
  EXPECT_EQ(env.env.at("COPILOT_OFFLINE"), "true");
  EXPECT_EQ(env.env.at("COPILOT_HOME"), kHome + "/.copilot");
}

TEST(RehearsalEnvTest, DefaultModelAndTrailingSlashes) {
  auto env = rehearsal_env("codex", kBase + "/", kKey, kHome + "/", "");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->env.at("CODEX_HOME"), kHome + "/.codex");
  auto toml = read_toml(file(*env, kHome + "/.codex/config.toml"));
  EXPECT_EQ(toml["model"], "\"baton-rehearse\"");
  EXPECT_EQ(toml["model_providers.rehearse.base_url"], "\"" + kBase + "/v1\"");
}

TEST(RehearsalEnvTest, AgentsThatCannotBeRehearsed) {
  auto auggie = rehearsal_env("auggie", kBase, kKey, kHome, "");
  ASSERT_FALSE(auggie);
  EXPECT_NE(auggie.error().message.find("agent 'auggie' cannot be rehearsed"), std::string::npos);
  EXPECT_FALSE(rehearsal_env("cursor", kBase, kKey, kHome, ""));
  EXPECT_FALSE(rehearsal_env("nope", kBase, kKey, kHome, ""));
  EXPECT_FALSE(rehearsal_env("claude", kBase, kKey, "relative/home", ""));
  EXPECT_FALSE(rehearsal_env("claude", "https://api.example.com", kKey, kHome, ""));
}

TEST(RehearsalEnvTest, CustomAgentsGetTheServerInEnvironmentVariables) {
  CustomAgentSpec spec;
  spec.command = {"cat"};
  ASSERT_TRUE(register_custom_agent("rehearsed-custom", spec));
  RehearsalEnv env = env_for("rehearsed-custom");
  EXPECT_EQ(env.env.at("BATON_REHEARSE_BASE_URL"), kBase);
  EXPECT_EQ(env.env.at("BATON_REHEARSE_KEY"), kKey);
  EXPECT_EQ(env.env.at("OPENAI_BASE_URL"), kBase + "/v1");
}

TEST(RehearsalEnvTest, ApplyAndWriteFiles) {
  char tmpl[] = "/tmp/baton-rehearsal-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string home = tmpl;
  auto env = rehearsal_env("gemini", kBase, kKey, home, "m");
  ASSERT_TRUE(env);
  Command cmd;
  cmd.argv = {"gemini", "--yolo"};
  cmd.env = {{"HOME", "/root"}, {"KEEP", "1"}};
  apply_rehearsal(*env, &cmd);
  EXPECT_EQ(cmd.argv, (std::vector<std::string>{"gemini", "--yolo", "-m", "m"}));
  EXPECT_EQ(cmd.env.at("HOME"), home);
  EXPECT_EQ(cmd.env.at("KEEP"), "1");
  ASSERT_TRUE(write_rehearsal_files(*env));
  EXPECT_TRUE(std::filesystem::is_directory(home + "/.tmp"));
  std::string path = home + "/.gemini/settings.json";
  std::ifstream in(path);
  auto settings = nlohmann::json::parse(in, nullptr, false);
  EXPECT_EQ(settings["security"]["auth"]["selectedType"], "gemini-api-key");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(home);

  RehearsalEnv bad;
  bad.files.emplace_back("/proc/baton-cannot-write-here/x", "y");
  auto written = write_rehearsal_files(bad);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("/proc/baton-cannot-write-here"), std::string::npos);
}

}  // namespace
}  // namespace baton::agents
