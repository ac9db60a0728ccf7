#include "agents/transcript.h"

#include <fmt/format.h>

#include <map>

#include "agents/output_parsing.h"
#include "util/text.h"

namespace baton::agents {

namespace transcript_detail {

size_t line_end(std::string_view text, size_t pos) {
  size_t nl = text.find('\n', pos);
  return nl == std::string_view::npos ? text.size() : nl;
}

nlohmann::json parse_or_discard(std::string_view text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace transcript_detail

namespace {

constexpr size_t kMaxArgumentBytes = 160;

// TEXT on one line (newlines and tabs become spaces, runs of blanks one space), cut
// at MAX bytes with "..." (never inside a UTF-8 character).
std::string one_line(std::string_view text, size_t max) {
  std::string out;
  bool blank = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      blank = !out.empty();
      continue;
    }
    if (blank) out += ' ';
    blank = false;
    out += c;
  }
  if (out.size() <= max) return out;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}

// J[KEY] when it is a boolean, else false (value() would throw on another type).
bool bool_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// TEXT's lines, each prefixed by INDENT.
std::string indented(std::string_view text, std::string_view indent) {
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += std::string(indent) + std::string(line) + "\n";
    pos = nl + 1;
  }
  return out;
}

}  // namespace

std::string key_argument(const nlohmann::json& input) {
  if (!input.is_object() || input.empty()) return "";
  // In order of preference; a list is joined with the separator that reads as its kind
  // (a command's words with spaces, several paths with commas).
  static const std::pair<const char*, const char*> kKeys[] = {
      {"command", " "},        {"cmd", " "},   {"file_path", ", "}, {"filePath", ", "},
      {"absolute_path", ", "}, {"path", ", "}, {"paths", ", "},     {"pattern", ", "},
      {"query", ", "},         {"url", ", "},  {"prompt", ", "},    {"description", ", "}};
  for (const auto& [key, separator] : kKeys) {
    auto it = input.find(key);
    if (it == input.end()) continue;
    if (it->is_string()) return one_line(it->get<std::string>(), kMaxArgumentBytes);
    if (it->is_array()) {
      std::string joined;
      for (const auto& part : *it) {
        if (!joined.empty()) joined += separator;
        joined += part.is_string() ? part.get<std::string>() : part.dump();
      }
      return one_line(joined, kMaxArgumentBytes);
    }
  }
  return one_line(input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  kMaxArgumentBytes);
}

std::string content_text(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& block : content) {
      std::string text = block.is_string() ? block.get<std::string>() : string_field(block, "text");
      if (text.empty()) continue;
      if (!out.empty()) out += "\n";
      out += text;
    }
  }
  return out;
}

void TranscriptBuilder::message(std::string_view text) {
  std::string_view t = trim_view(text);
  if (t.empty()) return;
  entries_.push_back({Entry::Kind::kMessage, std::string(t)});
}

void TranscriptBuilder::tool_call(std::string_view tool, const nlohmann::json& input) {
  tool_call_text(tool, key_argument(input));
}

void TranscriptBuilder::tool_call_text(std::string_view tool, std::string_view argument) {
  std::string line = "tool " + std::string(tool.empty() ? "?" : tool);
  std::string arg = one_line(argument, kMaxArgumentBytes);
  if (!arg.empty()) line += ": " + arg;
  entries_.push_back({Entry::Kind::kOther, line});
}

void TranscriptBuilder::tool_result(std::string_view text, bool error) {
  std::string_view t = trim_view(text);
  if (t.empty() && !error) return;
  size_t nl = t.find('\n');
  std::string first = one_line(t.substr(0, nl), kMaxArgumentBytes);
  size_t more = 0;
  for (size_t p = nl; p != std::string_view::npos; p = t.find('\n', p + 1)) ++more;
  std::string line = std::string(error ? "  !! " : "  -> ") + (first.empty() ? "error" : first);
  if (more > 0) line += fmt::format(" (+{} line{})", more, more == 1 ? "" : "s");
  entries_.push_back({Entry::Kind::kOther, line});
}

void TranscriptBuilder::note(std::string_view text) {
  std::string_view t = trim_view(text);
  if (t.empty()) return;
  entries_.push_back({Entry::Kind::kOther, "note: " + one_line(t, 300)});
}

void TranscriptBuilder::other(std::string_view line) {
  entries_.push_back({Entry::Kind::kOther, "| " + std::string(line)});
}

std::string TranscriptBuilder::finish(const AgentResult& result) const {
  std::string answer(trim_view(result.text));
  size_t count = entries_.size();
  // The answer is printed once, at the end, even when it was also the last message.
  for (size_t i = entries_.size(); i-- > 0;) {
    if (entries_[i].kind != Entry::Kind::kMessage) continue;
    if (!answer.empty() && entries_[i].text == answer && i + 1 == count) count = i;
    break;
  }
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    const Entry& e = entries_[i];
    if (e.kind == Entry::Kind::kMessage) {
      std::string text = indented(e.text, "  ");
      out +=
          "agent:" + (e.text.find('\n') == std::string::npos ? " " + e.text + "\n" : "\n" + text);
    } else {
      out += e.text + "\n";
    }
  }
  if (!answer.empty()) {
    out += (result.success ? "answer:\n" : "result:\n") + indented(answer, "  ");
  }
  const Usage& u = result.usage;
  std::vector<std::string> parts;
  if (u.input_tokens || u.output_tokens || u.cached_tokens) {
    parts.push_back(fmt::format("{} in / {} out / {} cached tokens", u.input_tokens,
                                u.output_tokens, u.cached_tokens));
  }
  if (result.num_turns > 0) {
    parts.push_back(fmt::format("{} turn{}", result.num_turns, result.num_turns == 1 ? "" : "s"));
  }
  if (result.cost_usd) parts.push_back(fmt::format("${:.4f}", *result.cost_usd));
  if (!parts.empty()) {
    out += "usage:";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : " ") + parts[i];
    out += "\n";
  }
  return out;
}

exec::ProcessResult log_as_process(std::string_view log) {
  exec::ProcessResult p;
  p.status.kind = exec::ExitStatus::Kind::kExited;
  p.status.code = 0;
  // The events one per line: the CLI's stdout without the stderr lines interleaved
  // in the log, in a form every parse() reads (JSON Lines).
  for_each_log_event(
      log,
      [&](const nlohmann::json& e) {
        p.stdout_text += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      },
      [](std::string_view) {});
  return p;
}

std::string claude_style_transcript(std::string_view log, const AgentResult& parsed) {
  TranscriptBuilder t;
  for_each_log_event(
      log,
      [&](const nlohmann::json& e) {
        std::string type = string_field(e, "type");
        if (type == "system") {
          std::string subtype = string_field(e, "subtype");
          if (subtype == "api_retry") {
            t.note(fmt::format("API retry {} after {} ms{}", int_field(e, "attempt"),
                               int_field(e, "retry_delay_ms"),
                               e.contains("error_status") && e["error_status"].is_number()
                                   ? fmt::format(" (status {})", int_field(e, "error_status"))
                                   : std::string()));
          }
          return;
        }
        if (type == "assistant" || type == "user") {
          const nlohmann::json& message = object_field(e, "message");
          if (!message.contains("content")) return;
          const nlohmann::json& content = message["content"];
          if (content.is_string()) {
            if (type == "assistant") t.message(content.get<std::string>());
            return;
          }
          if (!content.is_array()) return;
          for (const nlohmann::json& block : content) {
            std::string kind = string_field(block, "type");
            if (kind == "text" && type == "assistant") {
              t.message(string_field(block, "text"));
            } else if (kind == "tool_use") {
              t.tool_call(string_field(block, "name"),
                          block.contains("input") ? block["input"] : nlohmann::json());
            } else if (kind == "tool_result") {
              t.tool_result(block.contains("content") ? content_text(block["content"]) : "",
                            bool_field(block, "is_error"));
            }
          }
          return;
        }
        if (type == "result" && parsed.text.empty()) {
          // An error result whose text the parse did not keep as the answer.
          if (bool_field(e, "is_error")) t.note(string_field(e, "result"));
        }
      },
      [&](std::string_view line) { t.other(line); });
  return t.finish(parsed);
}

}  // namespace baton::agents
