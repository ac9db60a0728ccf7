// baton pause RUN: the run's live orchestrator starts no new attempt, lets the running
// ones finish, records the run paused and exits 6; `baton resume RUN` continues it.
// The request is a run.pause_requested event followed by SIGUSR1 to the orchestrator
// (known by pid plus start time, signalled through a pidfd: cli/orchestrator.h), which
// reads its new events on that signal.
//
// Exit codes: 0 requested; 1 the run has already ended; 2 no state database or no such
// run; 4 the store failed or the signal could not be sent; 7 no live orchestrator runs
// the run (nothing to pause).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/orchestrator.h"

namespace baton::cli {

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

int pause_command(const std::string& run_id) {
  auto opened = open_run(run_id);
  if (!opened) return opened.error();
  const store::RunRecord& run = opened->run;
  if (run.status != "running") {
    std::printf("run %s is %s; nothing to pause\n", run.id.c_str(), run.status.c_str());
    return run.status == "paused" || run.status == "waiting" ? kExitSuccess : kExitRunFailed;
  }
  Orchestrator orchestrator(run.orchestrator_pid, run.orchestrator_start_time);
  if (!orchestrator.alive()) {
    std::fprintf(stderr,
                 "baton: run %s has no live orchestrator (it was killed?); nothing to pause: "
                 "continue it with baton resume %s\n",
                 run.id.c_str(), run.id.c_str());
    return kExitBusy;
  }
  store::Batch request;
  store::Event e;
  e.time = now_s();
  e.run_id = run.id;
  e.kind = "run.pause_requested";
  e.data = {{"by", "baton pause"},
            {"pid", static_cast<int>(getpid())},
            {"orchestrator_pid", run.orchestrator_pid}};
  request.events.push_back(std::move(e));
  if (auto r = opened->store->apply(request); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  switch (orchestrator.signal(SIGUSR1)) {
    case Signalled::kGone:
      std::fprintf(stderr, "baton: the orchestrator of run %s exited meanwhile\n", run.id.c_str());
      return kExitBusy;
    case Signalled::kFailed:
      std::fprintf(stderr, "baton: %s\n", orchestrator.error().c_str());
      return kExitInternal;
    case Signalled::kSent:
      break;
  }
  std::printf(
      "run %s: pause requested; its orchestrator (pid %d) starts nothing new and exits once "
      "the running attempts end; continue with baton resume %s\n",
      run.id.c_str(), run.orchestrator_pid, run.id.c_str());
  return kExitSuccess;
}

}  // namespace

void add_pause(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "pause", "Start nothing new in a running run; it stops once its attempts end");
  auto run_id = std::make_shared<std::string>();
  cmd->add_option("RUN", *run_id, kRunHelp)->required();
  cmd->callback([=] { *exit_code = pause_command(*run_id); });
}

}  // namespace baton::cli
