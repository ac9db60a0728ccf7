// The Server-Sent Events wire format (WHATWG HTML, "Server-sent events": fields `id`,
// `event`, `data`, `retry`; a line starting with ':' is a comment; a blank line ends
// a message).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace baton::serve {

/// One message: "id: ID\n" (when ID > 0), "event: EVENT\n" (when EVENT is not ""),
/// one "data: " line per line of DATA (split at "\n", "\r\n" and "\r", so DATA can never
/// end the message early or inject a field), then a blank line. EVENT must be a plain
/// word; any CR or LF in it is dropped.
std::string sse_message(int64_t id, std::string_view event, std::string_view data);

/// A comment line (keep-alive): ": TEXT\n\n", CR and LF in TEXT replaced by spaces.
std::string sse_comment(std::string_view text);

/// "retry: MS\n\n": how long a client waits before reconnecting (milliseconds).
std::string sse_retry(int ms);

/// The Last-Event-ID header's value as an event id: a decimal integer ≥ 0 of at most
/// 18 digits; nullopt for anything else (an empty or foreign id starts from now).
std::optional<int64_t> parse_last_event_id(std::string_view value);

}  // namespace baton::serve
