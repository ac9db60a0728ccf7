// ConcurrencySlots: the per-agent and per-role limits on attempts running at once
// (settings.agent_limits and the roles' max_concurrent; docs/agents.md, "Concurrency
// limits"), as counters the scheduler takes and gives back. Pure: no I/O, no clock.
//
// A key is an agent with a limit or a role with a limit; an attempt holds one slot of
// its agent's key and one of its role's key (either may be absent). A start needs a
// free slot under both. Thread safety: none; the scheduler's thread uses it.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace baton::engine {

class ConcurrencySlots {
 public:
  /// The keys an attempt holds: indices of keys, -1 when its agent (role) has no limit.
  struct Keys {
    int agent = -1;
    int role = -1;
  };

  ConcurrencySlots() = default;
  /// AGENT_LIMITS: agent name -> attempts at once; ROLE_LIMITS: role name -> attempts
  /// of its tasks at once. REQUIRES: every limit >= 1 (the loader refuses others).
  ConcurrencySlots(const std::map<std::string, int>& agent_limits,
                   const std::map<std::string, int>& role_limits);

  /// True when there is no limit at all (then every start is allowed).
  bool empty() const { return names_.empty(); }
  /// The number of keys (agents and roles with a limit).
  int key_count() const { return static_cast<int>(names_.size()); }

  /// The keys of an attempt of AGENT ("" for none) for a task whose `agent:` is ROLE
  /// (a role name, or an agent name, which matches no role key).
  Keys keys(const std::string& agent, const std::string& role) const;

  /// The first of KEYS (agent, then role) with every slot taken, or -1 when a start is
  /// allowed.
  int full(Keys keys) const;

  /// Takes (gives back) a slot of each of KEYS. Re-attached attempts of a resumed run
  /// take theirs even past the limit: nothing new starts until they are below it.
  void acquire(Keys keys);
  void release(Keys keys);

  /// Slots of KEY in use.
  int used(int key) const { return used_[key]; }
  /// Slots of KEY free: 0 when every one is taken (or more than its limit, after a resume).
  int free(int key) const { return used_[key] < max_[key] ? max_[key] - used_[key] : 0; }

  /// The note of a task waiting for KEY: "waiting for a claude slot" (an agent) or
  /// "waiting for a slot of role 'coder'".
  std::string waiting_reason(int key) const;

 private:
  std::vector<std::string> names_;  // key -> agent or role name
  std::vector<bool> is_role_;       // key -> whether it is a role's
  std::vector<int> max_;            // key -> its limit
  std::vector<int> used_;           // key -> slots taken
  std::map<std::string, int> agent_keys_;
  std::map<std::string, int> role_keys_;
};

}  // namespace baton::engine
