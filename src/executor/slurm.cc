#include "executor/slurm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "exec/attempt_file.h"
#include "executor/slurm_command.h"
#include "isolation/command.h"
#include "util/self_exe.h"

namespace baton::executor {
namespace {

namespace fs = std::filesystem;

constexpr double kCommandTimeoutS = 30;  // squeue, scontrol, scancel
constexpr double kSbatchTimeoutS = 60;

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_token() {
  std::random_device rd;
  char buf[33];
  snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

Result<void> write_new_file(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return fail("cannot create " + path + ": " + std::strerror(errno));
  size_t done = 0;
  int err = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) return fail("cannot write " + path + ": " + std::strerror(err));
  return {};
}

// What the scheduler says of the jobs IDS (absent: it no longer knows them). squeue's
// JSON first; `scontrol show job -o` per job when squeue fails. Errors: neither answered.
Result<std::map<std::string, JobInfo>> query_jobs(const std::vector<std::string>& ids) {
  isolation::CommandOptions options;
  options.timeout_s = kCommandTimeoutS;
  std::vector<std::string> argv = {"squeue", "--json"};
  if (!ids.empty()) {
    std::string list;
    for (const std::string& id : ids) list += (list.empty() ? "" : ",") + id;
    argv.push_back("--jobs=" + list);
  }
  auto out = isolation::run_command(argv, options);
  if (out && out->exit_code == 0) {
    if (auto parsed = parse_squeue_json(out->out)) return parsed;
  }
  if (ids.empty()) return fail("squeue --json failed");
  std::map<std::string, JobInfo> jobs;
  for (const std::string& id : ids) {
    auto shown = isolation::run_command({"scontrol", "show", "job", "-o", id}, options);
    if (!shown) return tl::unexpected(shown.error());
    if (shown->exit_code != 0) {
      if (shown->err.find("Invalid job id") != std::string::npos) continue;  // forgotten
      return fail("scontrol show job " + id + " failed: " + shown->err);
    }
    if (auto info = parse_scontrol_job(shown->out)) jobs[id] = *info;
  }
  return jobs;
}

// The job whose comment is attempt=TOKEN, or "".
std::string find_job_by_token(const std::string& token) {
  auto jobs = query_jobs({});
  if (!jobs) return "";
  for (const auto& [id, info] : *jobs) {
    if (info.comment == "attempt=" + token) return id;
  }
  return "";
}

// A Slurm command's stderr for an error message: without its trailing newlines and
// spaces.
std::string stderr_text(const isolation::CommandOutput& out) {
  std::string err = out.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  return err;
}

// Runs scancel for JOB_ID with SCOPE (slurm_command.h). Errors: it could not run, or
// it failed ("scancel ARGS failed: its stderr").
Result<void> run_scancel(const std::string& job_id, StopScope scope) {
  isolation::CommandOptions options;
  options.timeout_s = kCommandTimeoutS;
  auto out = isolation::run_command(scancel_argv(job_id, scope), options);
  if (!out) return tl::unexpected(out.error());
  if (out->exit_code != 0) return fail("scancel " + job_id + " failed: " + stderr_text(*out));
  return {};
}

// Slurm's cancel of the whole job (a queued or lost job; the last resort).
void scancel(const std::string& job_id) {
  if (job_id.empty()) return;
  (void)run_scancel(job_id, StopScope::kWholeJob);
}

// Stops JOB_ID as baton's cancel (StopScope, slurm_command.h): Slurm's cancel if it is
// still queued, else SIGTERM to its batch script only, whose run supervisor stops the
// attempt's whole process group at once. (A job-wide scancel signals the processes one
// by one, deepest first: a shell whose `sleep` got SIGTERM first went on to its next
// command and exited 0.) A job in neither state (suspended, ending) is left to the
// caller's last resort. A filtered scancel answers "Invalid job id specified" for a
// job the scheduler no longer lists as active (it ended, e.g. by the first request):
// nothing left to stop, not an error. Errors: a scancel failed otherwise (its message).
Result<void> stop_job(const std::string& job_id) {
  if (job_id.empty()) return fail("no Slurm job id");
  auto stopped = [](const Result<void>& r) {
    return r || r.error().message.find("Invalid job id") != std::string::npos;
  };
  auto queued = run_scancel(job_id, StopScope::kQueued);
  auto running = run_scancel(job_id, StopScope::kBatchScript);
  if (!stopped(queued)) return queued;
  if (!stopped(running)) return running;
  return {};
}

// The end as the engine should see it. CANCEL_REQUESTED: baton asked for the stop, so a
// signal or a loss in between is that cancellation. Otherwise a kCancelled record
// means the batch script got SIGTERM from Slurm (`--signal=B:TERM@N` before the time
// limit, a preemption, an scancel from outside): a failure, retried by policy.
AttemptEnd adjust(exec::ProcessResult result, bool cancel_requested, std::string error_class) {
  using Kind = exec::ExitStatus::Kind;
  exec::ExitStatus& s = result.status;
  if (cancel_requested) {
    if (s.kind == Kind::kSignaled || s.kind == Kind::kLost || s.kind == Kind::kCancelled) {
      s.kind = Kind::kCancelled;
      error_class.clear();
    }
  } else if (s.kind == Kind::kCancelled) {
    s.kind = Kind::kSignaled;
    s.signal = SIGTERM;
    s.error = "Slurm stopped the job: its time limit, a preemption or an scancel outside baton";
    if (error_class.empty()) error_class = "transient";
  }
  return AttemptEnd{std::move(result), std::move(error_class)};
}

// True when the attempt's control file has its "started" record (the job ran it).
bool has_started_record(const std::string& control) {
  std::ifstream in(control, std::ios::binary);
  if (!in) return false;
  std::stringstream buf;
  buf << in.rdbuf();
  auto records = exec::parse_control_records(buf.str(), exec::control_key_for(control));
  return records && records->started.has_value();
}

class SlurmExecutor;

class SlurmAttempt final : public AttemptHandle {
 public:
  SlurmAttempt(SlurmExecutor* owner, std::string control, std::string job_id, bool cancel_requested,
               double kill_grace_s, EndCallback on_end)
      : owner_(owner),
        control_(std::move(control)),
        job_id_(std::move(job_id)),
        cancel_requested_(cancel_requested),
        kill_grace_s_(kill_grace_s),
        on_end_(std::move(on_end)) {
    // Adopted after a cancel: the job gets the same time to end before Slurm's cancel.
    if (cancel_requested_) stop_sent_at_ = now_s();
  }
  ~SlurmAttempt() override;

  // Each request is one SIGTERM to `baton __slurm-attempt`: the first cancels the
  // attempt with grace, a second kills its group at once (slurm_attempt.h). So a
  // terminate() after the first request sends nothing.
  void terminate() override {
    if (requests_sent_ == 0) request_cancel();
  }
  void kill_now() override { request_cancel(); }
  void detach() override;
  bool running() const override { return running_; }
  std::string external_id() const override { return job_id_; }
  std::string note() const override { return queued_ ? "queued on slurm" : ""; }

  void request_cancel() {
    if (!running_) return;
    if (!cancel_requested_) {
      cancel_requested_ = true;
      (void)append_slurm_record(slurm_record_path(control_), cancel_requested_line(now_s()), false);
    }
    (void)stop_job(job_id_);
    ++requests_sent_;
    stop_sent_at_ = now_s();
  }

  // True once a job asked to stop has had its grace plus signal_lead_s()'s margin to
  // record its end (the time Slurm gives it before its time limit, too).
  bool stop_overdue(double now) const {
    return stop_sent_at_ > 0 && !whole_job_cancelled_ &&
           now - stop_sent_at_ >= signal_lead_s(kill_grace_s_);
  }

  SlurmExecutor* owner_;
  std::string control_;
  std::string job_id_;
  bool cancel_requested_ = false;
  double kill_grace_s_ = 10;
  EndCallback on_end_;
  bool running_ = true;
  bool queued_ = true;
  std::string state_, reason_;  // the scheduler's last word
  double gone_since_ = 0;       // when the job was first seen ended or unknown
  double stop_sent_at_ = 0;     // the last stop_job(), unix seconds; 0 = none
  int requests_sent_ = 0;       // stop_job() calls by this handle
  bool whole_job_cancelled_ = false;
};

class SlurmExecutor final : public Executor {
 public:
  SlurmExecutor(workflow::SlurmSettings options, std::string baton_path)
      : options_(std::move(options)), baton_path_(std::move(baton_path)) {
    if (baton_path_.empty()) baton_path_ = self_executable().value_or("baton");
  }
  ~SlurmExecutor() override {
    for (SlurmAttempt* a : live_) a->owner_ = nullptr;
  }

  const char* name() const override { return "slurm"; }

  Result<std::unique_ptr<AttemptHandle>> submit(uv_loop_s* loop, AttemptRequest request,
                                                EndCallback on_end) override;
  exec::AttemptState inspect(const std::string& control_path) override;
  Result<std::unique_ptr<AttemptHandle>> recover(uv_loop_s* loop, const std::string& control_path,
                                                 EndCallback on_end) override;
  Result<void> clean_up_lost(const std::string& control_path) override;

  void forget(SlurmAttempt* a) {
    live_.erase(a);
    if (live_.empty() && timer_) {
      uv_timer_stop(timer_);
      uv_close(reinterpret_cast<uv_handle_t*>(timer_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      timer_ = nullptr;
    }
  }

 private:
  void watch(uv_loop_s* loop, SlurmAttempt* a, bool now) {
    live_.insert(a);
    const auto every = static_cast<uint64_t>(std::max(0.01, options_.poll_s) * 1000);
    if (!timer_) {
      timer_ = new uv_timer_t;
      uv_timer_init(loop, timer_);
      timer_->data = this;
      uv_timer_start(timer_, on_timer, now ? 0 : every, every);
    } else if (now) {
      uv_timer_start(timer_, on_timer, 0, every);
    }
  }
  static void on_timer(uv_timer_t* t) { static_cast<SlurmExecutor*>(t->data)->poll(); }
  void poll();
  bool try_finish(SlurmAttempt* a);
  void finish(SlurmAttempt* a, AttemptEnd end);
  void declare_lost(SlurmAttempt* a);

  workflow::SlurmSettings options_;
  std::string baton_path_;
  std::set<SlurmAttempt*> live_;
  uv_timer_t* timer_ = nullptr;
};

SlurmAttempt::~SlurmAttempt() {
  if (running_) request_cancel();  // like ~Supervised: a running attempt is stopped
  running_ = false;
  if (owner_) owner_->forget(this);
}

void SlurmAttempt::detach() {
  running_ = false;
  if (owner_) owner_->forget(this);
  owner_ = nullptr;
}

Result<std::unique_ptr<AttemptHandle>> SlurmExecutor::submit(uv_loop_s* loop,
                                                             AttemptRequest request,
                                                             EndCallback on_end) {
  exec::ProcessSpec& p = request.process;
  if (p.log_path.empty()) return fail("a Slurm attempt needs a log path");
  const std::string control = exec::control_path_for(p.log_path);
  std::error_code ec;
  if (p.cwd.empty()) p.cwd = fs::current_path(ec).string();
  const std::string record = slurm_record_path(control);
  // The same number again (an attempt that never started): no job has its token.
  for (const std::string& stale : {record, slurm_spec_path(control), slurm_script_path(control)}) {
    ::unlink(stale.c_str());
  }
  SlurmAttemptSpec spec{p, random_token()};
  if (auto r = write_new_file(slurm_spec_path(control), encode_slurm_spec(spec), 0600); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = write_new_file(slurm_script_path(control),
                              batch_script(baton_path_, slurm_spec_path(control)), 0700);
      !r) {
    return tl::unexpected(r.error());
  }
  if (auto r =
          append_slurm_record(record, submitting_line(spec.token, p.kill_grace_s, now_s()), true);
      !r) {
    return tl::unexpected(r.error());
  }
  SbatchRequest sb;
  sb.options = options_;
  sb.run_id = request.run_id;
  sb.task_id = request.task_id;
  sb.token = spec.token;
  sb.timeout_s = p.timeout_s.value_or(0);
  sb.kill_grace_s = p.kill_grace_s;
  fs::path control_file(control);
  sb.chdir = control_file.parent_path().string();
  sb.output_name = fs::path(slurm_output_path(control)).filename().string();
  sb.script_path = slurm_script_path(control);
  isolation::CommandOptions options;
  options.timeout_s = kSbatchTimeoutS;
  auto out = isolation::run_command(sbatch_argv(sb), options);
  if (!out) return fail("sbatch: " + out.error().message);
  if (out->exit_code != 0) {
    ::unlink(slurm_spec_path(control).c_str());  // nothing will read it
    return fail("sbatch failed (exit " + std::to_string(out->exit_code) +
                "): " + stderr_text(*out));
  }
  auto job_id = parse_sbatch_answer(out->out);
  if (!job_id) {
    ::unlink(slurm_spec_path(control).c_str());
    return tl::unexpected(job_id.error());
  }
  if (auto r = append_slurm_record(record, submitted_line(*job_id, now_s()), false); !r) {
    scancel(*job_id);
    return tl::unexpected(r.error());
  }
  auto handle = std::make_unique<SlurmAttempt>(this, control, *job_id, false, p.kill_grace_s,
                                               std::move(on_end));
  watch(loop, handle.get(), false);
  return std::unique_ptr<AttemptHandle>(std::move(handle));
}

exec::AttemptState SlurmExecutor::inspect(const std::string& control_path) {
  using Kind = exec::AttemptState::Kind;
  exec::AttemptState st;
  auto rec = read_slurm_record(slurm_record_path(control_path));
  if (!rec) {
    st.kind = Kind::kLost;
    st.detail = rec.error().message;
    return st;
  }
  if (rec->lost) {
    st.kind = Kind::kLost;
    st.detail = "given up: " + *rec->lost;
    return st;
  }
  exec::AttemptState local = exec::inspect_attempt(control_path);
  if (local.kind == Kind::kFinished) {
    AttemptEnd end = adjust(local.result, rec->cancel_requested, "");
    local.result = end.result;
    return local;
  }
  if (rec->job_id.empty() && find_job_by_token(rec->token).empty() && local.supervisor_pid == 0) {
    st.kind = Kind::kNotStarted;
    st.detail = "sbatch did not answer and no Slurm job has its token";
    return st;
  }
  // Queued, running, or ended a moment ago: the watcher decides (the lost bound).
  st.kind = Kind::kRunning;
  st.supervisor_pid = local.supervisor_pid;
  st.child_pid = local.child_pid;
  return st;
}

Result<std::unique_ptr<AttemptHandle>> SlurmExecutor::recover(uv_loop_s* loop,
                                                              const std::string& control_path,
                                                              EndCallback on_end) {
  auto rec = read_slurm_record(slurm_record_path(control_path));
  if (!rec) return tl::unexpected(rec.error());
  if (rec->lost) return fail("the attempt was given up: " + *rec->lost);
  std::string job_id = rec->job_id;
  if (job_id.empty()) {
    job_id = find_job_by_token(rec->token);
    if (job_id.empty()) return fail("no Slurm job has the attempt's token");
    if (auto r = append_slurm_record(slurm_record_path(control_path),
                                     submitted_line(job_id, now_s()), false);
        !r) {
      return tl::unexpected(r.error());
    }
  }
  auto handle = std::make_unique<SlurmAttempt>(this, control_path, job_id, rec->cancel_requested,
                                               rec->kill_grace_s, std::move(on_end));
  watch(loop, handle.get(), true);
  return std::unique_ptr<AttemptHandle>(std::move(handle));
}

Result<void> SlurmExecutor::clean_up_lost(const std::string& control_path) {
  const std::string path = slurm_record_path(control_path);
  auto rec = read_slurm_record(path);
  if (!rec) return tl::unexpected(rec.error());
  if (!rec->lost) {
    if (auto r = append_slurm_record(path, lost_line("given up by baton resume", now_s()), false);
        !r) {
      return r;
    }
  }
  scancel(rec->job_id.empty() ? find_job_by_token(rec->token) : rec->job_id);
  ::unlink(slurm_spec_path(control_path).c_str());
  return {};
}

bool SlurmExecutor::try_finish(SlurmAttempt* a) {
  exec::AttemptState st = exec::inspect_attempt(a->control_);
  if (st.kind != exec::AttemptState::Kind::kFinished) return false;
  finish(a, adjust(st.result, a->cancel_requested_, ""));
  return true;
}

void SlurmExecutor::finish(SlurmAttempt* a, AttemptEnd end) {
  // A job that never started left its spec (the task's environment, secrets included).
  ::unlink(slurm_spec_path(a->control_).c_str());
  a->running_ = false;
  a->queued_ = false;
  EndCallback cb = std::move(a->on_end_);
  forget(a);
  if (cb) cb(end);  // may destroy A
}

void SlurmExecutor::declare_lost(SlurmAttempt* a) {
  std::string reason = "slurm job " + a->job_id_ + ": " + describe_state(a->state_, a->reason_) +
                       "; no exit record after " +
                       std::to_string(static_cast<int>(options_.lost_after_s)) + "s";
  (void)append_slurm_record(slurm_record_path(a->control_), lost_line(reason, now_s()), false);
  scancel(a->job_id_);
  exec::ProcessResult r;
  r.status.kind = exec::ExitStatus::Kind::kLost;
  r.status.error = reason;
  r.started_at = r.ended_at = now_s();
  finish(a, adjust(r, a->cancel_requested_, error_class_of(a->state_)));
}

void SlurmExecutor::poll() {
  std::vector<SlurmAttempt*> pending;
  for (SlurmAttempt* a : std::vector<SlurmAttempt*>(live_.begin(), live_.end())) {
    if (!live_.count(a)) continue;  // ended in a callback of this round
    if (!try_finish(a)) pending.push_back(a);
  }
  if (pending.empty()) return;
  std::vector<std::string> ids;
  for (SlurmAttempt* a : pending) ids.push_back(a->job_id_);
  auto jobs = query_jobs(ids);
  if (!jobs) return;  // the scheduler did not answer: decide nothing this round
  const double now = now_s();
  for (SlurmAttempt* a : pending) {
    if (!live_.count(a)) continue;
    auto it = jobs->find(a->job_id_);
    if (it != jobs->end()) {
      a->state_ = it->second.state;
      a->reason_ = it->second.reason;
      JobPhase phase = phase_of(a->state_);
      if (phase != JobPhase::kEnded) {
        a->queued_ = phase == JobPhase::kQueued;
        a->gone_since_ = 0;
        if (a->stop_overdue(now)) {
          // The batch script did not end the job (or never got the signal): Slurm's
          // cancel, which SIGKILLs what is left after KillWait.
          a->whole_job_cancelled_ = true;
          scancel(a->job_id_);
        }
        continue;
      }
    }
    a->queued_ = false;
    if (a->cancel_requested_ && !has_started_record(a->control_)) {
      // Cancelled while queued: it never ran, there is nothing to wait for.
      exec::ProcessResult r;
      r.status.kind = exec::ExitStatus::Kind::kCancelled;
      r.status.error = "cancelled while queued on slurm";
      r.started_at = r.ended_at = now;
      finish(a, AttemptEnd{r, ""});
      continue;
    }
    if (a->gone_since_ == 0) {
      a->gone_since_ = now;
      continue;
    }
    if (now - a->gone_since_ < options_.lost_after_s) continue;
    if (try_finish(a)) continue;  // the record arrived meanwhile
    declare_lost(a);
  }
}

}  // namespace

std::unique_ptr<Executor> make_slurm_executor(const workflow::SlurmSettings& options,
                                              std::string baton_path) {
  return std::make_unique<SlurmExecutor>(options, std::move(baton_path));
}

Result<void> cancel_slurm_attempt(const std::string& control_path) {
  const std::string path = slurm_record_path(control_path);
  auto rec = read_slurm_record(path);
  if (!rec) return tl::unexpected(rec.error());
  std::string job_id = rec->job_id.empty() ? find_job_by_token(rec->token) : rec->job_id;
  if (job_id.empty()) return fail("no Slurm job recorded for " + control_path);
  if (auto r = append_slurm_record(path, cancel_requested_line(now_s()), false); !r) return r;
  if (auto r = stop_job(job_id); !r) return r;
  ::unlink(slurm_spec_path(control_path).c_str());  // a job cancelled while queued never reads it
  return {};
}

std::string slurm_queue_note(const std::string& log_path) {
  const std::string control = exec::control_path_for(log_path);
  auto rec = read_slurm_record(slurm_record_path(control));
  if (!rec || rec->lost) return "";
  return has_started_record(control) ? "" : "queued on slurm";
}

}  // namespace baton::executor
