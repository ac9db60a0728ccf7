// Anthropic Messages API: POST /v1/messages, JSON or server-sent events
// (message_start, content_block_start, content_block_delta with text_delta or
// input_json_delta, content_block_stop, message_delta, message_stop).
#include "rehearse/protocol.h"
#include "rehearse/sse.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

json arguments_of(const ToolCall& call) {
  if (call.kind == ToolKind::kCustom) return json{{"input", call.input}};
  return call.arguments;
}

json usage_json(const Usage& u) {
  return json{{"input_tokens", u.input_tokens - u.cached_tokens},
              {"output_tokens", u.output_tokens},
              {"cache_creation_input_tokens", 0},
              {"cache_read_input_tokens", u.cached_tokens}};
}

json message_shell(const ModelReply& reply, const ModelRequest& request) {
  return json{{"id", "msg_rehearse_" + reply.id},
              {"type", "message"},
              {"role", "assistant"},
              {"model", request.model.empty() ? "rehearse" : request.model},
              {"content", json::array()},
              {"stop_reason", nullptr},
              {"stop_sequence", nullptr},
              {"usage", usage_json(reply.usage)}};
}

Result<ModelRequest> parse(const json& body) {
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) {
    return fail("not an Anthropic Messages request: no messages");
  }
  ModelRequest request;
  request.model = body.value("model", "");
  request.stream = body.value("stream", false);
  if (body.contains("tools") && body["tools"].is_array()) {
    for (const json& tool : body["tools"]) {
      if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
      ToolSpec spec;
      spec.name = tool["name"].get<std::string>();
      if (tool.contains("input_schema")) spec.parameters = tool["input_schema"];
      request.tools.push_back(std::move(spec));
    }
  }
  // Structured outputs: output_format (beta) or output_config.format.
  for (const json* format : {body.contains("output_format") ? &body["output_format"] : nullptr,
                             body.contains("output_config") && body["output_config"].is_object() &&
                                     body["output_config"].contains("format")
                                 ? &body["output_config"]["format"]
                                 : nullptr}) {
    if (format && format->is_object() && format->contains("schema")) {
      request.wants_json = true;
      request.json_schema = (*format)["schema"];
    }
  }
  if (!body["messages"].empty()) {
    request.last_message = last_part_text(body["messages"].back().value("content", json()));
  }
  request.workdir = find_workdir(body);
  return request;
}

json response(const ModelReply& reply, const ModelRequest& request) {
  json message = message_shell(reply, request);
  if (reply.tool_call) {
    message["content"].push_back(json{{"type", "tool_use"},
                                      {"id", "toolu_rehearse_" + reply.id},
                                      {"name", reply.tool_call->name},
                                      {"input", arguments_of(*reply.tool_call)}});
    message["stop_reason"] = "tool_use";
  } else {
    message["content"].push_back(json{{"type", "text"}, {"text", reply.text}});
    message["stop_reason"] = "end_turn";
  }
  return message;
}

std::vector<std::string> stream(const ModelReply& reply, const ModelRequest& request) {
  std::vector<std::string> events;
  json start = message_shell(reply, request);
  start["usage"]["output_tokens"] = 1;
  events.push_back(sse_event("message_start", {{"type", "message_start"}, {"message", start}}));
  events.push_back(sse_event("ping", {{"type", "ping"}}));
  if (reply.tool_call) {
    events.push_back(sse_event("content_block_start", {{"type", "content_block_start"},
                                                       {"index", 0},
                                                       {"content_block",
                                                        {{"type", "tool_use"},
                                                         {"id", "toolu_rehearse_" + reply.id},
                                                         {"name", reply.tool_call->name},
                                                         {"input", json::object()}}}}));
    events.push_back(sse_event("content_block_delta",
                               {{"type", "content_block_delta"},
                                {"index", 0},
                                {"delta",
                                 {{"type", "input_json_delta"},
                                  {"partial_json", arguments_of(*reply.tool_call).dump()}}}}));
  } else {
    events.push_back(
        sse_event("content_block_start", {{"type", "content_block_start"},
                                          {"index", 0},
                                          {"content_block", {{"type", "text"}, {"text", ""}}}}));
    events.push_back(sse_event("content_block_delta",
                               {{"type", "content_block_delta"},
                                {"index", 0},
                                {"delta", {{"type", "text_delta"}, {"text", reply.text}}}}));
  }
  events.push_back(sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
  json usage = usage_json(reply.usage);
  events.push_back(sse_event(
      "message_delta",
      {{"type", "message_delta"},
       {"delta",
        {{"stop_reason", reply.tool_call ? "tool_use" : "end_turn"}, {"stop_sequence", nullptr}}},
       {"usage", usage}}));
  events.push_back(sse_event("message_stop", {{"type", "message_stop"}}));
  return events;
}

json error(int status, const std::string& message) {
  std::string type = "api_error";
  switch (status) {
    case 400:
      type = "invalid_request_error";
      break;
    case 401:
      type = "authentication_error";
      break;
    case 403:
      type = "permission_error";
      break;
    case 404:
      type = "not_found_error";
      break;
    case 413:
      type = "request_too_large";
      break;
    case 429:
      type = "rate_limit_error";
      break;
    case 529:
      type = "overloaded_error";
      break;
    default:
      break;
  }
  return json{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
}

}  // namespace

const WireProtocol& anthropic_protocol() {
  static const WireProtocol kProtocol{Protocol::kAnthropic, parse, response, stream, error};
  return kProtocol;
}

}  // namespace baton::rehearse
