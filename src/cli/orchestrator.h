// The orchestrator of a run (the `baton run` or `baton resume` process recorded on the
// run row, known by pid plus start time, never by pid alone), signalled and awaited by
// the commands that control a run: cancel (SIGTERM), pause and approve (SIGUSR1 after
// recording their request as an event, which the orchestrator reads).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace baton::cli {

/// A pidfd (pidfd_open(2)): refers to one process for as long as it is open, so a
/// signal sent through it cannot reach a later process that reuses the pid. Closed
/// on destruction. Move-only.
class PidFd {
 public:
  PidFd() = default;
  explicit PidFd(int fd) : fd_(fd) {}
  ~PidFd();
  PidFd(PidFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  PidFd& operator=(PidFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  PidFd(const PidFd&) = delete;
  PidFd& operator=(const PidFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

/// What Orchestrator::signal() did.
enum class Signalled { kSent, kGone, kFailed };

/// The orchestrator (PID, START_TIME) of a run, signalled and awaited.
class Orchestrator {
 public:
  Orchestrator(int pid, int64_t start_time) : pid_(pid), start_time_(start_time) {}

  /// True while the recorded process runs (store::process_is_running).
  bool alive() const;

  /// Sends SIGNO if the process is still the orchestrator (checked after a pidfd
  /// pinned it). kGone: it is not running any more. kFailed: see error().
  Signalled signal(int signo);

  /// Waits up to TIMEOUT_S seconds for the orchestrator to exit; true if it did.
  bool wait_exit(double timeout_s);

  const std::string& error() const { return error_; }

 private:
  int pid_;
  int64_t start_time_;
  PidFd pidfd_;
  std::string error_;
};

}  // namespace baton::cli
