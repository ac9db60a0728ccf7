#include "exec/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace baton::exec {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<int> spawn_detached(const std::string& path, const std::vector<std::string>& argv,
                           const std::vector<FdMapping>& fds, const std::vector<int>& blocked) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  for (int target = 0; target < 3; ++target) {
    posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                     target == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  for (const FdMapping& m : fds) posix_spawn_file_actions_adddup2(&actions, m.source, m.target);
  sigset_t mask;
  sigset_t all_signals;
  sigemptyset(&mask);
  for (int signo : blocked) sigaddset(&mask, signo);
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setsigdefault(&attr, &all_signals);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv_ptrs;
  for (const std::string& arg : argv) argv_ptrs.push_back(const_cast<char*>(arg.c_str()));
  argv_ptrs.push_back(nullptr);
  char* envp[] = {nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv_ptrs.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return tl::unexpected(Error::from_errno("cannot start " + path, rc));
  return static_cast<int>(pid);
}

Result<Fd> open_pidfd(int pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return tl::unexpected(Error::from_errno("pidfd_open " + std::to_string(pid), errno));
  Fd owned(static_cast<int>(fd));
  // pidfd_open sets close-on-exec itself (since Linux 5.3); make sure regardless.
  ::fcntl(owned.get(), F_SETFD, FD_CLOEXEC);
  return owned;
}

Result<void> signal_pidfd(int pidfd, int signo) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0) != 0) {
    return tl::unexpected(Error::from_errno("pidfd_send_signal", errno));
  }
  return ok();
}

Result<void> request_pidfd(int pidfd, int signo) {
  siginfo_t info{};
  info.si_signo = signo;
  info.si_code = SI_QUEUE;  // negative: allowed for another process, unlike SI_USER
  info.si_pid = ::getpid();
  info.si_uid = ::getuid();
  info.si_value.sival_int = kBatonRequestCookie;
  if (::syscall(SYS_pidfd_send_signal, pidfd, signo, &info, 0) != 0) {
    // A kernel that refuses the siginfo still gets the signal through: the attempt then
    // ends as killed by it rather than cancelled, but it ends.
    if (errno == EINVAL || errno == EPERM) return signal_pidfd(pidfd, signo);
    return tl::unexpected(Error::from_errno("pidfd_send_signal", errno));
  }
  return ok();
}

Result<Fd> memfd_with(const char* name, std::string_view data) {
  int raw = ::memfd_create(name, MFD_CLOEXEC);
  if (raw < 0) return tl::unexpected(Error::from_errno("memfd_create", errno));
  Fd fd(raw);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(Error::from_errno("cannot write memfd", errno));
    }
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return tl::unexpected(Error::from_errno("cannot rewind memfd", errno));
  }
  return fd;
}

Result<int64_t> process_start_ticks(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(Error::from_errno(std::string("cannot read ") + path, errno));
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return fail(std::string("cannot read ") + path);
  buf[n] = '\0';
  // "pid (comm) state ..." where comm may hold spaces and ')': fields count from the
  // last ')'; starttime is field 22, the 20th after it.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return fail(std::string("cannot parse ") + path);
  ++p;
  for (int field = 3; field < 22; ++field) {
    while (*p == ' ') ++p;
    while (*p != ' ' && *p != '\0') ++p;
  }
  long long ticks = 0;
  if (std::sscanf(p, " %lld", &ticks) != 1) return fail(std::string("cannot parse ") + path);
  return static_cast<int64_t>(ticks);
}

double unix_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace baton::exec
