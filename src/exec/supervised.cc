// The orchestrator's side of an attempt under a supervisor (supervised.h): hand the
// spec to `baton-supervise`, watch the supervisor through a pidfd on the libuv loop,
// and read what it recorded. The libuv handles live in a heap-allocated Watch that
// outlives its Supervised: libuv needs them valid until their close callbacks ran.
#include "exec/supervised.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "exec/attempt_file.h"
#include "exec/child_env.h"
#include "exec/log_file.h"
#include "exec/process_group.h"
#include "exec/spawn.h"
#include "exec/supervisor.h"
#include "exec/zygote.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace baton::exec {
namespace {

// How long ~Supervised waits for a supervisor told to kill its child before it KILLs
// the supervisor itself (the child then dies of PR_SET_PDEATHSIG).
constexpr int kDestroyWaitMs = 10000;
// How long attach() waits for the "started" record of a supervisor that holds the lock
// but has not written it yet (it was spawned an instant before the orchestrator died).
constexpr double kAttachStartWaitS = 2.0;

// A control file read together with the state of its lock.
struct ControlSnapshot {
  bool exists = false;
  bool locked = false;  // a live supervisor (or an orchestrator about to spawn one) holds it
  Result<ControlRecords> records = ControlRecords{};
};

ControlSnapshot read_control(const std::string& control_path) {
  ControlSnapshot snap;
  int raw = ::open(control_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno != ENOENT) {
      snap.exists = true;
      snap.records = tl::unexpected(Error::from_errno("cannot open " + control_path, errno));
    }
    return snap;
  }
  Fd fd(raw);
  snap.exists = true;
  // A shared lock is granted only when no supervisor holds its exclusive one; it is
  // released when FD closes, right after reading.
  snap.locked = ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      snap.records = tl::unexpected(Error::from_errno("cannot read " + control_path, errno));
      return snap;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  snap.records = parse_control_records(text);
  if (!snap.records) {
    snap.records = tl::unexpected(Error(control_path + ": " + snap.records.error().message));
  }
  return snap;
}

std::string read_file(const std::string& path) {
  std::string data;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return data;
  // Sized once: grown by doubling, a 64 MiB capture peaked at 192 MiB while copied.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

ProcessResult result_from(const ExitRecord& exit, const std::string& control_path) {
  ProcessResult result;
  result.status = exit.status;
  if (exit.status.kind != ExitStatus::Kind::kFailedToStart) {
    result.stdout_text = read_file(stdout_path_for_control(control_path));
  }
  result.stdout_truncated = exit.stdout_truncated;
  result.output_error = exit.output_error;
  result.stderr_tail = exit.stderr_tail;
  result.pid = exit.child_pid;
  result.started_at = exit.started_at;
  result.ended_at = exit.ended_at;
  return result;
}

AttemptState state_from(const ControlSnapshot& snap, const std::string& control_path) {
  AttemptState state;
  if (!snap.exists) {
    state.detail = "no control file";
    return state;
  }
  if (!snap.records) {
    state.kind = snap.locked ? AttemptState::Kind::kRunning : AttemptState::Kind::kLost;
    state.detail = snap.records.error().message;
    return state;
  }
  const ControlRecords& records = *snap.records;
  if (records.started) {
    state.supervisor_pid = records.started->supervisor_pid;
    state.child_pid = records.started->child_pid;
  }
  if (records.exit) {
    state.kind = AttemptState::Kind::kFinished;
    state.result = result_from(*records.exit, control_path);
    if (state.child_pid == 0) state.child_pid = records.exit->child_pid;
    state.detail = state.result.status.to_string();
  } else if (snap.locked) {
    state.kind = AttemptState::Kind::kRunning;
    state.detail = records.started ? "running" : "starting";
  } else if (!records.started) {
    state.kind = AttemptState::Kind::kNotStarted;
    state.detail = "never handed to a supervisor";
  } else {
    state.kind = AttemptState::Kind::kLost;
    state.detail = records.cleaned ? "supervisor died before recording the end (cleaned up)"
                                   : "supervisor died before recording the end";
  }
  return state;
}

// A pidfd for the supervisor recorded in STARTED, checked to be that process (pid plus
// start time; checked after opening, since the pidfd pins the process it refers to).
Result<Fd> open_supervisor(const StartedRecord& started) {
  auto pidfd = open_pidfd(started.supervisor_pid);
  if (!pidfd) return tl::unexpected(pidfd.error());
  auto ticks = process_start_ticks(started.supervisor_pid);
  if (!ticks || *ticks != started.supervisor_start) {
    return fail("supervisor pid " + std::to_string(started.supervisor_pid) +
                " is no longer the attempt's supervisor");
  }
  return pidfd;
}

// Where the supervisor program is and how to call it.
struct SupervisorCommand {
  std::string path;
  std::vector<std::string> argv;
};

SupervisorCommand supervisor_command(const std::string& control_path) {
  if (const char* override_path = std::getenv("BATON_SUPERVISOR");
      override_path != nullptr && *override_path != '\0') {
    return {override_path, {override_path, control_path}};
  }
  static const SupervisorCommand found = [] {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string exe = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "/proc/self/exe";
    std::string beside = exe.substr(0, exe.rfind('/') + 1) + "baton-supervise";
    if (::access(beside.c_str(), X_OK) == 0) return SupervisorCommand{beside, {beside}};
    return SupervisorCommand{exe, {exe, "__supervise"}};
  }();
  SupervisorCommand command = found;
  command.argv.push_back(control_path);  // for ps(1); the supervisor ignores it
  return command;
}

// Supervisors are forked by the zygote (zygote.h) unless $BATON_NO_ZYGOTE is set and not
// "0" (then each is spawned from its program, as the fallback does).
bool use_zygote() {
  const char* off = std::getenv("BATON_NO_ZYGOTE");
  return off == nullptr || *off == '\0' || std::strcmp(off, "0") == 0;
}

// Reaps the process behind PIDFD when it is our child (waitid P_PIDFD: exactly that
// process, never a reused pid). BLOCKING waits for it to exit.
void reap_pidfd(int pidfd, bool blocking) {
  siginfo_t info{};
  int options = WEXITED | (blocking ? 0 : WNOHANG);
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, options) < 0 &&
         errno == EINTR) {
  }
}

}  // namespace

/// libuv handles watching one supervisor; deletes itself when both have closed.
struct Watch {
  uv_poll_t poll{};
  uv_timer_t timer{};
  Fd pidfd;
  Supervised::Impl* owner = nullptr;
  int open_handles = 0;
  bool timer_open = false;
  bool polling = false;  // the poll handle was initialised

  void close();
  static void on_closed(uv_handle_t* handle);
};

struct Supervised::Impl {
  uv_loop_t* loop = nullptr;
  std::string control_path;
  ExitCallback on_exit;
  int supervisor_pid = 0;
  mutable int child_pid = 0;
  mutable Fd ready;  // the read end of the pipe the supervisor writes the child's pid to
  bool running = true;
  bool detached = false;
  std::optional<ProcessResult> known_result;  // attach() to a finished attempt
  Watch* watch = nullptr;

  // Arms the watch: poll the pidfd, or (KNOWN_RESULT set) a zero timer.
  Result<void> watch_supervisor(Fd pidfd);
  // The supervisor ended (or had already): read the result and call the callback.
  static void finish(Impl* impl);
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_timer(uv_timer_t* handle);
  void stop_watching();
};

void Watch::close() {
  owner = nullptr;
  if (polling) uv_close(reinterpret_cast<uv_handle_t*>(&poll), &Watch::on_closed);
  if (timer_open) uv_close(reinterpret_cast<uv_handle_t*>(&timer), &Watch::on_closed);
  polling = timer_open = false;
  if (open_handles == 0) delete this;
}

void Watch::on_closed(uv_handle_t* handle) {
  auto* watch = static_cast<Watch*>(handle->data);
  if (--watch->open_handles == 0) delete watch;  // closes the pidfd after the poll handle
}

Result<void> Supervised::Impl::watch_supervisor(Fd pidfd) {
  auto* w = new Watch();
  w->owner = this;
  w->pidfd = std::move(pidfd);
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  w->timer_open = true;
  ++w->open_handles;
  watch = w;
  if (known_result) {
    uv_timer_start(&w->timer, &Impl::on_timer, 0, 0);
    return ok();
  }
  int rc = uv_poll_init(loop, &w->poll, w->pidfd.get());
  if (rc != 0) {
    stop_watching();
    return fail(std::string("cannot watch the supervisor: ") + uv_strerror(rc));
  }
  w->poll.data = w;
  ++w->open_handles;
  uv_poll_start(&w->poll, UV_READABLE, &Impl::on_poll);
  w->polling = true;
  return ok();
}

void Supervised::Impl::stop_watching() {
  if (watch != nullptr) watch->close();
  watch = nullptr;
}

void Supervised::Impl::on_poll(uv_poll_t* handle, int, int) {
  auto* w = static_cast<Watch*>(handle->data);
  if (w->owner != nullptr) finish(w->owner);
}

void Supervised::Impl::on_timer(uv_timer_t* handle) {
  auto* w = static_cast<Watch*>(handle->data);
  if (w->owner != nullptr) finish(w->owner);
}

void Supervised::Impl::finish(Impl* impl) {
  ProcessResult result;
  if (impl->known_result) {
    result = std::move(*impl->known_result);
  } else {
    if (impl->watch != nullptr) reap_pidfd(impl->watch->pidfd.get(), /*blocking=*/false);
    AttemptState state = inspect_attempt(impl->control_path);
    if (state.kind == AttemptState::Kind::kFinished) {
      result = std::move(state.result);
    } else {
      // The supervisor died without recording the end (SIGKILLed, OOM): its child died
      // with it (PR_SET_PDEATHSIG); what ran is unknown. The rest of the child's group is
      // killed here, at once, so that nothing runs on unsupervised.
      std::string detail =
          "pid " + std::to_string(impl->supervisor_pid) + ", before recording the end";
      if (state.kind == AttemptState::Kind::kLost) {
        if (auto cleaned = clean_up_lost_attempt(impl->control_path); !cleaned) {
          detail += "; clean-up: " + cleaned.error().message;
        }
      }
      result.status.kind = ExitStatus::Kind::kLost;
      result.status.error = detail;
      result.pid = state.child_pid;
      result.ended_at = unix_now();
    }
  }
  if (impl->child_pid == 0) impl->child_pid = result.pid;
  impl->ready.reset();
  impl->stop_watching();
  impl->running = false;
  ExitCallback callback = std::move(impl->on_exit);
  impl->on_exit = nullptr;
  // The callback may destroy the Supervised (and `impl`): nothing touches it after.
  if (callback) callback(result);
}

Result<std::unique_ptr<Supervised>> Supervised::start(uv_loop_s* loop, ProcessSpec spec,
                                                      ExitCallback on_exit) {
  if (spec.argv.empty()) return fail("cannot start an attempt with an empty argv");
  if (spec.log_path.empty()) return fail("a supervised attempt needs a log path");
  if (auto log = LogFile::open(spec.log_path); !log) return tl::unexpected(log.error());

  std::string control_path = control_path_for(spec.log_path);
  int raw = ::open(control_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    return tl::unexpected(Error::from_errno("cannot create control file " + control_path, errno));
  }
  Fd control(raw);
  if (::flock(control.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return fail("cannot start attempt " + control_path + ": a live supervisor holds it");
    }
    return tl::unexpected(Error::from_errno("cannot lock control file " + control_path, errno));
  }
  if (::ftruncate(control.get(), 0) != 0) {
    return tl::unexpected(Error::from_errno("cannot truncate control file " + control_path, errno));
  }

  SupervisorSpec handoff;
  handoff.argv = std::move(spec.argv);
  handoff.cwd = std::move(spec.cwd);
  handoff.env = build_child_env(spec.env);
  handoff.stdin_data = std::move(spec.stdin_data);
  handoff.timeout_s = spec.timeout_s;
  handoff.kill_grace_s = spec.kill_grace_s;
  handoff.max_capture_bytes = spec.max_capture_bytes;
  handoff.redact = std::move(spec.redact);
  handoff.log_path = spec.log_path;
  handoff.rlimits = std::move(spec.rlimits);
  handoff.umask = spec.umask;
  handoff.stdout_path = stdout_path_for_control(control_path);
  auto spec_fd = memfd_with("baton-attempt-spec", encode_spec(handoff));
  if (!spec_fd) return tl::unexpected(spec_fd.error());
  int ready_pipe[2];
  if (::pipe2(ready_pipe, O_CLOEXEC) != 0) {
    return tl::unexpected(Error::from_errno("pipe", errno));
  }
  Fd ready_r(ready_pipe[0]);
  Fd ready_w(ready_pipe[1]);

  SupervisorCommand command = supervisor_command(control_path);
  const std::vector<FdMapping> fds = {{control.get(), kSupervisorControlFd},
                                      {spec_fd->get(), kSupervisorSpecFd},
                                      {ready_w.get(), kSupervisorReadyFd}};
  Result<int> pid = fail("no supervisor started");
  Fd zygote_pidfd;
  if (use_zygote()) {
    // The argv without the control path, plus the flag: one zygote serves every attempt.
    std::vector<std::string> zygote_argv(command.argv.begin(), command.argv.end() - 1);
    zygote_argv.push_back(kZygoteFlag);
    auto forked = spawn_through_zygote(command.path, zygote_argv, fds);
    if (forked) {
      pid = forked->pid;
      zygote_pidfd = std::move(forked->pidfd);
    }
  }
  // Without a zygote (disabled, or it cannot be started): a supervisor of our own.
  if (!pid) pid = spawn_detached(command.path, command.argv, fds, {SIGTERM, SIGINT});
  if (!pid) return tl::unexpected(pid.error());
  // The supervisor holds the lock now (same open file description); ours goes.
  control.reset();
  ready_w.reset();
  auto pidfd = zygote_pidfd.valid() ? Result<Fd>(std::move(zygote_pidfd)) : open_pidfd(*pid);
  if (!pidfd) {
    ::kill(*pid, SIGKILL);
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    return tl::unexpected(pidfd.error());
  }

  auto impl = std::make_unique<Impl>();
  impl->loop = loop;
  impl->control_path = std::move(control_path);
  impl->on_exit = std::move(on_exit);
  impl->supervisor_pid = *pid;
  impl->ready = std::move(ready_r);
  if (auto watched = impl->watch_supervisor(std::move(*pidfd)); !watched) {
    ::kill(*pid, SIGINT);  // still our unreaped child: the pid cannot have been reused
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    return tl::unexpected(watched.error());
  }
  return std::unique_ptr<Supervised>(new Supervised(std::move(impl)));
}

Result<std::unique_ptr<Supervised>> Supervised::attach(uv_loop_s* loop,
                                                       const std::string& control_path,
                                                       ExitCallback on_exit) {
  ControlSnapshot snap = read_control(control_path);
  // A supervisor spawned an instant before its orchestrator died may hold the lock
  // without having written "started" yet: a bounded wait for it (cross-process).
  double give_up = monotonic_now() + kAttachStartWaitS;
  while (snap.locked && snap.records && !snap.records->started && !snap.records->exit &&
         monotonic_now() < give_up) {
    timespec pause{0, 1000000};
    ::nanosleep(&pause, nullptr);
    snap = read_control(control_path);
  }
  AttemptState state = state_from(snap, control_path);
  auto impl = std::make_unique<Impl>();
  impl->loop = loop;
  impl->control_path = control_path;
  impl->on_exit = std::move(on_exit);
  impl->supervisor_pid = state.supervisor_pid;
  impl->child_pid = state.child_pid;

  Fd pidfd;
  if (state.kind == AttemptState::Kind::kRunning && snap.records->started) {
    auto opened = open_supervisor(*snap.records->started);
    if (opened) {
      pidfd = std::move(*opened);
    } else {
      // It may have ended between the two reads.
      snap = read_control(control_path);
      state = state_from(snap, control_path);
      if (state.kind != AttemptState::Kind::kFinished) {
        return fail("cannot attach to attempt " + control_path + ": " + opened.error().message);
      }
    }
  }
  if (state.kind == AttemptState::Kind::kFinished) {
    impl->known_result = std::move(state.result);
  } else if (!pidfd.valid()) {
    return fail("cannot attach to attempt " + control_path + ": not running (" + state.detail +
                ")");
  }
  if (auto watched = impl->watch_supervisor(std::move(pidfd)); !watched) {
    return tl::unexpected(watched.error());
  }
  return std::unique_ptr<Supervised>(new Supervised(std::move(impl)));
}

Supervised::Supervised(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Supervised::~Supervised() {
  if (!impl_ || impl_->detached) return;
  Watch* w = impl_->watch;
  if (impl_->running && w != nullptr && w->polling) {
    int pidfd = w->pidfd.get();
    (void)request_pidfd(pidfd, SIGINT);  // the supervisor KILLs the group, records, exits
    pollfd p{pidfd, POLLIN, 0};
    int rc;
    while ((rc = ::poll(&p, 1, kDestroyWaitMs)) < 0 && errno == EINTR) {
    }
    if (rc == 0) {
      (void)signal_pidfd(pidfd, SIGKILL);  // its child dies of PR_SET_PDEATHSIG
      while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
      }
      int child = pid();
      if (child > 0) ::kill(-child, SIGKILL);
    }
    reap_pidfd(pidfd, /*blocking=*/true);
  }
  impl_->on_exit = nullptr;
  impl_->stop_watching();
}

void Supervised::terminate() {
  if (!impl_->running || impl_->detached || impl_->watch == nullptr || !impl_->watch->polling) {
    return;
  }
  (void)request_pidfd(impl_->watch->pidfd.get(), SIGTERM);
}

void Supervised::kill_now() {
  if (!impl_->running || impl_->detached || impl_->watch == nullptr || !impl_->watch->polling) {
    return;
  }
  (void)request_pidfd(impl_->watch->pidfd.get(), SIGINT);
}

void Supervised::detach() {
  impl_->detached = true;
  impl_->running = false;
  impl_->on_exit = nullptr;
  impl_->stop_watching();
}

int Supervised::pid() const {
  if (impl_->child_pid == 0 && impl_->ready.valid()) {
    // The supervisor writes "PID\n" right after forking, then closes the pipe (EOF also
    // when it died first).
    std::string text;
    char buf[32];
    ssize_t n;
    while ((n = ::read(impl_->ready.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) text.append(buf, static_cast<size_t>(n));
    }
    impl_->ready.reset();
    impl_->child_pid = std::atoi(text.c_str());
  }
  return impl_->child_pid;
}

int Supervised::supervisor_pid() const { return impl_->supervisor_pid; }

bool Supervised::running() const { return impl_->running && !impl_->detached; }

const std::string& Supervised::control_path() const { return impl_->control_path; }

AttemptState inspect_attempt(const std::string& control_path) {
  return state_from(read_control(control_path), control_path);
}

Result<void> clean_up_lost_attempt(const std::string& control_path) {
  int raw = ::open(control_path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (raw < 0) {
    return tl::unexpected(Error::from_errno("cannot open control file " + control_path, errno));
  }
  Fd fd(raw);
  // Held for the clean-up, so that no supervisor starts on this file meanwhile.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return fail("cannot clean up attempt " + control_path + ": its supervisor is running");
  }
  ControlSnapshot snap = read_control(control_path);
  if (!snap.records) return tl::unexpected(snap.records.error());
  const ControlRecords& records = *snap.records;
  if (records.exit) return fail("cannot clean up attempt " + control_path + ": it finished");
  if (!records.started) return fail("cannot clean up attempt " + control_path + ": not started");
  int child = records.started->child_pid;
  if (child > 0) {
    // A pid that still runs with another start time was reused: the group is not ours.
    // While any member of the group lives its number cannot be reused (Linux keeps the
    // struct pid of a pgid), so a group without its leader is the attempt's.
    auto ticks = process_start_ticks(child);
    bool reused =
        ticks && records.started->child_start != 0 && *ticks != records.started->child_start;
    if (!reused) ::kill(-child, SIGKILL);
  }
  if (!records.cleaned) {
    std::string line = format_cleaned_record(unix_now());
    if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
        ::fsync(fd.get()) != 0) {
      return tl::unexpected(Error::from_errno("cannot write control file " + control_path, errno));
    }
  }
  return ok();
}

Result<void> cancel_attempt(const std::string& control_path) {
  ControlSnapshot snap = read_control(control_path);
  AttemptState state = state_from(snap, control_path);
  if (state.kind != AttemptState::Kind::kRunning || !snap.records || !snap.records->started) {
    return fail("cannot cancel attempt " + control_path + ": not running (" + state.detail + ")");
  }
  auto pidfd = open_supervisor(*snap.records->started);
  if (!pidfd) return fail("cannot cancel attempt " + control_path + ": " + pidfd.error().message);
  auto sent = request_pidfd(pidfd->get(), SIGTERM);
  if (!sent) return fail("cannot cancel attempt " + control_path + ": " + sent.error().message);
  return ok();
}

}  // namespace baton::exec
