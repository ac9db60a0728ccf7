// Helpers shared by the invokers' output parsers: JSON Lines and error classes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "agents/invoker.h"

namespace baton::agents {

/// Every line of TEXT that parses as a JSON object, in order; other lines (log
/// noise, partial lines) are skipped. JSON Lines: https://jsonlines.org/.
std::vector<nlohmann::json> parse_json_lines(std::string_view text);

/// The error class of an API error, from an HTTP status (0 = unknown) and the
/// message: 401/403 or "auth"/"api key"/"unauthorized" → kAuth; 429 or "rate
/// limit"/"too many requests"/"overloaded" → kRateLimit; "timeout"/"timed out" →
/// kTimeout; 5xx, "connection", "disconnected", "temporar", "high demand",
/// "reconnecting" → kTransient; anything else → kPermanent.
ErrorClass classify_api_error(int http_status, std::string_view message);

/// The error class of a process that did not exit by itself: timed out → kTimeout,
/// cancelled → kCancelled, failed to start or killed by a signal → kPermanent;
/// kNone for a process that exited.
ErrorClass classify_exit(const exec::ExitStatus& status);

/// The last non-empty line of TEXT, trimmed, at most 300 bytes; "" when none.
std::string last_line(std::string_view text);

/// A failed AgentResult for a process whose output held no result: names the exit
/// status and the last line of stderr.
AgentResult missing_result(const exec::ProcessResult& process, const std::string& what);

}  // namespace baton::agents
