// Git worktrees for tasks: the repository a run works in, one worktree and branch
// per task, committing a task's changes, and merging branches.
//
// Everything here runs the `git` executable synchronously (isolation/command.h)
// with a bounded time, in the directory named, with hooks disabled
// (core.hooksPath=/dev/null), no terminal prompts, commit signing off, and the
// GIT_DIR family of variables removed from the environment, so that the outcome
// depends only on the repository. Errors carry git's own message:
// "git worktree add: fatal: '...' already exists".
#pragma once

#include <string>
#include <vector>

#include "util/error.h"

namespace baton::isolation {

/// Who baton's commits and merges are by (author and committer).
struct GitAuthor {
  std::string name = "baton";
  std::string email = "baton@localhost";
};

/// Parses "Name <email>" (settings.git_author). Error: not of that form
/// ("git_author: expected 'Name <email>', got 'x'").
Result<GitAuthor> parse_git_author(const std::string& text);

/// Runs `git ARGS` in DIR; AUTHOR, when given, is the author and committer of any
/// commit it makes. Returns stdout. Errors: git could not be run, timed out, or
/// exited non-zero ("git merge: CONFLICT ..." with git's stderr, else stdout).
Result<std::string> git(const std::string& dir, const std::vector<std::string>& args,
                        const GitAuthor* author = nullptr);

/// A git repository with a work tree.
struct Repository {
  std::string top;         ///< absolute path of the main work tree
  std::string common_dir;  ///< absolute path of the git directory shared by all worktrees
};

/// The repository whose work tree contains DIR. Error: DIR is not in a git work
/// tree ("/x is not in a git repository (isolation: worktree needs one)").
Result<Repository> open_repository(const std::string& dir);

/// The commit HEAD points to. Error: the repository has no commits yet
/// ("the repository /x has no commits; isolation: worktree starts tasks from the
/// last commit: commit first, or set settings.isolation: none").
Result<std::string> head_commit(const Repository& repo);

/// Tracked files with uncommitted changes (staged or not), as git prints them.
/// Worktrees start from the last commit, so these are not seen by tasks.
Result<std::vector<std::string>> uncommitted_changes(const Repository& repo);

/// One task's worktree.
struct Worktree {
  std::string path;       ///< absolute; the task's working directory
  std::string branch;     ///< e.g. "baton/tasks/<run>/<task>"
  std::string start;      ///< the commit the task starts from (after merging its dependencies)
  std::string admin_dir;  ///< the worktree's entry in the git directory (.git/worktrees/NAME)
};

/// How one branch merged.
struct MergeResult {
  bool conflict = false;
  std::vector<std::string> conflicting_files;  ///< when conflict, sorted
  bool changed = false;                        ///< HEAD moved (a merge or squash commit was made)
};

/// Creates the worktree PATH on a new branch BRANCH at STARTS[0], then merges
/// STARTS[1..] into it one by one (merge commits by AUTHOR), so that the task sees
/// every dependency's changes. Errors: git's (the branch or the path exists), or a
/// conflict between the starts ("the changes of the dependencies conflict in
/// a.txt, b.txt"); the worktree is then left as created, without the failed merge.
/// REQUIRES: STARTS non-empty (commits or branch names).
Result<Worktree> add_worktree(const Repository& repo, const std::string& path,
                              const std::string& branch, const std::vector<std::string>& starts,
                              const GitAuthor& author);

/// Puts WT back to its start: `reset --hard START` and `clean -ffdx` (untracked and
/// ignored files go too). For a retry that should not see a failed attempt's edits.
Result<void> reset_worktree(const Worktree& wt);

/// What a task changed, as committed.
struct CommitInfo {
  bool changed = false;  ///< false: nothing to commit and no commits were made by the task
  std::string commit;    ///< the branch's tip (== start when unchanged)
  std::string stat;      ///< `git diff --stat START COMMIT` (per-file lines and the total)
  int files_changed = 0;
  int insertions = 0;
  int deletions = 0;
};

/// Stages everything in WT (new, changed, deleted files; .gitignore respected) and
/// commits it with MESSAGE by AUTHOR (hooks skipped). Commits the task made itself
/// count as changes too. Errors: git's.
Result<CommitInfo> commit_all(const Worktree& wt, const std::string& message,
                              const GitAuthor& author);

/// Merges COMMIT into the branch checked out in DIR: a merge commit (--no-ff) with
/// MESSAGE, or with SQUASH one ordinary commit of the combined changes. On a
/// conflict the merge is undone (DIR is clean again) and the files are listed.
/// Errors: git failed other than by a conflict.
Result<MergeResult> merge_commit(const std::string& dir, const std::string& commit,
                                 const std::string& message, bool squash, const GitAuthor& author);

/// Removes the worktree at PATH (forced: its changes are lost) and prunes stale
/// worktree entries; its branch is kept. A PATH git does not know is deleted
/// from disk. Errors: git's, or the directory cannot be removed.
Result<void> remove_worktree(const Repository& repo, const std::string& path);

/// The branch a task works on: "baton/tasks/<run>/<task>". (Not "baton/<run>/<task>":
/// git cannot hold both a branch baton/<run> and branches under it.)
std::string task_branch(const std::string& run_id, const std::string& task_id);

/// The branch a run's results are integrated into: "baton/<run>".
std::string run_branch(const std::string& run_id);

}  // namespace baton::isolation
