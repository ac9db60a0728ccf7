// Finding a recorded run for the commands that take one (status, logs, cancel, pause,
// resume, retry, approve, audit, diff, clean).
#pragma once

#include <memory>
#include <string>
#include <tl/expected.hpp>

#include "store/store.h"

namespace baton::cli {

/// The help text of a RUN argument (resolve_run() takes all three forms).
constexpr const char* kRunHelp = "a run id, a unique prefix of one, or 'last'";

/// A run read back from the project's state database.
struct OpenedRun {
  std::unique_ptr<store::Store> store;  ///< the open database
  store::RunRecord run;
  std::string db_path;  ///< path of .baton/state.db
};

/// The run that ARG names in STORE: "last" is the newest run; a full run id is that
/// run; otherwise ARG is a prefix of exactly one run id. On failure prints
/// "baton: REASON" to stderr and returns the exit code: kExitUsage for no runs yet
/// ("last"), an unknown run ("no run 'X' in DB_PATH") or an ambiguous prefix (the
/// message lists the candidates, newest first); kExitInternal when the store fails.
tl::expected<store::RunRecord, int> resolve_run(store::Store& store, const std::string& arg,
                                                const std::string& db_path);

/// Opens the state database of the project (cli/paths.h find_state_db()) and reads
/// the run RUN_ID names (resolve_run(): "last", a full id or a unique prefix). On
/// failure prints "baton: REASON" to stderr and returns the exit code: kExitUsage
/// (no database, no runs, no such run, an ambiguous prefix) or kExitInternal (the
/// database cannot be opened or read).
tl::expected<OpenedRun, int> open_run(const std::string& run_id);

/// The workflow file of RUN for `baton resume` and `baton retry`, from any directory
/// of the project: an absolute workflow_path as it is; a relative one under the
/// project root that holds DB_PATH (.baton/state.db), else under run.root_dir, else
/// (runs recorded before paths were root-relative) relative to the current directory.
std::string workflow_file(const store::RunRecord& run, const std::string& db_path);

}  // namespace baton::cli
