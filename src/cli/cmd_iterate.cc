// baton iterate RUN TASK -m FEEDBACK [resume flags]: run a finished agent task again
// with a person's feedback (Rover's `rover iterate`), then continue the run as `baton
// resume` does. The task's next attempt gets the feedback before its prompt, resumes
// the agent's session where the CLI can, and works in the task's worktree as its last
// success left it (engine/iteration.h). Dependants that had finished (succeeded or not)
// become pending and run again from the new result. The feedback is recorded in the
// `task.iterated` event; it is data, never a template or shell code.
//
// Exit codes: as `baton resume`; 2 also when TASK does not exist, is not an agent task,
// has not finished, or its worktree is gone, or FEEDBACK is empty; 7 when a live
// orchestrator runs the run.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/resume.h"
#include "cli/run_tasks.h"
#include "engine/iteration.h"
#include "store/process_identity.h"

namespace baton::cli {

namespace {

int iterate_command(const ResumeArgs& args, const std::string& task_id,
                    const std::string& feedback) {
  if (feedback.find_first_not_of(" \t\r\n") == std::string::npos) {
    std::fprintf(stderr, "baton: -m: the feedback is empty\n");
    return kExitUsage;
  }
  auto found = open_ended_run_task(args.run_id, task_id, "iterate");
  if (!found) return found.error();
  auto& opened = found->opened;
  store::Store& store = *opened.store;
  store::RunRecord run = opened.run;
  const workflow::Workflow& wf = found->loaded->workflow;
  const int index = found->index;
  std::map<std::string, store::TaskRecord>& rows = found->rows;
  if (wf.tasks[index].agent.empty() || wf.tasks[index].is_command()) {
    std::fprintf(stderr,
                 "baton: task '%s' of run %s is not an agent task; only an agent can take "
                 "feedback (use `baton retry` for a command)\n",
                 task_id.c_str(), run.id.c_str());
    return kExitUsage;
  }
  const std::string status = rows[task_id].status;
  if (status != "success" && status != "failed") {
    std::fprintf(stderr,
                 "baton: task '%s' of run %s is %s; only a task that succeeded or failed can be "
                 "iterated\n",
                 task_id.c_str(), run.id.c_str(), status.c_str());
    return kExitUsage;
  }
  auto worktree = last_worktree(store, run.id, task_id);
  if (!worktree) {
    std::fprintf(stderr, "baton: %s\n", worktree.error().message.c_str());
    return kExitInternal;
  }
  std::error_code ec;
  if (!worktree->empty() && !std::filesystem::is_directory(*worktree, ec)) {
    std::fprintf(stderr,
                 "baton: the worktree of task '%s' (%s) is gone; iterate needs the work it left "
                 "(start a new run instead)\n",
                 task_id.c_str(), worktree->c_str());
    return kExitUsage;
  }
  auto lock = store.acquire_run_lock(run.id, static_cast<int>(getpid()), store::self_start_time());
  if (!lock || !lock->acquired) {
    std::fprintf(stderr, "baton: run %s is now run by another baton; try again\n", run.id.c_str());
    return kExitBusy;
  }
  std::set<std::string> dependants = dependants_of(wf, task_id);
  store::Batch batch;
  store::Event iterated;
  iterated.time = now_s();
  iterated.run_id = run.id;
  iterated.task_id = task_id;
  iterated.kind = engine::kTaskIteratedEvent;
  iterated.data = {{"from", status}, {"feedback", feedback}};
  batch.events.push_back(std::move(iterated));
  batch.tasks.push_back(as_pending(rows[task_id]));
  std::vector<std::string> reset;  // the dependants, in declaration order
  for (const workflow::TaskSpec& spec : wf.tasks) {
    auto it = rows.find(spec.id);
    if (!dependants.count(spec.id) || it == rows.end()) continue;
    const std::string& was = it->second.status;
    if (was == "pending" || was == "running" || was == "ready" || was == "waiting") continue;
    store::Event e;
    e.time = now_s();
    e.run_id = run.id;
    e.task_id = spec.id;
    e.kind = "task.pending";
    e.data = {{"from", was}, {"reason", "depends on '" + task_id + "' (baton iterate)"}};
    batch.events.push_back(std::move(e));
    batch.tasks.push_back(as_pending(it->second));
    reset.push_back(spec.id);
  }
  // The run is no longer finished: `baton resume` (here, or after a crash) continues it.
  run.status = "running";
  run.ended_at = 0;
  batch.run = run;
  if (auto r = store.apply(batch); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  std::printf("iterating task %s of run %s with feedback", task_id.c_str(), run.id.c_str());
  for (size_t i = 0; i < reset.size(); ++i) {
    std::printf("%s%s", i ? ", " : "; then again: ", reset[i].c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
  ResumeArgs resolved = args;
  resolved.run_id = run.id;
  opened.store.reset();
  return resume_command(resolved, reset);
}

}  // namespace

void add_iterate(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "iterate", "Run a finished agent task again with feedback, then continue the run");
  auto args = std::make_shared<ResumeArgs>();
  auto task = std::make_shared<std::string>();
  auto feedback = std::make_shared<std::string>();
  cmd->add_option("RUN", args->run_id, kRunHelp)->required();
  cmd->add_option("TASK", *task, "the agent task that succeeded or failed")->required();
  cmd->add_option("-m,--message", *feedback,
                  "what the agent should change (taken as written: no ${...}, no shell)")
      ->required();
  add_resume_flags(cmd, *args);
  cmd->callback([=] { *exit_code = iterate_command(*args, *task, *feedback); });
}

}  // namespace baton::cli
