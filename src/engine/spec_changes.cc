#include "engine/spec_changes.h"

#include <map>
#include <set>

namespace baton::engine {

std::vector<std::string> spec_changes(const workflow::Workflow& workflow,
                                      const std::vector<store::TaskRecord>& recorded) {
  std::map<std::string, const store::TaskRecord*> rows;
  for (const auto& r : recorded) {
    if (!store::is_hook(r)) rows[r.task_id] = &r;
  }
  std::vector<std::string> out;
  std::set<std::string> current;
  for (const workflow::TaskSpec& spec : workflow.tasks) {
    current.insert(spec.id);
    auto it = rows.find(spec.id);
    if (it == rows.end()) {
      out.push_back(spec.id + " (added)");
    } else if (!it->second->spec_sha256.empty() && it->second->spec_sha256 != spec.spec_sha256()) {
      out.push_back(spec.id + " (changed)");
    }
  }
  for (const auto& r : recorded) {
    if (!store::is_hook(r) && !current.count(r.task_id)) {
      out.push_back(r.task_id + " (removed)");
    }
  }
  return out;
}

}  // namespace baton::engine
