// Process supervision on libuv. The libuv handles of one child live in a heap-allocated
// Supervisor that outlives its Process wrapper: libuv needs every handle to stay valid
// until its close callback ran, and the exit callback may destroy the wrapper. The
// Supervisor deletes itself once the wrapper is gone and its last handle has closed.
#include "exec/process.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string_view>

#include "exec/child_env.h"
#include "exec/log_file.h"
#include "exec/process_group.h"
#include "exec/redactor.h"

namespace baton::exec {
namespace {

// The group polls of process.h in the milliseconds of libuv's timers.
constexpr auto kMinGroupPollMs = static_cast<uint64_t>(kMinGroupPollS * 1000);
constexpr auto kMaxGroupPollMs = static_cast<uint64_t>(kMaxGroupPollS * 1000);

double unix_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

uint64_t to_ms(double seconds) {
  if (!(seconds > 0)) return 0;
  return static_cast<uint64_t>(std::ceil(seconds * 1000));
}

// True while any process (possibly a zombie) is in process group PGID.
bool group_exists(int pgid) { return pgid > 0 && ::kill(-pgid, 0) == 0; }

// Writing stdin_data to a child that has exited must give EPIPE, not kill baton. libuv
// resets every signal to SIG_DFL in the child before exec, so children are unaffected.
void ignore_sigpipe() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
}

// Words a uv_spawn failure: "no such file or directory: foo", or names the working
// directory when that is what is missing (the child's chdir fails with the same errno).
std::string describe_spawn_error(int rc, const ProcessSpec& spec) {
  if (!spec.cwd.empty()) {
    struct stat st {};
    if (::stat(spec.cwd.c_str(), &st) != 0) {
      return "cannot enter working directory " + spec.cwd + ": " + std::strerror(errno);
    }
    if (!S_ISDIR(st.st_mode)) {
      return "cannot enter working directory " + spec.cwd + ": Not a directory";
    }
  }
  return std::string(uv_strerror(rc)) + ": " + spec.argv[0];
}

enum class StopReason { kNone, kTimeout, kCancel };

}  // namespace

/// The state of one child and its libuv handles (see the file comment for lifetime).
class Supervisor {
 public:
  Supervisor(uv_loop_t* loop, ProcessSpec spec, Process::ExitCallback on_exit, LogFile log)
      : loop_(loop),
        spec_(std::move(spec)),
        on_exit_(std::move(on_exit)),
        log_(std::move(log)),
        stdout_redactor_(spec_.redact),
        stderr_redactor_(spec_.redact) {
    read_buffer_.resize(kReadBufferBytes);
  }

  // Spawns the child; on failure schedules the kFailedToStart callback.
  void start();
  // Begins SIGTERM, grace, SIGKILL with kind kCancelled; no-op unless running.
  void terminate();
  // The wrapper is being destroyed: kill and reap synchronously, close everything.
  void detach();

  int pid() const { return pid_; }
  bool running() const { return spawned_ && !finished_; }

 private:
  // libuv callbacks.
  static void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_stdin_written(uv_write_t* req, int status);
  static void on_child_exit(uv_process_t* proc, int64_t exit_status, int term_signal);
  static void on_timeout(uv_timer_t* timer);
  static void on_kill_tick(uv_timer_t* timer);
  static void on_failed_start(uv_timer_t* timer);
  static void on_closed(uv_handle_t* handle);

  void init_handles();
  void write_stdin();
  // Redacts DATA (ProcessSpec::redact) and records it; AT_EOF flushes the held tail.
  void record_output(bool is_stdout, std::string_view data, bool at_eof = false);
  void record_redacted(bool is_stdout, std::string_view data);
  // Sends SIGTERM to the group and starts the grace timer; STOP_SIGNALS says whether the
  // signals count as baton's stop of the task (timeout/cancel) for ExitStatus::signal.
  void kill_group_with_grace(bool stop_signals);
  void send_to_group(int signo, bool stop_signal);
  // Arms kill_timer_: at the SIGKILL deadline, or sooner to poll once the leader is reaped.
  void schedule_kill_tick();
  void maybe_finish();
  ProcessResult build_result();
  void close_handle(void* handle);
  void close_all_handles(bool keep_kill_timer);
  void maybe_delete();

  uv_loop_t* loop_;
  ProcessSpec spec_;
  Process::ExitCallback on_exit_;
  LogFile log_;
  bool log_failed_ = false;
  Redactor stdout_redactor_;
  Redactor stderr_redactor_;

  uv_process_t process_{};
  bool process_initialized_ = false;  // uv_spawn was called (it initialises the handle)
  uv_pipe_t stdin_{};
  uv_pipe_t stdout_{};
  uv_pipe_t stderr_{};
  uv_timer_t timeout_timer_{};
  uv_timer_t kill_timer_{};
  uv_write_t stdin_req_{};
  int open_handles_ = 0;
  std::vector<char> read_buffer_;

  bool spawned_ = false;
  bool reaped_ = false;
  bool stdout_eof_ = false;
  bool stderr_eof_ = false;
  bool finished_ = false;
  bool detached_ = false;
  bool in_callback_ = false;
  std::string spawn_error_;

  int pid_ = 0;
  int64_t exit_code_ = 0;
  int term_signal_ = 0;
  StopReason stop_reason_ = StopReason::kNone;
  int last_stop_signal_ = 0;
  bool killing_ = false;  // a TERM, grace, KILL sequence is under way
  uint64_t kill_deadline_ms_ = 0;
  uint64_t poll_ms_ = kMinGroupPollMs;

  ProcessResult result_;
};

void Supervisor::init_handles() {
  for (uv_pipe_t* pipe : {&stdin_, &stdout_, &stderr_}) {
    uv_pipe_init(loop_, pipe, 0);
    pipe->data = this;
    ++open_handles_;
  }
  for (uv_timer_t* timer : {&timeout_timer_, &kill_timer_}) {
    uv_timer_init(loop_, timer);
    timer->data = this;
    ++open_handles_;
  }
}

void Supervisor::start() {
  init_handles();
  result_.started_at = unix_now();

  std::vector<std::string> env = build_child_env(spec_.env);
  std::vector<char*> env_ptrs;
  for (std::string& entry : env) env_ptrs.push_back(entry.data());
  env_ptrs.push_back(nullptr);
  std::vector<char*> argv_ptrs;
  for (std::string& arg : spec_.argv) argv_ptrs.push_back(arg.data());
  argv_ptrs.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  if (spec_.stdin_data) {
    stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
    stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&stdin_);
  } else {
    stdio[0].flags = UV_IGNORE;  // libuv opens /dev/null for an ignored fd 0..2
  }
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&stdout_);
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&stderr_);

  int rc = UV_EINVAL;
  if (!spec_.argv.empty()) {
    uv_process_options_t options{};
    options.exit_cb = &Supervisor::on_child_exit;
    options.file = argv_ptrs[0];
    options.args = argv_ptrs.data();
    options.env = env_ptrs.data();  // libuv's execvp searches this env's PATH
    options.cwd = spec_.cwd.empty() ? nullptr : spec_.cwd.c_str();
    options.flags = UV_PROCESS_DETACHED;  // setsid(): own session and process group
    options.stdio_count = 3;
    options.stdio = stdio;
    // uv_spawn initialises the handle even when it fails; it must be closed either way.
    rc = uv_spawn(loop_, &process_, &options);
    process_.data = this;
    process_initialized_ = true;
    ++open_handles_;
  }

  if (rc != 0) {
    spawn_error_ = spec_.argv.empty() ? "empty argv" : describe_spawn_error(rc, spec_);
    uv_timer_start(&timeout_timer_, &Supervisor::on_failed_start, 0, 0);
    return;
  }
  spawned_ = true;
  pid_ = process_.pid;
  result_.pid = pid_;

  uv_read_start(reinterpret_cast<uv_stream_t*>(&stdout_), &Supervisor::on_alloc,
                &Supervisor::on_read);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&stderr_), &Supervisor::on_alloc,
                &Supervisor::on_read);
  if (spec_.stdin_data) write_stdin();
  if (spec_.timeout_s) {
    uv_timer_start(&timeout_timer_, &Supervisor::on_timeout, to_ms(*spec_.timeout_s), 0);
  }
}

void Supervisor::write_stdin() {
  if (spec_.stdin_data->empty()) {
    close_handle(&stdin_);
    return;
  }
  uv_buf_t buf =
      uv_buf_init(spec_.stdin_data->data(), static_cast<unsigned int>(spec_.stdin_data->size()));
  stdin_req_.data = this;
  if (uv_write(&stdin_req_, reinterpret_cast<uv_stream_t*>(&stdin_), &buf, 1,
               &Supervisor::on_stdin_written) != 0) {
    close_handle(&stdin_);
  }
}

void Supervisor::on_stdin_written(uv_write_t* req, int status) {
  // Success, EPIPE (the child did not read it all) and ECANCELED (closing) alike: the
  // child's stdin is done. Closing it gives the child EOF.
  auto* self = static_cast<Supervisor*>(req->data);
  self->close_handle(&self->stdin_);
}

void Supervisor::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  // One buffer serves both pipes: libuv hands each read to on_read before the next alloc.
  auto* self = static_cast<Supervisor*>(handle->data);
  *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned int>(kReadBufferBytes));
}

void Supervisor::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Supervisor*>(stream->data);
  bool is_stdout = stream == reinterpret_cast<uv_stream_t*>(&self->stdout_);
  if (nread > 0) {
    self->record_output(is_stdout, std::string_view(buf->base, static_cast<size_t>(nread)));
    return;
  }
  if (nread == 0) return;  // EAGAIN
  // UV_EOF, or a read error that ends the stream just the same.
  uv_read_stop(stream);
  self->record_output(is_stdout, {}, /*at_eof=*/true);
  (is_stdout ? self->stdout_eof_ : self->stderr_eof_) = true;
  self->close_handle(stream);
  self->maybe_finish();
}

void Supervisor::record_output(bool is_stdout, std::string_view data, bool at_eof) {
  Redactor& redactor = is_stdout ? stdout_redactor_ : stderr_redactor_;
  if (redactor.empty()) {
    if (!data.empty()) record_redacted(is_stdout, data);
    return;
  }
  std::string redacted = redactor.push(data);
  if (at_eof) redacted += redactor.finish();
  if (!redacted.empty()) record_redacted(is_stdout, redacted);
}

void Supervisor::record_redacted(bool is_stdout, std::string_view data) {
  if (!log_failed_ && !log_.append(data)) {
    // The child keeps running; its output is still captured in memory.
    log_failed_ = true;
  }
  if (is_stdout) {
    size_t room =
        spec_.max_capture_bytes - std::min(spec_.max_capture_bytes, result_.stdout_text.size());
    if (data.size() > room) result_.stdout_truncated = true;
    result_.stdout_text.append(data.substr(0, room));
  } else {
    result_.stderr_tail.append(data);
    // Trim in batches so that keeping the tail costs amortised O(1) per byte.
    if (result_.stderr_tail.size() > 2 * kStderrTailBytes) {
      result_.stderr_tail.erase(0, result_.stderr_tail.size() - kStderrTailBytes);
    }
  }
}

void Supervisor::on_child_exit(uv_process_t* proc, int64_t exit_status, int term_signal) {
  auto* self = static_cast<Supervisor*>(proc->data);
  self->reaped_ = true;
  self->exit_code_ = exit_status;
  self->term_signal_ = term_signal;
  uv_timer_stop(&self->timeout_timer_);
  // Group members left behind (a background grandchild) may hold the pipes open; they
  // get TERM, grace, KILL. A stop already under way keeps its deadline but now polls.
  if (self->killing_) {
    self->schedule_kill_tick();
  } else if (group_has_live_members(self->pid_)) {
    self->kill_group_with_grace(/*stop_signals=*/false);
  }
  self->maybe_finish();
}

void Supervisor::on_timeout(uv_timer_t* timer) {
  auto* self = static_cast<Supervisor*>(timer->data);
  if (self->reaped_ || self->stop_reason_ != StopReason::kNone) return;
  self->stop_reason_ = StopReason::kTimeout;
  self->kill_group_with_grace(/*stop_signals=*/true);
}

void Supervisor::terminate() {
  if (!spawned_ || reaped_ || finished_ || stop_reason_ != StopReason::kNone) return;
  stop_reason_ = StopReason::kCancel;
  uv_timer_stop(&timeout_timer_);
  kill_group_with_grace(/*stop_signals=*/true);
}

void Supervisor::send_to_group(int signo, bool stop_signal) {
  ::kill(-pid_, signo);
  // Once the leader is reaped its status is fixed; later signals only hit the rest.
  if (stop_signal && !reaped_) last_stop_signal_ = signo;
}

void Supervisor::kill_group_with_grace(bool stop_signals) {
  send_to_group(SIGTERM, stop_signals);
  uint64_t grace_ms = to_ms(spec_.kill_grace_s);
  if (grace_ms == 0) {
    send_to_group(SIGKILL, stop_signals);
    return;
  }
  killing_ = true;
  kill_deadline_ms_ = uv_now(loop_) + grace_ms;
  poll_ms_ = kMinGroupPollMs;
  schedule_kill_tick();
}

void Supervisor::schedule_kill_tick() {
  uint64_t now = uv_now(loop_);
  uint64_t remaining = kill_deadline_ms_ > now ? kill_deadline_ms_ - now : 0;
  // Before the reap the leader's own exit is the event to wait for; libuv reports it.
  uint64_t delay = reaped_ ? std::min(poll_ms_, remaining) : remaining;
  uv_timer_start(&kill_timer_, &Supervisor::on_kill_tick, delay, 0);
}

void Supervisor::on_kill_tick(uv_timer_t* timer) {
  auto* self = static_cast<Supervisor*>(timer->data);
  if (self->reaped_ && !group_has_live_members(self->pid_)) {
    self->killing_ = false;
  } else if (uv_now(self->loop_) >= self->kill_deadline_ms_) {
    self->send_to_group(SIGKILL, self->stop_reason_ != StopReason::kNone);
    self->killing_ = false;
  } else {
    self->poll_ms_ = std::min(2 * self->poll_ms_, kMaxGroupPollMs);
    self->schedule_kill_tick();
    return;
  }
  if (self->finished_) {
    self->close_handle(timer);
    self->maybe_delete();
  }
}

void Supervisor::on_failed_start(uv_timer_t* timer) {
  static_cast<Supervisor*>(timer->data)->maybe_finish();
}

void Supervisor::maybe_finish() {
  if (finished_) return;
  if (spawned_ && !(reaped_ && stdout_eof_ && stderr_eof_)) return;
  finished_ = true;
  ProcessResult result = build_result();
  (void)log_.sync();
  log_.close();
  close_all_handles(/*keep_kill_timer=*/true);
  if (!detached_ && on_exit_) {
    // The callback may destroy the Process (detach()); `this` stays alive because its
    // handles are closing, and in_callback_ keeps maybe_delete() away meanwhile.
    in_callback_ = true;
    Process::ExitCallback callback = std::move(on_exit_);
    callback(result);
    in_callback_ = false;
  }
  maybe_delete();
}

ProcessResult Supervisor::build_result() {
  ProcessResult result = std::move(result_);
  result_ = ProcessResult{};
  result.ended_at = unix_now();
  if (result.stderr_tail.size() > kStderrTailBytes) {
    result.stderr_tail.erase(0, result.stderr_tail.size() - kStderrTailBytes);
  }
  ExitStatus& status = result.status;
  if (!spawned_) {
    status.kind = ExitStatus::Kind::kFailedToStart;
    status.error = spawn_error_;
  } else if (stop_reason_ == StopReason::kTimeout) {
    status.kind = ExitStatus::Kind::kTimedOut;
    status.signal = last_stop_signal_;
    status.timeout_s = spec_.timeout_s.value_or(0);
  } else if (stop_reason_ == StopReason::kCancel) {
    status.kind = ExitStatus::Kind::kCancelled;
    status.signal = last_stop_signal_;
  } else if (term_signal_ != 0) {
    status.kind = ExitStatus::Kind::kSignaled;
    status.signal = term_signal_;
  } else {
    status.kind = ExitStatus::Kind::kExited;
    status.code = static_cast<int>(exit_code_);
  }
  return result;
}

void Supervisor::detach() {
  detached_ = true;
  if (!in_callback_) on_exit_ = nullptr;
  if (spawned_ && !reaped_) {
    ::kill(-pid_, SIGTERM);
    ::kill(-pid_, SIGKILL);
    // Reap here rather than through libuv: the caller is promised that no process is
    // left. libuv tolerates ECHILD for a pid it did not reap, and closing the handle
    // below removes it from libuv's list of children anyway.
    int wstatus = 0;
    while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  } else if (spawned_ && (!finished_ || killing_) && group_exists(pid_)) {
    // The leader is gone but group members remain (and may still hold the pipes).
    ::kill(-pid_, SIGKILL);
  }
  log_.close();
  close_all_handles(/*keep_kill_timer=*/false);
  maybe_delete();
}

void Supervisor::close_handle(void* handle) {
  auto* h = static_cast<uv_handle_t*>(handle);
  if (!uv_is_closing(h)) uv_close(h, &Supervisor::on_closed);
}

void Supervisor::close_all_handles(bool keep_kill_timer) {
  if (process_initialized_) close_handle(&process_);
  close_handle(&stdin_);
  close_handle(&stdout_);
  close_handle(&stderr_);
  close_handle(&timeout_timer_);
  if (!(keep_kill_timer && killing_)) close_handle(&kill_timer_);
}

void Supervisor::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<Supervisor*>(handle->data);
  --self->open_handles_;
  self->maybe_delete();
}

void Supervisor::maybe_delete() {
  if (detached_ && !in_callback_ && open_handles_ == 0) delete this;
}

// The wrapper's view of its Supervisor.
struct Process::Impl {
  Supervisor* supervisor;
};

Result<std::unique_ptr<Process>> Process::start(uv_loop_s* loop, ProcessSpec spec,
                                                ExitCallback on_exit) {
  if (!spec.rlimits.empty() || spec.umask >= 0) {
    return fail("resource limits and a umask need a supervised process");
  }
  LogFile log;
  if (!spec.log_path.empty()) {
    auto opened = LogFile::open(spec.log_path);
    if (!opened) return tl::unexpected(opened.error());
    log = std::move(*opened);
  }
  ignore_sigpipe();
  auto* supervisor = new Supervisor(loop, std::move(spec), std::move(on_exit), std::move(log));
  supervisor->start();
  return std::unique_ptr<Process>(new Process(std::make_unique<Impl>(Impl{supervisor})));
}

Process::Process(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Process::~Process() {
  if (impl_) impl_->supervisor->detach();
}

void Process::terminate() { impl_->supervisor->terminate(); }

int Process::pid() const { return impl_->supervisor->pid(); }

bool Process::running() const { return impl_->supervisor->running(); }

}  // namespace baton::exec
