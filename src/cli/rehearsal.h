// `baton run --rehearse SCRIPT`: the scripted model server for one run, and the
// per-attempt set-up that points each agent CLI at it (docs/rehearsal.md).
#pragma once

#include <memory>
#include <string>

#include "engine/attempt.h"
#include "engine/run.h"
#include "exec/process.h"
#include "rehearse/server.h"
#include "util/error.h"

namespace baton::cli {

/// One rehearsal: owns the model server (127.0.0.1, a free port) for the length of
/// a run. Not copyable; prepare() is called on the run's loop thread.
class Rehearsal {
 public:
  /// Loads SCRIPT_PATH and starts the server; every request is logged as JSON
  /// Lines to RUN_DIR/rehearse.jsonl. Errors: the script's (with file:line), or
  /// the server could not listen.
  static Result<std::unique_ptr<Rehearsal>> start(const std::string& script_path,
                                                  const std::string& run_dir);

  /// engine::RunOptions::prepare_agent_process: gives the task's agent its own HOME
  /// under RUN_DIR/rehearse/<task>.<agent>/ (kept across attempts, so a resumed
  /// session is found), the session key
  /// "baton-rehearse:<task>:<agent>:<attempt>", and the agent's base URL variables,
  /// config files and flags (agents::rehearsal_env). Errors: an agent that cannot be
  /// rehearsed (auggie, cursor), a file that cannot be written.
  Result<void> prepare(const std::string& agent, const engine::AttemptPlace& place,
                       exec::ProcessSpec& process);

  /// Points OPTIONS.prepare_agent_process at prepare() of this rehearsal, which must
  /// outlive the run that uses OPTIONS.
  void attach_to(engine::RunOptions& options);

  /// Requests served so far.
  size_t request_count() const { return server_->requests().size(); }
  /// Where the request log is.
  const std::string& log_path() const { return log_path_; }

 private:
  Rehearsal() = default;
  std::unique_ptr<rehearse::ModelServer> server_;
  std::string run_dir_;
  std::string log_path_;
};

}  // namespace baton::cli
