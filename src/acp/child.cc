#include "acp/child.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace baton::acp {

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    reap(true);
  }
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      reaped_(o.reaped_),
      status_(o.status_),
      stdin_(std::move(o.stdin_)),
      stdout_(std::move(o.stdout_)),
      pidfd_(std::move(o.pidfd_)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !reaped_) {
      ::kill(-pid_, SIGKILL);
      reap(true);
    }
    pid_ = std::exchange(o.pid_, -1);
    reaped_ = o.reaped_;
    status_ = o.status_;
    stdin_ = std::move(o.stdin_);
    stdout_ = std::move(o.stdout_);
    pidfd_ = std::move(o.pidfd_);
  }
  return *this;
}

Result<Child> Child::start(const ChildSpec& spec) {
  if (spec.argv.empty()) return fail("cannot start a child: empty argv");
  const std::string& name = spec.argv[0];
  int in[2] = {-1, -1}, out[2], report[2];
  if (spec.pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0) {
    return fail("cannot start " + name + ": pipe: " + std::strerror(errno), errno);
  }
  exec::Fd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return fail("cannot start " + name + ": pipe: " + std::strerror(errno), errno);
  }
  exec::Fd out_r(out[0]), out_w(out[1]);
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return fail("cannot start " + name + ": pipe: " + std::strerror(errno), errno);
  }
  exec::Fd report_r(report[0]), report_w(report[1]);
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail("cannot start " + name + ": fork: " + std::strerror(errno), errno);
  if (pid == 0) {
    ::setpgid(0, 0);
    // Dies with the bridge, should the supervisor have to SIGKILL it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // it died before the prctl
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(spec.pipe_stdin ? in_r.get() : devnull, 0);
    ::dup2(out_w.get(), 1);
    if (spec.merge_stderr) ::dup2(out_w.get(), 2);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(report_w.get(), &e, sizeof e);
      ::_exit(127);
    }
    for (const auto& [k, v] : spec.env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execvp(argv[0], argv.data());
    int e = errno;
    (void)!::write(report_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with a signal sent right after start
  report_w.reset();
  Child c;
  c.pid_ = pid;
  int e = 0;
  ssize_t n;
  do {
    n = ::read(report_r.get(), &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof e) {
    c.reap(true);
    return fail("cannot start " + name + ": " + std::strerror(e), e);
  }
  ::fcntl(out_r.get(), F_SETFL, ::fcntl(out_r.get(), F_GETFL) | O_NONBLOCK);
  c.stdin_ = std::move(in_w);
  c.stdout_ = std::move(out_r);
  auto pidfd = exec::open_pidfd(pid);
  if (pidfd) c.pidfd_ = std::move(*pidfd);
  return c;
}

void Child::signal_group(int signo) {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, signo);
}

bool Child::reap(bool block) {
  if (pid_ <= 0 || reaped_) return reaped_;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    status_ = st;
  } else if (r < 0) {
    reaped_ = true;  // not our child any more (ECHILD): nothing to wait for
  }
  return reaped_;
}

}  // namespace baton::acp
