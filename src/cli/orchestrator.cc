#include "cli/orchestrator.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "store/process_identity.h"

namespace baton::cli {

PidFd::~PidFd() {
  if (fd_ >= 0) ::close(fd_);
}

bool Orchestrator::alive() const { return store::process_is_running(pid_, start_time_); }

Signalled Orchestrator::signal(int signo) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (fd >= 0) pidfd_ = PidFd(fd);
  if (fd < 0 && errno == ESRCH) return Signalled::kGone;
  // Checked after the pidfd is open: the pidfd pins the process we checked.
  if (!store::process_is_running(pid_, start_time_)) return Signalled::kGone;
  int rc = fd >= 0 ? static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, signo, nullptr, 0))
                   : ::kill(pid_, signo);  // no pidfd (old kernel, seccomp)
  if (rc == 0) return Signalled::kSent;
  if (errno == ESRCH) return Signalled::kGone;
  error_ =
      "cannot signal the orchestrator (pid " + std::to_string(pid_) + "): " + std::strerror(errno);
  return Signalled::kFailed;
}

bool Orchestrator::wait_exit(double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    if (!store::process_is_running(pid_, start_time_)) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (pidfd_.get() >= 0) {
      // Readable once the process has exited.
      pollfd p{pidfd_.get(), POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc > 0) return true;
      if (rc < 0 && errno != EINTR) pidfd_ = PidFd();  // fall back to polling /proc
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace baton::cli
