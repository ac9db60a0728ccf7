#include "workflow/size.h"

#include <cctype>
#include <cmath>
#include <string>

namespace baton::workflow {

std::string invalid_size_message(std::string_view text) {
  return "invalid size '" + std::string(text) +
         "': expected a number of bytes or a value like 512MiB, 2GiB";
}

Result<int64_t> parse_size(std::string_view text) {
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  size_t i = 0, digits = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, ++digits;
  bool fraction = false;
  if (i < t.size() && t[i] == '.') {
    fraction = true;
    ++i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, ++digits;
  }
  if (digits == 0 || digits > 30) return fail(invalid_size_message(text));
  double number = std::stod(std::string(t.substr(0, i)));
  std::string_view unit = t.substr(i);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  struct Unit {
    std::string_view name;
    double bytes;
  };
  static constexpr Unit kUnits[] = {{"", 1},
                                    {"B", 1},
                                    {"KB", 1e3},
                                    {"MB", 1e6},
                                    {"GB", 1e9},
                                    {"TB", 1e12},
                                    {"KiB", 1024.0},
                                    {"MiB", 1048576.0},
                                    {"GiB", 1073741824.0},
                                    {"TiB", 1099511627776.0},
                                    {"K", 1024.0},
                                    {"M", 1048576.0},
                                    {"G", 1073741824.0},
                                    {"T", 1099511627776.0},
                                    {"k", 1024.0},
                                    {"m", 1048576.0},
                                    {"g", 1073741824.0},
                                    {"t", 1099511627776.0}};
  for (const Unit& u : kUnits) {
    if (u.name != unit) continue;
    if (u.name.empty() && fraction) break;       // a bare number is whole bytes
    if (u.name.empty() && t.size() != i) break;  // "12 " cannot happen (trimmed); "12 x" can
    double bytes = std::floor(number * u.bytes);
    if (!std::isfinite(bytes) || bytes > 4611686018427387904.0) break;  // 2^62
    return static_cast<int64_t>(bytes);
  }
  return fail(invalid_size_message(text));
}

}  // namespace baton::workflow
