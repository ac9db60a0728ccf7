// The end of an ACP conversation as `baton __acp-bridge` reports it: the last line of
// its stdout, {"acp":"result", ...}, which the ACP invoker (acp/invoker.h) turns into
// an agents::AgentResult.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agents/invoker.h"

namespace baton::acp {

/// The outcome of one prompt turn.
struct Outcome {
  bool success = false;
  /// session/prompt's stopReason: end_turn, max_tokens, max_turn_requests, refusal,
  /// cancelled; "" when the turn did not end with a response.
  std::string stop_reason;
  std::string text;        ///< the agent's message chunks since its last tool call ended
  std::string session_id;  ///< the ACP session id ("" when none was made)
  agents::Usage usage;     ///< tokens, when the agent reports them
  int tool_calls = 0;      ///< tool calls the agent made
  agents::ErrorClass error_class = agents::ErrorClass::kNone;
  std::string error;  ///< one line, when !success
};

/// OUTCOME as the bridge's final line: {"acp":"result","success":B,"stop_reason":S,
/// "text":S,"session_id":S,"usage":{"input_tokens":N,"output_tokens":N,
/// "cached_tokens":N},"tool_calls":N,"error_class":S,"error":S}.
nlohmann::json outcome_to_json(const Outcome& outcome);

/// The outcome in J when J is a final line (acp == "result"); nullopt otherwise.
/// Fields of the wrong type read as their defaults; an unknown error_class as
/// kPermanent.
std::optional<Outcome> outcome_from_json(const nlohmann::json& j);

}  // namespace baton::acp
