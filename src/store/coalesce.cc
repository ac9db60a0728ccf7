#include "store/coalesce.h"

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace baton::store {

namespace {

// Where a record is: its part and its index there.
struct Place {
  size_t part = 0;
  size_t index = 0;
};

// A row's key: its fields joined with '\0', which no id contains.
std::string row_key(std::string_view run_id, std::string_view task_id) {
  std::string key;
  key.reserve(run_id.size() + task_id.size() + 12);
  key.append(run_id).push_back('\0');
  key.append(task_id);
  return key;
}

std::string attempt_key(const AttemptRecord& a) {
  std::string key = row_key(a.run_id, a.task_id);
  key.push_back('\0');
  key.append(std::to_string(a.number));
  return key;
}

// Erases the records whose DROPPED flag is set, keeping the others' order.
template <typename Record>
void erase_dropped(std::vector<Record>& records, const std::vector<bool>& dropped) {
  size_t kept = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (dropped[i]) continue;
    if (kept != i) records[kept] = std::move(records[i]);
    ++kept;
  }
  records.resize(kept);
}

}  // namespace

size_t coalesce_rows(std::vector<Batch>& parts) {
  std::unordered_map<std::string, Place> last_task, last_attempt;
  std::vector<std::vector<bool>> task_dropped(parts.size()), attempt_dropped(parts.size());
  size_t dropped = 0;
  for (size_t p = 0; p < parts.size(); ++p) {
    Batch& part = parts[p];
    task_dropped[p].assign(part.tasks.size(), false);
    attempt_dropped[p].assign(part.attempts.size(), false);
    for (size_t i = 0; i < part.tasks.size(); ++i) {
      auto [it, fresh] =
          last_task.try_emplace(row_key(part.tasks[i].run_id, part.tasks[i].task_id), Place{p, i});
      if (fresh) continue;
      TaskRecord& earlier = parts[it->second.part].tasks[it->second.index];
      if (!part.tasks[i].dependencies && earlier.dependencies) {
        part.tasks[i].dependencies = std::move(earlier.dependencies);
      }
      task_dropped[it->second.part][it->second.index] = true;
      it->second = Place{p, i};
      ++dropped;
    }
    for (size_t i = 0; i < part.attempts.size(); ++i) {
      auto [it, fresh] = last_attempt.try_emplace(attempt_key(part.attempts[i]), Place{p, i});
      if (fresh) continue;
      attempt_dropped[it->second.part][it->second.index] = true;
      it->second = Place{p, i};
      ++dropped;
    }
  }
  if (dropped == 0) return 0;
  for (size_t p = 0; p < parts.size(); ++p) {
    erase_dropped(parts[p].tasks, task_dropped[p]);
    erase_dropped(parts[p].attempts, attempt_dropped[p]);
  }
  return dropped;
}

}  // namespace baton::store
