#include "agents/json_fields.h"

namespace baton::agents {

int64_t int_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->is_number_float() ? static_cast<int64_t>(it->get<double>()) : it->get<int64_t>();
}

std::string string_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const nlohmann::json& object_field(const nlohmann::json& j, const char* key) {
  static const nlohmann::json* const empty = new nlohmann::json(nlohmann::json::object());
  if (!j.is_object()) return *empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : *empty;
}

}  // namespace baton::agents
