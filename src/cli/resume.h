// Continuing a recorded run: `baton resume` and `baton retry` share this path.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace baton::cli {

/// The options of `baton resume` (and of `baton retry`, which resumes after its reset).
struct ResumeArgs {
  std::string run_id;    ///< a run id, or "last"
  bool force = false;    ///< resume although the workflow file changed
  bool plain = false;    ///< one line per transition even on a terminal
  bool json = false;     ///< the final state as JSON on stdout
  bool no_wait = false;  ///< exit 5 when only gates are left
  std::string rehearse;  ///< a rehearsal script, or ""
};

/// Registers --force, --plain, --json, --no-wait and --rehearse on CMD.
void add_resume_flags(CLI::App* cmd, ResumeArgs& args);

/// Resumes run ARGS.run_id (engine::resume_run) and prints its end like `baton run`.
/// RETRIED: tasks `baton retry` reset (their retry budget starts afresh). Refuses, with
/// a message naming the reason: no such run (2), a live orchestrator holds it (7), the
/// workflow cannot be loaded (2) or changed without --force (2, naming the tasks).
/// Returns the exit code (cli/exit_codes.h, as for `baton run`).
int resume_command(const ResumeArgs& args, const std::vector<std::string>& retried);

}  // namespace baton::cli
