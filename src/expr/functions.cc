#include "expr/functions.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "expr/values.h"

namespace baton::expr {
namespace {

using Args = std::vector<Value>;
using Out = tl::expected<Value, std::string>;

tl::unexpected<std::string> expects(std::string_view fn, std::string_view what, const Value& got) {
  return tl::unexpected("fn:" + std::string(fn) + " expects " + std::string(what) + ", got " +
                        type_name(got));
}

Out map_chars(const Args& a, std::string_view fn, int (*f)(int)) {
  if (!a[0].is_string()) return expects(fn, "a string", a[0]);
  std::string s = a[0].get<std::string>();
  for (char& c : s) c = static_cast<char>(f(static_cast<unsigned char>(c)));
  return s;
}

Out fn_uppercase(const Args& a) { return map_chars(a, "uppercase", ::toupper); }
Out fn_lowercase(const Args& a) { return map_chars(a, "lowercase", ::tolower); }

Out fn_trim(const Args& a) {
  if (!a[0].is_string()) return expects("trim", "a string", a[0]);
  const std::string& s = a[0].get_ref<const std::string&>();
  const char* space = " \t\n\r\f\v";
  size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return std::string();
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

Out fn_length(const Args& a) {
  if (a[0].is_string()) return static_cast<int64_t>(a[0].get_ref<const std::string&>().size());
  if (a[0].is_array() || a[0].is_object()) return static_cast<int64_t>(a[0].size());
  return expects("length", "a string, array or object", a[0]);
}

Out fn_contains(const Args& a) {
  const Value& hay = a[0];
  const Value& needle = a[1];
  if (hay.is_array()) {
    return std::any_of(hay.begin(), hay.end(),
                       [&](const Value& e) { return loose_equal(e, needle); });
  }
  if (hay.is_string()) {
    if (!needle.is_string()) return expects("contains", "a string to look for in a string", needle);
    return hay.get_ref<const std::string&>().find(needle.get_ref<const std::string&>()) !=
           std::string::npos;
  }
  if (hay.is_object()) {
    if (!needle.is_string()) return expects("contains", "a key string for an object", needle);
    return hay.contains(needle.get_ref<const std::string&>());
  }
  return expects("contains", "a string, array or object to search", hay);
}

Out affix(const Args& a, std::string_view fn, bool prefix) {
  if (!a[0].is_string()) return expects(fn, "a string", a[0]);
  if (!a[1].is_string()) return expects(fn, "a string", a[1]);
  const std::string& s = a[0].get_ref<const std::string&>();
  const std::string& x = a[1].get_ref<const std::string&>();
  return prefix ? s.starts_with(x) : s.ends_with(x);
}

Out fn_starts_with(const Args& a) { return affix(a, "startsWith", true); }
Out fn_ends_with(const Args& a) { return affix(a, "endsWith", false); }

Out fn_join(const Args& a) {
  if (!a[0].is_array()) return expects("join", "an array", a[0]);
  std::string sep = ",";
  if (a.size() > 1) {
    if (!a[1].is_string()) return expects("join", "a string separator", a[1]);
    sep = a[1].get<std::string>();
  }
  std::string out;
  for (size_t i = 0; i < a[0].size(); ++i) {
    if (i) out += sep;
    out += to_text(a[0][i]);
  }
  return out;
}

// Identity: what makes it raw is expr/shell.h's is_raw(), when it is a whole `${...}`.
Out fn_raw(const Args& a) { return a[0]; }

Out fn_json(const Args& a) { return a[0].dump(-1, ' ', false, Value::error_handler_t::replace); }

// Sorted by name: function_names() relies on it.
const std::array<Function, 10> kFunctions = {{
    {"contains", 2, 2, fn_contains},
    {"endsWith", 2, 2, fn_ends_with},
    {"join", 1, 2, fn_join},
    {"json", 1, 1, fn_json},
    {"length", 1, 1, fn_length},
    {"lowercase", 1, 1, fn_lowercase},
    {"raw", 1, 1, fn_raw},
    {"startsWith", 2, 2, fn_starts_with},
    {"trim", 1, 1, fn_trim},
    {"uppercase", 1, 1, fn_uppercase},
}};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

const Function* find_function(std::string_view name) {
  for (const Function& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<std::string> suggest_function(std::string_view name) {
  std::optional<std::string> best;
  size_t best_distance = 3;
  for (const Function& f : kFunctions) {
    size_t d = edit_distance(name, f.name);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(f.name);
    }
  }
  return best;
}

std::string arity_message(const Function& f, size_t given) {
  std::string want = std::to_string(f.min_args);
  if (f.max_args != f.min_args) want += " or " + std::to_string(f.max_args);
  want += f.max_args == 1 ? " argument" : " arguments";
  return "fn:" + std::string(f.name) + " expects " + want + ", got " + std::to_string(given);
}

const std::vector<std::string>& function_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Function& f : kFunctions) v.emplace_back(f.name);
    return v;
  }();
  return names;
}

}  // namespace baton::expr
