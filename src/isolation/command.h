// Running a short external command synchronously (git, a bwrap probe): argv, no
// shell, output captured, a bounded time. For set-up and tear-down steps at a
// task's start and end, not for the tasks themselves (those are exec::Process on
// the run's loop).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/error.h"

namespace baton::isolation {

/// How to run a command.
struct CommandOptions {
  std::string cwd;                         ///< empty = baton's working directory
  std::map<std::string, std::string> env;  ///< set on top of baton's environment
  std::vector<std::string> unset_env;      ///< removed from the environment first
  /// Every variable whose name starts with one of these is removed first too
  /// ("GIT_": nothing of the caller's git environment reaches the command).
  std::vector<std::string> unset_env_prefixes;
  double timeout_s = 120;               ///< seconds; then SIGKILL to its process group
  size_t max_output_bytes = 16u << 20;  ///< per stream; the rest is dropped
  bool inherit_output = false;          ///< stdout, stderr are baton's own (nothing captured)
};

/// What a finished command printed and how it ended.
struct CommandOutput {
  int exit_code = 0;  ///< exit code, or 128 + signal number when killed by a signal
  std::string out;    ///< stdout
  std::string err;    ///< stderr
};

/// Runs ARGV (argv[0] looked up in PATH) to completion in its own process group,
/// stdin from /dev/null, and returns its exit code and output. A non-zero exit is
/// not an error here. Errors: ARGV empty, the program could not be started
/// ("cannot run 'git': No such file or directory"), or it ran past the timeout
/// ("'git merge' timed out after 120s"; the group is killed and reaped first).
/// Thread safety: safe to call from any thread; blocks the caller.
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const CommandOptions& options = {});

}  // namespace baton::isolation
