// Minimal instances of JSON schemas, for requests that ask for structured output.
#pragma once

#include <nlohmann/json.hpp>

namespace baton::rehearse {

/// The smallest value that satisfies SCHEMA as far as a client checks it: `const`,
/// else the first `enum` value, else `default`, else by `type` (the first non-null
/// one when a list; Gemini's upper-case names accepted): an object with its
/// required properties only, "" (or minLength "x"s), 0 (or the minimum), false,
/// an array of minItems elements, null. `anyOf`/`oneOf`/`allOf` take the first
/// branch; local `$ref`s ("#/$defs/X", "#/definitions/X") are followed against
/// SCHEMA, at most 32 deep. A schema that is not an object gives {}.
nlohmann::json minimal_instance(const nlohmann::json& schema);

}  // namespace baton::rehearse
