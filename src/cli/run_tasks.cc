#include "cli/run_tasks.h"

#include <chrono>

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

}  // namespace baton::cli
