// The run supervisor: the program `baton-supervise` (src/supervise_main.cc), also
// reachable as `baton __supervise`. One per orchestrator process (per loop that starts
// attempts, exec/supervised.h): the orchestrator posix_spawns it once, in a session of
// its own, and hands it every attempt over a socket; it starts each attempt's child,
// streams the child's output into the attempt's files and records how it ended in the
// attempt's control file (attempt_file.h), whether or not the orchestrator still lives.
//
// Descriptors it is started with:
//   fd 3  its end of an AF_UNIX SOCK_SEQPACKET socket pair (supervisor_protocol.h).
//   fds 0..2 are /dev/null; its environment is empty (each child's is in its spec); its
//   argv ends with the orchestrator's directory, for ps(1) only;
//   SIGTERM, SIGINT and the stop signals are blocked from the start (spawn_detached),
//   so a request sent the instant it exists stays pending until it reads its signalfd;
//   every signal it finds ignored (glibc's posix_spawn leaves its internal 32 and 33
//   ignored) it sets back to the default first, so that no child inherits SIG_IGN.
//
// What it does, in one thread around one epoll(7) loop (the socket, a signalfd, the
// attempts' output pipes; deadlines on CLOCK_MONOTONIC):
// - kEnv: keeps the base environment of the attempts that follow (the latest only).
// - kStart: starts the child with launch_child (child_spawn.h: own session and process
//   group, PR_SET_PDEATHSIG = SIGKILL, limits, umask, the "started" record written by
//   the child before exec, programs looked up once per PATH; its environment the base
//   with the task's own entries on top). No answer: kWhere asks for a pid (kStarted).
// - streams stdout and stderr (redacted, supervisor_attempt.h) into the log as they
//   arrive, stdout into the stdout file (bounded), keeps the last 64 KiB of stderr;
//   enforces the timeout (SIGTERM to the group, kill_grace_s, SIGKILL).
// - stop requests (supervisor_protocol.h, queued real-time signals naming an attempt):
//   cancel = TERM, grace, KILL, recorded kCancelled; kill now = KILL at once. A plain
//   SIGTERM or SIGINT from anyone (kill(2)) ends every attempt it runs the same way but
//   records each as killed by that signal (kind kSignaled, `error` naming the sender):
//   never a cancellation baton did not ask for.
// - when an attempt's leader was reaped and both pipes reached EOF: fsyncs the log and
//   stdout file (those written to), appends the "exit" record (fsync'd only once the
//   orchestrator is gone, i.e. its socket's EOF was read: while it lives it records the
//   end durably itself), TERMs,
//   waits up to the grace and KILLs any group member left behind, closes a control
//   file of the attempt's own (releasing its lock; a journal stays open, so locked,
//   until the supervisor exits) and sends kEnded with the record.
// - at EOF of the socket (the orchestrator exited or died) it appends "drained" to each
//   journal (everything it was sent has started) and fsyncs it (so the "exit" records
//   appended before, unsynced, are durable too), carries on with the attempts it runs
//   and exits when the last has ended.
// What its death costs: every attempt it runs. Their children die with it
// (PR_SET_PDEATHSIG), their locks are released, their control files have a "started"
// but no "exit" record: each is lost (exec/supervised.h), killed to the last group
// member by clean_up_lost_attempt and retried by policy as "supervisor died". It links
// only libc, libstdc++ and header-only nlohmann-json.
#pragma once

namespace baton::exec {

/// The descriptor of the socket described above.
inline constexpr int kSupervisorSocketFd = 3;

/// Runs the supervisor (ARGV is informational only: `baton-supervise DIR` or
/// `baton __supervise DIR`). Returns the process exit status:
/// 0 after the socket's EOF and the last attempt's end, 1 on an error of its own
/// (epoll, signalfd, the socket).
int supervisor_main(int argc, char** argv);

}  // namespace baton::exec
