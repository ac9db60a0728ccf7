#include "workflow/model.h"

namespace baton::workflow {

namespace {

// The empty mapping that parameters() and outputs() answer for "none".
const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}

}  // namespace

const TaskExtras& TaskSpec::read_extras() const {
  static const TaskExtras kNone;
  const TaskExtras* e = extras.get();
  return e ? *e : kNone;
}

const nlohmann::json& TaskSpec::parameters() const {
  const nlohmann::json& p = read_extras().parameters;
  return p.is_null() ? empty_object() : p;
}

const nlohmann::json& TaskSpec::outputs() const {
  const nlohmann::json& o = read_extras().outputs;
  return o.is_null() ? empty_object() : o;
}

RetryPolicy TaskSpec::effective_retry() const {
  if (const std::optional<RetryPolicy>& r = retry(); r) return *r;
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
