// Finding a recorded run for the commands that read one (logs, diff).
#pragma once

#include <memory>
#include <string>
#include <tl/expected.hpp>

#include "store/store.h"

namespace baton::cli {

/// A run read back from the project's state database.
struct OpenedRun {
  std::unique_ptr<store::Store> store;  ///< the open database
  store::RunRecord run;
  std::string db_path;  ///< path of .baton/state.db
};

/// Opens the state database of the project (cli/paths.h find_state_db()) and reads
/// RUN_ID, where "last" means the newest run. On failure prints "baton: REASON" to
/// stderr and returns the exit code: kExitUsage (no database, no runs, no such run)
/// or kExitInternal (the database cannot be opened).
tl::expected<OpenedRun, int> open_run(const std::string& run_id);

}  // namespace baton::cli
