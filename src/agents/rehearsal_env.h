// Rehearsal: what it takes to point one agent CLI at baton's scripted model server
// (src/rehearse/) on 127.0.0.1 instead of its vendor, with an isolated HOME, so that
// a workflow runs with the real CLIs offline, free and deterministic.
//
// Never the user's own configuration: every file is written under HOME_DIR, and
// HOME (plus CODEX_HOME, COPILOT_HOME, XDG_*, TMPDIR) point there.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agents/invoker.h"
#include "util/error.h"

namespace baton::agents {

/// The environment, files and arguments of one rehearsed attempt.
struct RehearsalEnv {
  /// Set on top of the attempt's environment (after Command::env).
  std::map<std::string, std::string> env;
  /// Absolute path -> content: files to write before the attempt (parent
  /// directories created), all under HOME_DIR.
  std::vector<std::pair<std::string, std::string>> files;
  /// Absolute paths of directories to create (mode 0700) before the attempt, all
  /// under HOME_DIR.
  std::vector<std::string> dirs;
  /// Appended to the attempt's argv (model and provider flags). The caller leaves
  /// Invocation::model empty, since the model is chosen here.
  std::vector<std::string> extra_args;
};

/// Everything needed to run AGENT (baton's name: "claude", "codex", "gemini",
/// "qwen", "opencode", "kilocode", "copilot", or a custom agent) against the model
/// server at BASE_URL ("http://127.0.0.1:PORT", no trailing slash) with API_KEY
/// (the server picks the script by it: "baton-rehearse:<task>:<agent>:<attempt>"),
/// HOME_DIR (an absolute, empty directory the attempt may own) and MODEL (the model
/// name the server answers to; "" = "baton-rehearse").
/// Each CLI's retries and timeouts are bounded so that an injected failure ends in
/// seconds, not minutes. A custom agent gets the base URL and key in the usual
/// variables (OPENAI_*, ANTHROPIC_*, GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY) and in
/// BATON_REHEARSE_BASE_URL and BATON_REHEARSE_KEY.
/// Errors: auggie and cursor cannot be pointed at a local server ("agent 'auggie'
/// cannot be rehearsed: ..."); an unknown agent; a relative HOME_DIR; a BASE_URL that
/// is not http://.
Result<RehearsalEnv> rehearsal_env(const std::string& agent, const std::string& base_url,
                                   const std::string& api_key, const std::string& home_dir,
                                   const std::string& model);

/// Adds REHEARSAL to COMMAND: extra_args appended to argv, env merged over
/// COMMAND's (rehearsal wins). Files are not written here (see write_rehearsal_files).
void apply_rehearsal(const RehearsalEnv& rehearsal, Command* command);

/// Creates REHEARSAL's dirs and writes its files, creating parent directories (mode
/// 0700) and each file with mode 0600. Errors name the path and the reason.
Result<void> write_rehearsal_files(const RehearsalEnv& rehearsal);

}  // namespace baton::agents
