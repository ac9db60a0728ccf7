#include "cli/run_tasks.h"

#include <chrono>
#include <cstdio>

#include "cli/exit_codes.h"
#include "cli/orchestrator.h"

namespace baton::cli {

std::set<std::string> dependants_of(const workflow::Workflow& wf, const std::string& task_id) {
  // Declaration order puts dependencies first, so one pass finds every dependant.
  std::set<std::string> reached{task_id};
  for (const workflow::TaskSpec& spec : wf.tasks) {
    for (const std::string& dep : spec.dependencies) {
      if (reached.count(dep)) reached.insert(spec.id);
    }
  }
  reached.erase(task_id);
  return reached;
}

store::TaskRecord as_pending(store::TaskRecord row) {
  row.status = "pending";
  row.reason.clear();
  row.gate.clear();
  row.ended_at = 0;
  return row;
}

Result<std::string> last_worktree(store::Store& store, const std::string& run_id,
                                  const std::string& task) {
  std::string worktree;
  auto read = store.for_each_event(run_id, 0, [&](const store::Event& e) {
    if (e.task_id == task && e.kind == "attempt.started" && e.data.is_object()) {
      worktree = e.data.value("worktree", "");
    }
  });
  if (!read) return tl::unexpected(read.error());
  return worktree;
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

tl::expected<EndedRunTask, int> open_ended_run_task(const std::string& run_id,
                                                    const std::string& task_id,
                                                    const std::string& verb) {
  auto opened = open_run(run_id);
  if (!opened) return tl::unexpected(opened.error());
  EndedRunTask found{std::move(*opened), std::nullopt, -1, {}};
  const store::RunRecord& run = found.opened.run;
  Orchestrator holder(run.orchestrator_pid, run.orchestrator_start_time);
  if (holder.alive()) {
    std::fprintf(stderr, "baton: run %s is being run by baton (pid %d); %s once it has ended\n",
                 run.id.c_str(), run.orchestrator_pid, verb.c_str());
    return tl::unexpected(kExitBusy);
  }
  const std::string file = workflow_file(run, found.opened.db_path);
  found.loaded = load_for_command(file, run.root_dir, {}, false);
  if (!found.loaded) {
    std::fprintf(stderr, "baton: cannot load %s, the workflow of run %s\n", file.c_str(),
                 run.id.c_str());
    return tl::unexpected(kExitUsage);
  }
  found.index = found.loaded->workflow.task_index(task_id);
  auto tasks = found.opened.store->list_tasks(run.id);
  if (!tasks) {
    std::fprintf(stderr, "baton: %s\n", tasks.error().message.c_str());
    return tl::unexpected(kExitInternal);
  }
  for (auto& t : *tasks) found.rows[t.task_id] = std::move(t);
  if (found.index < 0 || !found.rows.count(task_id)) {
    std::fprintf(stderr, "baton: run %s has no task '%s'\n", run.id.c_str(), task_id.c_str());
    return tl::unexpected(kExitUsage);
  }
  return found;
}

}  // namespace baton::cli
