// Starting a new run of a loaded workflow: `baton run` and `baton task` share this
// path (isolation check, state directory, store, webhooks, rehearsal, live view,
// summary).
#pragma once

#include <optional>
#include <string>

#include "cli/load.h"

namespace baton::cli {
struct KittySetup;
}

namespace baton::cli {

/// How a new run is started and shown.
struct StartArgs {
  std::string run_id;            ///< the new run's id (engine::new_run_id() or --run-id); not empty
  bool plain = false;            ///< one line per transition even on a terminal
  bool json = false;             ///< the final state as JSON on stdout
  std::string rehearse;          ///< a rehearsal script, or ""
  bool no_wait = false;          ///< exit 5 instead of waiting for `baton approve`
  bool refuse_existing = false;  ///< a run with run_id exists: refuse (2), for --run-id
  /// A spec-kitty feature being run (cli/kitty_run.h), or null: its setup is saved with
  /// the run and its lanes move with the run's tasks (kitty::LaneObserver). Not owned.
  KittySetup* feature = nullptr;
  /// One job of a workflow exported to GitHub Actions (cli/job_results.h,
  /// docs/github-actions.md): ONLY runs that task after importing the results upstream
  /// of it from RESULTS (then writes its own there); FINISH imports every result and
  /// runs the end hooks. Both empty/false for an ordinary run.
  std::string only;
  bool finish = false;
  std::string results;
};

/// Runs LOADED (validated, with its inputs) in project ROOT as run ARGS.run_id to its
/// end and prints it like `baton run` (report_run()). LOADED is reset once the run has
/// ended (its memory goes before the report). Errors print "baton: REASON" and return
/// the exit code: 2 when the isolation the workflow needs is missing or the rehearsal
/// script is bad or REFUSE_EXISTING finds the run, 4 when the state cannot be written; otherwise
/// report_run()'s code.
int start_run(std::optional<LoadedWorkflow>& loaded, const std::string& root,
              const StartArgs& args);

}  // namespace baton::cli
