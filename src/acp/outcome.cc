#include "acp/outcome.h"

#include "agents/json_fields.h"

namespace baton::acp {

namespace {

using agents::string_field;

int64_t num(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

nlohmann::json outcome_to_json(const Outcome& o) {
  return {{"acp", "result"},
          {"success", o.success},
          {"stop_reason", o.stop_reason},
          {"text", o.text},
          {"session_id", o.session_id},
          {"usage",
           {{"input_tokens", o.usage.input_tokens},
            {"output_tokens", o.usage.output_tokens},
            {"cached_tokens", o.usage.cached_tokens}}},
          {"tool_calls", o.tool_calls},
          {"error_class", agents::to_string(o.error_class)},
          {"error", o.error}};
}

std::optional<Outcome> outcome_from_json(const nlohmann::json& j) {
  if (!j.is_object() || string_field(j, "acp") != "result") return std::nullopt;
  Outcome o;
  o.success = j.contains("success") && j["success"].is_boolean() && j["success"].get<bool>();
  o.stop_reason = string_field(j, "stop_reason");
  o.text = string_field(j, "text");
  o.session_id = string_field(j, "session_id");
  if (j.contains("usage")) {
    o.usage.input_tokens = num(j["usage"], "input_tokens");
    o.usage.output_tokens = num(j["usage"], "output_tokens");
    o.usage.cached_tokens = num(j["usage"], "cached_tokens");
  }
  o.tool_calls = static_cast<int>(num(j, "tool_calls"));
  o.error_class = agents::error_class_named(string_field(j, "error_class"));
  o.error = string_field(j, "error");
  if (o.success) o.error_class = agents::ErrorClass::kNone;
  return o;
}

}  // namespace baton::acp
