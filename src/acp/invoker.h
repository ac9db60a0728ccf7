// Agents over ACP (`agent: {use: gemini, via: acp}`): an agents::Invoker whose command
// is `baton __acp-bridge ... -- AGENT's ACP command` (acp/bridge.h) and whose parse()
// and transcript() read the bridge's output (acp/client.h, acp/outcome.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acp/permission.h"
#include "agents/invoker.h"

namespace baton::acp {

/// The command that starts AGENT (baton's name) as an ACP agent, measured with the
/// pinned CLIs: gemini -> `gemini --acp` (gemini-cli 0.61; `--experimental-acp` in
/// older ones), qwen -> `qwen --acp` (Qwen Code 0.15). nullopt for an agent baton does
/// not drive over ACP (yet).
std::optional<std::vector<std::string>> acp_command(const std::string& agent);

/// The names of the agents acp_command() knows, sorted.
std::vector<std::string> acp_agent_names();

/// The ACP invoker of AGENT under POLICY (lives for the whole program), or nullptr when
/// acp_command(AGENT) is nullopt. Its name() and executable() are AGENT's.
const agents::Invoker* acp_invoker(const std::string& agent, PermissionPolicy policy);

/// True when LOG is the output of `baton __acp-bridge` (its first event is
/// {"acp":"start"} or it holds a {"acp":"result"} line): `baton logs` and resume pick
/// the ACP invoker by it, since the attempt's record names the agent only.
bool is_acp_log(std::string_view log);

}  // namespace baton::acp
