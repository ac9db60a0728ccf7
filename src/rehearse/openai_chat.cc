// OpenAI Chat Completions API (Qwen Code, opencode, Kilo, Copilot):
// POST /v1/chat/completions, JSON or server-sent "chat.completion.chunk" data
// events (delta.content or delta.tool_calls, then finish_reason, then usage when
// stream_options.include_usage) ending with "data: [DONE]".
#include <ctime>

#include "rehearse/protocol.h"
#include "rehearse/sse.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

json usage_json(const Usage& u) {
  return json{{"prompt_tokens", u.input_tokens},
              {"completion_tokens", u.output_tokens},
              {"total_tokens", u.input_tokens + u.output_tokens},
              {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

std::string arguments_of(const ToolCall& call) {
  if (call.kind == ToolKind::kCustom) return json{{"input", call.input}}.dump();
  return call.arguments.dump();
}

json chunk(const ModelReply& reply, const ModelRequest& request, json choices) {
  return json{{"id", "chatcmpl-rehearse-" + reply.id},
              {"object", "chat.completion.chunk"},
              {"created", static_cast<long long>(std::time(nullptr))},
              {"model", request.model.empty() ? "rehearse" : request.model},
              {"choices", std::move(choices)}};
}

Result<ModelRequest> parse(const json& body) {
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) {
    return fail("not an OpenAI Chat Completions request: no messages");
  }
  ModelRequest request;
  request.model = body.value("model", "");
  request.stream = body.value("stream", false);
  request.include_usage = body.contains("stream_options") && body["stream_options"].is_object() &&
                          body["stream_options"].value("include_usage", false);
  if (body.contains("tools") && body["tools"].is_array()) {
    for (const json& tool : body["tools"]) {
      if (!tool.is_object() || !tool.contains("function") || !tool["function"].is_object())
        continue;
      const json& function = tool["function"];
      if (!function.contains("name") || !function["name"].is_string()) continue;
      ToolSpec spec;
      spec.name = function["name"].get<std::string>();
      if (function.contains("parameters")) spec.parameters = function["parameters"];
      request.tools.push_back(std::move(spec));
    }
  }
  if (body.contains("response_format") && body["response_format"].is_object()) {
    const json& format = body["response_format"];
    std::string type = format.value("type", "");
    if (type == "json_schema" || type == "json_object") request.wants_json = true;
    if (format.contains("json_schema") && format["json_schema"].is_object() &&
        format["json_schema"].contains("schema")) {
      request.json_schema = format["json_schema"]["schema"];
    }
  }
  if (!body["messages"].empty()) {
    request.last_message = last_part_text(body["messages"].back().value("content", json()));
  }
  request.workdir = find_workdir(body);
  return request;
}

json response(const ModelReply& reply, const ModelRequest& request) {
  json message{{"role", "assistant"}, {"content", nullptr}};
  if (reply.tool_call) {
    message["tool_calls"] = json::array(
        {json{{"id", "call_rehearse_" + reply.id},
              {"type", "function"},
              {"function",
               {{"name", reply.tool_call->name}, {"arguments", arguments_of(*reply.tool_call)}}}}});
  } else {
    message["content"] = reply.text;
  }
  return json{
      {"id", "chatcmpl-rehearse-" + reply.id},
      {"object", "chat.completion"},
      {"created", static_cast<long long>(std::time(nullptr))},
      {"model", request.model.empty() ? "rehearse" : request.model},
      {"choices", json::array({json{{"index", 0},
                                    {"message", message},
                                    {"finish_reason", reply.tool_call ? "tool_calls" : "stop"}}})},
      {"usage", usage_json(reply.usage)}};
}

std::vector<std::string> stream(const ModelReply& reply, const ModelRequest& request) {
  std::vector<std::string> events;
  auto choice = [](json delta, json finish) {
    return json::array(
        {json{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}});
  };
  events.push_back(
      sse_data(chunk(reply, request, choice({{"role", "assistant"}, {"content", ""}}, nullptr))));
  if (reply.tool_call) {
    json call{{"index", 0},
              {"id", "call_rehearse_" + reply.id},
              {"type", "function"},
              {"function",
               {{"name", reply.tool_call->name}, {"arguments", arguments_of(*reply.tool_call)}}}};
    events.push_back(
        sse_data(chunk(reply, request, choice({{"tool_calls", json::array({call})}}, nullptr))));
  } else {
    events.push_back(sse_data(chunk(reply, request, choice({{"content", reply.text}}, nullptr))));
  }
  json last =
      chunk(reply, request, choice(json::object(), reply.tool_call ? "tool_calls" : "stop"));
  if (request.include_usage) {
    events.push_back(sse_data(last));
    json usage = chunk(reply, request, json::array());
    usage["usage"] = usage_json(reply.usage);
    events.push_back(sse_data(usage));
  } else {
    last["usage"] = usage_json(reply.usage);  // clients that did not ask ignore it
    events.push_back(sse_data(last));
  }
  events.push_back(sse_raw("[DONE]"));
  return events;
}

json error(int status, const std::string& message) {
  std::string type = status == 429   ? "rate_limit_exceeded"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  return json{{"error",
               {{"message", message},
                {"type", type},
                {"param", nullptr},
                {"code", std::to_string(status)}}}};
}

}  // namespace

const WireProtocol& openai_chat_protocol() {
  static const WireProtocol kProtocol{Protocol::kOpenAiChat, parse, response, stream, error};
  return kProtocol;
}

}  // namespace baton::rehearse
