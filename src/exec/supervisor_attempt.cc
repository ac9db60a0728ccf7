#include "exec/supervisor_attempt.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "exec/process_group.h"
#include "util/write_all.h"

namespace baton::exec {
namespace {

// "SIGTERM" for 15; "signal 99" for numbers glibc has no name for.
std::string signal_label(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signo);
}

}  // namespace

SupervisedAttempt::SupervisedAttempt(uint64_t id, Fd control, int journal, SupervisorSpec spec)
    : id_(id),
      control_(std::move(control)),
      journal_(journal),
      spec_(std::move(spec)),
      stdout_redactor_(spec_.redact),
      stderr_redactor_(spec_.redact) {}

bool SupervisedAttempt::start(const SupervisorIdentity& self, ProgramCache& programs, int dev_null,
                              const std::vector<std::string>& base_env) {
  started_at_ = unix_now();
  Fd stdin_fd;
  if (spec_.stdin_data) {
    auto memfd = memfd_with("baton-stdin", *spec_.stdin_data);
    if (!memfd) {
      record_failure(memfd.error().message);
      return false;
    }
    stdin_fd = std::move(*memfd);
  }
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    record_failure(std::string("pipe: ") + std::strerror(errno));
    return false;
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    record_failure(std::string("pipe: ") + std::strerror(errno));
    return false;
  }
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  // The child's ends block, as a process expects of its stdout.
  ::fcntl(out_w.get(), F_SETFL, 0);
  ::fcntl(err_w.get(), F_SETFL, 0);

  ChildLaunch launch;
  launch.argv = std::move(spec_.argv);
  launch.envp = merge_environment(base_env, spec_.env);
  const std::string path = path_in(launch.envp);
  launch.program = programs.resolve(path, launch.argv[0]);
  launch.cwd = spec_.cwd;
  launch.parent_pid = self.pid;
  launch.stdin_fd = stdin_fd.valid() ? stdin_fd.get() : dev_null;
  launch.stdout_fd = out_w.get();
  launch.stderr_fd = err_w.get();
  launch.restore = self.restore;
  launch.rlimits = spec_.rlimits;
  launch.umask = spec_.umask;
  launch.record_fd = record_fd();
  // In a journal each record names its attempt (JSON-escaped: a key is a file name).
  const std::string key_field =
      spec_.key.empty() ? std::string() : ",\"key\":" + json_string(spec_.key);
  launch.record_head = "{\"record\":\"started\"" + key_field +
                       ",\"supervisor_pid\":" + std::to_string(self.pid) +
                       ",\"supervisor_start\":" + std::to_string(self.start_ticks) +
                       ",\"attempt_id\":" + std::to_string(id_) +
                       ",\"started_at\":" + json_double(started_at_) + ",\"child_pid\":";
  auto launched = launch_child(launch);
  if (!launched) {
    record_failure(launched.error().message);
    return false;
  }
  if (launched->exec_errno != 0 && !launch.program.empty()) {
    programs.forget(path, launch.argv[0]);
  }
  if (launched->pid == 0) {
    record_failure(launched->error);
    return false;
  }
  pid_ = launched->pid;
  out_ = std::move(out_r);
  err_ = std::move(err_r);
  if (spec_.timeout_s) timeout_deadline_ = monotonic_now() + std::max(0.0, *spec_.timeout_s);
  return true;
}

bool SupervisedAttempt::on_output(bool is_stdout) {
  Fd& fd = is_stdout ? out_ : err_;
  if (!fd.valid()) return false;
  char buf[kReadBufferBytes];
  ssize_t n;
  // Until EAGAIN or EOF: the stream is watched edge-triggered.
  while ((n = ::read(fd.get(), buf, sizeof buf)) != 0) {
    if (n > 0) {
      record_output(is_stdout, std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;
    break;  // a read error ends the stream just the same
  }
  // EOF, or a read error that ends the stream just the same.
  Redactor& redactor = is_stdout ? stdout_redactor_ : stderr_redactor_;
  std::string rest = redactor.finish();
  if (!rest.empty()) record_output(is_stdout, rest);
  fd.reset();
  return true;
}

void SupervisedAttempt::record_output(bool is_stdout, std::string_view raw) {
  Redactor& redactor = is_stdout ? stdout_redactor_ : stderr_redactor_;
  std::string redacted;
  std::string_view data = raw;
  if (!redactor.empty()) {
    redacted = redactor.push(raw);
    data = redacted;
  }
  if (data.empty()) return;
  if (!log_.is_open() && !log_failed_) {
    // Created with the first byte (most tasks of a large DAG print nothing).
    auto opened = LogFile::open(spec_.log_path);
    if (opened) {
      log_ = std::move(*opened);
    } else {
      log_failed_ = true;
      note_output_error(opened.error().message);
    }
  }
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
      // Created with the first byte of stdout (most tasks of a large DAG print nothing:
      // an inode creation saved); a stale one of an earlier try is truncated.
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

void SupervisedAttempt::on_reaped(int status) {
  if (reaped_) return;
  reaped_ = true;
  wait_status_ = status;
  ended_at_ = unix_now();
  // Group members left behind (a background grandchild) may hold the pipes open; they
  // get TERM, grace, KILL. A stop already under way keeps its deadline but now polls.
  if (killing_) {
    next_group_poll_ = monotonic_now() + group_poll_interval_;
  } else if (group_has_live_members(pid_)) {
    kill_group_with_grace(/*stop_signals=*/false);
  }
}

std::optional<double> SupervisedAttempt::next_wake() const {
  std::optional<double> wake;
  auto consider = [&wake](double at) { wake = wake ? std::min(*wake, at) : at; };
  if (timeout_deadline_ && !reaped_ && stop_reason_ == StopReason::kNone) {
    consider(*timeout_deadline_);
  }
  if (killing_) {
    consider(kill_deadline_);
    if (reaped_) consider(next_group_poll_);
  }
  return wake;
}

void SupervisedAttempt::check_deadlines(double now) {
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
    group_poll_interval_ = std::min(2 * group_poll_interval_, kMaxGroupPollS);
    next_group_poll_ = now + group_poll_interval_;
  }
  if (now >= kill_deadline_) {
    send_to_group(SIGKILL, stop_reason_ != StopReason::kNone);
    killing_ = false;
  }
}

void SupervisedAttempt::send_to_group(int signo, bool stop_signal) {
  if (pid_ <= 0) return;
  ::kill(-pid_, signo);
  // Once the leader is reaped its status is fixed; later signals only hit the rest.
  if (stop_signal && !reaped_) last_stop_signal_ = signo;
}

void SupervisedAttempt::kill_group_with_grace(bool stop_signals) {
  send_to_group(SIGTERM, stop_signals);
  if (!(spec_.kill_grace_s > 0)) {
    send_to_group(SIGKILL, stop_signals);
    return;
  }
  killing_ = true;
  double now = monotonic_now();
  kill_deadline_ = now + spec_.kill_grace_s;
  group_poll_interval_ = kMinGroupPollS;
  next_group_poll_ = now + group_poll_interval_;
}

void SupervisedAttempt::cancel(bool at_once) {
  if (done() || pid_ <= 0) return;
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

void SupervisedAttempt::killed_from_outside(int signo, int sender) {
  if (done() || pid_ <= 0) return;
  if (reaped_ || stop_reason_ != StopReason::kNone) return;  // its end is already decided
  stop_reason_ = StopReason::kExternal;
  external_signal_ = signo;
  external_sender_ = sender;
  kill_group_with_grace(/*stop_signals=*/true);
}

void SupervisedAttempt::note_output_error(const std::string& error) {
  if (output_error_.empty()) output_error_ = error;
}

void SupervisedAttempt::append_record(ExitRecord record, bool sync) {
  const std::string line = format_exit_record(record);
  exit_record_ = std::move(record);
  if (!control_.valid() && spec_.key.empty()) {
    // A journal's record without its attempt's key (a spec that did not decode) would
    // speak for every attempt there: only the orchestrator hears of it (kEnded).
    recorded_ = true;
    return;
  }
  recorded_ = write_all(record_fd(), line) && (!sync || ::fsync(record_fd()) == 0);
  if (!recorded_) {
    // The orchestrator still gets the record in kEnded; a later inspect finds the
    // attempt lost (no "exit" line) and retries it.
    recorded_ = true;
  }
}

void SupervisedAttempt::record_end(bool orchestrator_gone) {
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
  if (stdout_bytes_ > 0 && ::fdatasync(stdout_file_.get()) != 0) {
    note_output_error("cannot sync " + spec_.stdout_path + ": " + std::strerror(errno));
  }
  stdout_file_.reset();
  if (stderr_tail_.size() > kStderrTailBytes) {
    stderr_tail_.erase(0, stderr_tail_.size() - kStderrTailBytes);
  }
  record.stdout_truncated = stdout_truncated_;
  record.output_error = output_error_;
  record.stdout_bytes = static_cast<int64_t>(stdout_bytes_);
  record.stderr_tail = std::move(stderr_tail_);
  record.ended_at = ended_at_ > 0 ? ended_at_ : unix_now();
  record.key = spec_.key;
  // The exit record is fsync'd only when the orchestrator is gone. While it lives it
  // records the end in its own store, durably, before anything depends on it; until
  // then the record has only to survive that process's crash, which the page cache
  // does. An OS crash in those milliseconds leaves the attempt lost, and resume retries
  // it. So a hand-off costs one fsync: the store's commit.
  append_record(std::move(record), orchestrator_gone);
}

void SupervisedAttempt::record_failure(const std::string& error) {
  ExitRecord record;
  record.status.kind = ExitStatus::Kind::kFailedToStart;
  record.status.error = error;
  record.started_at = started_at_;
  record.ended_at = unix_now();
  record.stdout_bytes = 0;
  record.key = spec_.key;
  (void)log_.sync();
  log_.close();
  append_record(std::move(record), /*sync=*/true);
}

}  // namespace baton::exec
