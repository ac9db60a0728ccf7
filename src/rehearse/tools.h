// From a neutral action (write a file, edit a file, run a command) to a call of
// one of the tools the agent CLI offered in its request.
//
// The choice is made from the request's own tool list, so it follows the CLI's
// version: a known tool name for the action (the list in
// docs/rehearsal.md ("The tools each CLI offers"), measured with claude-code 2.1.197, codex-cli
// 0.169.0, gemini-cli 0.61.0, qwen-code 0.15.10, opencode 1.18.33, kilo 7.7.7,
// copilot 1.0.102), with its argument names taken from the offered JSON schema.
//
//   action      tools, in order of preference
//   write_file  Write, write_file, write, create, create_file, str_replace_based_edit_tool,
//               apply_patch (Add File), else the shell tool with printf
//   edit_file   Edit, replace, edit, str_replace_based_edit_tool, apply_patch (Update File)
//   run         Bash, bash, run_shell_command, exec_command, shell, shell_command
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rehearse/script.h"
#include "util/error.h"

namespace baton::rehearse {

/// How a tool takes its input.
enum class ToolKind {
  kFunction,  ///< JSON arguments described by a JSON schema
  kCustom,    ///< free text input (OpenAI Responses `custom`, e.g. Codex's apply_patch)
};

/// A tool a request offers the model.
struct ToolSpec {
  std::string name;
  ToolKind kind = ToolKind::kFunction;
  nlohmann::json parameters = nlohmann::json::object();  ///< JSON schema of the arguments
};

/// A tool call for the model to make.
struct ToolCall {
  std::string name;
  ToolKind kind = ToolKind::kFunction;
  nlohmann::json arguments = nlohmann::json::object();  ///< for kFunction
  std::string input;                                    ///< for kCustom: the raw input
};

/// The tool call that performs STEP's action (write_file, edit_file, run or call)
/// with one of OFFERED. STEP.tool, when set and offered, is used first. A
/// relative path becomes WORKDIR/path for tools that take paths (not for
/// apply_patch, which resolves paths itself, nor for shell commands) when WORKDIR
/// is not "". Arguments the schema requires that the action does not fill get a
/// minimal value (schema.h; "rehearsal" for description-like strings). Fails when
/// no offered tool can do the action ("no offered tool can write_file (offered:
/// Read, Glob)") or STEP has no tool action.
Result<ToolCall> plan_tool_call(const Step& step, const std::vector<ToolSpec>& offered,
                                const std::string& workdir);

/// The apply_patch text that creates PATH with CONTENT (Codex's patch format:
/// "*** Begin Patch\n*** Add File: PATH\n+line\n...*** End Patch\n"). The
/// file always ends with a newline once applied.
std::string add_file_patch(const std::string& path, const std::string& content);

/// The apply_patch text that replaces OLD_TEXT by NEW_TEXT in PATH
/// ("*** Update File: PATH\n@@\n-old\n+new"); whole lines are replaced.
std::string update_file_patch(const std::string& path, const std::string& old_text,
                              const std::string& new_text);

/// A POSIX shell command that writes CONTENT to PATH exactly (creating parent
/// directories), quoting with single quotes.
std::string write_file_command(const std::string& path, const std::string& content);

/// The working directory the agent states in its request: the first absolute
/// path after "<cwd>", "working directory" or "working in the directory" in any
/// string of REQUEST (tool definitions skipped). "" when none.
std::string find_workdir(const nlohmann::json& request);

}  // namespace baton::rehearse
