// baton's exit codes: documented in docs/commands.md ("Exit codes") and stable.
#pragma once

namespace baton::cli {

constexpr int kExitSuccess = 0;    ///< the run succeeded; the command did what was asked
constexpr int kExitRunFailed = 1;  ///< the run ended with at least one failed task
constexpr int kExitUsage = 2;      ///< bad command line, or the workflow is invalid
/// the run was cancelled by `baton cancel` (also the exit code of the `baton run` or
/// `baton resume` process that ran it; a SIGTERM from elsewhere is kExitSigterm)
constexpr int kExitCancelled = 3;
constexpr int kExitInternal = 4;  ///< baton itself failed (state store, I/O)
/// --no-wait: only tasks waiting for `baton approve` are left; the run is recorded
/// waiting and continues with `baton resume`
constexpr int kExitWaiting = 5;
/// `baton pause` stopped the run once its running attempts ended; `baton resume` continues
constexpr int kExitPaused = 6;
/// `baton resume`/`retry`/`pause`: another live baton runs the run (or none does, for pause);
/// on a PostgreSQL store also `run`/`resume` whose lease of the run was lost (docs/postgres.md)
constexpr int kExitBusy = 7;
/// `baton logs -f`: the run's orchestrator died (crashed, killed) before the run ended;
/// nothing more will be logged until `baton resume` continues it
constexpr int kExitOrchestratorGone = 8;
constexpr int kExitSigint = 130;   ///< interrupted by SIGINT (Ctrl-C): running tasks cancelled
constexpr int kExitSigterm = 143;  ///< interrupted by a SIGTERM that `baton cancel` did not send

}  // namespace baton::cli
