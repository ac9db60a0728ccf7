// Starting an attempt's child from the run supervisor (supervisor.h): clone(2) with
// CLONE_VM|CLONE_VFORK (posix_spawn's semantics: no copy of the supervisor's memory, the
// supervisor waits only until the child has exec'd), plus what posix_spawn cannot do:
// PR_SET_PDEATHSIG, resource limits, a umask, and the "started" record written by the
// child itself before it execs. Programs named without a '/' are looked up in the
// PATH of the child's environment once per supervisor (ProgramCache), so no attempt
// pays a failed execve(2) per PATH entry. Linux only; libc only.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exec/process.h"
#include "util/error.h"

namespace baton::exec {

/// Where programs named without a '/' were found, per PATH value. Only absolute hits
/// found through absolute PATH entries are kept (a relative entry depends on the
/// child's directory); an entry whose execve later fails with ENOENT, EACCES or ENOTDIR
/// is dropped and the child searches the PATH itself (execvpe(3)).
/// Thread safety: none (the supervisor is one thread).
class ProgramCache {
 public:
  /// The path to exec for NAME under PATH_VALUE (a PATH's value, "" when unset: then
  /// glibc's default "/bin:/usr/bin"): NAME itself when it contains a '/', else the first
  /// PATH_VALUE entry holding an executable regular file NAME. Empty when none was found
  /// or the hit cannot be cached; the child then searches with execvpe(3), which also
  /// produces the right error.
  std::string resolve(const std::string& path_value, const std::string& name);
  /// Forgets NAME under PATH_VALUE (its execve failed).
  void forget(const std::string& path_value, const std::string& name);
  /// Lookups answered from the cache / by searching (for tests and benchmarks).
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  std::unordered_map<std::string, std::string> found_;  // PATH + '\0' + name -> path
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

/// Everything the child needs; prepared by the supervisor before the clone, since the
/// child may only make async-signal-safe calls.
struct ChildLaunch {
  std::vector<std::string> argv;  ///< argv[0] as the task named it
  std::string program;            ///< from ProgramCache::resolve; "" = execvpe(argv[0])
  /// The child's complete environment, "K=V", null-terminated (merge_environment);
  /// the strings belong to the caller.
  std::vector<const char*> envp;
  std::string cwd;                                    ///< "" = the supervisor's
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  ///< become fds 0, 1, 2
  /// Set first in the child: the supervisor's own limits that it raised for itself
  /// (RLIMIT_NOFILE: it holds a few descriptors per attempt), as it found them, so that
  /// a task starts with the limits baton itself had.
  std::vector<std::pair<int, rlimit>> restore;
  std::vector<ResourceLimit> rlimits;  ///< then these, soft and hard, before exec
  int umask = -1;                      ///< -1 = the supervisor's
  int record_fd = -1;                  ///< the control file: the child appends the "started" record
  std::string record_head;             ///< the record up to the child's pid: `{...,"child_pid":`
  /// This process's pid (the child checks that its parent is still this one).
  int parent_pid = 0;
};

/// How a launch ended.
struct LaunchResult {
  int pid = 0;  ///< > 0: the child exec'd (and is the leader of its own session)
  /// pid == 0: why it did not. The child was reaped already. "cannot enter working
  /// directory D: <strerror>", "cannot set the resource limits: ...", or
  /// "<strerror in lower case>: PROGRAM" (as exec::Process words it).
  std::string error;
  int exec_errno = 0;  ///< the errno of a failed execve of LAUNCH.program (for forget())
};

/// The environment of a child: BASE's "K=V" entries (sorted by key, as baton sends
/// them) with OVERRIDES' entries in place of the base's entry of the same key or added
/// in key order; pointers into BASE and OVERRIDES (which must outlive the result),
/// null-terminated. Each override appears once, and each base entry unless an override
/// has its key, whatever their order.
std::vector<const char*> merge_environment(const std::vector<std::string>& base,
                                           const std::vector<std::string>& overrides);

/// The value of PATH in ENVP (a null-terminated "K=V" list), "" when unset.
std::string path_in(const std::vector<const char*>& envp);

/// Starts LAUNCH's child: own session and process group, PR_SET_PDEATHSIG = SIGKILL
/// (it dies with the supervisor), every signal at its default and none blocked, fds 0..2
/// as given, every other descriptor of the supervisor close-on-exec. SIGPIPE must be
/// blocked in the caller, not ignored (an ignored disposition survives exec; the child
/// only clears its mask). Before exec it appends record_head + `PID,"child_start":TICKS}`
/// + '\n' to record_fd in one write; TICKS is CLOCK_BOOTTIME read by the caller just
/// before the clone, in clock ticks: field 22 of the child's /proc/PID/stat or one less
/// (a tick boundary passed during the clone), never read from /proc by the child.
/// Errors: clone(2) itself failed ("clone: <strerror>").
Result<LaunchResult> launch_child(const ChildLaunch& launch);

}  // namespace baton::exec
