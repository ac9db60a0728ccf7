// Sandboxes: a task's process wrapped in bubblewrap (bwrap), so that it sees a
// minimal file system, can write only where it must, has no network unless
// allowed, runs as an unprivileged user and within resource limits (docs/sandboxes.md).
//
// What a bwrap sandbox holds (wrap_in_bwrap):
// - read-only: /usr, /etc, and /bin, /sbin, /lib, /lib32, /lib64, /libx32 (as the
//   symlinks they are, or bound); SandboxSpec::readable (agent CLI installs);
// - fresh: /proc (of its own PID namespace), /dev (minimal), /tmp (an empty tmpfs,
//   mode 1777, of at most SandboxSpec::tmp_bytes, so filling it cannot fill the
//   host's memory);
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
// --new-session.
//
// Who the task is. As root (baton in CI), SandboxSpec::user is set (the engine picks it,
// sandbox_user_for): bwrap itself runs as root, without a user namespace, builds the
// mounts (so it reaches paths only root can), keeps only CAP_SETUID, CAP_SETGID and
// CAP_SETPCAP, and execs `setpriv --reuid U --regid G --clear-groups --inh-caps=-all
// --bounding-set=-all -- ARGV` (by absolute path from the read-only /usr, never through
// PATH; LD_* variables are emptied for bwrap and setpriv, which run as root, and given
// back to ARGV by `/usr/bin/env`): the task's processes have the host uid U (id -u
// inside says U too), no supplementary groups, no capability, and no_new_privs. So the
// kernel counts them against RLIMIT_NPROC (root is exempt), and root's 0600/0640 files
// (/etc/shadow) are closed to them. Each task of a run has its own uid from a dedicated
// range (sandbox_id_range: BATON_SANDBOX_IDS, default 2000000000 + 65536), so the
// process limit is per task; all share the group G, through which they write what baton
// made for them (grant_sandbox_access): the worktree (or the checkout, but for its git
// metadata and the paths hidden) becomes group G, group-writable, with setgid
// directories, and the task runs with umask 002 so that what one task adds stays
// writable for the next; HOME is chowned to U. The repository's git directory is
// never given to G: it is read-only inside, and host git (root) commits the task's
// changes afterwards (worktree.h); files the task created are owned by U. /etc/passwd
// and /etc/group inside gain an entry for U and G (name "baton"), so that tools asking
// for the user's name work. Without root (a developer's machine), bwrap makes a user
// namespace of its own in which the task has the invoking user's uid (mapped,
// unprivileged already); user is unset and nothing is chowned.
//
// Limits (ResourceLimits; the workflow's `limits:` over these defaults) are rlimits
// set by the attempt's supervisor in the forked child before it execs (soft = hard, so
// the task cannot raise them): RLIMIT_NPROC = pids (counted per uid: the task's own
// uid as root; without root, applied inside the sandbox's user namespace by a
// `prlimit --nproc` before ARGV, so the invoking user's other processes do not
// count), RLIMIT_DATA = memory (per process: heap and private writable mappings; a
// fork bomb is bounded by pids x memory), RLIMIT_CPU = cpu_seconds (per process),
// RLIMIT_NOFILE = open_files. cgroup v2 (a total memory and pids limit for the whole
// task) is not used: it needs a delegated cgroup v2 hierarchy with the memory and
// pids controllers, which baton cannot test here (cgroup v1 hosts); containers get
// the same limits through the daemon's cgroups (docker_sandbox.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exec/process.h"
#include "isolation/worktree.h"
#include "util/error.h"

namespace baton::isolation {

/// The resource limits of a sandboxed task (the defaults of `limits:`,
/// docs/sandboxes.md). Values are at least 1 (0 for cpu_seconds: none).
struct ResourceLimits {
  int64_t pids = 1024;  ///< processes and threads at once, of the task's uid
  /// bytes: per process under bwrap (RLIMIT_DATA), the whole container's otherwise
  int64_t memory_bytes = 8LL << 30;
  int64_t cpu_seconds = 0;    ///< CPU seconds per process; 0 = none (the timeout bounds it)
  int64_t open_files = 8192;  ///< open file descriptors per process
};

/// The rlimits that put LIMITS in force (NPROC, DATA, CPU when set, NOFILE), for
/// ProcessSpec::rlimits. WITH_NPROC false leaves RLIMIT_NPROC out.
std::vector<exec::ResourceLimit> rlimits_for(const ResourceLimits& limits, bool with_nproc);

/// A host identity a sandboxed task runs as (only when baton runs as root).
struct SandboxUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

/// The host ids set aside for sandboxed tasks: uids FIRST .. FIRST+COUNT-1, all in
/// group GID. They should belong to no one (no /etc/passwd entry, no subuid range).
struct SandboxIdRange {
  uint32_t first = 2000000000;
  uint32_t count = 65536;
  uint32_t gid = 2000000000;
};

/// The range from VALUE, the text of BATON_SANDBOX_IDS: "FIRST:COUNT" (gid FIRST) or
/// "FIRST:COUNT:GID"; null or "" = the default range. Errors: not of that form, FIRST
/// or GID 0, COUNT 0, or the range passing 2^31.
Result<SandboxIdRange> sandbox_id_range(const char* value);

/// The user of task number TASK (its index in the workflow) of run RUN_ID: uid FIRST +
/// (FNV-1a(RUN_ID) + TASK) mod COUNT, gid GID. Stable across resumes; distinct for
/// the tasks of one run (up to COUNT tasks); two runs at once may share a uid (rarely:
/// they then share its process limit).
SandboxUser sandbox_user_for(const SandboxIdRange& range, const std::string& run_id, int task);

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
  /// Files bound read-only in place of others: (host copy, path inside). Filled by
  /// grant_sandbox_access for files the sandbox user could not read.
  std::vector<std::pair<std::string, std::string>> copied;
  bool network = false;                    ///< false: a network namespace with only loopback
  long long tmp_bytes = kSandboxTmpBytes;  ///< size of the private /tmp, bytes
  std::string bwrap = "bwrap";             ///< the bwrap executable (PATH searched)
  ResourceLimits limits;                   ///< what the task's processes may use
  /// As root: the host user the task runs as (see the top of this file); unset
  /// without root (bwrap maps the invoking user).
  std::optional<SandboxUser> user;
};

/// Gives SPEC.user what it needs, as root: HOME (created) chowned to it, recursively;
/// every writable path recursively group SPEC.user.gid, group-writable (and searchable
/// where the owner may search), directories setgid, except the `readable` and
/// `hidden` paths inside them (left as they are); the parents of HOME searchable
/// by it. Readable regular files the user could not read (a 0600 secret) are copied,
/// owned by the user, mode 0400, into HOME + ".files/" and bound in their place
/// (SPEC.copied). Symbolic links are never followed; `hidden` paths are skipped.
/// No-op when SPEC.user is unset. Errors: a path cannot be changed (named).
Result<void> grant_sandbox_access(SandboxSpec& spec);

/// Rewrites PROCESS to run its argv inside a bwrap sandbox per SPEC: argv becomes
/// `bwrap OPTIONS -- [setpriv ... --] [prlimit --nproc=N --] ARGV` (see the top of
/// this file), PROCESS.rlimits get SPEC.limits and, with SPEC.user, its umask 002;
/// HOME becomes SPEC.home and TMPDIR /tmp unless PROCESS sets one (it must then be
/// under a writable path or HOME). With SPEC.user, grant_sandbox_access is done here
/// and HOME + ".passwd" and ".group" are written and bound on /etc/passwd and
/// /etc/group. The process's own cwd is left as is (bwrap itself starts there;
/// --chdir sets the inside one). Timeouts and cancellation still work: killing bwrap
/// ends its PID namespace. Errors: SPEC.home cannot be created, a writable path does
/// not exist, workdir empty, grant_sandbox_access's.
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
