// How `baton serve` acts on runs (issue 13): through baton's own commands, run as
// child processes of the same binary with argv (never a shell), so a run started or
// resumed from the API is an ordinary `baton run`/`baton resume` (same supervisors,
// same resume) that outlives the server, and cancel, pause, approve and retry behave
// exactly as on the command line.
#pragma once

#include <string>
#include <vector>

#include "util/error.h"

namespace baton::serve {

/// What a command that ran to its end printed and returned.
struct CommandResult {
  int exit_code = 0;   ///< cli/exit_codes.h (0 ok, 2 usage, 7 busy, ...); 128+N if killed
  std::string output;  ///< stderr then stdout, at most 64 KiB of each
};

/// Runs `BATON ARGS...` in directory CWD to its end (at most TIMEOUT_S seconds, then
/// its process group is killed). Errors: it could not be started, or it timed out.
Result<CommandResult> run_baton(const std::string& baton, const std::vector<std::string>& args,
                                const std::string& cwd, double timeout_s);

/// Starts `BATON ARGS...` in CWD detached: its own session (setsid), stdin from
/// /dev/null, stdout and stderr appended to LOG_PATH (created 0600), so it outlives the
/// server. A thread of the server reaps it when it exits. Returns its pid. Errors: the
/// log cannot be opened, posix_spawn failed.
Result<int> start_baton_detached(const std::string& baton, const std::vector<std::string>& args,
                                 const std::string& cwd, const std::string& log_path);

/// True while the process PID started by start_baton_detached() has not exited.
bool detached_running(int pid);

}  // namespace baton::serve
