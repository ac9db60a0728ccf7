// Task and run statuses, with the names seed 001 gives them (plus cancelled).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace baton::engine {

/// A task's state. pending -> ready -> running -> success | failed | skipped | cancelled;
/// a task waiting for a retry goes back to pending. waiting: a gate (or an escalated
/// failure) waits for `baton approve`; approved -> ready (or success), rejected -> failed.
enum class TaskStatus {
  kPending,
  kReady,
  kRunning,
  kSuccess,
  kFailed,
  kSkipped,
  kCancelled,
  kWaiting
};

/// "pending", "ready", "running", "success", "failed", "skipped", "cancelled", "waiting".
const char* to_string(TaskStatus status);
/// The inverse of to_string(); nullopt for an unknown name.
std::optional<TaskStatus> parse_task_status(std::string_view name);
/// True for success, failed, skipped and cancelled.
bool is_terminal(TaskStatus status);

/// A run's state: running, then success (no task failed), failed, or cancelled; or,
/// with the orchestrator gone until `baton resume`: paused (`baton pause`) or waiting
/// (nothing can progress but tasks waiting for `baton approve`).
enum class RunStatus { kRunning, kSuccess, kFailed, kCancelled, kPaused, kWaiting };
/// "running", "success", "failed", "cancelled", "paused", "waiting".
const char* to_string(RunStatus status);

}  // namespace baton::engine
