#include "export/job_subset.h"

#include <utility>
#include <vector>

#include "workflow/graph.h"

namespace baton::exporter {

Result<workflow::Workflow> workflow_for_task(const workflow::Workflow& wf,
                                             const std::string& task_id) {
  int index = wf.task_index(task_id);
  if (index < 0) return fail("no task '" + task_id + "' in " + wf.path);
  std::vector<bool> keep = workflow::upstream_of(wf, index);
  keep[index] = true;
  workflow::Workflow subset = wf;
  subset.tasks.clear();
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    if (keep[i]) subset.tasks.push_back(wf.tasks[i]);
  }
  subset.hooks = workflow::Hooks{};
  return subset;
}

workflow::Workflow workflow_for_finish(const workflow::Workflow& wf) {
  workflow::Workflow finish = wf;
  finish.hooks.on_start.clear();
  return finish;
}

}  // namespace baton::exporter
