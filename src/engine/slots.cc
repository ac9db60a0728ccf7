#include "engine/slots.h"

namespace baton::engine {

ConcurrencySlots::ConcurrencySlots(const std::map<std::string, int>& agent_limits,
                                   const std::map<std::string, int>& role_limits) {
  auto add = [&](const std::string& name, int limit, bool role) {
    (role ? role_keys_ : agent_keys_)[name] = static_cast<int>(names_.size());
    names_.push_back(name);
    is_role_.push_back(role);
    max_.push_back(limit);
    used_.push_back(0);
  };
  for (const auto& [name, limit] : agent_limits) add(name, limit, false);
  for (const auto& [name, limit] : role_limits) add(name, limit, true);
}

ConcurrencySlots::Keys ConcurrencySlots::keys(const std::string& agent,
                                              const std::string& role) const {
  Keys k;
  if (names_.empty()) return k;
  if (auto it = agent_keys_.find(agent); !agent.empty() && it != agent_keys_.end()) {
    k.agent = it->second;
  }
  if (auto it = role_keys_.find(role); !role.empty() && it != role_keys_.end()) {
    k.role = it->second;
  }
  return k;
}

int ConcurrencySlots::full(Keys keys) const {
  for (int key : {keys.agent, keys.role}) {
    if (key >= 0 && used_[key] >= max_[key]) return key;
  }
  return -1;
}

void ConcurrencySlots::acquire(Keys keys) {
  for (int key : {keys.agent, keys.role}) {
    if (key >= 0) ++used_[key];
  }
}

void ConcurrencySlots::release(Keys keys) {
  for (int key : {keys.agent, keys.role}) {
    if (key >= 0 && used_[key] > 0) --used_[key];
  }
}

std::string ConcurrencySlots::waiting_reason(int key) const {
  if (is_role_[key]) return "waiting for a slot of role '" + names_[key] + "'";
  return "waiting for a " + names_[key] + " slot";
}

}  // namespace baton::engine
