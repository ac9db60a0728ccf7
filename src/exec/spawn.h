// Low-level process helpers for attempt supervisors (Linux): a move-only file
// descriptor, posix_spawn of a detached program, pidfds, memfds and process identity
// (pid plus start time). Knows nothing of attempts; linked into baton-supervise too, so
// it uses only libc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace baton::exec {

/// An owned file descriptor, closed on destruction. Move-only; -1 means none.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  /// Gives up ownership and returns the descriptor.
  int release() { return std::exchange(fd_, -1); }
  /// Closes the descriptor (if any).
  void reset();

 private:
  int fd_ = -1;
};

/// One descriptor the spawned program gets: SOURCE (in this process) becomes TARGET.
struct FdMapping {
  int source;
  int target;
};

/// Starts PATH with ARGV (argv[0] included) and an empty environment through
/// posix_spawn(3) (CLONE_VM|CLONE_VFORK in glibc: no copy of this process's memory), in
/// a new session (POSIX_SPAWN_SETSID), with every signal at its default disposition and
/// only BLOCKED in its signal mask (so that a signal sent before the program set up its
/// handling stays pending). Its fds 0..2 are /dev/null; FDS are dup2'ed onto their
/// targets (which must be >= 3); every other fd of this process must be close-on-exec.
/// Returns the pid. Errors: "cannot start PATH: <strerror>".
Result<int> spawn_detached(const std::string& path, const std::vector<std::string>& argv,
                           const std::vector<FdMapping>& fds, const std::vector<int>& blocked);

/// pidfd_open(2) of PID (close-on-exec). Errors: ESRCH when no such process.
Result<Fd> open_pidfd(int pid);

/// pidfd_send_signal(2). Errors: ESRCH once the process has exited.
Result<void> signal_pidfd(int pidfd, int signo);

/// The si_value an orchestrator's own requests to a supervisor carry ("bato").
inline constexpr int kBatonRequestCookie = 0x6261746f;

/// pidfd_send_signal(2) of SIGNO with a siginfo that marks it as baton's own request
/// (si_code SI_QUEUE, si_value kBatonRequestCookie), which a supervisor tells apart
/// from a plain kill(2) by anyone else (supervisor.h). Errors as signal_pidfd().
Result<void> request_pidfd(int pidfd, int signo);

/// A sealed-size-free memfd (memfd_create(2), close-on-exec) named NAME holding DATA,
/// its offset back at 0. Errors: "memfd_create: <strerror>" or a write error.
Result<Fd> memfd_with(const char* name, std::string_view data);

/// The start time of process PID: field 22 of /proc/PID/stat (clock ticks since boot;
/// proc(5)). Together with the pid it identifies a process; a reused pid has a later
/// start time. Errors: no such process, or the line cannot be parsed.
Result<int64_t> process_start_ticks(int pid);

/// Seconds since the Unix epoch (CLOCK_REALTIME).
double unix_now();

/// Seconds on CLOCK_MONOTONIC.
double monotonic_now();

}  // namespace baton::exec
