// .baton/config.yaml: the project's roles, written by `baton init`.
//
//   agents:
//     planner:
//       use: [claude, codex]          # agents in preference order (a single name is allowed)
//       instructions: "You plan the work."
//       max_concurrent: 1             # attempts of this role's tasks at once (optional)
//   custom_agents:                    # command lines run like agent CLIs (agents/custom.h)
//     summarizer:
//       command: [python3, summarize.py]  # argv, required
//       prompt: stdin                 # stdin (default) or arg ("{prompt}" in an argument)
//       answer: {regex: "ANSWER: (.*)"}   # or {json_path: result.text}; default: stdout
//       env: {STYLE: short}
//     reviewer-svc:                   # a remote agent over A2A (a2a/invoker.h), instead of command
//       a2a: {url: http://127.0.0.1:8080/, auth: {bearer: {env: TOKEN}}}  # or {header: H, env: V}
//     researcher:                     # a hosted runtime's job API (httpjob/invoker.h,
//     docs/httpjob.md)
//       http_job: {profile: langgraph, url: http://127.0.0.1:2024, assistant_id: agent, auth: {env:
//       KEY}}
//   agent_limits: {claude: 2, codex: 1}  # attempts of an agent running at once (docs/agents.md)
//   single_agent: true                # one agent implements and reviews (docs/review.md)
//   single_agent_pause: 30s           # before such a review
//   webhooks:                         # endpoints (workflow/webhook_config.h, docs/webhooks.md)
//     - {url: http://127.0.0.1:9000/hook, events: [run.failed], secret: {env: HOOK_SECRET}}
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"
#include "workflow/model.h"
#include "workflow/webhook_config.h"

namespace baton::workflow {

/// A custom agent as written in custom_agents: (checked further, and registered, by
/// agents::register_custom_agent()).
struct CustomAgentDef {
  std::vector<std::string> command;  ///< argv, non-empty
  std::string prompt = "stdin";      ///< "stdin" or "arg"
  std::string answer_regex;          ///< answer: {regex: ...}, or ""
  std::string answer_json_path;      ///< answer: {json_path: ...}, or ""
  std::map<std::string, std::string> env;
  /// a2a: {url, auth}: a remote agent over A2A instead of a command (url "" when not).
  std::string a2a_url;
  std::string a2a_bearer_env;  ///< auth: {bearer: {env: NAME}}
  std::string a2a_header;      ///< auth: {header: NAME, env: VAR}
  std::string a2a_header_env;
  /// http_job: {profile, url, assistant_id, input_key, output_key, auth: {env}}: a job
  /// of a hosted agent runtime instead of a command (profile "" when not). The profile's
  /// name and the assistant are checked where it is registered (cli/load.cc).
  std::string http_job_profile;
  std::string http_job_url;
  std::string http_job_assistant_id;
  std::string http_job_input_key;
  std::string http_job_output_key;
  std::string http_job_auth_env;  ///< auth: {env: NAME}
  SourceLoc http_job_loc;         ///< the value of http_job.profile (or of http_job)
  /// http_job.profile given as a mapping (a profile declared in the config,
  /// docs/httpjob.md "Profiles in the config"): that mapping as JSON (null when the
  /// profile is a name; then http_job_profile is the name, else the agent's name). It is
  /// resolved and checked where the agent is registered (httpjob/config_profile.h).
  nlohmann::json http_job_profile_doc;
  /// JSON pointer (RFC 6901) into http_job_profile_doc -> where that value is in the
  /// file, for errors that name a field of the profile
  std::map<std::string, SourceLoc> http_job_profile_locs;
  SourceLoc loc;  ///< the agent's name in the file
};

/// The contents of .baton/config.yaml.
struct Config {
  std::map<std::string, RoleSpec> roles;  ///< role name -> its agents and instructions
  std::map<std::string, CustomAgentDef> custom_agents;  ///< agent name -> its definition
  std::vector<WebhookDef> webhooks;                     ///< in file order
  /// agent name -> attempts of that agent running at once (>= 1); a workflow's
  /// settings.agent_limits override these entry by entry
  std::map<std::string, int> agent_limits;
  /// single_agent: true: every run of the project is in single-agent mode (a workflow's
  /// settings.single_agent turns it on too, never off); docs/review.md
  bool single_agent = false;
  /// single_agent_pause: the pause before a self-review, seconds, unless the workflow
  /// sets settings.single_agent_pause
  std::optional<double> single_agent_pause_s;
};

/// Reads the config file at PATH. A missing file gives an empty Config. Errors: a
/// file that cannot be read or is binary, invalid YAML, unknown keys, wrong types,
/// a role without agents; the message is "PATH:LINE:COL: MESSAGE" ("PATH: MESSAGE"
/// when there is no place), one line per problem. Never throws.
Result<Config> load_config(const std::string& path);

/// As load_config() for TEXT, named FILE_NAME in messages. Empty text (or only
/// comments) gives an empty Config.
Result<Config> load_config_text(const std::string& text, const std::string& file_name);

}  // namespace baton::workflow
