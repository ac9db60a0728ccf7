// Reading one field of a JSON value that may have any shape (an agent's or a server's
// message): the value when it is there with the expected type, else an empty one. No
// dependency but nlohmann/json, so that the ACP fuzzer (fuzz/CMakeLists.txt) can
// compile it without the rest of the agents library.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace baton::agents {

/// J[KEY] when J is an object and J[KEY] a number (truncated to an integer), else 0.
int64_t int_field(const nlohmann::json& j, const char* key);

/// J[KEY] when J is an object and J[KEY] a string, else "".
std::string string_field(const nlohmann::json& j, const char* key);

/// J[KEY] when J is an object and that member is an object; else a shared empty
/// object (never null), so an event's optional sub-object can be read without checks.
const nlohmann::json& object_field(const nlohmann::json& j, const char* key);

}  // namespace baton::agents
