#include "expr/values.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace baton::expr {

std::optional<double> as_number(const Value& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  std::string_view s = value.get_ref<const std::string&>();
  const std::string_view space = " \t\n\r\f\v";
  size_t first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return std::nullopt;
  s = s.substr(first, s.find_last_not_of(space) - first + 1);
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return d;
}

bool loose_equal(const Value& a, const Value& b) {
  if ((a.is_number() && b.is_string()) || (a.is_string() && b.is_number())) {
    auto x = as_number(a);
    auto y = as_number(b);
    return x && y && *x == *y;
  }
  return a == b;
}

std::string type_name(const Value& value) {
  switch (value.type()) {
    case Value::value_t::null:
      return "null";
    case Value::value_t::boolean:
      return "boolean";
    case Value::value_t::string:
      return "string";
    case Value::value_t::array:
      return "array";
    case Value::value_t::object:
      return "object";
    default:
      return "number";
  }
}

}  // namespace baton::expr
