// The wire protocols the scripted model speaks, behind one neutral shape.
//
// Each protocol (one file each: anthropic.cc, openai_responses.cc,
// openai_chat.cc, gemini.cc) reads a request body into a ModelRequest and writes
// a ModelReply as a JSON response, as a list of server-sent events, or as an
// error body. Sources: the Anthropic Messages API reference (streaming events),
// the OpenAI Responses and Chat Completions API references, the Gemini API
// `generateContent` reference, and what the CLIs in
// docs/rehearsal.md ("The tools each CLI offers") send and accept.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rehearse/script.h"
#include "rehearse/tools.h"
#include "util/error.h"

namespace baton::rehearse {

/// Which API a request speaks.
enum class Protocol {
  kAnthropic,        ///< POST .../v1/messages
  kOpenAiResponses,  ///< POST .../v1/responses
  kOpenAiChat,       ///< POST .../v1/chat/completions
  kGemini,           ///< POST .../models/M:generateContent, :streamGenerateContent
};

/// The name of PROTOCOL in logs: anthropic, openai-responses, openai-chat, gemini.
const char* protocol_name(Protocol protocol);

/// What the server needs to know of a model request, in any protocol.
struct ModelRequest {
  std::string model;                          ///< the model asked for ("" if none)
  bool stream = false;                        ///< answer with server-sent events
  std::vector<ToolSpec> tools;                ///< tools the model may call
  bool wants_json = false;                    ///< structured output asked for
  std::optional<nlohmann::json> json_schema;  ///< its schema, when given
  bool include_usage = false;                 ///< Chat: stream_options.include_usage
  std::string last_message;                   ///< excerpt of the last message, for logs
  std::string workdir;                        ///< the agent's working directory, or ""
};

/// One model answer: a final text, or one tool call.
struct ModelReply {
  std::string text;                   ///< the answer when there is no tool call
  std::optional<ToolCall> tool_call;  ///< the tool to call
  Usage usage;                        ///< token counts to report
  std::string id;                     ///< unique suffix for message, item and call ids
};

/// The functions of one wire protocol. All are pure and thread-safe.
struct WireProtocol {
  Protocol protocol;
  /// Reads a request body (already parsed as JSON). Fails when BODY is not an
  /// object of the protocol's shape.
  Result<ModelRequest> (*parse)(const nlohmann::json& body);
  /// The non-streaming response body.
  nlohmann::json (*response)(const ModelReply& reply, const ModelRequest& request);
  /// The streaming response: each element one complete server-sent event
  /// ("event: ...\ndata: ...\n\n"); the first one starts the message and does
  /// not finish it (a stalled stream sends only that one).
  std::vector<std::string> (*stream)(const ModelReply& reply, const ModelRequest& request);
  /// The error body for HTTP STATUS with MESSAGE.
  nlohmann::json (*error)(int status, const std::string& message);
};

const WireProtocol& anthropic_protocol();
const WireProtocol& openai_responses_protocol();
const WireProtocol& openai_chat_protocol();
const WireProtocol& gemini_protocol();

/// The text of a message's content in any of the shapes the APIs use: a string,
/// a list of parts with "text", "content" or "output" (nested), at most LIMIT
/// bytes.
std::string content_text(const nlohmann::json& content, size_t limit = 400);

/// content_text() of the last part of CONTENT when it is a list of parts (the
/// prompt or tool result after any reminders the CLI put first), else of CONTENT.
std::string last_part_text(const nlohmann::json& content, size_t limit = 400);

}  // namespace baton::rehearse
