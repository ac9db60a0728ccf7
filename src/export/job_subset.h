// The part of a workflow that one GitHub Actions job runs (docs/github-actions.md):
// a task with everything upstream of it, whose results the job imports, and no hooks.
#pragma once

#include <string>

#include "util/error.h"
#include "workflow/model.h"

namespace baton::exporter {

/// WF reduced to task TASK_ID and every task it depends on, directly or transitively,
/// in declaration order; hooks removed (the exported workflow runs them in its
/// finishing job). Dependencies, templates and conditions stay valid: they may name
/// only upstream tasks (workflow/loader.h). Errors: WF has no task TASK_ID ("no task
/// 'ID' in FILE").
Result<workflow::Workflow> workflow_for_task(const workflow::Workflow& wf,
                                             const std::string& task_id);

/// WF without its on_start hooks: what the finishing job runs, with every task's
/// result imported, to run on_success/on_failure and on_complete.
workflow::Workflow workflow_for_finish(const workflow::Workflow& wf);

}  // namespace baton::exporter
