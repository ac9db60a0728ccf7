// baton retry RUN TASK [resume flags]: run a failed (or cancelled) task again, and with
// it every task that depends on it, directly or not, and did not succeed; then continue
// the run exactly as `baton resume` does (cli/resume.h). Tasks that succeeded are never
// re-run. The reset tasks keep their attempt count (numbers and logs continue) and get
// a fresh retry budget.
//
// Exit codes: as `baton resume`; 2 also when TASK does not exist or is not failed or
// cancelled; 7 when a live orchestrator runs the run.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/resume.h"
#include "cli/run_tasks.h"
#include "store/process_identity.h"

namespace baton::cli {

namespace {

int retry_command(const ResumeArgs& args, const std::string& task_id, bool no_downstream) {
  auto found = open_ended_run_task(args.run_id, task_id, "retry");
  if (!found) return found.error();
  auto& opened = found->opened;
  store::Store& store = *opened.store;
  const store::RunRecord& run = opened.run;
  const workflow::Workflow& wf = found->loaded->workflow;
  std::map<std::string, store::TaskRecord>& rows = found->rows;
  const std::string& status = rows[task_id].status;
  if (status != "failed" && status != "cancelled") {
    std::fprintf(stderr,
                 "baton: task '%s' of run %s is %s; only a failed or cancelled task can be "
                 "retried\n",
                 task_id.c_str(), run.id.c_str(), status.c_str());
    return kExitUsage;
  }
  // The task and its dependants.
  std::set<std::string> reset{task_id};
  if (!no_downstream) reset.merge(dependants_of(wf, task_id));
  auto lock = store.acquire_run_lock(run.id, static_cast<int>(getpid()), store::self_start_time());
  if (!lock || !lock->acquired) {
    std::fprintf(stderr, "baton: run %s is now run by another baton; try again\n", run.id.c_str());
    return kExitBusy;
  }
  store::Batch batch;
  std::vector<std::string> retried;
  for (const workflow::TaskSpec& spec : wf.tasks) {
    auto it = rows.find(spec.id);
    if (!reset.count(spec.id) || it == rows.end() || it->second.status == "success") continue;
    store::TaskRecord row = it->second;
    store::Event e;
    e.time = now_s();
    e.run_id = run.id;
    e.task_id = spec.id;
    e.kind = spec.id == task_id ? "task.retried" : "task.pending";
    e.data = {{"from", row.status},
              {"reason",
               spec.id == task_id ? "baton retry" : "depends on '" + task_id + "' (baton retry)"}};
    batch.events.push_back(std::move(e));
    batch.tasks.push_back(as_pending(row));
    retried.push_back(spec.id);
  }
  if (auto r = store.apply(batch); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  std::printf("retrying %zu %s of run %s: ", retried.size(), retried.size() == 1 ? "task" : "tasks",
              run.id.c_str());
  for (size_t i = 0; i < retried.size(); ++i) {
    std::printf("%s%s", i ? ", " : "", retried[i].c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
  ResumeArgs resolved = args;  // "last" or a prefix names this run, whatever starts next
  resolved.run_id = run.id;
  opened.store.reset();
  return resume_command(resolved, retried);
}

}  // namespace

void add_retry(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "retry", "Run a failed task again with its dependants, then continue the run");
  auto args = std::make_shared<ResumeArgs>();
  auto task = std::make_shared<std::string>();
  auto no_downstream = std::make_shared<bool>(false);
  cmd->add_option("RUN", args->run_id, kRunHelp)->required();
  cmd->add_option("TASK", *task, "the failed or cancelled task")->required();
  cmd->add_flag("--no-downstream", *no_downstream,
                "reset only TASK: dependants that failed stay failed (cancelled ones run "
                "again as on any resume)");
  add_resume_flags(cmd, *args);
  cmd->callback([=] { *exit_code = retry_command(*args, *task, *no_downstream); });
}

}  // namespace baton::cli
