// `baton __acp-bridge [OPTIONS] -- AGENT ARGV...`: one agent attempt over ACP, run as
// the attempt's command so that the run supervisor, the log, redaction, timeouts,
// sandboxes and resume work for it as for any task (docs/agents.md, "Agents over ACP").
//
// It reads the prompt from stdin (to EOF), starts AGENT ARGV (its stdin and stdout the
// protocol, its stderr passed through), runs the conversation (acp/client.h) with the
// conversation logged to stdout, and ends with one final line {"acp":"result", ...}
// (acp/outcome.h). On SIGTERM, SIGINT or SIGHUP it sends session/cancel and gives the
// agent --cancel-grace seconds (3) to end the turn; then (and at every other end) it
// closes the agent's stdin, sends SIGTERM to the agent's process group, waits up to 2 s
// and sends SIGKILL, so nothing it started is left running. All of that fits in the
// supervisor's default grace between SIGTERM and SIGKILL (settings.kill_grace_s, 10 s);
// should the bridge itself be killed, the agent gets SIGKILL too (PR_SET_PDEATHSIG),
// though what the agent started in its own group then outlives it.
//
// Exit codes: 0 the turn ended with end_turn; 1 it failed (the class and reason in the
// final line and as "baton: acp: CLASS: REASON" on stderr); 2 bad options.
#pragma once

#include <string>
#include <vector>

#include "acp/permission.h"
#include "util/error.h"

namespace baton::acp {

/// The options of `baton __acp-bridge`.
struct BridgeArgs {
  std::string cwd;  ///< --cwd DIR: the task's directory (default: the current one)
  PermissionPolicy policy = PermissionPolicy::kAllowWorktree;  ///< --permission
  std::string resume_session_id;                               ///< --resume ID
  double cancel_grace_s = 3;                                   ///< --cancel-grace SECONDS
  std::vector<std::string> auth_methods;                       ///< --auth METHOD (repeatable)
  bool offer_fs_read = true;            ///< --no-fs-read: ClientOptions::offer_fs_read off
  bool commands_leave_sandbox = false;  ///< --commands-leave-sandbox: ClientOptions' on
  std::vector<std::string> agent_argv;  ///< after "--"
};

/// Parses ARGS (after "__acp-bridge"). Errors: "unknown option X", "--permission
/// must be allow-worktree, allow-all or deny", "--cancel-grace must be a number of
/// seconds in 0..600", "no agent command after --".
Result<BridgeArgs> parse_bridge_args(const std::vector<std::string>& args);

/// Runs the bridge (see above) with stdin, stdout and stderr of this process and
/// returns its exit code. Installs handlers for SIGTERM, SIGINT, SIGHUP and ignores
/// SIGPIPE: call it only from the hidden command's main path.
int run_bridge(const BridgeArgs& args);

/// The hidden command: parse_bridge_args() then run_bridge(); bad options print
/// "baton: __acp-bridge: REASON" and a failed final line, and give 2.
int bridge_main(const std::vector<std::string>& args);

}  // namespace baton::acp
