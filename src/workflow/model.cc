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

std::string TaskSpec::spec_sha256() const {
  static constexpr char kHex[] = "0123456789abcdef";
  if (spec_digest == std::array<uint8_t, 32>{}) return "";
  std::string hex(64, '0');
  for (size_t i = 0; i < spec_digest.size(); ++i) {
    hex[2 * i] = kHex[spec_digest[i] >> 4];
    hex[2 * i + 1] = kHex[spec_digest[i] & 15];
  }
  return hex;
}

void TaskSpec::set_spec_sha256(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  spec_digest = {};
  if (hex.size() != 2 * spec_digest.size()) return;
  std::array<uint8_t, 32> digest{};
  for (size_t i = 0; i < digest.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return;
    digest[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  spec_digest = digest;
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

AgentVia agent_via_of(const TaskSpec& task, const RoleSpec* role) {
  if (task.agent_via()) return *task.agent_via();
  if (role && role->via) return *role->via;
  return AgentVia::kCli;
}

std::string acp_permission_of(const TaskSpec& task, const RoleSpec* role) {
  if (!task.acp_permission().empty()) return task.acp_permission();
  if (role && !role->acp_permission.empty()) return role->acp_permission;
  return "allow-worktree";
}

}  // namespace baton::workflow
