// Git worktrees for tasks: the repository a run works in, one worktree and branch
// per task, committing a task's changes, and merging branches.
//
// Everything here runs the `git` executable synchronously (isolation/command.h)
// with a bounded time. A task's worktree and everything in it is untrusted (the
// threat model, docs/security.md): git on the host must not run a program, read a config or
// follow a path that a task could have written. So every host git command
// (host_git_command) is run
// - on an explicit git directory and work tree (`--git-dir`, `--work-tree`), never
//   discovered: a task's `.git` file and its worktree's admin directory
//   (.git/worktrees/NAME: HEAD, index, commondir, config.worktree) are not read
//   once the task has run. A task's changes are committed from the repository's
//   common directory with a baton-private index (Worktree::index, outside every
//   sandbox) and plumbing: read-tree, add -A, write-tree, commit-tree, update-ref
//   of the task's branch. Porcelain that needs a worktree's HEAD (`git merge`)
//   runs only in a worktree no task has run in yet: a task's new worktree while
//   its dependencies are merged in, and integrate()'s scratch worktree. The one
//   discovery is open_repository() in the user's project root;
// - with no system or global config (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null)
//   and no GIT_* variable of baton's environment; baton supplies the author;
// - with every setting that makes git run a program overridden on the command line
//   (core.fsmonitor, hooks, pager, editor, ssh, askpass, credential helpers, gpg,
//   protocols) and every filter, diff and merge driver the repository's config
//   defines (Repository::overrides, as GIT_CONFIG_KEY_n/VALUE_n) made inert:
//   filters empty, textconv `cat`, external diff `false`, merge drivers git's own
//   text merge (`git merge-file`), since a task's .gitattributes can name any of
//   them (so git-lfs files are committed as the worktree has them); diffs also get
//   --no-ext-diff --no-textconv;
// - never looking into nested repositories of a worktree (a submodule's directory
//   is the task's): gitlinks are left out of `add -A`, submodules not recursed.
// Errors carry git's own message: "git worktree add: fatal: '...' already exists".
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "isolation/command.h"
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

/// A git repository with a work tree.
struct Repository {
  std::string top;         ///< absolute path of the main work tree (the user's checkout)
  std::string git_dir;     ///< absolute; top's own git directory (== common_dir unless top
                           ///< is itself a linked worktree)
  std::string common_dir;  ///< absolute path of the git directory shared by all worktrees
  /// Config (key, value) that makes every filter, diff and merge driver defined in
  /// the repository's config inert (driver_overrides, host_git_command).
  std::vector<std::pair<std::string, std::string>> overrides;
};

/// Where one host git command works; every path explicit, nothing discovered.
struct GitScope {
  std::string git_dir;    ///< --git-dir (absolute); also the working directory when no work tree
  std::string work_tree;  ///< --work-tree (absolute) and the working directory; "" = none
  std::string index;      ///< GIT_INDEX_FILE (absolute); "" = git_dir's own index
  bool trusted_tree = false;  ///< work_tree is one baton made: safe.directory names it
};

/// The scope of the repository's common directory with no work tree: refs, objects,
/// `worktree add/prune`, `branch -D`, diffs between commits.
GitScope repository_scope(const Repository& repo);

/// The scope of the user's main checkout (top's own git directory and work tree).
GitScope checkout_scope(const Repository& repo);

/// The command line and environment of one host git command: `git --no-pager
/// --git-dir=... [--work-tree=...] -c INERT... ARGS` with the environment described
/// at the top of this file, REPO.overrides as GIT_CONFIG_COUNT/KEY_n/VALUE_n, and
/// AUTHOR as author and committer when given. The working directory is the work
/// tree, else the git directory. Exposed for tests; run_git() runs it.
struct GitCommand {
  std::vector<std::string> argv;
  CommandOptions options;
};
GitCommand host_git_command(const Repository& repo, const GitScope& scope,
                            const std::vector<std::string>& args,
                            const GitAuthor* author = nullptr);

/// Runs host_git_command(REPO, SCOPE, ARGS, AUTHOR) to its end; TIMEOUT_S and
/// INHERIT_OUTPUT as in CommandOptions. A non-zero exit is not an error here.
/// Errors: git could not be run or timed out.
Result<CommandOutput> run_git(const Repository& repo, const GitScope& scope,
                              const std::vector<std::string>& args,
                              const GitAuthor* author = nullptr, double timeout_s = 120,
                              bool inherit_output = false);

/// Runs `git ARGS` on REPO's common directory (repository_scope); AUTHOR, when
/// given, is the author and committer of any commit it makes. Returns stdout.
/// Errors: git could not be run, timed out, or exited non-zero ("git branch: error:
/// ..." with git's stderr, else stdout).
Result<std::string> git(const Repository& repo, const std::vector<std::string>& args,
                        const GitAuthor* author = nullptr);

/// As git(REPO, ARGS, AUTHOR), in SCOPE.
Result<std::string> git(const Repository& repo, const GitScope& scope,
                        const std::vector<std::string>& args, const GitAuthor* author = nullptr);

/// The paths (relative to the work tree) of the gitlinks (submodules, nested
/// repositories) in SCOPE's index, read from the index only. Errors: git's.
Result<std::vector<std::string>> list_gitlinks(const Repository& repo, const GitScope& scope);

/// The repository whose work tree contains DIR, found by git's own discovery with
/// the user's system and global config (their safe.directory applies: a repository
/// git refuses is refused), and the driver overrides of its config. Nothing it
/// runs executes a program. Error: DIR is not in a git work tree ("/x is not in a
/// git work tree (isolation: worktree needs a git repository)").
Result<Repository> open_repository(const std::string& dir);

/// The config (key, value) that makes inert every filter, diff and merge driver
/// named in CONFIG_NAMES (the NUL-separated output of `git config -z --name-only
/// --list`): filter.N.{clean,smudge,process} empty and filter.N.required false;
/// diff.N.command `false` and diff.N.textconv `cat`; merge.N.driver `git
/// merge-file` (git's own text merge) and merge.N.recursive `text`.
std::vector<std::pair<std::string, std::string>> driver_overrides(const std::string& config_names);

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
  /// Absolute path of baton's own index of this worktree: never inside the worktree
  /// or the git directory, so never seen by the task. Made by add_worktree(); when
  /// missing later (a run of an older baton), rebuilt from the branch's tip.
  std::string index;
};

/// How one branch merged.
struct MergeResult {
  bool conflict = false;
  std::vector<std::string> conflicting_files;  ///< when conflict, sorted
  bool changed = false;                        ///< HEAD moved (a merge or squash commit was made)
};

/// Creates the worktree PATH on a new branch BRANCH at STARTS[0], then merges
/// STARTS[1..] into it one by one (merge commits by AUTHOR), so that the task sees
/// every dependency's changes; then copies the worktree's index to INDEX (its
/// parent directories are created). Errors: git's (the branch or the path exists),
/// or a conflict between the starts ("the changes of the dependencies conflict in
/// a.txt, b.txt"); the worktree is then left as created, without the failed merge.
/// REQUIRES: STARTS non-empty (commits or branch names); INDEX absolute.
Result<Worktree> add_worktree(const Repository& repo, const std::string& path,
                              const std::string& branch, const std::vector<std::string>& starts,
                              const GitAuthor& author, const std::string& index);

/// The admin directory of the worktree at PATH (REPO.common_dir/worktrees/NAME whose
/// `gitdir` names PATH/.git), when its HEAD is BRANCH; "" when there is none. Reads
/// only the common directory, never PATH.
std::string find_admin_dir(const Repository& repo, const std::string& path,
                           const std::string& branch);

/// Checks that WT's `.git` is still the file git wrote (a regular file pointing at
/// WT.admin_dir) and that WT.path is a directory, not a link. When the `.git` file
/// was changed, it is written back as git made it (so that git run there later by
/// the user reads the repository again) and the error says so: "the task changed
/// its worktree's .git file (git metadata is baton's; nothing of this attempt is
/// committed)". Errors otherwise: WT.path is not a directory.
Result<void> check_worktree(const Worktree& wt);

/// Puts WT back to its start for a retry that should not see a failed attempt's
/// edits: the branch back at START (`update-ref`), `read-tree --reset -u START`
/// with WT.index, `clean -ffdx` (untracked and ignored files go too), the `.git`
/// file as git made it. Errors: git's.
Result<void> reset_worktree(const Repository& repo, const Worktree& wt);

/// What a task changed, as committed.
struct CommitInfo {
  bool changed = false;  ///< false: nothing to commit and no commits were made by the task
  std::string commit;    ///< the branch's tip (== start when unchanged)
  std::string stat;      ///< `git diff --stat START COMMIT` (per-file lines and the total)
  int files_changed = 0;
  int insertions = 0;
  int deletions = 0;
};

/// Stages everything in WT (new, changed, deleted files; .gitignore respected; the
/// contents of nested repositories not looked into) in WT.index and commits it on
/// WT.branch with MESSAGE by AUTHOR, all from REPO's common directory (plumbing:
/// no hook, no HEAD, nothing of the worktree's admin directory). Commits an
/// unsandboxed task made on its branch itself count as changes too, when they
/// descend from START. Errors: check_worktree()'s (a changed `.git`: nothing is
/// committed); the branch was moved off START ("branch ... no longer descends from
/// its start"); git's.
Result<CommitInfo> commit_all(const Repository& repo, const Worktree& wt,
                              const std::string& message, const GitAuthor& author);

/// Merges COMMIT into the branch checked out in SCOPE (a work tree with its own git
/// directory, e.g. {admin dir, worktree} of a worktree no task has run in yet, or
/// checkout_scope()): a merge commit (--no-ff) with MESSAGE, or with SQUASH one
/// ordinary commit of the combined changes. On a conflict the merge is undone (the
/// work tree is clean again) and the files are listed. Merge drivers of the
/// repository's config are git's text merge (Repository::overrides).
/// Errors: git failed other than by a conflict.
Result<MergeResult> merge_commit(const Repository& repo, const GitScope& scope,
                                 const std::string& commit, const std::string& message, bool squash,
                                 const GitAuthor& author);

/// Removes the worktree at PATH by path (deleted from disk as it is, links not
/// followed, nothing in it read by git: its changes are lost), then `git worktree
/// prune` drops its entry; its branch is kept. Errors: the directory cannot be
/// removed, or git's.
Result<void> remove_worktree(const Repository& repo, const std::string& path);

/// The branch a task works on: "baton/tasks/<run>/<task>". (Not "baton/<run>/<task>":
/// git cannot hold both a branch baton/<run> and branches under it.)
std::string task_branch(const std::string& run_id, const std::string& task_id);

/// The branch a run's results are integrated into: "baton/<run>".
std::string run_branch(const std::string& run_id);

}  // namespace baton::isolation
