// baton cancel RUN [--timeout S]: stop a running run.
//
// When the run's orchestrator (the `baton run` process recorded on the run, known
// by pid plus start time, never pid alone) is alive, a run.cancel_requested event is
// recorded and the orchestrator gets SIGTERM: it terminates its running attempts
// (process group, grace period, SIGKILL), records them and their tasks cancelled
// and exits 3 (the event tells it from an outside SIGTERM, which exits 143).
// `baton cancel` waits for that exit. When the orchestrator is gone
// (it crashed or was killed, or the run is paused or waiting), `baton cancel` takes the
// run lock, asks the supervisor of every attempt still running to cancel it
// (executor::cancel_recorded_attempt: scancel for a Slurm job; the attempts outlive a
// killed orchestrator), ends what the agents of tasks waiting on a question wait for
// (an A2A remote task in input-required is cancelled) and records the
// run and its unfinished tasks cancelled itself (store/cancel.h).
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
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "agents/invoker.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/open_run.h"
#include "cli/orchestrator.h"
#include "cli/paths.h"
#include "cli/store_location.h"
#include "engine/run.h"
#include "exec/supervised.h"
#include "executor/executor.h"
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

int count_cancelled(store::Store& store, const std::string& run_id) {
  auto tasks = store.list_tasks(run_id);
  int n = 0;
  if (tasks) {
    for (const auto& t : *tasks) n += t.status == "cancelled";
  }
  return n;
}

/// The orchestrator is gone: take the run lock and record the run cancelled.
// Tasks of RUN_ID waiting for an answer to their agent's question (gate "input", an
// A2A agent's input-required, docs/agents.md): what the agent waits on is ended (its
// remote task cancelled) through the agent's invoker, registered from the project's
// config (custom agents); each is reported on stdout.
void end_waiting_questions(store::Store& store, const std::string& run_id) {
  auto tasks = store.list_tasks(run_id);
  if (!tasks) return;
  bool loaded = false;
  for (const store::TaskRecord& t : *tasks) {
    if (t.status != "waiting" || t.gate != "input") continue;
    if (!loaded) {
      loaded = true;
      (void)load_project_config(project_root());
    }
    const agents::Invoker* invoker = agents::find_invoker(t.agent);
    auto attempts = store.list_attempts(run_id, t.task_id);
    if (!invoker || !attempts) continue;
    for (const store::AttemptRecord& a : *attempts) {
      if (a.number != t.attempts || a.log_path.empty()) continue;
      std::ifstream in(a.log_path, std::ios::binary);
      std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string note = invoker->abandon(log);
      if (!note.empty()) std::printf("%s: %s\n", t.task_id.c_str(), note.c_str());
    }
  }
}

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
  // Attempts outlive a killed orchestrator (each under its supervisor): stop them.
  int stopped = 0;
  if (auto attempts = store.list_attempts(run_id, "")) {
    for (const auto& a : *attempts) {
      if (a.status != "running" || a.log_path.empty()) continue;
      if (executor::cancel_recorded_attempt(exec::control_path_for(a.log_path))) ++stopped;
    }
  }
  // An attempt started before its row (engine::attempt_log_path): the next attempt of
  // a task recorded ready, when its control file says it runs.
  auto run = store.get_run(run_id);
  auto tasks = run && *run ? store.list_tasks(run_id) : Result<std::vector<store::TaskRecord>>{};
  if (tasks) {
    for (const auto& t : *tasks) {
      if (t.status != "ready") continue;
      const std::string log = engine::attempt_log_path((*run)->run_dir, t.task_id, t.attempts + 1);
      if (executor::cancel_recorded_attempt(exec::control_path_for(log))) ++stopped;
    }
  }
  end_waiting_questions(store, run_id);
  auto changed = store::cancel_abandoned_run(store, run_id, kAbandonedReason, now_s());
  if (!changed) {
    std::fprintf(stderr, "baton: %s\n", changed.error().message.c_str());
    return kExitInternal;
  }
  std::printf("run %s cancelled (its orchestrator was not running): %d %s cancelled\n",
              run_id.c_str(), changed->tasks, changed->tasks == 1 ? "task" : "tasks");
  if (stopped > 0) {
    std::printf("%d running %s stopped through %s supervisor\n", stopped,
                stopped == 1 ? "attempt" : "attempts", stopped == 1 ? "its" : "their");
  }
  return kExitSuccess;
}

int cancel_command(const std::string& run_arg, double timeout_s) {
  auto db = find_state_db();
  if (!db) {
    std::fprintf(stderr, "baton: %s\n", db.error().message.c_str());
    return kExitUsage;
  }
  auto opened = open_state_store(*db);
  if (!opened) {
    std::fprintf(stderr, "baton: %s\n", opened.error().message.c_str());
    return kExitInternal;
  }
  store::Store& store = **opened;
  auto run = resolve_run(store, run_arg, *db);
  if (!run) return run.error();
  const std::string run_id = run->id;
  const store::RunRecord& record = *run;
  if (record.status == "cancelled") {
    std::printf("run %s is already cancelled\n", run_id.c_str());
    return kExitSuccess;
  }
  if (record.status == "paused" || record.status == "waiting") {
    return cancel_abandoned(store, run_id);  // no orchestrator runs it
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
  switch (orchestrator.signal(SIGTERM)) {
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
  cmd->add_option("RUN", *run_id, kRunHelp)->required();
  cmd->add_option("--timeout", *timeout, "seconds to wait for the orchestrator to stop")
      ->check(CLI::PositiveNumber);
  cmd->callback([=] { *exit_code = cancel_command(*run_id, *timeout); });
}

}  // namespace baton::cli
