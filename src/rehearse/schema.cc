// Minimal instances of JSON schemas.
#include "rehearse/schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace baton::rehearse {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 32;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const json* resolve_ref(const json& root, const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const json* node = &root;
  size_t pos = 2;
  while (pos <= ref.size()) {
    size_t slash = ref.find('/', pos);
    std::string token =
        ref.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (!node->is_object() || !node->contains(token)) return nullptr;
    node = &(*node)[token];
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return node;
}

json instance(const json& schema, const json& root, int depth) {
  if (!schema.is_object() || depth > kMaxDepth) return json::object();
  if (schema.contains("$ref") && schema["$ref"].is_string()) {
    if (const json* target = resolve_ref(root, schema["$ref"].get<std::string>())) {
      return instance(*target, root, depth + 1);
    }
    return json::object();
  }
  if (schema.contains("const")) return schema["const"];
  if (schema.contains("enum") && schema["enum"].is_array() && !schema["enum"].empty()) {
    return schema["enum"][0];
  }
  if (schema.contains("default")) return schema["default"];
  for (const char* key : {"anyOf", "oneOf", "allOf"}) {
    if (schema.contains(key) && schema[key].is_array() && !schema[key].empty()) {
      return instance(schema[key][0], root, depth + 1);
    }
  }
  std::string type;
  if (schema.contains("type")) {
    const json& t = schema["type"];
    if (t.is_string()) {
      type = lower(t.get<std::string>());
    } else if (t.is_array()) {
      for (const json& name : t) {
        if (name.is_string() && lower(name.get<std::string>()) != "null") {
          type = lower(name.get<std::string>());
          break;
        }
      }
      if (type.empty()) type = "null";
    }
  } else if (schema.contains("properties")) {
    type = "object";
  } else if (schema.contains("items")) {
    type = "array";
  }
  if (type == "object") {
    json obj = json::object();
    if (schema.contains("required") && schema["required"].is_array() &&
        schema.contains("properties") && schema["properties"].is_object()) {
      for (const json& name : schema["required"]) {
        if (!name.is_string()) continue;
        const std::string key = name.get<std::string>();
        const json& props = schema["properties"];
        obj[key] = props.contains(key) ? instance(props[key], root, depth + 1) : json(nullptr);
      }
    }
    return obj;
  }
  if (type == "array") {
    json arr = json::array();
    size_t n = schema.value("minItems", 0);
    json item = schema.contains("items") ? instance(schema["items"], root, depth + 1) : json("");
    for (size_t i = 0; i < n && i < 64; ++i) arr.push_back(item);
    return arr;
  }
  if (type == "string") return std::string(std::min<size_t>(schema.value("minLength", 0), 64), 'x');
  if (type == "integer") {
    if (schema.contains("minimum") && schema["minimum"].is_number()) {
      return static_cast<long long>(std::ceil(schema["minimum"].get<double>()));
    }
    return 0;
  }
  if (type == "number") {
    if (schema.contains("minimum") && schema["minimum"].is_number()) return schema["minimum"];
    return 0;
  }
  if (type == "boolean") return false;
  if (type == "null") return nullptr;
  return json::object();
}

}  // namespace

nlohmann::json minimal_instance(const nlohmann::json& schema) {
  return instance(schema, schema, 0);
}

}  // namespace baton::rehearse
