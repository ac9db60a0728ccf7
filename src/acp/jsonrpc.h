// JSON-RPC 2.0 framing as the Agent Client Protocol uses it (agentclientprotocol.com,
// "Transports": stdio): one message per line, UTF-8, no embedded newline. A message is
// a request {jsonrpc:"2.0", id, method, params}, a notification (no id) or a response
// {id, result} / {id, error{code, message, data}} (jsonrpc.org/specification).
//
// Everything read here comes from the agent, a hostile peer: every line is bounded
// (LineReader's cap), every field checked before use.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::acp {

/// The largest message a reader accepts, bytes (a longer line is a protocol error).
inline constexpr size_t kMaxMessageBytes = 16 * 1024 * 1024;

/// Reads newline-terminated lines from a file descriptor, at most MAX_BYTES each
/// (without the '\n'; a trailing '\r' is dropped). Not thread-safe; does not own FD.
class LineReader {
 public:
  explicit LineReader(int fd, size_t max_bytes = kMaxMessageBytes) : fd_(fd), max_(max_bytes) {}

  /// What next_line() found.
  enum class Status {
    kLine,     ///< *LINE holds one complete line
    kAgain,    ///< no complete line yet (the fd is non-blocking and would block)
    kEof,      ///< the peer closed its end; a partial last line is dropped
    kTooLong,  ///< a line exceeded max_bytes: the stream cannot be trusted any more
    kError,    ///< read(2) failed (errno in *ERR)
  };

  /// Reads (one read(2) at most when no buffered line is complete) and returns the
  /// next complete line in *LINE. A line split over several reads is reassembled.
  Status next_line(std::string* line, int* err = nullptr);

  /// True when a complete line is already buffered (next_line() will not read).
  bool has_buffered_line() const;

 private:
  int fd_;
  size_t max_;
  std::string buf_;
  size_t scanned_ = 0;  // bytes of buf_ known to hold no '\n'
};

/// The kind of a JSON-RPC message.
enum class MessageKind { kRequest, kNotification, kResponse };

/// One parsed message. For kResponse, exactly one of result/error is set.
struct Message {
  MessageKind kind = MessageKind::kNotification;
  nlohmann::json id;      ///< number or string (requests and responses); null otherwise
  std::string method;     ///< requests and notifications
  nlohmann::json params;  ///< object/array, or null when absent
  std::optional<nlohmann::json> result;
  std::optional<nlohmann::json> error;  ///< {code, message, data?}
  nlohmann::json raw;                   ///< the whole message as received
};

/// Parses LINE as one JSON-RPC 2.0 message. Errors (the message names what is wrong):
/// "invalid JSON: ...", "not a JSON object", "jsonrpc is not \"2.0\"", "id is neither
/// a number nor a string", "method is not a string", "a response has both result and
/// error", "neither a request nor a response", "error is not an object with a code and
/// a message". Batches (arrays) are rejected: ACP does not use them.
Result<Message> parse_message(std::string_view line);

/// A request line (no trailing newline): {"jsonrpc":"2.0","id":ID,"method":...,"params":...}.
nlohmann::json make_request(int64_t id, std::string_view method, nlohmann::json params);
/// A notification {"jsonrpc":"2.0","method":...,"params":...}.
nlohmann::json make_notification(std::string_view method, nlohmann::json params);
/// A success response to ID.
nlohmann::json make_result(const nlohmann::json& id, nlohmann::json result);
/// An error response to ID (CODE: -32601 method not found, -32602 invalid params,
/// -32603 internal error, -32002 resource not found as ACP uses it).
nlohmann::json make_error(const nlohmann::json& id, int code, std::string_view message);

/// MESSAGE as one line (compact JSON, invalid UTF-8 replaced, no newline).
std::string to_line(const nlohmann::json& message);

/// Writes LINE plus '\n' to FD whole (retrying short writes and EINTR). Errors: the
/// write's errno ("write: Broken pipe").
Result<void> write_line(int fd, std::string_view line);

}  // namespace baton::acp
