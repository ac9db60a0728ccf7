#include "engine/iteration.h"

namespace baton::engine {

void PendingIterations::add(const store::Event& e) {
  if (e.kind == kTaskIteratedEvent) {
    feedback_[e.task_id] = e.data.is_object() ? e.data.value("feedback", "") : "";
  } else if (e.kind == "attempt.started") {
    feedback_.erase(e.task_id);
  }
}

std::string prompt_with_feedback(const std::string& feedback, const std::string& prompt) {
  return "A person reviewed your work on this task and asks for changes (baton iterate):\n" +
         feedback + "\n\nThe task, as given before:\n" + prompt;
}

}  // namespace baton::engine
