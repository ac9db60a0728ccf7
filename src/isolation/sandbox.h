// Sandboxes: a task's process wrapped in bubblewrap (bwrap), so that it sees a
// minimal file system, can write only where it must, and has no network unless
// allowed (README "Sandboxes").
//
// What a bwrap sandbox holds (wrap_in_bwrap):
// - read-only: /usr, /etc, and /bin, /sbin, /lib, /lib32, /lib64, /libx32 (as the
//   symlinks they are, or bound); SandboxSpec::readable (agent CLI installs);
// - fresh: /proc (of its own PID namespace), /dev (minimal), /tmp (an empty tmpfs
//   of at most SandboxSpec::tmp_bytes, so filling it cannot fill the host's memory);
// - read-write: SandboxSpec::writable (the task's worktree, or the project root for
//   a task without one) and HOME (a private directory);
// - read-only: the repository's git directory, always: a task reads history and
//   runs `git status`/`git diff`, but cannot move a ref, write config or hooks, or
//   touch objects; its changes are committed by baton from outside after the
//   attempt (worktree.h);
// - nothing else of the host: not the main checkout, not other worktrees, not the
//   real home directory.
// Namespaces: PID, IPC, UTS, cgroup (when possible) and, unless `network`, the
// network (only a loopback interface of its own). --die-with-parent and
// --new-session. As root, the task runs as kSandboxUid in a user namespace of its
// own with every capability dropped (--unshare-user --uid --gid, --cap-drop ALL):
// with capabilities a process could remount a read-only bind read-write.
#pragma once

#include <string>
#include <vector>

#include "exec/process.h"
#include "isolation/worktree.h"
#include "util/error.h"

namespace baton::isolation {

/// The user and group id a task has inside the sandbox when baton runs as root.
constexpr int kSandboxUid = 1000;

/// The size of a sandbox's private /tmp (a tmpfs, in memory), bytes: 512 MiB.
constexpr long long kSandboxTmpBytes = 512LL << 20;

/// What one sandboxed process may see and do.
struct SandboxSpec {
  std::string workdir;                ///< working directory inside (usually the worktree)
  std::vector<std::string> writable;  ///< bound read-write at the same path; must exist
  std::vector<std::string> readable;  ///< bound read-only at the same path; missing ones skipped
  std::vector<std::string> hidden;    ///< covered by an empty tmpfs (inside a writable path)
  std::string home;                   ///< HOME inside: created, bound read-write
  /// Files bound read-only at HOME-relative paths (an agent's credentials):
  /// (host path, path relative to HOME). Missing host files are skipped.
  std::vector<std::pair<std::string, std::string>> home_files;
  bool network = false;                    ///< false: a network namespace with only loopback
  long long tmp_bytes = kSandboxTmpBytes;  ///< size of the private /tmp, bytes
  std::string bwrap = "bwrap";             ///< the bwrap executable (PATH searched)
};

/// Rewrites PROCESS to run its argv inside a bwrap sandbox per SPEC: argv becomes
/// `bwrap OPTIONS -- ARGV`, HOME becomes SPEC.home and TMPDIR /tmp unless PROCESS
/// sets one (it must then be under a writable path or HOME). The process's
/// own cwd is left as is (bwrap itself starts there; --chdir sets the inside one).
/// Timeouts and cancellation still work: killing bwrap ends its PID namespace.
/// Errors: SPEC.home cannot be created, a writable path does not exist, workdir empty.
Result<void> wrap_in_bwrap(exec::ProcessSpec& process, const SandboxSpec& spec);

/// Adds what a task needs to work in WT to SPEC: the worktree read-write; of the
/// shared git directory objects/, refs/, logs/, packed-refs, config, info/,
/// shallow and the worktree's own entry (.git/worktrees/NAME) read-only, so that
/// git inside can read but never write (packed-refs and logs/ are created when
/// missing, so that they are mounted). The rest of the git directory (hooks, the
/// main index, other worktrees' entries) is absent. Errors: packed-refs cannot be
/// created.
Result<void> add_worktree_mounts(const Worktree& wt, const Repository& repo, SandboxSpec* spec);

/// What a task that works in REPO's checkout itself (isolation: none) gets
/// read-only inside the writable checkout, so that it cannot leave config, hooks,
/// refs or a `.git` redirect for the git the user runs next: REPO.top/.git, the
/// git and common directories, and for each submodule its `.git` (populated) or
/// its empty directory (not populated). Absolute paths; some may not exist (bind
/// them with SandboxSpec::readable, which skips those). Errors: git's.
Result<std::vector<std::string>> git_metadata_paths(const Repository& repo);

/// Directories outside the system directories that PROGRAM needs read-only: each
/// absolute PATH_ENV entry (a node_modules/.bin entry as its whole node_modules),
/// and the directory where PROGRAM (found in PATH_ENV) really lives. Entries that
/// contain a path of EXCLUDE_UNDER (so would expose the repository) are dropped.
std::vector<std::string> program_dirs(const std::string& path_env, const std::string& program,
                                      const std::vector<std::string>& exclude_under);

/// Whether bwrap can run here: `BWRAP --ro-bind / / true` succeeds. Error: why not
/// ("bwrap is not installed", "bwrap: No permissions to create new namespace").
Result<void> check_bwrap(const std::string& bwrap = "bwrap");

}  // namespace baton::isolation
