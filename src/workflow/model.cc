#include "workflow/model.h"

namespace baton::workflow {

RetryPolicy TaskSpec::effective_retry() const {
  if (retry) return *retry;
  RetryPolicy policy;
  if (failure_action() == TaskFailureAction::kRetry) {
    policy.max_attempts = 3;
    policy.delay_s = 10;
    policy.backoff = Backoff::kExponential;
  }
  return policy;
}

int Workflow::task_index(const std::string& id) const {
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace baton::workflow
