// baton's exit codes: documented in README.md ("Exit codes") and stable.
#pragma once

namespace baton::cli {

constexpr int kExitSuccess = 0;    ///< the run succeeded; the command did what was asked
constexpr int kExitRunFailed = 1;  ///< the run ended with at least one failed task
constexpr int kExitUsage = 2;      ///< bad command line, or the workflow is invalid
constexpr int kExitCancelled = 3;  ///< the run was cancelled (baton cancel) or waits on a gate
constexpr int kExitInternal = 4;   ///< baton itself failed (state store, I/O)
constexpr int kExitSigint = 130;   ///< interrupted by SIGINT (Ctrl-C): running tasks cancelled
constexpr int kExitSigterm = 143;  ///< interrupted by SIGTERM

}  // namespace baton::cli
