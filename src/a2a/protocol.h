// The parts of A2A (Agent2Agent, a2a-protocol.org; spec repo a2aproject/A2A) that baton's
// client speaks, in both wire versions: 1.0 (JSON-RPC methods SendMessage, GetTask, ...,
// states TASK_STATE_*, parts {text | raw | url | data}) and 0.3 (message/send,
// tasks/get, ..., lowercase states, parts tagged by `kind`). Pure functions over JSON,
// no I/O: the client (a2a/client.h) does the HTTP. Checked against @a2a-js/sdk 1.3.0.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace baton::a2a {

/// The protocol version a server speaks.
enum class Version { k03, k10 };

/// What the client needs of an agent card (/.well-known/agent-card.json).
struct Card {
  Version version = Version::k10;
  std::string rpc_url;     ///< the JSON-RPC endpoint (absolute http:// or https:// URL)
  bool streaming = false;  ///< capabilities.streaming
  bool push = false;       ///< capabilities.pushNotifications
  std::string name;
};

/// The card in J, fetched from CARD_URL. A 1.0 card lists `supportedInterfaces`
/// ({url, protocolBinding, protocolVersion}): the first JSONRPC interface of version
/// 1.x is taken, else one of 0.3. A card without that list is 0.3 (`url`,
/// `protocolVersion`, `preferredTransport`). Errors: not an object, no JSON-RPC
/// interface baton speaks, an endpoint that is not an http:// or https:// URL with a
/// host (util/http_url.h).
Result<Card> parse_card(const nlohmann::json& j);

/// The JSON-RPC calls the client makes.
enum class Method { kSend, kStream, kGet, kCancel, kResubscribe };

/// METHOD's name in VERSION: SendMessage / message/send, SendStreamingMessage /
/// message/stream, GetTask / tasks/get, CancelTask / tasks/cancel, SubscribeToTask /
/// tasks/resubscribe.
const char* method_name(Version version, Method method);

/// A task's state, both spellings mapped onto one.
enum class TaskState {
  kUnknown,
  kSubmitted,
  kWorking,
  kInputRequired,
  kAuthRequired,
  kCompleted,
  kCanceled,
  kFailed,
  kRejected,
};

/// "submitted" or "TASK_STATE_SUBMITTED" (and so on) -> the state; kUnknown otherwise.
TaskState parse_state(const std::string& text);

/// The 0.3 spelling: "submitted", "input-required", ...
const char* to_string(TaskState state);

/// completed, canceled, failed, rejected.
bool is_terminal(TaskState state);

/// input-required, auth-required: the task waits for the client.
bool is_interrupted(TaskState state);

/// The params of message/send (message/stream) carrying PROMPT as one text part with
/// MESSAGE_ID (the idempotency key). RETURN_IMMEDIATELY asks the server not to block
/// until the task ends (1.0 configuration.returnImmediately, 0.3 blocking: false).
/// With TASK_ID (and CONTEXT_ID), the message continues that task: the answer to an
/// input-required task (message.taskId, message.contextId, the same in both versions).
nlohmann::json send_params(Version version, const std::string& prompt,
                           const std::string& message_id, bool return_immediately,
                           const std::string& task_id = "", const std::string& context_id = "");

/// PARAMS (of message/send) asking the server to send the task's updates to URL with
/// TOKEN (the X-A2A-Notification-Token header) under config id ID: 1.0
/// configuration.taskPushNotificationConfig, 0.3 configuration.pushNotificationConfig.
nlohmann::json with_push(Version version, nlohmann::json params, const std::string& url,
                         const std::string& token, const std::string& id);

/// The params of tasks/get, tasks/cancel and tasks/resubscribe for TASK_ID.
nlohmann::json task_params(Version version, const std::string& task_id);

/// One part of an artifact or message.
struct Part {
  std::string text;       ///< a text part's text
  bool is_file = false;   ///< a file part (1.0 raw/url, 0.3 kind file)
  std::string file_name;  ///< as the server named it (hostile: confine it)
  std::string bytes;      ///< the decoded content of an inline file
  std::string uri;        ///< a file given by reference (not fetched)
  bool bad = false;       ///< a file part whose content could not be decoded
};

/// An artifact: its id and parts.
struct Artifact {
  std::string id;
  std::vector<Part> parts;
  bool append = false;  ///< an artifact update that extends the artifact with this id
};

/// What one JSON-RPC result (of send, get or one stream event) says about the task:
/// a Task, a Message, a status update or an artifact update, in either version.
struct Update {
  std::string task_id;     ///< "" for a Message answer
  std::string context_id;  ///< the task's contextId, when the result names it
  std::optional<TaskState> state;
  std::string status_text;  ///< text parts of the status message (or of a Message)
  std::vector<Artifact> artifacts;
  bool is_message = false;  ///< the answer is a Message (no task: the turn is over)
  bool final = false;       ///< 0.3 status update with final: true
};

/// The update in RESULT (a JSON-RPC `result`). Errors: not an object, or none of
/// the shapes above.
Result<Update> parse_result(Version version, const nlohmann::json& result);

/// Standard base64 (RFC 4648, padding optional) decoded; nullopt on a bad character.
std::optional<std::string> base64_decode(const std::string& text);

}  // namespace baton::a2a
