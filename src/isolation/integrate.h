// Integration: the branches of a run's tasks merged, in dependency order, into
// the run's branch (docs/isolation.md).
#pragma once

#include <string>
#include <vector>

#include "isolation/worktree.h"
#include "util/error.h"

namespace baton::isolation {

/// settings.integrate: how a task's branch enters the run's branch.
enum class IntegrateMode {
  kMerge,   ///< a merge commit per task (--no-ff): the task's own commits are kept
  kSquash,  ///< one ordinary commit per task with all its changes
};

/// One task's branch to integrate.
struct IntegrationItem {
  std::string task_id;
  std::string branch;  ///< or any commit
};

/// How an integration went.
struct IntegrationResult {
  std::string branch;                   ///< the run's branch
  std::string head;                     ///< its tip afterwards
  std::vector<std::string> integrated;  ///< task ids whose changes entered the branch, in order
  std::string conflict_task;            ///< the task whose merge conflicted; "" when none
  std::vector<std::string> conflicting_files;  ///< of conflict_task, sorted
};

/// Merges ITEMS, in the order given, into BRANCH (created at BASE when it does not
/// exist; else continued from its tip), working in a temporary worktree at
/// SCRATCH_PATH that is removed before returning (no task ever runs there; the
/// merges read the task branches' .gitattributes, whose merge drivers are inert:
/// Repository::overrides). Commit messages name the task
/// and RUN_ID; AUTHOR makes the commits. A conflict stops the integration there:
/// that merge is undone, what was merged before it stays on BRANCH, and the
/// result names the task and the conflicting files (not an Error). Errors: git
/// failed otherwise (the branch keeps what was merged until then).
Result<IntegrationResult> integrate(const Repository& repo, const std::string& branch,
                                    const std::string& base,
                                    const std::vector<IntegrationItem>& items, IntegrateMode mode,
                                    const std::string& scratch_path, const std::string& run_id,
                                    const GitAuthor& author);

/// How merge_in_scratch() went.
struct ScratchMerge {
  std::string head;      ///< the merge commit (TARGET itself when there was nothing to merge)
  bool changed = false;  ///< COMMIT brought something TARGET did not have
  bool conflict = false;
  std::vector<std::string> conflicting_files;  ///< sorted, when conflict
};

/// Merges COMMIT into TARGET (a commit) with a merge commit (--no-ff) titled MESSAGE by
/// AUTHOR, in a scratch worktree on a detached HEAD at SCRATCH_PATH (host git that
/// trusts nothing a task wrote: merge drivers inert) that is removed before returning.
/// No ref is changed: the caller moves a branch to `head`. A conflict is a result, not
/// an Error. Errors: git's (an unknown TARGET or COMMIT, a SCRATCH_PATH in use).
Result<ScratchMerge> merge_in_scratch(const Repository& repo, const std::string& target,
                                      const std::string& commit, const std::string& message,
                                      const std::string& scratch_path, const GitAuthor& author);

}  // namespace baton::isolation
