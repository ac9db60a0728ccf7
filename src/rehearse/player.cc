// Playing a script's step lists per session.
#include "rehearse/player.h"

#include "rehearse/server.h"

namespace baton::rehearse {

ScriptPlayer::Turn ScriptPlayer::next(const std::string& api_key) {
  static const Step kDone = text_step("done");
  auto it = sessions_.find(api_key);
  if (it == sessions_.end()) {
    Session session;
    std::optional<SessionKey> key = parse_session_key(api_key);
    session.steps = key ? &script_.steps_for(key->task, key->agent, key->attempt)
                        : &script_.steps_for("", "", "");
    it = sessions_.emplace(api_key, session).first;
  }
  Session& s = it->second;
  const std::vector<Step>& steps = *s.steps;
  if (s.cursor >= steps.size()) {
    if (!steps.empty() && steps.back().is_text()) {
      return {&steps.back(), static_cast<int>(steps.size()) - 1};
    }
    return {&kDone, -1};
  }
  Turn turn{&steps[s.cursor], static_cast<int>(s.cursor)};
  if (turn.step->fault && ++s.fault_uses < turn.step->fault->times) return turn;
  s.fault_uses = 0;
  ++s.cursor;
  return turn;
}

}  // namespace baton::rehearse
