// Supervised: one attempt's child process run by the run supervisor (`baton-supervise`,
// supervisor.h), a small process that outlives the orchestrator and records everything
// on disk, so that a `baton resume` after a crash of `baton run` can re-attach to a
// running attempt, or read how it ended, instead of running it again.
//
// Contract: the same as exec::Process (process.h) for the child (own session and process
// group, stdin from /dev/null or stdin_data, output streamed to the log as it arrives,
// timeout = SIGTERM to the group, grace, SIGKILL; leftover group members cleaned up; the
// exit callback runs once, on the loop thread, after the log is fsync'd), plus:
// - One supervisor serves every attempt started on a loop (a run): posix_spawned on the
//   first start (never a fork of the orchestrator), in a new session, and replaced when
//   it died. The spec reaches it over a socket (supervisor_protocol.h), never through
//   argv or its environment; its children are its own, started with clone(CLONE_VM|
//   CLONE_VFORK) (child_spawn.h).
// - Files beside the log (BASE = log_path without its ".log" suffix):
//     BASE.attempt  the control file (attempt_file.h): JSON Lines records "started" and
//                   "exit"; a hard link to the supervisor's journal for the directory
//                   (supervisor-PID-N.journal: every attempt's records, each with its
//                   "key"), or a file of its own when the link cannot be made; locked
//                   (flock LOCK_EX) by the supervisor while it lives.
//     BASE.stdout   the captured stdout (first max_capture_bytes bytes); created with
//                   the first byte of stdout, absent when there was none.
// - Secrets in ProcessSpec::redact are replaced by "***" in the log and in the captured
//   stdout and stderr, even when split across reads.
// - An attempt is identified by the supervisor's pid plus its start time (field 22 of
//   /proc/PID/stat), never by pid alone; signals go through a pidfd.
// - The exit callback runs when the supervisor reports the attempt over (kEnded): after
//   the "exit" record, and after group members left behind by the leader are gone or
//   KILLed (unlike Process, whose callback may come before that clean-up when they closed
//   the pipes); so it can come up to kill_grace_s after the leader's end. Ends that
//   arrive together are delivered in one loop turn.
// - A supervisor that dies ends every attempt it ran as kLost (supervisor.h).
// - The orchestrator never fsyncs: the supervisor does, off the orchestrator's thread.
// REQUIRES: the loop outlives every Supervised started or attached on it.
// Thread safety: a Supervised belongs to its loop's thread; the free functions may be
// called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "exec/process.h"
#include "util/error.h"

struct uv_loop_s;

namespace baton::exec {

/// What an attempt's control file says, read without taking part in the attempt.
struct AttemptState {
  enum class Kind {
    kNotStarted,  ///< no control file, or it was never handed to a supervisor (the
                  ///< orchestrator died before spawning, or the supervisor before forking)
    kRunning,     ///< a live supervisor holds it (checked by its lock, never by pid alone)
    kFinished,    ///< the supervisor recorded the end; `result` holds the real exit status,
                  ///< stdout, stderr tail, pid and times
    kLost,        ///< a supervisor started it but died before recording the end
                  ///< (e.g. SIGKILLed)
  };
  Kind kind = Kind::kNotStarted;
  ProcessResult result;    ///< kFinished only
  int supervisor_pid = 0;  ///< from the "started" record; 0 when none
  int child_pid = 0;       ///< from the "started" record (== the child's pgid); 0 when none
  std::string detail;      ///< why: e.g. "no control file", "supervisor died", parse errors
};

/// Reads the control file of an attempt (CONTROL_PATH = control_path_for(log_path)) and
/// the stdout file beside it. Never blocks (the lock is only tested, LOCK_NB). An
/// unreadable or malformed file is reported as kLost with `detail` naming the reason,
/// unless a live supervisor holds it (kRunning).
AttemptState inspect_attempt(const std::string& control_path);

/// For a kLost attempt: SIGKILLs what is left of the child's process group, then appends
/// a "cleaned" record, so a later inspect says kLost again (idempotent).
/// Errors: the attempt is not lost (running, finished, not started), or the file cannot
/// be written.
Result<void> clean_up_lost_attempt(const std::string& control_path);

/// "<log_path without .log>.attempt": where the control file of an attempt whose log is
/// LOG_PATH lives (LOG_PATH + ".attempt" when it does not end in ".log").
std::string control_path_for(const std::string& log_path);

/// Asks a running attempt's supervisor (checked by pid + start time, a stop request
/// through a pidfd naming the attempt) to cancel it: SIGTERM to the child's group, grace,
/// SIGKILL; the supervisor records kind kCancelled. For `baton cancel` of a run whose orchestrator
/// is gone; returns without waiting for the end. Errors: the attempt is not running.
Result<void> cancel_attempt(const std::string& control_path);

/// One attempt under a supervisor, watched from a libuv loop. Move-only via unique_ptr.
class Supervised {
 public:
  using ExitCallback = std::function<void(const ProcessResult&)>;

  /// Hands SPEC to LOOP's run supervisor (spawned on first use); same semantics as
  /// Process::start: a child that cannot be started (no such program, bad cwd) is
  /// reported through the callback with kFailedToStart. An empty spec.cwd means this
  /// process's current directory. Does not wait for the child to start.
  /// REQUIRES: spec.argv non-empty and spec.log_path non-empty (the control file sits
  /// beside it). Errors: the control file cannot be created, or it is held by a live
  /// supervisor, or no supervisor can be spawned or reached. The log itself is created
  /// by the supervisor with the first byte of output: an attempt that prints nothing
  /// leaves no log file (read as empty).
  /// The supervisor program: $BATON_SUPERVISOR when set, else `baton-supervise` beside
  /// /proc/self/exe, else `/proc/self/exe __supervise`.
  static Result<std::unique_ptr<Supervised>> start(uv_loop_s* loop, ProcessSpec spec,
                                                   ExitCallback on_exit);

  /// Re-attaches to an attempt whose supervisor is still running (inspect says kRunning,
  /// identity checked by pid + start time), watching its control file with inotify: the
  /// callback runs when it ends, with the result the supervisor recorded (kLost when the
  /// supervisor died first). If it ended meanwhile (kFinished), the callback runs on the
  /// next loop iteration. Errors: not started, lost, or the file is unreadable.
  static Result<std::unique_ptr<Supervised>> attach(uv_loop_s* loop,
                                                    const std::string& control_path,
                                                    ExitCallback on_exit);

  /// Like Process::terminate: asks the supervisor (a stop request naming this attempt),
  /// which sends SIGTERM to the group, waits kill_grace_s, then SIGKILL; the result's
  /// kind becomes kCancelled. No-op once it ended or after detach().
  void terminate();

  /// Kills the attempt now: a stop request at once; the supervisor SIGKILLs the group
  /// (also ending a grace period terminate() started); the result's kind is kCancelled.
  /// Returns without waiting: the callback reports the end. No-op once it ended or after
  /// detach().
  void kill_now();

  /// Forgets the attempt without stopping it: the supervisor carries on and records the
  /// end; the callback is never called.
  void detach();

  /// The child's pid (== its process group id). After start() the first call asks the
  /// supervisor (kWhere) and waits (bounded, 30 s) for the answer (kStarted, or the
  /// attempt's kEnded: events on the socket, not polling; 0 if it failed to start or
  /// the supervisor died first). After attach(): the recorded pid.
  int pid() const;
  /// The supervisor's pid (shared by every attempt it runs).
  int supervisor_pid() const;
  /// True until the exit callback has run (false after detach()).
  bool running() const;
  /// The control file's path.
  const std::string& control_path() const;

  /// Like ~Process: a running attempt is killed (a stop request at once: SIGKILL to the
  /// group, no grace) and its end is waited for (bounded: after 10 s the group is KILLed
  /// from here) before returning; no orphan. The callback is not called. Not after
  /// detach().
  ~Supervised();
  Supervised(const Supervised&) = delete;
  Supervised& operator=(const Supervised&) = delete;

  struct Impl;

 private:
  explicit Supervised(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::exec
