#include "serve/sse.h"

namespace baton::serve {

std::string sse_message(int64_t id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(data.size() + 48);
  if (id > 0) out += "id: " + std::to_string(id) + "\n";
  if (!event.empty()) {
    out += "event: ";
    for (char c : event) {
      if (c != '\r' && c != '\n') out += c;
    }
    out += "\n";
  }
  size_t start = 0;
  for (size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || data[i] == '\n' || data[i] == '\r') {
      out += "data: ";
      out.append(data.substr(start, i - start));
      out += "\n";
      if (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  out += "\n";
  return out;
}

std::string sse_comment(std::string_view text) {
  std::string out = ": ";
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\n\n";
  return out;
}

std::string sse_retry(int ms) { return "retry: " + std::to_string(ms) + "\n\n"; }

std::optional<int64_t> parse_last_event_id(std::string_view value) {
  if (value.empty() || value.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace baton::serve
