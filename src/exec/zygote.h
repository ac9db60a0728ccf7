// The supervisor zygote: one small process per orchestrator that forks attempt
// supervisors, so that starting an attempt costs a fork of a ~1 MB static process
// instead of an exec of `baton-supervise`.
//
// Why: every exec of a program runs glibc's start-up, which on this kind of virtual
// machine spends most of its time in CPUID instructions (cache detection:
// `intel_check_word`, `handle_intel`), each a trap to the hypervisor. Profiled on a
// 10,000-task run it was a quarter of all CPU time, once in the supervisor and once in
// the task's own program (bench/RESULTS.md, "(7) Supervisor start"). A fork of a process
// that has already done it costs none of that.
//
// Protocol (AF_UNIX SOCK_SEQPACKET socket pair, the zygote's end on its fd 3):
//   request  payload: int32 targets[K]; SCM_RIGHTS: K descriptors. Descriptor i becomes
//            the supervisor's fd targets[i] (>= 3), except target 0, a directory the
//            supervisor fchdir(2)s to (the orchestrator's current directory).
//   reply    payload: int32: the supervisor's pid (> 0), or -errno of the failed fork;
//            SCM_RIGHTS: with a pid, a pidfd of the supervisor, opened by the zygote
//            before it could reap it.
// The supervisor is the zygote's fork: in a new session, SIGTERM and SIGINT blocked
// until it sets up its own handling, every other signal at its default, fds 0..2 on
// /dev/null, only the targets open above 2, an empty environment; then it runs
// supervisor_main() exactly as `baton-supervise` would (exec/supervisor.h). The zygote
// reaps its supervisors as they end; the orchestrator watches each one through the
// pidfd it was sent. At EOF it reaps those that ended and exits; the orchestrator waits
// for it at exit (atexit), so the CPU time of ended supervisors and their children is
// counted in the orchestrator's children's rusage, as when it spawned them itself. The zygote exits
// when the orchestrator's end of the socket closes (the orchestrator exited or died); running
// supervisors carry on.
#pragma once

#include <string>
#include <vector>

#include "exec/spawn.h"
#include "util/error.h"

namespace baton::exec {

/// The argument that turns the supervisor program into a zygote: `baton-supervise
/// --zygote` or `baton __supervise --zygote`.
inline constexpr const char* kZygoteFlag = "--zygote";

/// The zygote's body (the program was started with kZygoteFlag and the socket on fd 3).
/// Serves requests until the socket reaches EOF; returns 0 then, 1 on a socket error.
/// In a forked supervisor it does not return: the process exits with supervisor_main's
/// status.
int zygote_main(int argc, char** argv);

/// A supervisor the zygote forked: its pid and a pidfd the zygote opened before it could
/// reap it (so the pidfd names that process even if it has already ended).
struct ZygoteChild {
  int pid = 0;
  Fd pidfd;
};

/// Starts an attempt supervisor through this process's zygote for PROGRAM (started on
/// first use with ZYGOTE_ARGV, which must end with kZygoteFlag; a zygote for another
/// program is replaced). FDS map this process's descriptors onto the supervisor's, as
/// for spawn_detached (targets >= 3); the supervisor's working directory is this
/// process's at the time of the call. Returns the supervisor's pid and pidfd; it is not
/// this process's child (do not wait for it: watch the pidfd). Thread-safe (one request
/// at a time). A zygote that died is restarted once per call; a process forked from
/// this one starts its own.
/// Errors: the zygote cannot be started or died on the request ("supervisor zygote:
/// ..."), or its fork failed ("supervisor zygote: fork: <strerror>").
Result<ZygoteChild> spawn_through_zygote(const std::string& program,
                                         const std::vector<std::string>& zygote_argv,
                                         const std::vector<FdMapping>& fds);

}  // namespace baton::exec
