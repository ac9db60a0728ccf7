// The built-in `fn:` functions (internal to the expr component).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "expr/expr.h"

namespace baton::expr {

/// A built-in function: its name (without `fn:`), how many arguments it takes, and
/// its implementation. The implementation is only called with min_args..max_args
/// arguments; it returns "fn:NAME expects ..." when an argument has the wrong type.
struct Function {
  std::string_view name;
  size_t min_args;
  size_t max_args;
  tl::expected<Value, std::string> (*call)(const std::vector<Value>& args);
};

/// The function called NAME, or nullptr.
const Function* find_function(std::string_view name);

/// The known function name nearest to NAME within edit distance 2, if any (ties go to
/// the alphabetically first).
std::optional<std::string> suggest_function(std::string_view name);

/// "fn:NAME expects 1 argument, got N" and the like, for a call with N arguments.
std::string arity_message(const Function& function, size_t given);

}  // namespace baton::expr
