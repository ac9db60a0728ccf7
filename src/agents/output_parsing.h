// Helpers shared by the invokers' output parsers: JSON Lines and error classes.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agents/invoker.h"
#include "agents/json_fields.h"  // int_field, string_field, object_field

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

/// TEXT as one JSON document (an object or an array, possibly pretty-printed over
/// many lines). Lines before the first line that starts with '{' or '[' are skipped
/// (log noise); nullopt when what follows does not parse.
std::optional<nlohmann::json> parse_json_document(std::string_view text);

/// The JSON object that ends TEXT and starts at the beginning of a line, such as an
/// error report printed after log lines and stack traces (Gemini CLI's stderr). The
/// latest such start that parses to the end of TEXT wins; nullopt when none.
std::optional<nlohmann::json> trailing_json_object(std::string_view text);

/// The HTTP status in a message such as "[API Error: 500 mock injected 500]",
/// "Last error: 429 Too Many Requests" or "status 503": the first three-digit number
/// from 400 to 599 that follows "error:" or "status"; 0 when none.
int http_status_in(std::string_view message);

/// Marks R failed (success=false) for a process that did not exit 0 although its
/// output held a result: the class is classify_exit()'s, kPermanent for a plain
/// non-zero exit; the error names the exit status and the last line of stderr.
void fail_with_exit(const exec::ProcessResult& process, AgentResult* r);

/// The result of an attempt whose command is one of baton's own adapter clients
/// (`baton __a2a-client`, `baton __http-job`): the last stdout line that is a JSON
/// object with TAG: "result" and {success, text, error_class, error}. It is a success
/// only when the line says so and the process exited 0; the supervisor's timeout and
/// cancel win over the line's class (the client sees both as a SIGTERM); a failure
/// without an error reads "LABEL: EXIT STATUS". Without such a line: missing_result()
/// naming WHO, and kTransient when the client was killed by a signal (its remote job
/// may still run; the next attempt re-attaches through the log). LINE, when not null,
/// gets the result line (null JSON when none). Never throws.
AgentResult parse_adapter_result(const exec::ProcessResult& process, std::string_view tag,
                                 std::string_view label, const std::string& who,
                                 nlohmann::json* line = nullptr);

}  // namespace baton::agents
