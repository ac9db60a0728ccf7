// Trimming text: one definition of the whitespace around a value.
#pragma once

#include <string>
#include <string_view>

namespace baton {

/// The blanks trim() removes: space, tab, CR and LF.
inline constexpr std::string_view kBlanks = " \t\r\n";

/// S without leading and trailing blanks (kBlanks); a view into S ("" if all blank).
inline std::string_view trim_view(std::string_view s) {
  const size_t b = s.find_first_not_of(kBlanks);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kBlanks) - b + 1);
}

/// trim_view(S) as a string of its own.
inline std::string trim(std::string_view s) { return std::string(trim_view(s)); }

}  // namespace baton
