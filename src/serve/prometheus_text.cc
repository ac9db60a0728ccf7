#include "serve/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace baton::serve {
namespace {

// The length of the valid UTF-8 sequence at S[I], or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// HELP text: backslash and line feed escaped (the format's rule for HELP).
std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void append_labels(std::string& out, std::span<const Label> labels, const Label* extra) {
  if (labels.empty() && extra == nullptr) return;
  out += '{';
  bool first = true;
  const auto one = [&](const Label& label) {
    if (!first) out += ',';
    first = false;
    out += label.first;
    out += "=\"";
    out += escape_label_value(label.second);
    out += '"';
  };
  for (const Label& label : labels) one(label);
  if (extra != nullptr) one(*extra);
  out += '}';
}

}  // namespace

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  return fmt::format("{}", value);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size();) {
    const size_t n = utf8_sequence(value, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    const char c = value[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.append(value.substr(i, n));
    }
    i += n;
  }
  return out;
}

void ExpositionWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void ExpositionWriter::sample(std::string_view name, std::span<const Label> labels, double value) {
  text_ += name;
  append_labels(text_, labels, nullptr);
  text_ += ' ';
  text_ += format_value(value);
  text_ += '\n';
}

void ExpositionWriter::histogram(std::string_view name, std::span<const Label> labels,
                                 std::span<const double> bounds, std::span<const double> cumulative,
                                 double count, double sum) {
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    const Label le{"le", format_value(bounds[i])};
    text_ += bucket;
    append_labels(text_, labels, &le);
    text_ += ' ' + format_value(cumulative[i]) + '\n';
  }
  const Label inf{"le", "+Inf"};
  text_ += bucket;
  append_labels(text_, labels, &inf);
  text_ += ' ' + format_value(count) + '\n';
  sample(std::string(name) + "_sum", labels, sum);
  sample(std::string(name) + "_count", labels, count);
}

}  // namespace baton::serve
