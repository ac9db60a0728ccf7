// Which step of the script each request plays: one cursor per session.
#pragma once

#include <map>
#include <string>

#include "rehearse/script.h"

namespace baton::rehearse {

/// Plays a Script's step lists, one session (API key) at a time. Not
/// thread-safe: the server calls it under its lock. The Script must outlive it.
class ScriptPlayer {
 public:
  explicit ScriptPlayer(const Script& script) : script_(script) {}

  /// The step a turn of session API_KEY plays and its 0-based index in the list.
  struct Turn {
    const Step* step = nullptr;
    int index = -1;  ///< -1: past the end of a list that does not end with a text
  };

  /// The next turn of session API_KEY (a session key picks the list, see
  /// Script::steps_for(); any other key plays the fallback). A fault step is
  /// played `times` times in a row, every other step once. Past the end: the last
  /// step again when it is a text, else the text "done".
  Turn next(const std::string& api_key);

 private:
  struct Session {
    const std::vector<Step>* steps = nullptr;
    size_t cursor = 0;
    int fault_uses = 0;  // turns the current fault step has played
  };
  const Script& script_;
  std::map<std::string, Session> sessions_;
};

}  // namespace baton::rehearse
