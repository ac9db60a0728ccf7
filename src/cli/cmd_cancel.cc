// baton cancel RUN [--timeout S]: stop a running run.
//
// When the run's orchestrator (the `baton run` process recorded on the run, known
// by pid plus start time, never pid alone) is alive, a run.cancel_requested event is
// recorded and the orchestrator gets SIGTERM: it terminates its running attempts
// (process group, grace period, SIGKILL), records them and their tasks cancelled
// and exits 143. `baton cancel` waits for that exit. When the orchestrator is gone
// (it crashed or was killed), `baton cancel` takes the run lock and records the run
// and its unfinished tasks cancelled itself (store/cancel.h).
//
// Exit codes: 0 the run is cancelled (or already was); 1 the run had already ended
// (success or failed) and is left as it was; 2 no state database or no such run;
// 4 the store failed, the signal could not be sent, or the orchestrator did not
// exit within the timeout.
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/paths.h"
#include "store/cancel.h"
#include "store/process_identity.h"
#include "store/store.h"

namespace baton::cli {

namespace {

constexpr const char* kAbandonedReason = "cancelled by baton cancel (orchestrator was not running)";

double now_s() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

/// A pidfd (pidfd_open(2)): refers to one process for as long as it is open, so a
/// signal sent through it cannot reach a later process that reuses the pid. Closed
/// on destruction. Move-only.
class PidFd {
 public:
  PidFd() = default;
  explicit PidFd(int fd) : fd_(fd) {}
  ~PidFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  PidFd(PidFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  PidFd& operator=(PidFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  PidFd(const PidFd&) = delete;
  PidFd& operator=(const PidFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

enum class Signalled { kSent, kGone, kFailed };

/// The orchestrator (PID, START_TIME), signalled and awaited.
class Orchestrator {
 public:
  Orchestrator(int pid, int64_t start_time) : pid_(pid), start_time_(start_time) {}

  /// Sends SIGTERM if the process is still the orchestrator. kGone: it is not
  /// running any more. kFailed: the error is in error().
  Signalled terminate() {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (fd >= 0) pidfd_ = PidFd(fd);
    if (fd < 0 && errno == ESRCH) return Signalled::kGone;
    // Checked after the pidfd is open: the pidfd pins the process we checked.
    if (!store::process_is_running(pid_, start_time_)) return Signalled::kGone;
    int rc = fd >= 0 ? static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, SIGTERM, nullptr, 0))
                     : ::kill(pid_, SIGTERM);  // no pidfd (old kernel, seccomp)
    if (rc == 0) return Signalled::kSent;
    if (errno == ESRCH) return Signalled::kGone;
    error_ = "cannot signal the orchestrator (pid " + std::to_string(pid_) +
             "): " + std::strerror(errno);
    return Signalled::kFailed;
  }

  /// Waits up to TIMEOUT_S seconds for the orchestrator to exit; true if it did.
  bool wait_exit(double timeout_s) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
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

  const std::string& error() const { return error_; }

 private:
  int pid_;
  int64_t start_time_;
  PidFd pidfd_;
  std::string error_;
};

int count_cancelled(store::Store& store, const std::string& run_id) {
  auto tasks = store.list_tasks(run_id);
  int n = 0;
  if (tasks) {
    for (const auto& t : *tasks) n += t.status == "cancelled";
  }
  return n;
}

/// The orchestrator is gone: take the run lock and record the run cancelled.
int cancel_abandoned(store::Store& store, const std::string& run_id) {
  auto lock = store.acquire_run_lock(run_id, static_cast<int>(getpid()), store::self_start_time());
  if (!lock) {
    std::fprintf(stderr, "baton: %s\n", lock.error().message.c_str());
    return kExitInternal;
  }
  if (!lock->acquired) {  // another orchestrator took the run over meanwhile
    std::fprintf(stderr, "baton: run %s is now run by another baton (pid %d); try again\n",
                 run_id.c_str(), lock->holder_pid);
    return kExitInternal;
  }
  auto changed = store::cancel_abandoned_run(store, run_id, kAbandonedReason, now_s());
  if (!changed) {
    std::fprintf(stderr, "baton: %s\n", changed.error().message.c_str());
    return kExitInternal;
  }
  std::printf("run %s cancelled (its orchestrator was not running): %d %s cancelled\n",
              run_id.c_str(), changed->tasks, changed->tasks == 1 ? "task" : "tasks");
  if (changed->attempts > 0) {
    // Attempt rows get their pid only when the attempt ends, so these cannot be found.
    std::printf(
        "note: %d %s running when the orchestrator stopped; if still alive, %s not stopped "
        "(baton does not record a running attempt's process)\n",
        changed->attempts, changed->attempts == 1 ? "attempt was" : "attempts were",
        changed->attempts == 1 ? "it was" : "they were");
  }
  return kExitSuccess;
}

int cancel_command(const std::string& run_id, double timeout_s) {
  auto db = find_state_db();
  if (!db) {
    std::fprintf(stderr, "baton: %s\n", db.error().message.c_str());
    return kExitUsage;
  }
  auto opened = store::open_sqlite_store(*db);
  if (!opened) {
    std::fprintf(stderr, "baton: %s\n", opened.error().message.c_str());
    return kExitInternal;
  }
  store::Store& store = **opened;
  auto run = store.get_run(run_id);
  if (!run) {
    std::fprintf(stderr, "baton: %s\n", run.error().message.c_str());
    return kExitInternal;
  }
  if (!*run) {
    std::fprintf(stderr, "baton: no run '%s' in %s\n", run_id.c_str(), db->c_str());
    return kExitUsage;
  }
  const store::RunRecord& record = **run;
  if (record.status == "cancelled") {
    std::printf("run %s is already cancelled\n", run_id.c_str());
    return kExitSuccess;
  }
  if (record.status != "running") {
    std::printf("run %s already ended (%s); nothing to cancel\n", run_id.c_str(),
                record.status.c_str());
    return kExitRunFailed;
  }

  Orchestrator orchestrator(record.orchestrator_pid, record.orchestrator_start_time);
  if (!store::process_is_running(record.orchestrator_pid, record.orchestrator_start_time)) {
    return cancel_abandoned(store, run_id);
  }
  store::Batch request;
  store::Event e;
  e.time = now_s();
  e.run_id = run_id;
  e.kind = "run.cancel_requested";
  e.data = {{"by", "baton cancel"},
            {"pid", static_cast<int>(getpid())},
            {"orchestrator_pid", record.orchestrator_pid}};
  request.events.push_back(std::move(e));
  if (auto r = store.apply(request); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  switch (orchestrator.terminate()) {
    case Signalled::kGone:
      return cancel_abandoned(store, run_id);
    case Signalled::kFailed:
      std::fprintf(stderr, "baton: %s\n", orchestrator.error().c_str());
      return kExitInternal;
    case Signalled::kSent:
      break;
  }
  std::printf("run %s: sent SIGTERM to its orchestrator (pid %d)\n", run_id.c_str(),
              record.orchestrator_pid);
  std::fflush(stdout);
  if (!orchestrator.wait_exit(timeout_s)) {
    std::fprintf(stderr, "baton: the orchestrator of run %s (pid %d) has not exited after %g s\n",
                 run_id.c_str(), record.orchestrator_pid, timeout_s);
    return kExitInternal;
  }
  auto after = store.get_run(run_id);
  if (!after || !*after) {
    std::fprintf(stderr, "baton: cannot read back run %s\n", run_id.c_str());
    return kExitInternal;
  }
  const std::string& status = (*after)->status;
  if (status == "running") return cancel_abandoned(store, run_id);  // it died mid-way
  if (status != "cancelled") {
    std::printf("run %s ended (%s) before it could be cancelled\n", run_id.c_str(), status.c_str());
    return kExitRunFailed;
  }
  int n = count_cancelled(store, run_id);
  std::printf("run %s cancelled: %d %s cancelled\n", run_id.c_str(), n, n == 1 ? "task" : "tasks");
  return kExitSuccess;
}

}  // namespace

void add_cancel(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("cancel", "Stop a running run: terminate its attempts, record it");
  auto run_id = std::make_shared<std::string>();
  auto timeout = std::make_shared<double>(60);
  cmd->add_option("RUN", *run_id, "a run id")->required();
  cmd->add_option("--timeout", *timeout, "seconds to wait for the orchestrator to stop")
      ->check(CLI::PositiveNumber);
  cmd->callback([=] { *exit_code = cancel_command(*run_id, *timeout); });
}

}  // namespace baton::cli
