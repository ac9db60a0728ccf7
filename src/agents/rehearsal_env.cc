// How each CLI is pointed at a local server; measured with the versions pinned in
// package.json (see docs/rehearsal.md and issue 3).
#include "agents/rehearsal_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "agents/builtin.h"
#include "agents/custom.h"

namespace baton::agents {

namespace {

constexpr const char* kDefaultModel = "baton-rehearse";

// A TOML basic string: quoted, with '"', '\' and control characters escaped.
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Every CLI: HOME, TMPDIR and the XDG directories under HOME_DIR, so nothing of the
// user's own configuration, credentials or caches is read or written. TMPDIR matters
// to Codex too: it refuses to create its sandbox helper (codex-linux-sandbox, an
// alias of itself under CODEX_HOME) when CODEX_HOME is under the temporary
// directory, and then every command fails in bubblewrap ("execvp
// codex-linux-sandbox: No such file or directory") while the run still exits 0.
void isolate_home(const std::string& home, RehearsalEnv* out) {
  out->env["HOME"] = home;
  out->env["TMPDIR"] = home + "/.tmp";
  out->dirs.push_back(home + "/.tmp");
  out->env["XDG_CONFIG_HOME"] = home + "/.config";
  out->env["XDG_DATA_HOME"] = home + "/.local/share";
  out->env["XDG_STATE_HOME"] = home + "/.local/state";
  out->env["XDG_CACHE_HOME"] = home + "/.cache";
  out->env["NO_UPDATE_NOTIFIER"] = "1";
}

// Claude Code: ANTHROPIC_BASE_URL is the server root (it appends /v1/messages).
// It retries 500/429 ten times over about three minutes unless bounded.
void claude_env(const std::string& base, const std::string& key, const std::string& model,
                RehearsalEnv* out) {
  out->env["ANTHROPIC_BASE_URL"] = base;
  out->env["ANTHROPIC_API_KEY"] = key;
  out->env["CLAUDE_CODE_MAX_RETRIES"] = "2";
  out->env["API_TIMEOUT_MS"] = "60000";
  out->env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
  out->env["DISABLE_TELEMETRY"] = "1";
  out->env["DISABLE_ERROR_REPORTING"] = "1";
  out->env["DISABLE_AUTOUPDATER"] = "1";
  out->extra_args = {"--model", model};
}

// Codex: a provider in $CODEX_HOME/config.toml; only wire_api = "responses" is
// accepted by 0.169 ("chat" is rejected). The key is read from env_key.
void codex_env(const std::string& home, const std::string& base, const std::string& key,
               const std::string& model, RehearsalEnv* out) {
  std::string codex_home = home + "/.codex";
  out->env["CODEX_HOME"] = codex_home;
  out->env["BATON_REHEARSE_KEY"] = key;
  std::string toml = "# Written by baton for a rehearsal: the scripted model server.\n";
  toml += "model = " + toml_string(model) + "\n";
  toml += "model_provider = \"rehearse\"\n";
  toml += "check_for_update_on_startup = false\n";
  toml += "\n[model_providers.rehearse]\n";
  toml += "name = \"baton rehearsal\"\n";
  toml += "base_url = " + toml_string(base + "/v1") + "\n";
  toml += "wire_api = \"responses\"\n";
  toml += "env_key = \"BATON_REHEARSE_KEY\"\n";
  toml += "request_max_retries = 2\n";
  toml += "stream_max_retries = 2\n";
  toml += "stream_idle_timeout_ms = 60000\n";
  toml += "\n[analytics]\nenabled = false\n";
  out->files.emplace_back(codex_home + "/config.toml", toml);
}

// Gemini CLI: GOOGLE_GEMINI_BASE_URL is honoured only with the API-key auth type
// selected in settings; without -m it first asks a router model.
void gemini_env(const std::string& home, const std::string& base, const std::string& key,
                const std::string& model, RehearsalEnv* out) {
  out->env["GOOGLE_GEMINI_BASE_URL"] = base;
  out->env["GEMINI_API_KEY"] = key;
  out->env["GEMINI_CLI_TRUST_WORKSPACE"] = "true";
  nlohmann::json settings = {
      {"security", {{"auth", {{"selectedType", "gemini-api-key"}}}}},
      // maxAttempts: 3 requests per model call instead of 10 with backoff.
      {"general",
       {{"enableAutoUpdate", false}, {"enableAutoUpdateNotification", false}, {"maxAttempts", 3}}},
      {"privacy", {{"usageStatisticsEnabled", false}}},
      {"telemetry", {{"enabled", false}}},
  };
  out->files.emplace_back(home + "/.gemini/settings.json", settings.dump(2) + "\n");
  out->extra_args = {"-m", model};
}

// Qwen Code: the OpenAI auth type with OPENAI_* variables.
void qwen_env(const std::string& home, const std::string& base, const std::string& key,
              const std::string& model, RehearsalEnv* out) {
  out->env["OPENAI_BASE_URL"] = base + "/v1";
  out->env["OPENAI_API_KEY"] = key;
  out->env["OPENAI_MODEL"] = model;
  // model.generationConfig.maxRetries bounds its rate-limit retries (else 10, the
  // first after 60 s); its 5xx retries are fixed at 7 attempts over about 100 s.
  nlohmann::json settings = {
      {"general", {{"enableAutoUpdate", false}}},
      {"privacy", {{"usageStatisticsEnabled", false}}},
      {"telemetry", {{"enabled", false}}},
      {"model", {{"generationConfig", {{"maxRetries", 1}}}}},
  };
  out->files.emplace_back(home + "/.qwen/settings.json", settings.dump(2) + "\n");
  out->extra_args = {"--auth-type", "openai"};
}

// opencode and Kilo: an OpenAI-compatible provider (`@ai-sdk/openai-compatible`,
// built in, with options.baseURL) in the config given inline, snapshots off.
nlohmann::json opencode_config(const std::string& base, const std::string& key,
                               const std::string& model) {
  return {
      {"provider",
       {{"rehearse",
         {{"npm", "@ai-sdk/openai-compatible"},
          {"name", "baton rehearsal"},
          {"options", {{"baseURL", base + "/v1"}, {"apiKey", key}}},
          {"models", {{model, {{"name", model}, {"tool_call", true}}}}}}}}},
      {"model", "rehearse/" + model},
      {"small_model", "rehearse/" + model},
      {"autoupdate", false},
      {"share", "disabled"},
      // Snapshots (for undo) add the whole work tree to a git repository under
      // HOME after every step: 20 s and more when HOME is inside the project, as
      // baton's rehearsal homes are.
      {"snapshot", false},
      {"permission",
       {{"edit", "allow"},
        {"bash", "allow"},
        {"webfetch", "allow"},
        {"external_directory", "allow"}}},
  };
}

void opencode_env(const std::string& base, const std::string& key, const std::string& model,
                  RehearsalEnv* out) {
  out->env["OPENCODE_CONFIG_CONTENT"] = opencode_config(base, key, model).dump();
  for (const char* name : {"OPENCODE_DISABLE_MODELS_FETCH", "OPENCODE_DISABLE_AUTOUPDATE",
                           "OPENCODE_DISABLE_LSP_DOWNLOAD", "OPENCODE_DISABLE_SHARE",
                           "OPENCODE_DISABLE_DEFAULT_PLUGINS", "OPENCODE_DISABLE_CLAUDE_CODE"}) {
    out->env[name] = "1";
  }
}

void kilo_env(const std::string& base, const std::string& key, const std::string& model,
              RehearsalEnv* out) {
  nlohmann::json config = opencode_config(base, key, model);
  config["enabled_providers"] = {"rehearse"};
  out->env["KILO_CONFIG_CONTENT"] = config.dump();
  for (const char* name :
       {"KILO_DISABLE_MODELS_FETCH", "KILO_DISABLE_AUTOUPDATE", "KILO_DISABLE_LSP_DOWNLOAD",
        "KILO_DISABLE_SHARE", "KILO_DISABLE_DEFAULT_PLUGINS", "KILO_DISABLE_CLAUDE_CODE",
        "KILO_DISABLE_CODEBASE_INDEXING", "KILO_DISABLE_SESSION_INGEST", "KILO_DISABLE_PRESENCE"}) {
    out->env[name] = "1";
  }
  out->env["KILO_TELEMETRY_LEVEL"] = "off";
  out->env["KILO_NO_DAEMON"] = "1";
  out->env["KILO_SESSION_RETRY_LIMIT"] = "2";
}

// Copilot CLI: a BYOK provider; offline mode skips GitHub sign-in and telemetry.
void copilot_env(const std::string& home, const std::string& base, const std::string& key,
                 const std::string& model, RehearsalEnv* out) {
  out->env["COPILOT_PROVIDER_BASE_URL"] = base + "/v1";
  out->env["COPILOT_PROVIDER_API_KEY"] = key;
  out->env["COPILOT_MODEL"] = model;
  out->env["COPILOT_OFFLINE"] = "true";
  out->env["COPILOT_AUTO_UPDATE"] = "false";
  out->env["COPILOT_HOME"] = home + "/.copilot";
}

void custom_env(const std::string& base, const std::string& key, const std::string& model,
                RehearsalEnv* out) {
  out->env["BATON_REHEARSE_BASE_URL"] = base;
  out->env["BATON_REHEARSE_KEY"] = key;
  out->env["BATON_REHEARSE_MODEL"] = model;
  out->env["OPENAI_BASE_URL"] = base + "/v1";
  out->env["OPENAI_API_KEY"] = key;
  out->env["ANTHROPIC_BASE_URL"] = base;
  out->env["ANTHROPIC_API_KEY"] = key;
  out->env["GOOGLE_GEMINI_BASE_URL"] = base;
  out->env["GEMINI_API_KEY"] = key;
}

}  // namespace

Result<RehearsalEnv> rehearsal_env(const std::string& agent, const std::string& base_url,
                                   const std::string& api_key, const std::string& home_dir,
                                   const std::string& model) {
  if (agent == "auggie" || agent == "cursor") {
    return fail("agent '" + agent +
                "' cannot be rehearsed: it talks only to its vendor's own service and cannot "
                "be pointed at a local model server");
  }
  if (!builtin_invoker(agent) && !is_custom_agent(agent)) {
    return fail("agent '" + agent + "' cannot be rehearsed: unknown agent");
  }
  if (home_dir.empty() || home_dir.front() != '/') {
    return fail("rehearsal home '" + home_dir + "' is not an absolute path");
  }
  if (base_url.rfind("http://", 0) != 0) {
    return fail("rehearsal server '" + base_url + "' is not an http:// URL");
  }
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string home = home_dir;
  while (home.size() > 1 && home.back() == '/') home.pop_back();
  std::string m = model.empty() ? kDefaultModel : model;

  RehearsalEnv out;
  isolate_home(home, &out);
  if (agent == "claude") {
    claude_env(base, api_key, m, &out);
  } else if (agent == "codex") {
    codex_env(home, base, api_key, m, &out);
  } else if (agent == "gemini") {
    gemini_env(home, base, api_key, m, &out);
  } else if (agent == "qwen") {
    qwen_env(home, base, api_key, m, &out);
  } else if (agent == "opencode") {
    opencode_env(base, api_key, m, &out);
  } else if (agent == "kilocode") {
    kilo_env(base, api_key, m, &out);
  } else if (agent == "copilot") {
    copilot_env(home, base, api_key, m, &out);
  } else {
    custom_env(base, api_key, m, &out);
  }
  return out;
}

void apply_rehearsal(const RehearsalEnv& rehearsal, Command* command) {
  command->argv.insert(command->argv.end(), rehearsal.extra_args.begin(),
                       rehearsal.extra_args.end());
  for (const auto& [name, value] : rehearsal.env) command->env[name] = value;
}

Result<void> write_rehearsal_files(const RehearsalEnv& rehearsal) {
  for (const std::string& dir : rehearsal.dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("cannot create " + dir + ": " + ec.message(), ec.value());
    ::chmod(dir.c_str(), 0700);
  }
  for (const auto& [path, content] : rehearsal.files) {
    std::error_code ec;
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::filesystem::create_directories(parent, ec);
    if (ec) return fail("cannot create " + parent.string() + ": " + ec.message(), ec.value());
    ::chmod(parent.c_str(), 0700);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return tl::unexpected(Error::from_errno("cannot write " + path, errno));
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return tl::unexpected(Error::from_errno("cannot write " + path, err));
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) return tl::unexpected(Error::from_errno("cannot write " + path, errno));
  }
  return ok();
}

}  // namespace baton::agents
