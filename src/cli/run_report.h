// How `baton run`, `baton resume` and `baton retry` end: the run read back from the
// store, printed (summary or JSON), and the exit code (cli/exit_codes.h).
#pragma once

#include <string>

#include "cli/rehearsal.h"
#include "engine/run.h"
#include "store/store.h"

namespace baton::cli {

/// Reads OUTCOME's run back from STORE and prints it: with JSON, the run and its tasks
/// as JSON on stdout; else the summary, hook failures, the integration line, the
/// rehearsal line (REHEARSAL may be null) and, for a paused, waiting or interrupted run,
/// the commands that continue it (`baton approve RUN TASK`, `baton resume RUN`; for an
/// interrupted run the resume line is on stderr, also with JSON).
/// Returns the exit code: 0 success, 1 failed, 3 cancelled, 5 waiting, 6 paused,
/// 130/143 interrupted, 4 when the run cannot be read back (STATE_DIR names the
/// database in the message).
int report_run(store::Store& store, const engine::RunOutcome& outcome, const std::string& state_dir,
               bool json, const Rehearsal* rehearsal);

}  // namespace baton::cli
