// Agents over ACP (`agent: {use: gemini, via: acp}`): an agents::Invoker whose command
// is `baton __acp-bridge ... -- AGENT's ACP command` (acp/bridge.h) and whose parse()
// and transcript() read the bridge's output (acp/client.h, acp/outcome.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acp/permission.h"
#include "agents/invoker.h"

namespace baton::acp {

/// How one agent is started and driven over ACP (see acp_spec()).
struct AcpAgentSpec {
  std::string agent;              ///< baton's name of the agent ("gemini", "kilocode", ...)
  std::vector<std::string> argv;  ///< the command that starts it in its ACP mode
  /// Auth method ids the bridge may `authenticate` with (--auth), from the agent's
  /// initialize answer: API-key methods whose key the environment holds.
  std::vector<std::string> auth_methods;
  bool offer_fs_read = true;            ///< false: the bridge's --no-fs-read
  bool commands_leave_sandbox = false;  ///< the bridge's --commands-leave-sandbox
  std::string model_flag;               ///< how a task's model is passed ("-m"); "" = it is not
  /// Set in the agent's environment (under the rehearsal's): what makes it ask the
  /// client for permission where its own configuration would not.
  std::map<std::string, std::string> env;
};

/// The ACP spec of AGENT (baton's name), measured with the pinned CLIs, or nullptr
/// for an agent baton does not drive over ACP. The table (docs/agents.md): gemini ->
/// `gemini --acp` (gemini-cli 0.61), qwen -> `qwen --acp` (Qwen Code 0.15).
const AcpAgentSpec* acp_spec(const std::string& agent);

/// acp_spec(AGENT)'s argv, or nullopt.
std::optional<std::vector<std::string>> acp_command(const std::string& agent);

/// The names of the agents acp_command() knows, sorted.
std::vector<std::string> acp_agent_names();

/// The ACP invoker of AGENT under POLICY (lives for the whole program), or nullptr when
/// acp_spec(AGENT) is nullptr. Its name() is AGENT; its executable() the first word
/// of the ACP command (the adapter for claude and codex).
const agents::Invoker* acp_invoker(const std::string& agent, PermissionPolicy policy);

/// True when LOG is the output of `baton __acp-bridge` (its first event is
/// {"acp":"start"} or it holds a {"acp":"result"} line): `baton logs` and resume pick
/// the ACP invoker by it, since the attempt's record names the agent only.
bool is_acp_log(std::string_view log);

}  // namespace baton::acp
