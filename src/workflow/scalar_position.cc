#include "workflow/scalar_position.h"

#include <string>

namespace baton::workflow {
namespace {

constexpr size_t kNone = std::string_view::npos;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view rtrim(std::string_view s) {
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Where SEG starts in VALUE at or after CURSOR, with only whitespace (the folded
// line breaks and blank lines of a multi-line scalar) skipped; kNone otherwise.
size_t match_segment(std::string_view value, size_t cursor, std::string_view seg) {
  for (size_t p = cursor; p <= value.size(); ++p) {
    if (value.compare(p, seg.size(), seg) == 0) return p;
    if (p == value.size() || (value[p] != ' ' && value[p] != '\n' && value[p] != '\t')) break;
  }
  return kNone;
}

// Maps OFFSET through the value's lines as they appear in the source: each source
// line from FIRST_LINE on gives a segment (its text from its indentation, or from
// FIRST_COL on the first line) that must follow the previous one in VALUE.
// BLOCK: lines are indented by the block's indentation (the first non-blank
// line's); otherwise (a plain scalar) by any whitespace.
SourceLoc map_lines(const SourceText& source, int first_line, size_t first_col,
                    std::string_view value, size_t offset, bool block) {
  size_t cursor = 0;
  size_t indent = kNone;
  for (int line = first_line; line <= source.line_count() && cursor < value.size(); ++line) {
    std::string_view text = source.line(line);
    size_t start;
    if (line == first_line && !block) {
      start = first_col;
    } else {
      size_t lead = 0;
      while (lead < text.size() && is_blank(text[lead])) ++lead;
      if (lead == text.size()) continue;  // a blank line: only newlines in the value
      if (block) {
        if (indent == kNone) indent = lead;
        if (lead < indent || indent == 0) break;  // the block has ended
        start = indent;
      } else {
        start = lead;
      }
    }
    std::string_view seg = rtrim(text.substr(std::min(start, text.size())));
    if (!block && line == first_line) {
      size_t comment = seg.find(" #");
      if (comment != kNone) seg = rtrim(seg.substr(0, comment));
    }
    if (seg.empty()) continue;
    size_t at = match_segment(value, cursor, seg);
    if (at == kNone) break;
    if (offset < at) break;  // in the whitespace between two lines
    if (offset < at + seg.size()) {
      return {line, static_cast<int>(start + (offset - at)) + 1};
    }
    cursor = at + seg.size();
  }
  return {};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Bytes of UTF-8 that the escape at TEXT[Q] ('\\' first) stands for, and its
// length in the source; false for an escape this mapping does not follow.
bool escape_size(std::string_view text, size_t q, size_t* produced, size_t* length) {
  if (q + 1 >= text.size()) return false;
  char e = text[q + 1];
  size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
  if (e == '\n' || e == '\r') return false;
  if (digits == 0) {
    *produced = 1;
    *length = 2;
    return true;
  }
  if (q + 2 + digits > text.size()) return false;
  unsigned long code = 0;
  for (size_t i = 0; i < digits; ++i) {
    int h = hex_value(text[q + 2 + i]);
    if (h < 0) return false;
    code = code * 16 + static_cast<unsigned long>(h);
  }
  *produced = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  *length = 2 + digits;
  return true;
}

// A quoted scalar on one line: walks the source from the opening QUOTE at P,
// counting the value's bytes, to the one at OFFSET. kNone when it spans lines.
size_t quoted_source_pos(std::string_view text, size_t p, size_t offset) {
  char quote = text[p];
  size_t v = 0;
  for (size_t q = p + 1; q < text.size();) {
    char c = text[q];
    if (c == '\n' || c == '\r') return kNone;
    size_t produced = 1, length = 1;
    if (quote == '\'' && c == '\'') {
      if (q + 1 < text.size() && text[q + 1] == '\'') {
        length = 2;
      } else {
        return v == offset ? q : kNone;  // the closing quote
      }
    } else if (quote == '"' && c == '"') {
      return v == offset ? q : kNone;
    } else if (quote == '"' && c == '\\') {
      if (!escape_size(text, q, &produced, &length)) return kNone;
    }
    if (offset < v + produced) return q;
    v += produced;
    q += length;
  }
  return kNone;
}

}  // namespace

SourceLoc loc_of(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

SourceLoc scalar_offset_loc(const SourceText& source, const YAML::Mark& mark,
                            std::string_view value, size_t offset) {
  SourceLoc base = loc_of(mark);
  std::string_view text = source.text();
  if (base.line == 0 || mark.pos < 0 || static_cast<size_t>(mark.pos) >= text.size() ||
      offset > value.size()) {
    return base;
  }
  size_t p = static_cast<size_t>(mark.pos);
  // yaml-cpp's mark is at the node's properties (&anchor, !tag) when it has any.
  while (p < text.size() && (text[p] == '&' || text[p] == '!')) {
    while (p < text.size() && !is_blank(text[p]) && text[p] != '\n') ++p;
    while (p < text.size() && is_blank(text[p])) ++p;
  }
  if (p >= text.size() || text[p] == '\n' || text[p] == '\r') return base;
  auto column_of = [&](size_t pos) {
    return SourceLoc{base.line, base.column + static_cast<int>(pos - mark.pos)};
  };

  char c = text[p];
  if (c == '\'' || c == '"') {
    size_t q = quoted_source_pos(text, p, offset);
    return q == kNone ? base : column_of(q);
  }
  if (c == '|' || c == '>') {
    SourceLoc loc = map_lines(source, base.line + 1, 0, value, offset, true);
    return loc.line == 0 ? base : loc;
  }
  // A plain scalar: usually the value as written on one line.
  if (value.find('\n') == kNone && text.compare(p, value.size(), value) == 0) {
    return column_of(p + offset);
  }
  size_t first_col = static_cast<size_t>(base.column - 1) + (p - mark.pos);
  SourceLoc loc = map_lines(source, base.line, first_col, value, offset, false);
  return loc.line == 0 ? base : loc;
}

}  // namespace baton::workflow
