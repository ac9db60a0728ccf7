#include "acp/step.h"

#include <nlohmann/json.hpp>

#include "agents/json_fields.h"

namespace baton::acp {

namespace {

using agents::string_field;

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > 120) {
    size_t cut = 117;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

std::string tool_text(const nlohmann::json& call) {
  std::string kind = string_field(call, "kind");
  std::string title = string_field(call, "title");
  if (title.empty()) title = string_field(call, "toolCallId");
  return (kind.empty() ? "tool" : kind) + ": " + title;
}

std::string plan_text(const nlohmann::json& entries) {
  if (!entries.is_array()) return "";
  for (const char* want : {"in_progress", "pending"}) {
    for (const nlohmann::json& e : entries) {
      if (string_field(e, "status") == want) return "plan: " + string_field(e, "content");
    }
  }
  return entries.empty() ? "" : "plan: done";
}

}  // namespace

std::string current_step(std::string_view tail) {
  // Walk the lines from the end; the first that names a step wins, except that a
  // failed update of a call seen later (earlier in the walk) marks it.
  std::string failed_id;
  nlohmann::json pending;  // a permission request's toolCall that names no kind
  size_t end = tail.size();
  while (end > 0) {
    size_t start = tail.rfind('\n', end - 1);
    start = start == std::string_view::npos ? 0 : start + 1;
    std::string_view line = tail.substr(start, end - start);
    end = start == 0 ? 0 : start - 1;
    if (line.rfind("{\"acp\":\"recv\"", 0) != 0) continue;
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (!e.is_object() || !e.contains("message")) continue;
    const nlohmann::json& m = e["message"];
    const nlohmann::json& p =
        m.is_object() && m.contains("params") ? m["params"] : nlohmann::json();
    std::string method = string_field(m, "method");
    if (pending.is_null() && method == "session/request_permission" && p.is_object() &&
        p.contains("toolCall")) {
      // Claude Code's adapter asks without the call's kind: the tool_call before it
      // with the same id has it.
      if (!string_field(p["toolCall"], "kind").empty() ||
          string_field(p["toolCall"], "toolCallId").empty()) {
        return one_line(tool_text(p["toolCall"]));
      }
      pending = p["toolCall"];
      continue;
    }
    if (method != "session/update" || !p.is_object() || !p.contains("update")) continue;
    const nlohmann::json& u = p["update"];
    std::string what = string_field(u, "sessionUpdate");
    if (!pending.is_null()) {
      if (what == "tool_call" &&
          string_field(u, "toolCallId") == string_field(pending, "toolCallId")) {
        pending["kind"] = string_field(u, "kind");
        return one_line(tool_text(pending));
      }
      continue;
    }
    if (what == "tool_call_update" && string_field(u, "status") == "failed" && failed_id.empty()) {
      failed_id = string_field(u, "toolCallId");
    } else if (what == "tool_call") {
      bool failed = !failed_id.empty() && failed_id == string_field(u, "toolCallId");
      return one_line(tool_text(u) + (failed ? " (failed)" : ""));
    } else if (what == "plan" && u.contains("entries")) {
      std::string plan = plan_text(u["entries"]);
      if (!plan.empty()) return one_line(plan);
    }
  }
  return pending.is_null() ? "" : one_line(tool_text(pending));
}

}  // namespace baton::acp
