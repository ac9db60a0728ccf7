#include "workflow/duration.h"

#include <cctype>
#include <cmath>
#include <optional>
#include <string>

namespace baton::workflow {
namespace {

// Reads DIGITS[.DIGITS] or .DIGITS at POS; nullopt when there is no number.
std::optional<double> read_number(std::string_view text, size_t* pos) {
  size_t start = *pos;
  size_t i = start;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  *pos = i;
  return std::stod(std::string(text.substr(start, i - start)));
}

}  // namespace

std::string invalid_duration_message(std::string_view text) {
  return "invalid duration '" + std::string(text) +
         "': expected a number of seconds or a value like 30s, 10m, 1h";
}

Result<double> parse_duration(std::string_view text) {
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  if (t.empty()) return fail(invalid_duration_message(text));

  size_t pos = 0;
  auto first = read_number(t, &pos);
  if (!first) return fail(invalid_duration_message(text));
  if (pos == t.size()) return *first;  // a bare number of seconds

  // Units in decreasing order, each once: h, m, s, ms.
  struct Unit {
    std::string_view name;
    double seconds;
  };
  static constexpr Unit kUnits[] = {{"h", 3600}, {"m", 60}, {"s", 1}, {"ms", 0.001}};
  double total = 0;
  size_t next_unit = 0;
  std::optional<double> number = first;
  while (true) {
    size_t end = pos;
    while (end < t.size() && std::isalpha(static_cast<unsigned char>(t[end]))) ++end;
    std::string_view unit = t.substr(pos, end - pos);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) return fail(invalid_duration_message(text));
    total += *number * kUnits[u].seconds;
    next_unit = u + 1;
    pos = end;
    if (pos == t.size()) break;
    number = read_number(t, &pos);
    if (!number) return fail(invalid_duration_message(text));
    if (pos == t.size()) return fail(invalid_duration_message(text));  // "1h30": no unit
  }
  if (!std::isfinite(total)) return fail(invalid_duration_message(text));
  return total;
}

}  // namespace baton::workflow
