// Task and run statuses, with the names seed 001 gives them (plus cancelled).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace baton::engine {

/// A task's state. pending -> ready -> running -> success | failed | skipped | cancelled;
/// a task waiting for a retry goes back to pending.
enum class TaskStatus { kPending, kReady, kRunning, kSuccess, kFailed, kSkipped, kCancelled };

/// "pending", "ready", "running", "success", "failed", "skipped", "cancelled".
const char* to_string(TaskStatus status);
/// The inverse of to_string(); nullopt for an unknown name.
std::optional<TaskStatus> parse_task_status(std::string_view name);
/// True for success, failed, skipped and cancelled.
bool is_terminal(TaskStatus status);

/// A run's state: running, then success (no task failed), failed, or cancelled.
enum class RunStatus { kRunning, kSuccess, kFailed, kCancelled };
/// "running", "success", "failed", "cancelled".
const char* to_string(RunStatus status);

}  // namespace baton::engine
