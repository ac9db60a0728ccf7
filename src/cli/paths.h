// Where baton keeps its state: the `.baton` directory of the project.
#pragma once

#include <string>

#include "util/error.h"

namespace baton::cli {

/// The project root for a new run: the top of the git work tree containing the
/// current directory (the nearest directory whose `.git` is a directory holding HEAD,
/// or a `gitdir: ` file; an empty `.git` does not count), else the current directory.
/// Absolute.
std::string project_root();

/// The `.baton` directory under ROOT.
std::string state_dir(const std::string& root);

/// Writes STATE/.gitignore unless it exists (a user's own is never replaced), so that
/// git never sees baton's state database, logs, worktrees and rehearsal homes: it
/// ignores everything in STATE but the YAML files at its top (config.yaml and
/// workflows kept there). Creates STATE if needed. Error: the file cannot be written.
Result<void> write_state_gitignore(const std::string& state);

/// The state database of an existing project: the configured store (--store,
/// BATON_STORE: cli/store_location.h) when there is one, else `.baton/state.db` in
/// the current directory or the nearest parent that has one. Error when there is none
/// ("no .baton/state.db here or in any parent directory; run `baton run` first").
Result<std::string> find_state_db();

}  // namespace baton::cli
