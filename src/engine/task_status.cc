#include "engine/task_status.h"

namespace baton::engine {

namespace {
constexpr const char* kTaskNames[] = {"pending", "ready",   "running",   "success",
                                      "failed",  "skipped", "cancelled", "waiting"};
}  // namespace

const char* to_string(TaskStatus status) { return kTaskNames[static_cast<int>(status)]; }

std::optional<TaskStatus> parse_task_status(std::string_view name) {
  for (int i = 0; i < 8; ++i) {
    if (name == kTaskNames[i]) return static_cast<TaskStatus>(i);
  }
  return std::nullopt;
}

bool is_terminal(TaskStatus status) {
  return status == TaskStatus::kSuccess || status == TaskStatus::kFailed ||
         status == TaskStatus::kSkipped || status == TaskStatus::kCancelled;
}

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kSuccess:
      return "success";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
    case RunStatus::kPaused:
      return "paused";
    case RunStatus::kWaiting:
      return "waiting";
  }
  return "?";
}

}  // namespace baton::engine
