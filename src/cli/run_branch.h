// The run's integration branch (`baton/<run>`) for `baton merge` and `baton push`: the
// repository, the branch and checks on names a user gives.
#pragma once

#include <string>

#include "isolation/worktree.h"
#include "store/store.h"
#include "util/error.h"

namespace baton::cli {

/// The repository of RUN and its integration branch.
struct RunBranch {
  isolation::Repository repo;
  std::string branch;  ///< "baton/<run>"
  std::string tip;     ///< its commit
};

/// Opens RUN's repository (run.root_dir) and finds its branch. Errors: not a git
/// repository; no branch ("run R has no branch baton/R: no task's changes were
/// integrated (see `baton status R`)").
Result<RunBranch> find_run_branch(const store::RunRecord& run);

/// Checks that NAME, given for OPTION, is a usable branch name: not empty, not starting
/// with '-', accepted by `git check-ref-format` as refs/heads/NAME. Error: "OPTION:
/// 'NAME' is not a branch name ...".
Result<void> check_branch_name(const isolation::Repository& repo, const std::string& option,
                               const std::string& name);

}  // namespace baton::cli
