// The run supervisor's loop (supervisor.h): one epoll(7) set over the orchestrator's
// socket, a signalfd and every attempt's two output pipes.
#include "exec/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iterator>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "exec/supervisor_attempt.h"
#include "exec/supervisor_protocol.h"

namespace baton::exec {
namespace {

// What an epoll event is about: the low two bits of its data, above them the attempt.
enum Source : uint64_t { kSocket = 0, kSignals = 1, kStdout = 2, kStderr = 3 };

uint64_t tag(uint64_t id, Source source) { return (id << 2) | source; }

// Sets every signal this process found ignored back to its default. A child inherits
// ignored dispositions through the clone and keeps them across exec, and this process
// starts with some: glibc's posix_spawn (spawn_detached) leaves its internal signals
// 32 and 33 SIG_IGN in every program it starts, and a hand-started supervisor may
// inherit more. The supervisor installs no handler and ignores nothing of its own.
// glibc's sigaction() refuses its internal signals, so this is the system call itself
// (rt_sigaction(2); the kernel's struct: handler first, then flags, restorer, mask).
void reset_ignored_signals() {
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  };
  for (int signo = 1; signo <= 64; ++signo) {
    if (signo == SIGKILL || signo == SIGSTOP) continue;
    KernelSigaction old{};
    if (::syscall(SYS_rt_sigaction, signo, nullptr, &old, sizeof(uint64_t)) != 0) continue;
    if (old.handler != SIG_IGN) continue;
    KernelSigaction dfl{};
    dfl.handler = SIG_DFL;
    (void)::syscall(SYS_rt_sigaction, signo, &dfl, nullptr, sizeof(uint64_t));
  }
}

Result<std::string> read_all(int fd) {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(Error::from_errno("cannot read the spec", errno));
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

class RunSupervisor {
 public:
  int run();

 private:
  Result<void> set_up();
  int wait_timeout_ms() const;
  void on_socket_readable();
  void on_socket_writable();
  void on_signals();
  void on_signal(const signalfd_siginfo& info);
  void reap_children();
  void start_attempt(const MessageHeader& header, std::string_view payload, int* fds, int count);
  void set_environment(const MessageHeader& header, std::string_view payload, int* fds, int count);
  void orchestrator_closed();
  void watch_stream(SupervisedAttempt& attempt, bool is_stdout);
  void settle(SupervisedAttempt& attempt);
  void send(SupervisorMessage type, uint64_t id, int64_t value, std::string_view payload);
  void update_socket_events();

  Fd epoll_;
  Fd signals_;
  Fd dev_null_;
  int dev_null_fd_ = -1;  // what a child with no stdin gets: 0 when that is /dev/null
  bool connected_ = true;
  bool want_write_ = false;
  std::deque<std::string> outbox_;  // messages the socket could not take yet
  SupervisorIdentity self_;
  ProgramCache programs_;
  std::unordered_map<uint64_t, std::unique_ptr<SupervisedAttempt>> attempts_;
  std::unordered_map<int, uint64_t> by_pid_;
  // Journals by the orchestrator's number (kStart's value): O_APPEND, locked by the
  // orchestrator before the first was handed over; open (so locked) until we exit.
  std::unordered_map<int64_t, Fd> journals_;
  // The latest base environment (kEnv): its number and its "K=V" entries.
  uint64_t env_number_ = 0;
  std::vector<std::string> env_;
  std::vector<uint64_t> touched_;  // attempts to settle after this turn's events
  // Messages from the orchestrator: kStart and kEnv travel inline up to
  // kInlineSpecBytes (larger ones in a memfd).
  MessageBatch batch_{16, kInlineSpecBytes + 4096};
};

Result<void> RunSupervisor::set_up() {
  // It must not keep the orchestrator's directory busy; each child gets its own.
  if (::chdir("/") != 0) return tl::unexpected(Error::from_errno("chdir /", errno));
  reset_ignored_signals();
  // A closed socket or pipe is EPIPE: SIGPIPE is blocked, not ignored, so that a child
  // (which clears its mask) starts with it at its default without a sigaction of its own.
  // It is not in the signalfd: one generated here stays pending, harmlessly.
  sigset_t pipe_mask;
  sigemptyset(&pipe_mask);
  sigaddset(&pipe_mask, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &pipe_mask, nullptr);
  sigset_t mask;
  sigemptyset(&mask);
  for (int signo : {SIGCHLD, SIGTERM, SIGINT, cancel_signal(), kill_now_signal()}) {
    sigaddset(&mask, signo);
  }
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return tl::unexpected(Error::from_errno("signalfd", errno));
  signals_ = Fd(sfd);
  int efd = ::epoll_create1(EPOLL_CLOEXEC);
  if (efd < 0) return tl::unexpected(Error::from_errno("epoll_create1", errno));
  epoll_ = Fd(efd);
  // Started by spawn_detached, fd 0 is /dev/null already: a child's stdin then needs no
  // dup2. Otherwise (started by hand) it opens its own.
  struct stat null_st {};
  struct stat zero_st {};
  if (::stat("/dev/null", &null_st) == 0 && ::fstat(0, &zero_st) == 0 && S_ISCHR(zero_st.st_mode) &&
      zero_st.st_rdev == null_st.st_rdev && (::fcntl(0, F_GETFL) & O_ACCMODE) != O_WRONLY) {
    dev_null_fd_ = 0;
  } else {
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) return tl::unexpected(Error::from_errno("open /dev/null", errno));
    dev_null_ = Fd(null_fd);
    dev_null_fd_ = null_fd;
  }
  ::fcntl(kSupervisorSocketFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kSupervisorSocketFd, F_SETFL, O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag(0, kSignals);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signals_.get(), &ev) != 0) {
    return tl::unexpected(Error::from_errno("epoll_ctl", errno));
  }
  ev.data.u64 = tag(0, kSocket);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, kSupervisorSocketFd, &ev) != 0) {
    return tl::unexpected(Error::from_errno("epoll_ctl", errno));
  }
  // A few descriptors per attempt it runs (control file, two pipes, log, stdout file):
  // the soft limit on open files goes up to the hard one; each child gets the old one.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) self_.restore.emplace_back(RLIMIT_NOFILE, files);
  }
  self_.pid = ::getpid();
  self_.start_ticks = process_start_ticks(self_.pid).value_or(0);
  return ok();
}

int RunSupervisor::run() {
  if (auto ready = set_up(); !ready) return 1;
  epoll_event events[64];
  while (connected_ || !attempts_.empty()) {
    int n = ::epoll_wait(epoll_.get(), events, 64, wait_timeout_ms());
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < std::max(n, 0); ++i) {
      const uint64_t data = events[i].data.u64;
      const auto source = static_cast<Source>(data & 3);
      if (source == kSocket) {
        if ((events[i].events & EPOLLOUT) != 0) on_socket_writable();
        if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) on_socket_readable();
        continue;
      }
      if (source == kSignals) {
        on_signals();
        continue;
      }
      auto it = attempts_.find(data >> 2);
      if (it == attempts_.end()) continue;
      it->second->on_output(source == kStdout);
      touched_.push_back(it->first);
    }
    // Deadlines (timeouts, grace periods, group polls) of every attempt.
    const double now = monotonic_now();
    for (auto& [id, attempt] : attempts_) {
      if (auto wake = attempt->next_wake(); wake && *wake <= now) {
        attempt->check_deadlines(now);
        touched_.push_back(id);
      }
    }
    std::vector<uint64_t> touched;
    touched.swap(touched_);
    for (uint64_t id : touched) {
      auto it = attempts_.find(id);
      if (it != attempts_.end()) settle(*it->second);
    }
  }
  return 0;
}

int RunSupervisor::wait_timeout_ms() const {
  std::optional<double> wake;
  for (const auto& [id, attempt] : attempts_) {
    if (auto at = attempt->next_wake()) wake = wake ? std::min(*wake, *at) : *at;
  }
  if (!wake) return -1;
  double ms = std::ceil((*wake - monotonic_now()) * 1000);
  return static_cast<int>(std::clamp(ms, 0.0, 3600e3));
}

void RunSupervisor::on_socket_readable() {
  if (!connected_) return;
  for (;;) {
    // Every waiting message at once (one recvmmsg, none just to hear EAGAIN).
    const int n = batch_.receive(kSupervisorSocketFd);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    for (int i = 0; i < std::max(n, 1); ++i) {
      if (n > 0 && batch_[i].malformed) continue;  // dropped
      if (n <= 0 || batch_[i].eof) {
        orchestrator_closed();
        return;
      }
      MessageBatch::Entry& m = batch_[i];
      const auto type = static_cast<SupervisorMessage>(m.header.type);
      if (type == SupervisorMessage::kStart && m.header.id != 0) {
        start_attempt(m.header, m.payload, m.fds, m.fd_count);
      } else if (type == SupervisorMessage::kEnv && m.header.id != 0) {
        set_environment(m.header, m.payload, m.fds, m.fd_count);
      } else {
        for (int j = 0; j < m.fd_count; ++j) ::close(m.fds[j]);
        if (type == SupervisorMessage::kWhere) {
          // Asked by Supervised::pid(): the attempt has started (its kStart came first)
          // unless it failed or has ended (then its kEnded went first): 0.
          auto it = attempts_.find(m.header.id);
          send(SupervisorMessage::kStarted, m.header.id,
               it != attempts_.end() ? it->second->pid() : 0, {});
        }
      }
    }
    if (static_cast<size_t>(n) < batch_.capacity()) return;  // nothing more was waiting
  }
}

void RunSupervisor::orchestrator_closed() {
  // EOF: the orchestrator exited or died. Its attempts carry on. Every attempt it
  // handed over has been started (its "started" or "exit" record is written): a
  // linked attempt without one in a journal was never handed over.
  connected_ = false;
  // The "exit" records appended while it lived were not synced (it was to commit
  // them itself); it may have died before: they are made durable now, with
  // "drained". From here on each record is synced as it is appended.
  const std::string drained = format_drained_record(unix_now());
  for (auto& [number, journal] : journals_) {
    (void)!::write(journal.get(), drained.data(), drained.size());
    (void)::fsync(journal.get());
  }
  outbox_.clear();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, kSupervisorSocketFd, nullptr);
  ::close(kSupervisorSocketFd);
}

void RunSupervisor::start_attempt(const MessageHeader& header, std::string_view payload, int* fds,
                                  int count) {
  // value 0: fds = [control file, spec memfd?]. value J > 0: the records go to journal
  // J; fds = [journal (the first time J is named), spec memfd?].
  Fd control;
  int journal = -1;
  int next = 0;
  if (header.value == 0) {
    if (count > 0) control = Fd(fds[next++]);
  } else if (auto it = journals_.find(header.value); it != journals_.end()) {
    journal = it->second.get();
  } else if (count > 0) {
    journal = fds[next];
    journals_.emplace(header.value, Fd(fds[next++]));
  }
  Fd spec_fd(count > next ? fds[next++] : -1);
  for (int i = next; i < count; ++i) ::close(fds[i]);
  if ((!control.valid() && journal < 0) || attempts_.count(header.id) != 0) {
    return;  // nothing to record in
  }
  Result<SupervisorSpec> spec = fail("no spec");
  if (spec_fd.valid()) {
    auto bytes = read_all(spec_fd.get());
    spec = bytes ? decode_spec(*bytes) : Result<SupervisorSpec>(tl::unexpected(bytes.error()));
  } else {
    spec = decode_spec(payload);
  }
  std::unique_ptr<SupervisedAttempt> attempt;
  if (!spec) {
    attempt = std::make_unique<SupervisedAttempt>(header.id, std::move(control), journal,
                                                  SupervisorSpec{});
    attempt->fail_before_start("supervisor: " + spec.error().message);
  } else {
    const uint64_t env_base = spec->env_base;
    attempt = std::make_unique<SupervisedAttempt>(header.id, std::move(control), journal,
                                                  std::move(*spec));
    static const std::vector<std::string> kNoEnvironment;
    if (env_base != 0 && env_base != env_number_) {
      attempt->fail_before_start("supervisor: unknown base environment " +
                                 std::to_string(env_base));
    } else if (attempt->start(self_, programs_, dev_null_fd_,
                              env_base != 0 ? env_ : kNoEnvironment)) {
      by_pid_[attempt->pid()] = header.id;
      watch_stream(*attempt, true);
      watch_stream(*attempt, false);
    }
  }
  SupervisedAttempt& ref = *attempt;
  attempts_.emplace(header.id, std::move(attempt));
  settle(ref);
}

void RunSupervisor::set_environment(const MessageHeader& header, std::string_view payload, int* fds,
                                    int count) {
  Fd memfd(count > 0 ? fds[0] : -1);
  for (int i = 1; i < count; ++i) ::close(fds[i]);
  Result<std::vector<std::string>> env = fail("no environment");
  if (memfd.valid()) {
    auto bytes = read_all(memfd.get());
    env = bytes ? decode_env(*bytes)
                : Result<std::vector<std::string>>(tl::unexpected(bytes.error()));
  } else {
    env = decode_env(payload);
  }
  // One that does not decode is unknown: the attempts that name it fail to start.
  env_number_ = env ? header.id : 0;
  env_ = env ? std::move(*env) : std::vector<std::string>();
}

void RunSupervisor::watch_stream(SupervisedAttempt& attempt, bool is_stdout) {
  // Edge-triggered: on_output reads until EAGAIN or EOF. Level-triggered, a stream
  // closed here at its EOF kept reporting EPOLLHUP while a child started since still
  // held a copy of it (close-on-exec happens after the vfork parent resumes): on a busy
  // machine the loop spun ~900 times per task (perf stat, 2,000 no-op tasks).
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = tag(attempt.id(), is_stdout ? kStdout : kStderr);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, is_stdout ? attempt.stdout_fd() : attempt.stderr_fd(),
              &ev);
}

void RunSupervisor::on_signals() {
  // Several per read; a short read means none is left (no read just for EAGAIN).
  signalfd_siginfo infos[16];
  for (;;) {
    const ssize_t n = ::read(signals_.get(), infos, sizeof infos);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    const size_t got = static_cast<size_t>(n) / sizeof infos[0];
    for (size_t i = 0; i < got; ++i) on_signal(infos[i]);
    if (got < std::size(infos)) return;
  }
}

void RunSupervisor::on_signal(const signalfd_siginfo& info) {
  const int signo = static_cast<int>(info.ssi_signo);
  if (signo == SIGCHLD) {
    reap_children();
  } else if (signo == SIGTERM || signo == SIGINT) {
    for (auto& [id, attempt] : attempts_) {
      attempt->killed_from_outside(signo, static_cast<int>(info.ssi_pid));
      touched_.push_back(id);
    }
  } else if (signo == cancel_signal() || signo == kill_now_signal()) {
    const uint64_t id = stop_request_id(info.ssi_code, info.ssi_ptr);
    if (id == 0) return;  // not baton's request
    auto it = attempts_.find(id);
    if (it == attempts_.end()) {
      // The request can overtake its kStart in our queue: read what is waiting.
      on_socket_readable();
      it = attempts_.find(id);
      if (it == attempts_.end()) return;  // it has ended
    }
    it->second->cancel(/*at_once=*/signo == kill_now_signal());
    touched_.push_back(id);
  }
}

void RunSupervisor::reap_children() {
  // Every child it has is in by_pid_ (a child that failed to exec was reaped at once):
  // once that is empty, no waitpid just to hear "none".
  while (!by_pid_.empty()) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) continue;
    const uint64_t id = it->second;
    by_pid_.erase(it);
    if (auto a = attempts_.find(id); a != attempts_.end()) {
      a->second->on_reaped(status);
      touched_.push_back(id);
    }
  }
}

void RunSupervisor::settle(SupervisedAttempt& attempt) {
  // Synced only once the orchestrator is gone (its socket's EOF read; the records
  // appended before are synced then): while it lives it commits the end itself.
  if (attempt.ready_to_record()) attempt.record_end(/*orchestrator_gone=*/!connected_);
  if (!attempt.done()) return;
  const uint64_t id = attempt.id();
  attempt.close_control();  // releases the lock: the attempt is over
  send(SupervisorMessage::kEnded, id, attempt.pid(), encode_exit(attempt.exit_record()));
  attempts_.erase(id);
}

void RunSupervisor::send(SupervisorMessage type, uint64_t id, int64_t value,
                         std::string_view payload) {
  if (!connected_) return;
  MessageHeader header;
  header.type = static_cast<uint32_t>(type);
  header.id = id;
  header.value = value;
  if (outbox_.empty()) {
    ssize_t n = send_message(kSupervisorSocketFd, header, payload, nullptr, 0, MSG_DONTWAIT);
    if (n >= 0) return;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return;  // gone: EOF comes next
  }
  // The orchestrator is not reading right now: never block on it (it may be blocked
  // sending us a kStart); keep the message and wait for room.
  std::string message(reinterpret_cast<const char*>(&header), sizeof header);
  message.append(payload);
  outbox_.push_back(std::move(message));
  update_socket_events();
}

void RunSupervisor::on_socket_writable() {
  while (connected_ && !outbox_.empty()) {
    const std::string& message = outbox_.front();
    MessageHeader header;
    std::memcpy(&header, message.data(), sizeof header);
    std::string_view payload(message.data() + sizeof header, message.size() - sizeof header);
    ssize_t n = send_message(kSupervisorSocketFd, header, payload, nullptr, 0, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    outbox_.pop_front();  // sent, or the socket failed (EOF comes next)
  }
  update_socket_events();
}

void RunSupervisor::update_socket_events() {
  if (!connected_) return;
  const bool want = !outbox_.empty();
  if (want == want_write_) return;
  want_write_ = want;
  epoll_event ev{};
  ev.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.u64 = tag(0, kSocket);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, kSupervisorSocketFd, &ev);
}

}  // namespace

int supervisor_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  RunSupervisor supervisor;
  return supervisor.run();
}

}  // namespace baton::exec
