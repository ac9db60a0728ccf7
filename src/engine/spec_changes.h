// The input check of `baton resume`: which tasks of a workflow differ from what a run
// recorded when it started.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"
#include "workflow/model.h"

namespace baton::engine {

/// The tasks whose spec differs between WORKFLOW and the run's recorded task rows
/// RECORDED (TaskRecord::spec_sha256, set at the run's start from
/// TaskSpec::spec_sha256), in declaration order, then removed tasks in recorded order:
/// "ID (changed)", "ID (added)", "ID (removed)". Hook rows ("hook:...") are ignored;
/// rows without a hash (recorded before schema v3) count as unchanged. Empty: no task
/// changed (the file may still differ in comments, layout, settings or hooks).
std::vector<std::string> spec_changes(const workflow::Workflow& workflow,
                                      const std::vector<store::TaskRecord>& recorded);

}  // namespace baton::engine
