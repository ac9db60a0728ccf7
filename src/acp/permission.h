// The answer to an ACP agent's `session/request_permission` (agentclientprotocol.com,
// "Tool Calls" / "Requesting Permission"): a policy given to the bridge picks one of
// the options the agent offers, and the decision is recorded in the attempt's log.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace baton::acp {

/// `--permission` of `baton __acp-bridge` (and `permission:` of a task's agent).
enum class PermissionPolicy {
  kAllowWorktree,  ///< allow a tool call whose every named path is in the task's directory
  kAllowAll,       ///< allow every tool call
  kDeny,           ///< reject every tool call
};

/// "allow-worktree", "allow-all", "deny".
const char* to_string(PermissionPolicy policy);
/// The policy named NAME, or nullopt.
std::optional<PermissionPolicy> parse_permission_policy(const std::string& name);

/// One decision.
struct PermissionDecision {
  bool allow = false;
  std::string option_id;           ///< the option chosen; "" when the agent offered none fitting
  std::string reason;              ///< why: "every path is in the task's directory", ...
  std::string tool;                ///< the tool call's title (or its id)
  std::vector<std::string> paths;  ///< the paths the tool call names, as given
};

/// Every path a tool call names: toolCall.locations[].path, and in toolCall.rawInput
/// the string fields file_path, filePath, absolute_path, path, dir_path, directory, cwd,
/// source, destination, old_path, new_path and each string of "paths". A relative path
/// is taken relative to CWD.
std::vector<std::string> tool_call_paths(const nlohmann::json& tool_call, const std::string& cwd);

/// Decides PARAMS of a session/request_permission ({sessionId, toolCall{toolCallId,
/// title, kind, locations, rawInput}, options[{optionId, name, kind}]}) under POLICY
/// for the task's directory ROOT (a realpath). kAllowWorktree allows a call whose
/// paths (tool_call_paths) all pass confine(); one without paths (a shell command, a
/// web fetch) is allowed too, since it runs inside the attempt's sandbox, and is
/// rejected when its kind is "delete" or "move". Allowing picks an "allow_once" option,
/// else "allow_always"; rejecting picks "reject_once", else "reject_always". When no
/// option of the needed kind exists, option_id is "" (the caller answers "cancelled").
/// Never throws on any input.
/// COMMANDS_LEAVE_SANDBOX: the agent runs its shell commands in a sandbox of its own
/// that keeps writes in the task's directory and asks only to run one outside it
/// (Codex through codex-acp with approval_policy "on-request"); kAllowWorktree then
/// rejects every "execute" call, whatever paths it names.
PermissionDecision decide_permission(PermissionPolicy policy, const std::string& root,
                                     const nlohmann::json& params,
                                     bool commands_leave_sandbox = false);

}  // namespace baton::acp
