// `baton iterate RUN TASK -m FEEDBACK` (docs/commands.md): a finished agent task runs
// again with a person's feedback. The command records a `task.iterated` event
// ({"from": STATUS, "feedback": TEXT}) and makes the task pending; the run's next
// orchestrator (`baton resume`) reads the event log and gives the task's next attempt
// the feedback in its prompt (prompt_with_feedback()), its agent's session to resume
// when the agent reported one, a fresh retry budget, and its worktree as its last
// success left it (Workspaces::continue_from_result). Until that attempt has started
// (`attempt.started`), the iteration is pending: a crash in between loses nothing.
#pragma once

#include <map>
#include <string>

#include "store/store.h"

namespace baton::engine {

/// The event kind `baton iterate` records.
inline constexpr const char* kTaskIteratedEvent = "task.iterated";

/// The iterations whose next attempt has not started, from a run's events given one at a
/// time in seq order (Store::for_each_event or list_events).
class PendingIterations {
 public:
  /// The run's next event: a `task.iterated` makes its task pending with the event's
  /// `feedback`; an `attempt.started` of that task ends it.
  void add(const store::Event& e);
  /// Task id -> the feedback of its latest pending iteration.
  const std::map<std::string, std::string>& feedback() const { return feedback_; }

 private:
  std::map<std::string, std::string> feedback_;
};

/// The prompt of an attempt that follows `baton iterate`: the feedback first (so that an
/// agent resuming its session reads it as the next message), then the task as before:
///   "A person reviewed your work on this task and asks for changes (baton iterate):\n"
///   FEEDBACK "\n\nThe task, as given before:\n" PROMPT
/// FEEDBACK and PROMPT are taken as they are.
std::string prompt_with_feedback(const std::string& feedback, const std::string& prompt);

}  // namespace baton::engine
