// Comparisons of values shared by the evaluator and the functions (internal).
#pragma once

#include <optional>
#include <string>

#include "expr/expr.h"

namespace baton::expr {

/// The number a value stands for: a JSON number, or a string that holds exactly one
/// number (surrounding ASCII whitespace ignored, e.g. an agent's "3\n"); else nullopt.
std::optional<double> as_number(const Value& value);

/// `==` of the language: JSON equality, except that a number and a string holding
/// that number are equal.
bool loose_equal(const Value& a, const Value& b);

/// The JSON type of a value as named in messages: "null", "boolean", "number",
/// "string", "array" or "object".
std::string type_name(const Value& value);

}  // namespace baton::expr
