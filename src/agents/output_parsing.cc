#include "agents/output_parsing.h"

#include <algorithm>
#include <cctype>

namespace baton::agents {

std::vector<nlohmann::json> parse_json_lines(std::string_view text) {
  std::vector<nlohmann::json> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string_view::npos || line[b] != '{') continue;
    auto value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_object()) out.push_back(std::move(value));
  }
  return out;
}

namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

}  // namespace

ErrorClass classify_api_error(int http_status, std::string_view message) {
  if (http_status == 401 || http_status == 403) return ErrorClass::kAuth;
  if (http_status == 429) return ErrorClass::kRateLimit;
  if (http_status >= 500 && http_status < 600) return ErrorClass::kTransient;
  for (std::string_view s : {"unauthorized", "invalid api key", "api key", "authentication",
                             "not logged in", "no auth", "(401)", "(403)", " 401 ", " 403 "}) {
    if (contains_ci(message, s)) return ErrorClass::kAuth;
  }
  for (std::string_view s :
       {"rate limit", "rate_limit", "too many requests", "(429)", " 429", "overloaded", "quota"}) {
    if (contains_ci(message, s)) return ErrorClass::kRateLimit;
  }
  for (std::string_view s : {"timeout", "timed out"}) {
    if (contains_ci(message, s)) return ErrorClass::kTimeout;
  }
  for (std::string_view s :
       {"api error: 5", " 500", " 502", " 503", " 504", "connection", "disconnected", "temporar",
        "high demand", "reconnecting", "econnreset", "socket hang up", "network"}) {
    if (contains_ci(message, s)) return ErrorClass::kTransient;
  }
  return ErrorClass::kPermanent;
}

ErrorClass classify_exit(const exec::ExitStatus& status) {
  using Kind = exec::ExitStatus::Kind;
  switch (status.kind) {
    case Kind::kExited:
      return ErrorClass::kNone;
    case Kind::kTimedOut:
      return ErrorClass::kTimeout;
    case Kind::kCancelled:
      return ErrorClass::kCancelled;
    case Kind::kLost:
      return ErrorClass::kTransient;  // its supervisor died: nothing says the task is at fault
    case Kind::kSignaled:
    case Kind::kFailedToStart:
      return ErrorClass::kPermanent;
  }
  return ErrorClass::kPermanent;
}

std::string last_line(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t e = text.find_last_not_of(" \t\r\n", end - 1);
    if (e == std::string_view::npos) return "";
    size_t b = text.rfind('\n', e);
    b = b == std::string_view::npos ? 0 : b + 1;
    std::string_view line = text.substr(b, e - b + 1);
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos) return std::string(line.substr(first, 300));
    end = b;
  }
  return "";
}

AgentResult missing_result(const exec::ProcessResult& process, const std::string& what) {
  AgentResult r;
  r.error_class = classify_exit(process.status);
  std::string detail = last_line(process.stderr_tail);
  if (r.error_class == ErrorClass::kNone) {
    r.error_class = detail.empty() ? ErrorClass::kPermanent : classify_api_error(0, detail);
  }
  r.error = process.status.to_string() + "; " + what;
  if (!detail.empty()) r.error += ": " + detail;
  return r;
}

std::optional<nlohmann::json> parse_json_document(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t b = text.find_first_not_of(" \t\r", start);
    if (b != std::string_view::npos && (text[b] == '{' || text[b] == '[')) {
      auto value = nlohmann::json::parse(text.substr(b), nullptr, /*allow_exceptions=*/false);
      if (!value.is_discarded()) return value;
    }
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return std::nullopt;
}

std::optional<nlohmann::json> trailing_json_object(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t brace = text.rfind('{', end - 1);
    if (brace == std::string_view::npos) return std::nullopt;
    if (brace == 0 || text[brace - 1] == '\n') {
      auto value = nlohmann::json::parse(text.substr(brace), nullptr, /*allow_exceptions=*/false);
      if (value.is_object()) return value;
    }
    end = brace;
  }
  return std::nullopt;
}

int http_status_in(std::string_view message) {
  for (std::string_view marker : {"error:", "status"}) {
    size_t from = 0;
    while (true) {
      auto it = std::search(
          message.begin() + from, message.end(), marker.begin(), marker.end(),
          [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
      if (it == message.end()) break;
      size_t i = static_cast<size_t>(it - message.begin()) + marker.size();
      from = i;
      while (i < message.size() && (message[i] == ' ' || message[i] == ':' || message[i] == '=')) {
        ++i;
      }
      if (i + 3 > message.size()) continue;
      std::string_view digits = message.substr(i, 3);
      if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      if (i + 3 < message.size() && message[i + 3] >= '0' && message[i + 3] <= '9') continue;
      int status = std::stoi(std::string(digits));
      if (status >= 400 && status < 600) return status;
    }
  }
  return 0;
}

void fail_with_exit(const exec::ProcessResult& process, AgentResult* r) {
  r->success = false;
  r->error_class = classify_exit(process.status);
  if (r->error_class == ErrorClass::kNone) r->error_class = ErrorClass::kPermanent;
  r->error = process.status.to_string();
  std::string detail = last_line(process.stderr_tail);
  if (!detail.empty()) r->error += ": " + detail;
}

AgentResult parse_adapter_result(const exec::ProcessResult& process, std::string_view tag,
                                 std::string_view label, const std::string& who,
                                 nlohmann::json* line) {
  using Kind = exec::ExitStatus::Kind;
  if (line) *line = nullptr;
  std::vector<nlohmann::json> lines = parse_json_lines(process.stdout_text);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (string_field(*it, std::string(tag).c_str()) != "result") continue;
    if (line) *line = *it;
    const bool said_success = it->is_object() && it->value("success", false);
    AgentResult r;
    r.success = said_success && process.status.success();
    r.text = string_field(*it, "text");
    r.num_turns = 1;
    r.error_class =
        r.success ? ErrorClass::kNone : error_class_named(string_field(*it, "error_class"));
    if (!r.success && r.error_class == ErrorClass::kNone) r.error_class = ErrorClass::kPermanent;
    r.error = string_field(*it, "error");
    if (said_success && !process.status.success()) fail_with_exit(process, &r);
    if (process.status.kind == Kind::kTimedOut) {
      r.success = false;
      r.error_class = ErrorClass::kTimeout;
      r.error = process.status.to_string() + " (" + r.error + ")";
    } else if (process.status.kind == Kind::kCancelled) {
      r.success = false;
      r.error_class = ErrorClass::kCancelled;
      r.error = "cancelled (" + r.error + ")";
    }
    if (!r.success && r.error.empty())
      r.error = std::string(label) + ": " + process.status.to_string();
    return r;
  }
  AgentResult r = missing_result(process, who + " printed no result");
  if (process.status.kind == Kind::kSignaled) r.error_class = ErrorClass::kTransient;
  return r;
}

}  // namespace baton::agents
