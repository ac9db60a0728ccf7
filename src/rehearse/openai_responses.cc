// OpenAI Responses API (what Codex speaks): POST /v1/responses, JSON or
// server-sent events (response.created, response.output_item.added,
// response.output_text.delta / response.function_call_arguments.delta /
// response.custom_tool_call_input.delta, response.output_item.done,
// response.completed with usage). Codex reads each event's "type" and needs
// response.completed before the stream ends.
#include <ctime>

#include "rehearse/protocol.h"
#include "rehearse/sse.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

json usage_json(const Usage& u) {
  return json{{"input_tokens", u.input_tokens},
              {"input_tokens_details", {{"cached_tokens", u.cached_tokens}}},
              {"output_tokens", u.output_tokens},
              {"output_tokens_details", {{"reasoning_tokens", 0}}},
              {"total_tokens", u.input_tokens + u.output_tokens}};
}

// The output item, complete (DONE) or as first announced.
json output_item(const ModelReply& reply, bool done) {
  const char* status = done ? "completed" : "in_progress";
  if (!reply.tool_call) {
    json content = json::array();
    if (done) {
      content.push_back(
          json{{"type", "output_text"}, {"text", reply.text}, {"annotations", json::array()}});
    }
    return json{{"id", "msg_rehearse_" + reply.id},
                {"type", "message"},
                {"status", status},
                {"role", "assistant"},
                {"content", content}};
  }
  const ToolCall& call = *reply.tool_call;
  if (call.kind == ToolKind::kCustom) {
    return json{{"id", "ctc_rehearse_" + reply.id},
                {"type", "custom_tool_call"},
                {"status", status},
                {"call_id", "call_rehearse_" + reply.id},
                {"name", call.name},
                {"input", done ? call.input : ""}};
  }
  return json{{"id", "fc_rehearse_" + reply.id},
              {"type", "function_call"},
              {"status", status},
              {"call_id", "call_rehearse_" + reply.id},
              {"name", call.name},
              {"arguments", done ? call.arguments.dump() : ""}};
}

json response_object(const ModelReply& reply, const ModelRequest& request, bool done) {
  json r{{"id", "resp_rehearse_" + reply.id},
         {"object", "response"},
         {"created_at", static_cast<long long>(std::time(nullptr))},
         {"status", done ? "completed" : "in_progress"},
         {"model", request.model.empty() ? "rehearse" : request.model},
         {"output", json::array()},
         {"error", nullptr},
         {"incomplete_details", nullptr},
         {"usage", nullptr}};
  if (done) {
    r["output"].push_back(output_item(reply, true));
    r["usage"] = usage_json(reply.usage);
  }
  return r;
}

Result<ModelRequest> parse(const json& body) {
  if (!body.is_object() || !body.contains("input")) {
    return fail("not an OpenAI Responses request: no input");
  }
  ModelRequest request;
  request.model = body.value("model", "");
  request.stream = body.value("stream", false);
  if (body.contains("tools") && body["tools"].is_array()) {
    for (const json& tool : body["tools"]) {
      if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
      std::string type = tool.value("type", "function");
      ToolSpec spec;
      spec.name = tool["name"].get<std::string>();
      if (type == "custom") {
        spec.kind = ToolKind::kCustom;
      } else if (type == "function") {
        if (tool.contains("parameters")) spec.parameters = tool["parameters"];
      } else {
        continue;  // web_search, tool_search, ...: hosted tools the script does not call
      }
      request.tools.push_back(std::move(spec));
    }
  }
  if (body.contains("text") && body["text"].is_object() && body["text"].contains("format") &&
      body["text"]["format"].is_object()) {
    const json& format = body["text"]["format"];
    std::string type = format.value("type", "");
    if (type == "json_schema" || type == "json_object") request.wants_json = true;
    if (format.contains("schema")) request.json_schema = format["schema"];
  }
  const json& input = body["input"];
  if (input.is_string()) {
    request.last_message = content_text(input);
  } else if (input.is_array() && !input.empty()) {
    request.last_message = content_text(input.back());
  }
  request.workdir = find_workdir(body);
  return request;
}

json response(const ModelReply& reply, const ModelRequest& request) {
  return response_object(reply, request, true);
}

std::vector<std::string> stream(const ModelReply& reply, const ModelRequest& request) {
  std::vector<std::string> events;
  int sequence = 0;
  auto add = [&](const std::string& type, json data) {
    data["type"] = type;
    data["sequence_number"] = sequence++;
    events.push_back(sse_event(type, data));
  };
  add("response.created", {{"response", response_object(reply, request, false)}});
  add("response.in_progress", {{"response", response_object(reply, request, false)}});
  json item = output_item(reply, false);
  std::string item_id = item["id"];
  add("response.output_item.added", {{"output_index", 0}, {"item", item}});
  if (!reply.tool_call) {
    json part{{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}};
    add("response.content_part.added",
        {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"part", part}});
    add("response.output_text.delta",
        {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"delta", reply.text}});
    add("response.output_text.done",
        {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"text", reply.text}});
    part["text"] = reply.text;
    add("response.content_part.done",
        {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"part", part}});
  } else if (reply.tool_call->kind == ToolKind::kCustom) {
    add("response.custom_tool_call_input.delta",
        {{"item_id", item_id}, {"output_index", 0}, {"delta", reply.tool_call->input}});
    add("response.custom_tool_call_input.done",
        {{"item_id", item_id}, {"output_index", 0}, {"input", reply.tool_call->input}});
  } else {
    std::string arguments = reply.tool_call->arguments.dump();
    add("response.function_call_arguments.delta",
        {{"item_id", item_id}, {"output_index", 0}, {"delta", arguments}});
    add("response.function_call_arguments.done",
        {{"item_id", item_id}, {"output_index", 0}, {"arguments", arguments}});
  }
  add("response.output_item.done", {{"output_index", 0}, {"item", output_item(reply, true)}});
  add("response.completed", {{"response", response_object(reply, request, true)}});
  return events;
}

json error(int status, const std::string& message) {
  std::string type = status == 429   ? "rate_limit_exceeded"
                     : status == 401 ? "invalid_request_error"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  std::string code = status == 429 ? "rate_limit_exceeded" : status == 401 ? "invalid_api_key" : "";
  return json{{"error",
               {{"message", message},
                {"type", type},
                {"param", nullptr},
                {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

}  // namespace

const WireProtocol& openai_responses_protocol() {
  static const WireProtocol kProtocol{Protocol::kOpenAiResponses, parse, response, stream, error};
  return kProtocol;
}

}  // namespace baton::rehearse
