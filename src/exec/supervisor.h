// The attempt supervisor: the program `baton-supervise` (src/supervise_main.cc), also
// reachable as `baton __supervise`. exec::Supervised (supervised.h) has it forked by
// the supervisor zygote (zygote.h: the same program with --zygote) or starts it with
// posix_spawn, in its own session either way; it runs one child and records how it
// ended in the attempt's control file (attempt_file.h), whether or not the orchestrator
// still lives.
//
// Descriptors it is started with:
//   fd 3  the control file, opened and locked (flock LOCK_EX) by the orchestrator; the
//         supervisor keeps it open, hence locked, until it exits.
//   fd 4  a memfd holding the spec (attempt_file.h, format 1); read and closed.
//   fd 5  optional: a pipe on which the child's pid is written as "PID\n", then closed.
//   fds 0..2 are /dev/null; its environment is empty (the child's is in the spec).
//
// What it does: forks the child (own session and process group, PR_SET_PDEATHSIG =
// SIGKILL, default signal dispositions and an empty mask, stdin from a memfd holding
// stdin_data or /dev/null, stdout and stderr on pipes), appends the "started" record,
// lets the child exec, streams its output (redacted) to the log as it arrives and stdout
// into the stdout file (up to max_capture_bytes; the file is created with the first
// byte), keeps the last 64 KiB of stderr, and
// enforces the timeout (SIGTERM to the group, kill_grace_s, SIGKILL). Signals to the
// supervisor from baton (request_pidfd, spawn.h: SI_QUEUE with kBatonRequestCookie):
// SIGTERM = cancel (TERM, grace, KILL; kind kCancelled), SIGINT = cancel at once
// (SIGKILL). SIGTERM or SIGINT from anyone else (a plain kill(2)) ends the attempt the
// same way (TERM, grace, KILL) but records it as killed by that signal (kind kSignaled,
// `error` naming the sender): never a cancellation baton did not ask for. A failed
// write or sync of the log or the stdout file is recorded in the exit record
// (output_error; stdout_truncated when the capture was cut). When the leader has been
// reaped and both pipes reached EOF it fsyncs the log and stdout files (those it wrote
// to), appends the "exit" record and, when its parent (the zygote or the orchestrator)
// is gone, fsyncs the control file (while the orchestrator lives, it records the end
// durably itself); then it TERMs,
// waits up to the grace and KILLs any group member left behind, and exits. It links
// only libc, libstdc++ and header-only nlohmann-json.
#pragma once

namespace baton::exec {

/// The descriptor numbers of the hand-off described above.
inline constexpr int kSupervisorControlFd = 3;
inline constexpr int kSupervisorSpecFd = 4;
inline constexpr int kSupervisorReadyFd = 5;

/// Runs the supervisor (ARGV is informational only), or the zygote when an argument is
/// kZygoteFlag (zygote.h). Returns the process exit status: 0 when an "exit" record was
/// written, 1 when even that failed.
int supervisor_main(int argc, char** argv);

}  // namespace baton::exec
