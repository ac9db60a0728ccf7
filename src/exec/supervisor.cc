// The supervisor's logic (see supervisor.h): one child, one poll(2) loop over its two
// output pipes and a signalfd (SIGCHLD, SIGTERM, SIGINT), deadlines on CLOCK_MONOTONIC.
#include "exec/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/attempt_file.h"
#include "exec/log_file.h"
#include "exec/process_group.h"
#include "exec/redactor.h"
#include "exec/spawn.h"
#include "exec/zygote.h"

extern char** environ;

namespace baton::exec {
namespace {

constexpr size_t kStderrTailBytes = 64 * 1024;
constexpr size_t kReadBufferBytes = 64 * 1024;
// After the leader is reaped, a group being killed is checked for having gone away,
// first after kMinGroupPoll seconds, then at doubling intervals up to kMaxGroupPoll.
constexpr double kMinGroupPoll = 0.01;
constexpr double kMaxGroupPoll = 0.32;

// Why the child failed before or at exec: sent over a close-on-exec pipe.
struct ExecFailure {
  int stage;  // 1 = chdir, 2 = exec, 3 = setrlimit
  int error;
};

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

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// "no such file or directory" (libuv's wording, as exec::Process reports it).
std::string lower_strerror(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// "SIGTERM" for 15; "signal 99" for numbers glibc has no name for.
std::string signal_label(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signo);
}

// kCancel: the orchestrator asked (request_pidfd); kExternal: anyone else signalled the
// supervisor (a plain kill(2)), which ends the attempt as killed by that signal.
enum class StopReason { kNone, kTimeout, kCancel, kExternal };

class Supervisor {
 public:
  explicit Supervisor(SupervisorSpec spec)
      : spec_(std::move(spec)), stdout_redactor_(spec_.redact), stderr_redactor_(spec_.redact) {}

  // Runs the child to its end and records it; returns the exit status of the program.
  int run();

 private:
  Result<void> prepare();
  Result<void> fork_child();
  void child_after_fork(const std::vector<char*>& argv, const std::vector<char*>& envp);
  void loop();
  int poll_timeout_ms() const;
  void on_signal();
  void on_output(bool is_stdout);
  void record_output(bool is_stdout, std::string_view data);
  void reap();
  void check_deadlines();
  void kill_group_with_grace(bool stop_signals);
  void send_to_group(int signo, bool stop_signal);
  void cancel(bool at_once);
  void killed_from_outside(int signo, int sender);
  void note_output_error(const std::string& error);
  bool finished_io() const { return reaped_ && out_.get() < 0 && err_.get() < 0; }
  int record_end();
  int record_failure(const std::string& error);

  SupervisorSpec spec_;
  Redactor stdout_redactor_;
  Redactor stderr_redactor_;
  LogFile log_;
  bool log_failed_ = false;
  size_t log_bytes_ = 0;
  Fd stdout_file_;
  size_t stdout_bytes_ = 0;
  bool stdout_failed_ = false;
  bool stdout_truncated_ = false;
  std::string output_error_;  // the first failed write or sync of the log or stdout file
  std::string stderr_tail_;
  Fd stdin_;
  Fd out_;
  Fd err_;
  Fd signals_;

  int pid_ = 0;
  double started_at_ = 0;
  bool reaped_ = false;
  int wait_status_ = 0;
  StopReason stop_reason_ = StopReason::kNone;
  int last_stop_signal_ = 0;
  int external_signal_ = 0;  // kExternal: the signal and who sent it
  int external_sender_ = 0;
  std::optional<double> timeout_deadline_;
  bool killing_ = false;
  double kill_deadline_ = 0;
  double next_group_poll_ = 0;
  double group_poll_interval_ = kMinGroupPoll;
  bool recorded_ = false;
  const pid_t parent_ = ::getppid();  // the zygote, or the orchestrator that spawned us
};

int Supervisor::run() {
  started_at_ = unix_now();
  if (auto prepared = prepare(); !prepared) return record_failure(prepared.error().message);
  if (auto forked = fork_child(); !forked) return record_failure(forked.error().message);
  if (pid_ == 0) return recorded_ ? 0 : 1;  // the child failed to exec; already recorded
  loop();
  return recorded_ ? 0 : 1;
}

Result<void> Supervisor::prepare() {
  // SIGCHLD, SIGTERM and SIGINT arrive through the signalfd; writing to a pipe whose
  // reader is gone (the ready pipe) gives EPIPE instead of killing the supervisor.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return tl::unexpected(Error::from_errno("signalfd", errno));
  signals_ = Fd(sfd);

  auto log = LogFile::open(spec_.log_path);
  if (!log) return tl::unexpected(log.error());
  log_ = std::move(*log);
  // The stdout file is created with the first byte of stdout (most tasks of a large DAG
  // print nothing: an inode creation saved); a stale one from an earlier try goes now.
  if (::unlink(spec_.stdout_path.c_str()) != 0 && errno != ENOENT) {
    return tl::unexpected(Error::from_errno("cannot replace " + spec_.stdout_path, errno));
  }

  if (spec_.stdin_data) {
    auto memfd = memfd_with("baton-stdin", *spec_.stdin_data);
    if (!memfd) return tl::unexpected(memfd.error());
    stdin_ = std::move(*memfd);
  } else {
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) return tl::unexpected(Error::from_errno("cannot open /dev/null", errno));
    stdin_ = Fd(null_fd);
  }
  if (spec_.timeout_s) timeout_deadline_ = monotonic_now() + std::max(0.0, *spec_.timeout_s);
  return ok();
}

Result<void> Supervisor::fork_child() {
  int out_pipe[2];
  int err_pipe[2];
  int go_pipe[2];
  int fail_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return tl::unexpected(Error::from_errno("pipe", errno));
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return tl::unexpected(Error::from_errno("pipe", errno));
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  if (::pipe2(go_pipe, O_CLOEXEC) != 0) return tl::unexpected(Error::from_errno("pipe", errno));
  Fd go_r(go_pipe[0]), go_w(go_pipe[1]);
  if (::pipe2(fail_pipe, O_CLOEXEC) != 0) return tl::unexpected(Error::from_errno("pipe", errno));
  Fd fail_r(fail_pipe[0]), fail_w(fail_pipe[1]);

  // Everything the child touches between fork and exec is prepared here: after fork()
  // only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (std::string& arg : spec_.argv) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : spec_.env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return tl::unexpected(Error::from_errno("fork", errno));
  if (pid == 0) {
    if (::setsid() < 0) ::_exit(127);
    // Dies with the supervisor; the check closes the race with a supervisor that died
    // before the prctl.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(stdin_.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    char go = 0;
    while (::read(go_r.get(), &go, 1) < 0 && errno == EINTR) {
    }
    ExecFailure failure{};
    // The attempt's limits (async-signal-safe: one syscall each). The supervisor itself
    // keeps its own, so it can always record the end.
    for (const ResourceLimit& limit : spec_.rlimits) {
      rlimit value{static_cast<rlim_t>(limit.value), static_cast<rlim_t>(limit.value)};
      if (failure.stage == 0 && ::setrlimit(limit.resource, &value) != 0) failure = {3, errno};
    }
    if (spec_.umask >= 0) ::umask(static_cast<mode_t>(spec_.umask));
    if (failure.stage != 0) {
      // reported below
    } else if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) {
      failure = {1, errno};
    } else {
      environ = envp.data();  // execvp searches the PATH of the child's environment
      ::execvp(argv[0], argv.data());
      failure = {2, errno};
    }
    (void)!::write(fail_w.get(), &failure, sizeof failure);
    ::_exit(127);
  }
  pid_ = pid;
  out_w.reset();
  err_w.reset();
  go_r.reset();
  fail_w.reset();
  stdin_.reset();

  StartedRecord started;
  started.supervisor_pid = static_cast<int>(parent);
  started.supervisor_start = process_start_ticks(parent).value_or(0);
  started.child_pid = pid_;
  started.child_start = process_start_ticks(pid_).value_or(0);
  started.started_at = started_at_;
  (void)write_all(kSupervisorControlFd, format_started_record(started));
  if (::fcntl(kSupervisorReadyFd, F_GETFD) >= 0) {
    (void)write_all(kSupervisorReadyFd, std::to_string(pid_) + "\n");
    ::close(kSupervisorReadyFd);
  }
  (void)write_all(go_w.get(), "g");
  go_w.reset();

  ExecFailure failure{};
  ssize_t n;
  while ((n = ::read(fail_r.get(), &failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof failure)) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
    std::string error =
        failure.stage == 1
            ? "cannot enter working directory " + spec_.cwd + ": " + std::strerror(failure.error)
        : failure.stage == 3
            ? std::string("cannot set the resource limits: ") + std::strerror(failure.error)
            : lower_strerror(failure.error) + ": " + spec_.argv[0];
    record_failure(error);
    return ok();
  }
  out_ = std::move(out_r);
  err_ = std::move(err_r);
  ::fcntl(out_.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_.get(), F_SETFL, O_NONBLOCK);
  return ok();
}

void Supervisor::loop() {
  while (!(recorded_ && !killing_)) {
    pollfd fds[3];
    int count = 0;
    fds[count++] = {signals_.get(), POLLIN, 0};
    int out_index = -1;
    int err_index = -1;
    if (out_.valid()) {
      out_index = count;
      fds[count++] = {out_.get(), POLLIN, 0};
    }
    if (err_.valid()) {
      err_index = count;
      fds[count++] = {err_.get(), POLLIN, 0};
    }
    int rc = ::poll(fds, static_cast<nfds_t>(count), poll_timeout_ms());
    if (rc < 0 && errno != EINTR) break;
    if (rc > 0) {
      if (fds[0].revents != 0) on_signal();
      if (out_index >= 0 && fds[out_index].revents != 0) on_output(true);
      if (err_index >= 0 && fds[err_index].revents != 0) on_output(false);
    }
    check_deadlines();
    if (!recorded_ && finished_io()) record_end();
  }
}

int Supervisor::poll_timeout_ms() const {
  double now = monotonic_now();
  std::optional<double> wake;
  auto consider = [&wake](double at) { wake = wake ? std::min(*wake, at) : at; };
  if (timeout_deadline_ && !reaped_ && stop_reason_ == StopReason::kNone) {
    consider(*timeout_deadline_);
  }
  if (killing_) {
    consider(kill_deadline_);
    if (reaped_) consider(next_group_poll_);
  }
  if (!wake) return -1;
  double ms = std::ceil((*wake - now) * 1000);
  return static_cast<int>(std::clamp(ms, 0.0, 3600e3));
}

void Supervisor::on_signal() {
  signalfd_siginfo info{};
  while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo == SIGCHLD) {
      reap();
    } else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
      const bool from_baton = info.ssi_code == SI_QUEUE && info.ssi_int == kBatonRequestCookie;
      if (from_baton) {
        cancel(/*at_once=*/info.ssi_signo == SIGINT);
      } else {
        killed_from_outside(static_cast<int>(info.ssi_signo), static_cast<int>(info.ssi_pid));
      }
    }
  }
}

void Supervisor::on_output(bool is_stdout) {
  Fd& fd = is_stdout ? out_ : err_;
  char buf[kReadBufferBytes];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n > 0) {
    record_output(is_stdout, std::string_view(buf, static_cast<size_t>(n)));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // EOF, or a read error that ends the stream just the same.
  Redactor& redactor = is_stdout ? stdout_redactor_ : stderr_redactor_;
  std::string rest = redactor.finish();
  if (!rest.empty()) record_output(is_stdout, rest);
  fd.reset();
}

void Supervisor::record_output(bool is_stdout, std::string_view raw) {
  Redactor& redactor = is_stdout ? stdout_redactor_ : stderr_redactor_;
  std::string redacted;
  std::string_view data = raw;
  if (!redactor.empty()) {
    redacted = redactor.push(raw);
    data = redacted;
  }
  if (data.empty()) return;
  if (!log_failed_) {
    if (auto appended = log_.append(data)) {
      log_bytes_ += data.size();
    } else {
      // The child carries on (its output is still captured), but the attempt cannot
      // succeed with a log that lost output: the exit record names the error.
      log_failed_ = true;
      note_output_error(appended.error().message);
    }
  }
  if (is_stdout) {
    size_t room = spec_.max_capture_bytes - std::min(spec_.max_capture_bytes, stdout_bytes_);
    if (data.size() > room) stdout_truncated_ = true;
    std::string_view kept = data.substr(0, room);
    if (!kept.empty() && !stdout_file_.valid() && !stdout_failed_) {
      int fd = ::open(spec_.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      stdout_file_ = Fd(fd);
      stdout_failed_ = fd < 0;  // the log still gets everything; the capture is cut short
      if (stdout_failed_) {
        stdout_truncated_ = true;
        note_output_error("cannot create " + spec_.stdout_path + ": " + std::strerror(errno));
      }
    }
    if (!kept.empty() && stdout_file_.valid() && !stdout_failed_) {
      if (write_all(stdout_file_.get(), kept)) {
        stdout_bytes_ += kept.size();
      } else {
        // A short capture must say so: never a cut output recorded as complete.
        stdout_failed_ = true;
        stdout_truncated_ = true;
        note_output_error("cannot write " + spec_.stdout_path + ": " + std::strerror(errno));
      }
    }
  } else {
    stderr_tail_.append(data);
    if (stderr_tail_.size() > 2 * kStderrTailBytes) {
      stderr_tail_.erase(0, stderr_tail_.size() - kStderrTailBytes);
    }
  }
}

void Supervisor::reap() {
  if (reaped_) return;
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r != pid_) return;
  reaped_ = true;
  wait_status_ = status;
  // Group members left behind (a background grandchild) may hold the pipes open; they
  // get TERM, grace, KILL. A stop already under way keeps its deadline but now polls.
  if (killing_) {
    next_group_poll_ = monotonic_now() + group_poll_interval_;
  } else if (group_has_live_members(pid_)) {
    kill_group_with_grace(/*stop_signals=*/false);
  }
}

void Supervisor::check_deadlines() {
  double now = monotonic_now();
  if (timeout_deadline_ && !reaped_ && stop_reason_ == StopReason::kNone &&
      now >= *timeout_deadline_) {
    stop_reason_ = StopReason::kTimeout;
    kill_group_with_grace(/*stop_signals=*/true);
  }
  if (!killing_) return;
  if (reaped_ && now >= next_group_poll_) {
    if (!group_has_live_members(pid_)) {
      killing_ = false;
      return;
    }
    group_poll_interval_ = std::min(2 * group_poll_interval_, kMaxGroupPoll);
    next_group_poll_ = now + group_poll_interval_;
  }
  if (now >= kill_deadline_) {
    send_to_group(SIGKILL, stop_reason_ != StopReason::kNone);
    killing_ = false;
  }
}

void Supervisor::send_to_group(int signo, bool stop_signal) {
  ::kill(-pid_, signo);
  // Once the leader is reaped its status is fixed; later signals only hit the rest.
  if (stop_signal && !reaped_) last_stop_signal_ = signo;
}

void Supervisor::kill_group_with_grace(bool stop_signals) {
  send_to_group(SIGTERM, stop_signals);
  if (!(spec_.kill_grace_s > 0)) {
    send_to_group(SIGKILL, stop_signals);
    return;
  }
  killing_ = true;
  double now = monotonic_now();
  kill_deadline_ = now + spec_.kill_grace_s;
  group_poll_interval_ = kMinGroupPoll;
  next_group_poll_ = now + group_poll_interval_;
}

void Supervisor::cancel(bool at_once) {
  if (recorded_ && !killing_) return;
  if (!reaped_ && stop_reason_ == StopReason::kNone) {
    stop_reason_ = StopReason::kCancel;
    if (!at_once) {
      kill_group_with_grace(/*stop_signals=*/true);
      return;
    }
  }
  if (at_once) {
    // Also ends a grace period under way (a terminate() followed by destruction).
    send_to_group(SIGKILL, /*stop_signal=*/true);
    killing_ = false;
  }
}

void Supervisor::killed_from_outside(int signo, int sender) {
  if (recorded_ && !killing_) return;
  if (reaped_ || stop_reason_ != StopReason::kNone) return;  // its end is already decided
  stop_reason_ = StopReason::kExternal;
  external_signal_ = signo;
  external_sender_ = sender;
  kill_group_with_grace(/*stop_signals=*/true);
}

void Supervisor::note_output_error(const std::string& error) {
  if (output_error_.empty()) output_error_ = error;
}

int Supervisor::record_end() {
  ExitRecord record;
  record.child_pid = pid_;
  record.started_at = started_at_;
  ExitStatus& status = record.status;
  if (stop_reason_ == StopReason::kTimeout) {
    status.kind = ExitStatus::Kind::kTimedOut;
    status.signal = last_stop_signal_;
    status.timeout_s = spec_.timeout_s.value_or(0);
  } else if (stop_reason_ == StopReason::kCancel) {
    status.kind = ExitStatus::Kind::kCancelled;
    status.signal = last_stop_signal_;
  } else if (stop_reason_ == StopReason::kExternal) {
    // Killed from outside: a failed attempt, whatever the child made of the signal.
    status.kind = ExitStatus::Kind::kSignaled;
    status.signal = external_signal_;
    status.error = signal_label(external_signal_) + " sent to its supervisor by pid " +
                   std::to_string(external_sender_);
  } else if (WIFSIGNALED(wait_status_)) {
    status.kind = ExitStatus::Kind::kSignaled;
    status.signal = WTERMSIG(wait_status_);
  } else {
    status.kind = ExitStatus::Kind::kExited;
    status.code = WEXITSTATUS(wait_status_);
  }
  // Only what was written needs syncing: each fsync is a journal commit (milliseconds
  // on a disk), and most attempts of a large DAG write little or nothing.
  if (log_bytes_ > 0) {
    if (auto synced = log_.sync(); !synced) note_output_error(synced.error().message);
  }
  log_.close();
  if (stdout_bytes_ > 0 && ::fdatasync(stdout_file_.get()) != 0) {  // created with its first byte
    note_output_error("cannot sync " + spec_.stdout_path + ": " + std::strerror(errno));
  }
  stdout_file_.reset();
  if (stderr_tail_.size() > kStderrTailBytes) {
    stderr_tail_.erase(0, stderr_tail_.size() - kStderrTailBytes);
  }
  record.stdout_truncated = stdout_truncated_;
  record.output_error = output_error_;
  record.stderr_tail = std::move(stderr_tail_);
  record.ended_at = unix_now();
  // The exit record is fsync'd only when the orchestrator that started the attempt is
  // gone (our parent, the zygote or baton itself, has exited and we were re-parented).
  // While it lives it records the end in its own store, durably, right after our exit;
  // until then the record has only to survive that process's crash, which the page cache
  // does. An OS crash in those milliseconds leaves the attempt lost, and resume retries
  // it. Saves one journal commit per attempt (bench/RESULTS.md (9)).
  const bool orchestrator_gone = ::getppid() != parent_;
  recorded_ = write_all(kSupervisorControlFd, format_exit_record(record)) &&
              (!orchestrator_gone || ::fsync(kSupervisorControlFd) == 0);
  return recorded_ ? 0 : 1;
}

int Supervisor::record_failure(const std::string& error) {
  ExitRecord record;
  record.status.kind = ExitStatus::Kind::kFailedToStart;
  record.status.error = error;
  record.started_at = started_at_;
  record.ended_at = unix_now();
  (void)log_.sync();
  if (stdout_file_.valid()) ::fsync(stdout_file_.get());
  recorded_ = write_all(kSupervisorControlFd, format_exit_record(record)) &&
              ::fsync(kSupervisorControlFd) == 0;
  return recorded_ ? 0 : 1;
}

}  // namespace

int supervisor_main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], kZygoteFlag) == 0) return zygote_main(argc, argv);
  }
  // The control file and the ready pipe must not reach the child.
  ::fcntl(kSupervisorControlFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kSupervisorReadyFd, F_SETFD, FD_CLOEXEC);
  auto bytes = read_all(kSupervisorSpecFd);
  ::close(kSupervisorSpecFd);
  Result<SupervisorSpec> spec =
      bytes ? decode_spec(*bytes) : Result<SupervisorSpec>(tl::unexpected(bytes.error()));
  if (!spec) {
    ExitRecord record;
    record.status.kind = ExitStatus::Kind::kFailedToStart;
    record.status.error = "supervisor: " + spec.error().message;
    record.started_at = record.ended_at = unix_now();
    bool ok = write_all(kSupervisorControlFd, format_exit_record(record)) &&
              ::fsync(kSupervisorControlFd) == 0;
    return ok ? 0 : 1;
  }
  Supervisor supervisor(std::move(*spec));
  return supervisor.run();
}

}  // namespace baton::exec
