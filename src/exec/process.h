// Process supervision on a libuv loop: start a command in its own process group,
// stream its output to a log file as it comes, enforce a timeout, reap it, and
// report how it ended as a value.
//
// Contract (see STYLE.md, folly's Subprocess):
// - argv is executed directly (PATH searched); a shell only when the caller puts
//   "/bin/sh", "-c", ... in argv.
// - The child gets its own process group (it is the group leader), stdin from
//   /dev/null unless `stdin_data` is given (then written to a pipe and closed),
//   stdout and stderr on pipes. Every fd baton holds is close-on-exec.
// - Output is appended to `log_path` as it arrives (never buffered until the end);
//   stdout is also kept in memory (bounded by max_capture_bytes), and the last
//   64 KiB of stderr.
// - Timeout: SIGTERM to the whole group, `kill_grace_s` later SIGKILL to the group.
//   When the leader exits on its own while other group members remain (a
//   background grandchild), they get the same TERM, grace, KILL treatment. The
//   result still reports the leader's own exit status. This clean-up may outlast the
//   exit callback (which waits only for the leader and the pipes): a loop timer
//   polls the group and keeps the loop alive until it is gone or has been KILLed.
// - The exit callback runs once, on the loop thread, only after the leader is
//   reaped, both pipes reached EOF and the log file is flushed (fsync'd).
// - Destroying a running Process terminates it (TERM, then KILL without grace)
//   and reaps it synchronously; no process is orphaned. The exit callback is then
//   never called.
// - The child is started with setsid(2) (libuv's UV_PROCESS_DETACHED): it leads its
//   own session and process group, so its pgid equals its pid. Its signal
//   dispositions are reset to the defaults and its signal mask is cleared.
// - start() sets SIGPIPE to SIG_IGN in baton when it is at SIG_DFL, so that writing
//   stdin_data to a child that exited does not kill baton (children still get the
//   default disposition).
// REQUIRES: the loop outlives every Process started on it, and is run until the
// handles of destroyed Processes finish closing.
// Thread safety: a Process belongs to its loop's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

struct uv_loop_s;

namespace baton::exec {

/// How a process ended, as a value.
struct ExitStatus {
  enum class Kind {
    kExited,         ///< exited normally; `code` holds the exit code
    kSignaled,       ///< killed by signal `signal` (not by baton's timeout)
    kTimedOut,       ///< baton terminated it after the timeout; `signal` is the last one sent
    kCancelled,      ///< baton terminated it on request (terminate()); `signal` as above
    kFailedToStart,  ///< spawn failed; `error` says why (e.g. "no such file: foo")
    kLost,           ///< supervised only: its supervisor died before recording the end; `error`
                     ///< may say more. What the child did is unknown: a failed attempt, retryable
  };
  Kind kind = Kind::kExited;
  int code = 0;
  int signal = 0;
  std::string error;
  double timeout_s = 0;  ///< kTimedOut only: the limit that was exceeded, seconds

  /// True only for kExited with code 0.
  bool success() const { return kind == Kind::kExited && code == 0; }
  /// "exited 0", "exited 3", "killed by signal 9", "timed out after 30s (SIGTERM)",
  /// "cancelled (SIGKILL)", "failed to start: ...", "supervisor died"; kSignaled and
  /// kLost add a non-empty `error` in parentheses ("killed by signal 15 (SIGTERM sent to
  /// its supervisor by pid 42)").
  std::string to_string() const;
};

/// What Process and the run supervisor (supervisor_attempt.h) keep of a child's output
/// and how they watch a group left behind: the last kStderrTailBytes of stderr (bytes),
/// reads of kReadBufferBytes (bytes), and after the leader's end a check that the group
/// is gone first after kMinGroupPollS, then at doubling intervals up to kMaxGroupPollS
/// (seconds).
inline constexpr size_t kStderrTailBytes = 64 * 1024;
inline constexpr size_t kReadBufferBytes = 64 * 1024;
inline constexpr double kMinGroupPollS = 0.01;
inline constexpr double kMaxGroupPollS = 0.32;

/// One resource limit of a child: setrlimit(2) RESOURCE (RLIMIT_NPROC, ...) with soft
/// and hard limit both VALUE (in the resource's unit: processes, bytes, seconds, fds).
struct ResourceLimit {
  int resource = 0;
  uint64_t value = 0;
};

/// What to run and how.
struct ProcessSpec {
  std::vector<std::string> argv;           ///< argv[0] is looked up in PATH
  std::string cwd;                         ///< empty = baton's cwd
  std::map<std::string, std::string> env;  ///< set on top of baton's environment
  std::optional<std::string> stdin_data;   ///< piped to stdin, then closed
  std::string log_path;                    ///< stdout+stderr appended here; empty = none
  std::optional<double> timeout_s;         ///< seconds; none = no limit
  double kill_grace_s = 10;                ///< seconds from SIGTERM to SIGKILL
  size_t max_capture_bytes = 64u << 20;    ///< bound on the in-memory stdout copy
  /// Secret values: every occurrence in the log and in the captured stdout/stderr is
  /// replaced by "***", even when split across reads (exec/redactor.h; empty strings
  /// are ignored).
  std::vector<std::string> redact;
  /// Limits set in the child after fork, before exec (both soft and hard, so the child
  /// cannot raise them). Only exec::Supervised applies them; Process::start refuses a
  /// spec that has any.
  std::vector<ResourceLimit> rlimits;
  /// The child's umask (set with the rlimits, Supervised only); -1 = inherited.
  int umask = -1;
};

/// The outcome of one process.
struct ProcessResult {
  ExitStatus status;
  std::string stdout_text;        ///< stdout (first max_capture_bytes bytes)
  bool stdout_truncated = false;  ///< true when stdout exceeded max_capture_bytes
  /// Supervised attempts: the first failed write or sync of the log or the stdout file
  /// (e.g. "cannot write log file PATH: No space left on device"); "" = none.
  std::string output_error;
  std::string stderr_tail;  ///< last 64 KiB of stderr
  int pid = 0;
  double started_at = 0;  ///< Unix time, seconds
  double ended_at = 0;    ///< Unix time, seconds
};

/// A running (or finished) child process on a libuv loop. Move-only via unique_ptr.
class Process {
 public:
  using ExitCallback = std::function<void(const ProcessResult&)>;

  /// Starts SPEC on LOOP. On spawn failure the callback is still called (on the next
  /// loop iteration) with kind kFailedToStart; an Error is returned only when the
  /// log file cannot be opened or the spec has rlimits (only Supervised applies
  /// them). REQUIRES: spec.argv non-empty.
  static Result<std::unique_ptr<Process>> start(uv_loop_s* loop, ProcessSpec spec,
                                                ExitCallback on_exit);

  /// Terminates a running process: SIGTERM to its group, SIGKILL after the grace
  /// period; the result's kind becomes kCancelled. No-op once it ended.
  void terminate();

  /// The child's pid, which is also its process group id; 0 when the spawn failed.
  int pid() const;
  /// True from a successful spawn until the exit callback has run (or the spawn failed).
  bool running() const;

  /// Terminates a running child (SIGTERM then SIGKILL to its group, no grace) and
  /// reaps it before returning; the exit callback is not called. Also KILLs group
  /// members left behind by a leader that already exited.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  struct Impl;

 private:
  explicit Process(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::exec
