// Templates (`text ${EXPR} text`), rendering, and task conditions.
#include "expr/expr.h"

#include <utility>

namespace baton::expr {
namespace {

constexpr std::string_view kSpace = " \t\n\r\f\v";

bool is_blank(std::string_view s) { return s.find_first_not_of(kSpace) == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

/// The offset of the '}' closing the `${` whose body starts at BODY, or npos. Quotes
/// are skipped with their escapes, so `${'}'}` ends at the last brace, and braces nest.
size_t find_close(std::string_view text, size_t body) {
  int depth = 0;
  for (size_t i = body; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\'' || c == '"') {
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
      if (i >= text.size()) return std::string_view::npos;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (depth == 0) return i;
      --depth;
    }
  }
  return std::string_view::npos;
}

void add_literal(Template& t, std::string_view text, size_t offset) {
  if (text.empty()) return;
  if (!t.segments.empty() && !t.segments.back().expr) {
    t.segments.back().literal += text;
    return;
  }
  Segment s;
  s.literal = std::string(text);
  s.offset = offset;
  t.segments.push_back(std::move(s));
}

}  // namespace

bool Template::is_literal() const {
  for (const Segment& s : segments) {
    if (s.expr) return false;
  }
  return true;
}

bool Template::is_single_expression() const { return segments.size() == 1 && segments[0].expr; }

std::vector<Reference> Template::references() const {
  std::vector<Reference> out;
  for (const Segment& s : segments) {
    if (!s.expr) continue;
    const auto& refs = s.expr->references();
    out.insert(out.end(), refs.begin(), refs.end());
  }
  return out;
}

tl::expected<Template, ParseError> parse_template(std::string_view text) {
  Template t;
  size_t literal_start = 0;  // where the pending literal text begins
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "$${") {
      add_literal(t, text.substr(literal_start, i - literal_start), literal_start);
      add_literal(t, "${", i);
      i += 3;
      literal_start = i;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      ++i;
      continue;
    }
    add_literal(t, text.substr(literal_start, i - literal_start), literal_start);
    size_t close = find_close(text, i + 2);
    if (close == std::string_view::npos) return tl::unexpected(ParseError{i, "unterminated '${'"});
    std::string_view body = text.substr(i + 2, close - i - 2);
    if (is_blank(body)) return tl::unexpected(ParseError{i, "empty expression"});
    auto e = parse_expression(body, i + 2);
    if (!e) return tl::unexpected(e.error());
    Segment s;
    s.expr = std::move(*e);
    s.offset = i;
    t.segments.push_back(std::move(s));
    i = close + 1;
    literal_start = i;
  }
  add_literal(t, text.substr(literal_start), literal_start);
  return t;
}

tl::expected<std::string, std::string> render(const Template& tmpl, const Scope& scope) {
  std::string out;
  for (const Segment& s : tmpl.segments) {
    if (!s.expr) {
      out += s.literal;
      continue;
    }
    auto v = evaluate(*s.expr, scope);
    if (!v) return tl::unexpected(v.error());
    out += to_text(*v);
  }
  return out;
}

tl::expected<Template, ParseError> parse_condition(std::string_view text) {
  if (text.find("${") == std::string_view::npos) {
    auto e = parse_expression(text);
    if (!e) return tl::unexpected(e.error());
    Template t;
    Segment s;
    s.expr = std::move(*e);
    t.segments.push_back(std::move(s));
    return t;
  }
  auto t = parse_template(text);
  if (!t) return t;
  // `  ${x}  ` is the single expression x: blank text around it must not make it true.
  size_t exprs = 0;
  bool blank = true;
  for (const Segment& s : t->segments) {
    if (s.expr) {
      ++exprs;
    } else {
      blank = blank && is_blank(s.literal);
    }
  }
  if (exprs == 1 && blank) {
    std::erase_if(t->segments, [](const Segment& s) { return !s.expr; });
  }
  return t;
}

tl::expected<bool, std::string> evaluate_condition(const Template& condition, const Scope& scope) {
  if (condition.is_single_expression()) {
    auto v = evaluate(*condition.segments[0].expr, scope);
    if (!v) return tl::unexpected(v.error());
    return truthy(*v);
  }
  auto text = render(condition, scope);
  if (!text) return tl::unexpected(text.error());
  return truthy(Value(std::string(trim(*text))));
}

}  // namespace baton::expr
