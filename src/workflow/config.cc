#include "workflow/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>

#include "workflow/duration.h"
#include "workflow/scalar_position.h"
#include "workflow/source.h"
#include "workflow/yaml_reader.h"

namespace baton::workflow {
namespace {

const std::vector<std::string> kConfigKeys = {
    "agents", "custom_agents", "webhooks", "agent_limits", "single_agent", "single_agent_pause"};
const std::vector<std::string> kCustomAgentKeys = {"command", "prompt", "answer",
                                                   "env",     "a2a",    "http_job"};
const std::vector<std::string> kHttpJobKeys = {"profile",   "url",        "assistant_id",
                                               "input_key", "output_key", "auth"};
const std::vector<std::string> kA2aKeys = {"url", "auth"};
const std::vector<std::string> kA2aAuthKeys = {"bearer", "header", "env"};
const std::vector<std::string> kEnvRefKeys = {"env"};
const std::vector<std::string> kAnswerKeys = {"regex", "json_path"};

// a2a: {url: URL, auth: {bearer: {env: NAME}} | {header: NAME, env: VAR}}. Secrets
// are named by environment variable only: an inline token is an error.
void read_a2a(const YamlEntry& entry, const std::string& where, DiagnosticSink& sink,
              CustomAgentDef* def) {
  if (!entry.value.IsMap()) {
    sink.error(entry.value_loc(), "expected a mapping {url, auth} for 'a2a'" + where);
    return;
  }
  auto scalar = [&](const YamlEntry& e, const std::string& what, std::string* out) {
    if (!e.value.IsScalar() || e.value.Scalar().empty()) {
      sink.error(e.value_loc(), "expected a non-empty string for '" + what + "'" + where);
      return;
    }
    *out = e.value.Scalar();
  };
  for (const YamlEntry& e : map_entries(entry.value, &kA2aKeys, where, sink)) {
    if (e.key == "url") {
      scalar(e, "a2a.url", &def->a2a_url);
      if (!def->a2a_url.empty() && def->a2a_url.rfind("http://", 0) != 0 &&
          def->a2a_url.rfind("https://", 0) != 0) {
        sink.error(e.value_loc(), "expected an http:// or https:// URL for 'a2a.url'" + where);
      }
      continue;
    }
    if (!e.value.IsMap()) {
      sink.error(
          e.value_loc(),
          "expected {bearer: {env: NAME}} or {header: NAME, env: VAR} for 'a2a.auth'" + where);
      continue;
    }
    for (const YamlEntry& a : map_entries(e.value, &kA2aAuthKeys, where, sink)) {
      if (a.key == "header") scalar(a, "a2a.auth.header", &def->a2a_header);
      if (a.key == "env") scalar(a, "a2a.auth.env", &def->a2a_header_env);
      if (a.key == "bearer") {
        if (!a.value.IsMap()) {
          sink.error(a.value_loc(),
                     "expected {env: NAME} for 'a2a.auth.bearer' (a secret is "
                     "named by its environment variable, never written here)" +
                         where);
          continue;
        }
        for (const YamlEntry& b : map_entries(a.value, &kEnvRefKeys, where, sink)) {
          scalar(b, "a2a.auth.bearer.env", &def->a2a_bearer_env);
        }
      }
    }
    if (def->a2a_header.empty() != def->a2a_header_env.empty()) {
      sink.error(e.value_loc(), "expected both 'header' and 'env' in 'a2a.auth'" + where);
    }
  }
  if (def->a2a_url.empty()) sink.error(entry.value_loc(), "missing 'a2a.url'" + where);
}

// The place of every value under NODE (a profile mapping), by its JSON pointer below
// POINTER, into LOCS.
void collect_locs(const YamlNode& node, const std::string& pointer,
                  std::map<std::string, SourceLoc>* locs) {
  (*locs)[pointer] = loc_of(node.Mark());
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      std::string key;
      for (char c : it->first.Scalar())
        key += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
      collect_locs(it->second, pointer + "/" + key, locs);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      collect_locs(node[i], pointer + "/" + std::to_string(i), locs);
  }
}

// http_job: {profile: NAME | {extends: NAME, ...fields}, url: URL, assistant_id, input_key,
// output_key, auth: {env: NAME}}. The secret is named by environment variable only: an inline token
// is an error.
void read_http_job(const YamlEntry& entry, const std::string& agent, const std::string& where,
                   DiagnosticSink& sink, CustomAgentDef* def) {
  def->http_job_loc = entry.value_loc();
  if (!entry.value.IsMap()) {
    sink.error(entry.value_loc(),
               "expected a mapping {profile, url, assistant_id, auth} for 'http_job'" + where);
    return;
  }
  auto scalar = [&](const YamlEntry& e, std::string* out) {
    if (!e.value.IsScalar() || e.value.Scalar().empty()) {
      sink.error(e.value_loc(), "expected a non-empty string for 'http_job." + e.key + "'" + where);
      return;
    }
    *out = e.value.Scalar();
  };
  for (const YamlEntry& e : map_entries(entry.value, &kHttpJobKeys, where, sink)) {
    if (e.key == "profile" && e.value.IsMap()) {
      // A profile declared here (docs/httpjob.md): kept as JSON, checked at registration.
      def->http_job_loc = e.value_loc();
      size_t budget = 100000;
      std::optional<nlohmann::json> doc = yaml_to_json(e.value, &budget);
      if (!doc) {
        sink.error(e.value_loc(), "'http_job.profile' is too large or too deep" + where);
        continue;
      }
      def->http_job_profile_doc = std::move(*doc);
      collect_locs(e.value, "", &def->http_job_profile_locs);
      def->http_job_profile = agent;  // a declared profile is named after its agent
    } else if (e.key == "profile") {
      def->http_job_loc = e.value_loc();
      scalar(e, &def->http_job_profile);
    } else if (e.key == "url") {
      scalar(e, &def->http_job_url);
      if (!def->http_job_url.empty() && def->http_job_url.rfind("http://", 0) != 0) {
        sink.error(e.value_loc(), "expected an http:// URL for 'http_job.url'" + where);
      }
    } else if (e.key == "assistant_id") {
      scalar(e, &def->http_job_assistant_id);
    } else if (e.key == "input_key") {
      scalar(e, &def->http_job_input_key);
    } else if (e.key == "output_key") {
      scalar(e, &def->http_job_output_key);
    } else if (e.key == "auth") {
      if (!e.value.IsMap()) {
        sink.error(e.value_loc(),
                   "expected {env: NAME} for 'http_job.auth' (a secret is named by its "
                   "environment variable, never written here)" +
                       where);
        continue;
      }
      for (const YamlEntry& a : map_entries(e.value, &kEnvRefKeys, where, sink)) {
        if (!a.value.IsScalar() || a.value.Scalar().empty()) {
          sink.error(a.value_loc(), "expected a non-empty string for 'http_job.auth.env'" + where);
          continue;
        }
        def->http_job_auth_env = a.value.Scalar();
      }
    }
  }
  if (def->http_job_profile.empty()) {
    sink.error(entry.value_loc(), "missing 'http_job.profile'" + where);
    def->http_job_profile = "?";  // still an http_job agent: no second "missing command"
  }
  if (def->http_job_url.empty()) sink.error(entry.value_loc(), "missing 'http_job.url'" + where);
}

// One entry of custom_agents: {command: [argv], prompt, answer: {regex | json_path}, env}.
void read_custom_agent(const YamlEntry& entry, DiagnosticSink& sink, CustomAgentDef* def) {
  def->loc = loc_of(entry.key_node.Mark());
  const std::string where = " in custom agent '" + entry.key + "'";
  if (!entry.value.IsMap()) {
    sink.error(entry.value_loc(), "expected a mapping for custom agent '" + entry.key + "'");
    return;
  }
  auto scalar = [&](const YamlEntry& e, std::string* out) {
    if (!e.value.IsScalar()) {
      sink.error(e.value_loc(), "expected a string for '" + e.key + "'" + where);
      return false;
    }
    *out = e.value.Scalar();
    return true;
  };
  bool has_command = false;
  bool has_a2a = false;
  bool has_http_job = false;
  for (const YamlEntry& e : map_entries(entry.value, &kCustomAgentKeys, where, sink)) {
    if (e.key == "command") {
      has_command = true;
      bool good = e.value.IsSequence() && e.value.size() > 0;
      for (size_t i = 0; good && i < e.value.size(); ++i) {
        good = e.value[i].IsScalar() && !e.value[i].Scalar().empty();
        if (good) def->command.push_back(e.value[i].Scalar());
      }
      if (!good) {
        sink.error(e.value_loc(),
                   "expected a list of non-empty strings (argv) for 'command'" + where);
      }
    } else if (e.key == "prompt") {
      if (scalar(e, &def->prompt) && def->prompt != "stdin" && def->prompt != "arg") {
        sink.error(e.value_loc(), "expected 'stdin' or 'arg' for 'prompt'" + where);
      }
    } else if (e.key == "answer") {
      if (!e.value.IsMap() || e.value.size() != 1) {
        sink.error(e.value_loc(), "expected {regex: ...} or {json_path: ...} for 'answer'" + where);
        continue;
      }
      for (const YamlEntry& a : map_entries(e.value, &kAnswerKeys, where, sink)) {
        scalar(a, a.key == "regex" ? &def->answer_regex : &def->answer_json_path);
      }
    } else if (e.key == "a2a") {
      has_a2a = true;
      read_a2a(e, where, sink, def);
    } else if (e.key == "http_job") {
      has_http_job = true;
      read_http_job(e, entry.key, where, sink, def);
    } else if (e.key == "env") {
      if (!e.value.IsMap()) {
        sink.error(e.value_loc(), "expected a mapping for 'env'" + where);
        continue;
      }
      for (const YamlEntry& v : map_entries(e.value, nullptr, where, sink)) {
        std::string value;
        if (scalar(v, &value)) def->env[v.key] = value;
      }
    }
  }
  int kinds = int(has_command) + int(has_a2a) + int(has_http_job);
  if (kinds > 1) {
    sink.error(entry.value_loc(), "give one of 'command', 'a2a' or 'http_job'" + where);
  } else if (kinds == 0) {
    sink.error(entry.value_loc(), "missing 'command' (or 'a2a', 'http_job')" + where);
  }
}

// "PATH:LINE:COL: MESSAGE" for each error, one a line.
std::string error_lines(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (d.severity != Severity::kError) continue;
    if (!out.empty()) out += "\n";
    out += d.file;
    if (d.loc.line > 0)
      out += ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column);
    out += ": " + d.message;
  }
  return out;
}

}  // namespace

Result<Config> load_config(const std::string& path) {
  Result<std::string> text = read_source_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return Config{};
    return fail(path + ": " + text.error().message, text.error().code);
  }
  return load_config_text(*text, path);
}

Result<Config> load_config_text(const std::string& text, const std::string& file_name) {
  Config config;
  if (text.empty()) return config;
  if (Result<void> checked = check_source_text(text); !checked) {
    return fail(file_name + ": " + checked.error().message);
  }
  SourceText source(text);
  DiagnosticSink sink(file_name, &source);
  try {
    YamlTree tree;
    try {
      tree = YamlTree::parse(text);
    } catch (const AliasLimitError& e) {
      sink.error(loc_of(e.mark), e.msg);
      return fail(error_lines(sink.diagnostics()));
    } catch (const YAML::Exception& e) {
      sink.error(loc_of(e.mark), "invalid YAML: " + e.msg);
      return fail(error_lines(sink.diagnostics()));
    }
    YamlNode root = tree.root();
    if (root.IsNull()) return config;  // only comments
    if (!root.IsMap()) {
      sink.error(loc_of(root.Mark()), "expected a mapping at the top level");
      return fail(error_lines(sink.diagnostics()));
    }
    for (const YamlEntry& e : map_entries(root, &kConfigKeys, " at the top level", sink)) {
      if (e.value.IsNull()) continue;
      if (e.key == "webhooks") {
        read_webhooks(e.value, sink, &config.webhooks);
        continue;
      }
      if (e.key == "agent_limits") {
        read_agent_limits(e, " at the top level", sink, &config.agent_limits);
        continue;
      }
      if (e.key == "single_agent") {  // docs/review.md, "Single-agent mode"
        if (e.value.IsScalar() && (e.value.Scalar() == "true" || e.value.Scalar() == "false")) {
          config.single_agent = e.value.Scalar() == "true";
        } else {
          sink.error(e.value_loc(), "expected true or false for 'single_agent' at the top level");
        }
        continue;
      }
      if (e.key == "single_agent_pause") {
        auto pause = e.value.IsScalar() ? parse_duration(e.value.Scalar())
                                        : Result<double>(fail("expected a duration"));
        if (pause) {
          config.single_agent_pause_s = *pause;
        } else {
          sink.error(e.value_loc(), pause.error().message + " for 'single_agent_pause'");
        }
        continue;
      }
      if (!e.value.IsMap()) {
        sink.error(e.value_loc(), "expected a mapping for '" + e.key + "'");
        continue;
      }
      if (e.key == "custom_agents") {
        for (const YamlEntry& item : map_entries(e.value, nullptr, " in custom_agents", sink)) {
          read_custom_agent(item, sink, &config.custom_agents[item.key]);
        }
        continue;
      }
      for (const YamlEntry& item : map_entries(e.value, nullptr, " in agents", sink)) {
        RoleSpec role;
        RolePlaces places;
        read_role(item, sink, &role, &places);
        config.roles[item.key] = std::move(role);
      }
    }
  } catch (const std::exception& e) {
    return fail(file_name + ": cannot load: " + e.what());
  }
  if (sink.has_errors()) return fail(error_lines(sink.diagnostics()));
  return config;
}

}  // namespace baton::workflow
