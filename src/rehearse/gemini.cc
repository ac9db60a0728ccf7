// Gemini API (Gemini CLI): POST /v1beta/models/MODEL:generateContent (JSON) and
// :streamGenerateContent?alt=sse (server-sent "data:" events, each a
// GenerateContentResponse). Tool calls are functionCall parts; usage is
// usageMetadata. Gemini CLI rejects a stream whose last chunk has no
// finishReason, so every answer ends with one.
#include "rehearse/protocol.h"
#include "rehearse/sse.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

json usage_json(const Usage& u) {
  return json{{"promptTokenCount", u.input_tokens},
              {"candidatesTokenCount", u.output_tokens},
              {"totalTokenCount", u.input_tokens + u.output_tokens},
              {"cachedContentTokenCount", u.cached_tokens}};
}

json args_of(const ToolCall& call) {
  if (call.kind == ToolKind::kCustom) return json{{"input", call.input}};
  return call.arguments;
}

// One GenerateContentResponse with PARTS; FINAL adds finishReason and usage.
json chunk(const ModelReply& reply, const ModelRequest& request, json parts, bool final) {
  json candidate{{"content", {{"role", "model"}, {"parts", std::move(parts)}}}, {"index", 0}};
  json r{{"candidates", json::array({candidate})},
         {"modelVersion", request.model.empty() ? "rehearse" : request.model},
         {"responseId", "rehearse-" + reply.id}};
  if (final) {
    r["candidates"][0]["finishReason"] = "STOP";
    r["usageMetadata"] = usage_json(reply.usage);
  }
  return r;
}

Result<ModelRequest> parse(const json& body) {
  if (!body.is_object() || !body.contains("contents") || !body["contents"].is_array()) {
    return fail("not a Gemini generateContent request: no contents");
  }
  ModelRequest request;
  if (body.contains("tools") && body["tools"].is_array()) {
    for (const json& group : body["tools"]) {
      if (!group.is_object() || !group.contains("functionDeclarations") ||
          !group["functionDeclarations"].is_array()) {
        continue;  // googleSearch, codeExecution, ...
      }
      for (const json& fn : group["functionDeclarations"]) {
        if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string()) continue;
        ToolSpec spec;
        spec.name = fn["name"].get<std::string>();
        if (fn.contains("parametersJsonSchema")) {
          spec.parameters = fn["parametersJsonSchema"];
        } else if (fn.contains("parameters")) {
          spec.parameters = fn["parameters"];
        }
        request.tools.push_back(std::move(spec));
      }
    }
  }
  if (body.contains("generationConfig") && body["generationConfig"].is_object()) {
    const json& config = body["generationConfig"];
    if (config.value("responseMimeType", "") == "application/json") request.wants_json = true;
    for (const char* key : {"responseJsonSchema", "responseSchema"}) {
      if (config.contains(key) && config[key].is_object()) {
        request.wants_json = true;
        request.json_schema = config[key];
        break;
      }
    }
  }
  if (!body["contents"].empty()) {
    request.last_message = last_part_text(body["contents"].back().value("parts", json()));
  }
  request.workdir = find_workdir(body);
  return request;
}

json response(const ModelReply& reply, const ModelRequest& request) {
  json parts = json::array();
  if (reply.tool_call) {
    parts.push_back(
        {{"functionCall", {{"name", reply.tool_call->name}, {"args", args_of(*reply.tool_call)}}}});
  } else {
    parts.push_back({{"text", reply.text}});
  }
  return chunk(reply, request, std::move(parts), true);
}

std::vector<std::string> stream(const ModelReply& reply, const ModelRequest& request) {
  std::vector<std::string> events;
  if (reply.tool_call || reply.text.size() < 2) {
    events.push_back(sse_data(response(reply, request)));
    return events;
  }
  // Two chunks, as the API streams text: a first piece, then the rest with the finish.
  size_t half = reply.text.size() / 2;
  while (half > 0 && (static_cast<unsigned char>(reply.text[half]) & 0xC0) == 0x80) --half;
  if (half == 0) half = reply.text.size();
  events.push_back(sse_data(
      chunk(reply, request, json::array({{{"text", reply.text.substr(0, half)}}}), false)));
  if (half < reply.text.size()) {
    events.push_back(
        sse_data(chunk(reply, request, json::array({{{"text", reply.text.substr(half)}}}), true)));
  } else {
    events[0] = sse_data(response(reply, request));
  }
  return events;
}

json error(int status, const std::string& message) {
  std::string name = status == 400   ? "INVALID_ARGUMENT"
                     : status == 401 ? "UNAUTHENTICATED"
                     : status == 403 ? "PERMISSION_DENIED"
                     : status == 404 ? "NOT_FOUND"
                     : status == 429 ? "RESOURCE_EXHAUSTED"
                     : status == 503 ? "UNAVAILABLE"
                     : status == 504 ? "DEADLINE_EXCEEDED"
                                     : "INTERNAL";
  return json{{"error", {{"code", status}, {"message", message}, {"status", name}}}};
}

}  // namespace

const WireProtocol& gemini_protocol() {
  static const WireProtocol kProtocol{Protocol::kGemini, parse, response, stream, error};
  return kProtocol;
}

}  // namespace baton::rehearse
