#include "exec/zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "exec/spawn.h"
#include "exec/supervisor.h"

namespace baton::exec {
namespace {

constexpr int kZygoteSocketFd = 3;
constexpr int kMaxFds = 8;
// Descriptors are parked above this while the supervisor's are put in place.
constexpr int kParkedFdBase = 100;

// One SEQPACKET message: DATA (BYTES) plus FDS as SCM_RIGHTS. Returns sendmsg's result.
ssize_t send_with_fds(int socket, const void* data, size_t bytes, const int* fds, int count) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  std::memset(control, 0, sizeof control);
  iovec iov{const_cast<void*>(data), bytes};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (count > 0) {
    const size_t fd_bytes = sizeof(int) * static_cast<size_t>(count);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(fd_bytes);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fd_bytes);
    std::memcpy(CMSG_DATA(c), fds, fd_bytes);
  }
  ssize_t n;
  while ((n = ::sendmsg(socket, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  return n;
}

// One SEQPACKET message into DATA (at most BYTES); the descriptors that came with it
// (close-on-exec) into FDS, their number into COUNT. Returns recvmsg's result (0 at
// EOF); a truncated message is an error (EMSGSIZE).
ssize_t receive_with_fds(int socket, void* data, size_t bytes, int* fds, int& count) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec iov{data, bytes};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  count = 0;
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int k = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < k; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (count < kMaxFds) {
        fds[count++] = fd;
      } else {
        ::close(fd);
      }
    }
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    for (int i = 0; i < count; ++i) ::close(fds[i]);
    count = 0;
    errno = EMSGSIZE;
    return -1;
  }
  return n;
}

// ---- the zygote --------------------------------------------------------------------

void on_sigchld(int) {}  // only interrupts ppoll(2)

// The signals that cancel an attempt: blocked in a new supervisor until it takes them.
sigset_t cancel_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// In the forked child: becomes the supervisor FDS/TARGETS describe, never returns.
[[noreturn]] void become_supervisor(const int* fds, const int32_t* targets, int count, int argc,
                                    char** argv) {
  ::setsid();
  ::signal(SIGCHLD, SIG_DFL);
  // As spawn_detached leaves it: only the cancel signals blocked (since before the
  // fork), until the supervisor takes them; SIGCHLD was blocked for the zygote's ppoll.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_UNBLOCK, &chld, nullptr);
  int parked[kMaxFds];
  int highest = 2;
  for (int i = 0; i < count; ++i) {
    if (targets[i] == 0) {
      if (::fchdir(fds[i]) != 0) ::_exit(127);
      parked[i] = -1;
      continue;
    }
    parked[i] = ::fcntl(fds[i], F_DUPFD, kParkedFdBase);
    if (parked[i] < 0) ::_exit(127);
    if (targets[i] > highest) highest = targets[i];
  }
  // Drops the zygote's socket and the received originals, then puts each in place.
  ::close_range(3, kParkedFdBase - 1, 0);
  for (int i = 0; i < count; ++i) {
    if (parked[i] >= 0 && ::dup2(parked[i], targets[i]) < 0) ::_exit(127);
  }
  ::close_range(static_cast<unsigned>(highest) + 1, ~0U, 0);
  // Without kZygoteFlag: supervisor_main runs the supervisor, not another zygote.
  char* supervisor_argv[] = {argc > 0 ? argv[0] : nullptr, nullptr};
  std::exit(supervisor_main(argc > 0 ? 1 : 0, supervisor_argv));
}

// Serves one request (the socket is readable); false at EOF or on a socket error.
bool serve_one(int argc, char** argv) {
  int32_t targets[kMaxFds];
  int fds[kMaxFds];
  int count = 0;
  ssize_t n = receive_with_fds(kZygoteSocketFd, targets, sizeof targets, fds, count);
  const bool malformed = n < 0 && errno == EMSGSIZE;  // answered, as a wrong count is
  if (n == 0 || (n < 0 && !malformed)) return false;
  int32_t reply;
  int pidfd = -1;
  if (malformed || n != static_cast<ssize_t>(sizeof(int32_t)) * count) {
    reply = -EINVAL;
  } else {
    // The cancel signals are blocked across the fork: a cancel sent the instant the
    // supervisor exists stays pending until it takes them from its signalfd.
    sigset_t block = cancel_signals();
    sigset_t old;
    ::sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = ::fork();
    if (pid == 0) become_supervisor(fds, targets, count, argc, argv);
    reply = pid > 0 ? static_cast<int32_t>(pid) : -errno;
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (pid > 0) {
      // Opened before this process can reap it (only this process reaps it): the pidfd
      // names that supervisor even if it has already ended.
      auto opened = open_pidfd(pid);
      if (opened) {
        pidfd = opened->release();
      } else {
        ::kill(pid, SIGKILL);
        reply = -ESRCH;
      }
    }
  }
  for (int i = 0; i < count; ++i) ::close(fds[i]);
  send_with_fds(kZygoteSocketFd, &reply, sizeof reply, &pidfd, pidfd >= 0 ? 1 : 0);
  if (pidfd >= 0) ::close(pidfd);
  return true;
}

// ---- the orchestrator's side ---------------------------------------------------------

struct ZygoteHandle {
  std::mutex mu;
  std::string program;
  Fd socket;
  int pid = 0;
  int owner = 0;  // the process that started it: a forked child must start its own

  // Forgets the zygote and reaps it: it sees EOF, reaps the supervisors that ended (so
  // their CPU time reaches this process's children's rusage) and exits.
  void drop() {
    socket.reset();
    if (pid > 0) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    pid = 0;
  }

  Result<void> start(const std::string& path, const std::vector<std::string>& argv) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      return tl::unexpected(Error::from_errno("supervisor zygote: socketpair", errno));
    }
    Fd ours(pair[0]);
    Fd theirs(pair[1]);
    auto spawned = spawn_detached(path, argv, {{theirs.get(), kZygoteSocketFd}}, {});
    if (!spawned) return fail("supervisor zygote: " + spawned.error().message);
    program = path;
    socket = std::move(ours);
    pid = *spawned;
    owner = ::getpid();
    return ok();
  }

  // One request on the current zygote; GONE is set when the zygote is not there.
  Result<ZygoteChild> request(const std::vector<FdMapping>& fds, int cwd, bool& gone) {
    int32_t targets[kMaxFds];
    int sent[kMaxFds];
    int count = 0;
    for (const FdMapping& m : fds) {
      targets[count] = m.target;
      sent[count++] = m.source;
    }
    targets[count] = 0;  // the working directory
    sent[count++] = cwd;
    if (send_with_fds(socket.get(), targets, sizeof(int32_t) * static_cast<size_t>(count), sent,
                      count) < 0) {
      gone = true;
      return tl::unexpected(Error::from_errno("supervisor zygote: send", errno));
    }
    int32_t reply = 0;
    int received[kMaxFds];
    int received_count = 0;
    ssize_t n = receive_with_fds(socket.get(), &reply, sizeof reply, received, received_count);
    Fd pidfd(received_count > 0 ? received[0] : -1);
    for (int i = 1; i < received_count; ++i) ::close(received[i]);
    if (n != static_cast<ssize_t>(sizeof reply)) {
      gone = true;
      return fail("supervisor zygote: it exited without an answer");
    }
    if (reply <= 0) return tl::unexpected(Error::from_errno("supervisor zygote: fork", -reply));
    if (!pidfd.valid()) return fail("supervisor zygote: no pidfd with the answer");
    return ZygoteChild{static_cast<int>(reply), std::move(pidfd)};
  }
};

ZygoteHandle& handle() {
  // Never destroyed: a static destructor would race with threads still starting
  // attempts at exit. at_exit() below ends the zygote.
  static auto* h = new ZygoteHandle();
  return *h;
}

void at_exit() {
  ZygoteHandle& z = handle();
  std::unique_lock<std::mutex> lock(z.mu, std::try_to_lock);
  if (lock.owns_lock() && z.owner == ::getpid()) z.drop();
}

}  // namespace

int zygote_main(int argc, char** argv) {
  // The zygote must not keep the orchestrator's directory busy (or look like part of
  // it): each supervisor gets its directory with the request.
  if (::chdir("/") != 0) return 1;
  // SIGCHLD is blocked except inside ppoll, whose wait it interrupts, so that ended
  // supervisors are reaped at once and none is missed between the reaping and the wait.
  struct sigaction action {};
  action.sa_handler = on_sigchld;
  ::sigaction(SIGCHLD, &action, nullptr);
  sigset_t chld, waiting;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, &waiting);
  sigdelset(&waiting, SIGCHLD);
  for (;;) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    pollfd p{kZygoteSocketFd, POLLIN, 0};
    int rc = ::ppoll(&p, 1, nullptr, &waiting);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return 1;
    if (!serve_one(argc, argv)) break;
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return 0;
}

Result<ZygoteChild> spawn_through_zygote(const std::string& program,
                                         const std::vector<std::string>& zygote_argv,
                                         const std::vector<FdMapping>& fds) {
  if (fds.size() + 1 > static_cast<size_t>(kMaxFds)) {
    return fail("supervisor zygote: too many descriptors");
  }
  int raw_cwd = ::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (raw_cwd < 0) {
    return tl::unexpected(Error::from_errno("supervisor zygote: cannot open .", errno));
  }
  Fd cwd(raw_cwd);
  ZygoteHandle& z = handle();
  std::lock_guard<std::mutex> lock(z.mu);
  if (z.socket.valid() && z.owner != ::getpid()) {
    // Inherited through fork(2): the parent's zygote, which the parent still uses.
    z.socket.reset();
    z.pid = 0;
  }
  if (z.socket.valid() && z.program != program) z.drop();
  Result<ZygoteChild> result = fail("supervisor zygote: not started");
  for (int tries = 0; tries < 2; ++tries) {
    if (!z.socket.valid()) {
      if (auto started = z.start(program, zygote_argv); !started) {
        return tl::unexpected(started.error());
      }
      static const bool registered = std::atexit(at_exit) == 0;
      (void)registered;
    }
    bool gone = false;
    result = z.request(fds, cwd.get(), gone);
    if (!gone) break;
    z.drop();
  }
  return result;
}

}  // namespace baton::exec
