// Qwen Code, headless. Facts measured with qwen-code 0.15.10 against a local server
// (tests/fixtures/agents/qwen_*):
// - `qwen --output-format json --yolo`; the prompt is read from stdin (-p is
//   deprecated and "appended to input on stdin"). `--auth-type openai` with
//   OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL selects an OpenAI-compatible
//   server (rehearsal_env.cc adds it; a user's own setting is left alone here).
// - json output is one JSON array of Claude-Code-style events; the last element is
//   {"type":"result", subtype, is_error, result, session_id, num_turns,
//   usage{input_tokens, output_tokens, cache_read_input_tokens},
//   permission_denials}. stream-json prints the same events one per line. No cost.
// - After repeated API errors it exits 0 with "is_error":false and
//   "result":"[API Error: 500 ...]": that is a failure, classified by the status.
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

class QwenInvoker final : public Invoker {
 public:
  std::string name() const override { return "qwen"; }
  std::string executable() const override { return "qwen"; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {"qwen", "--output-format", "json", "--yolo"};
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"-m", inv.model});
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"--resume", inv.resume_session_id});
    }
    if (inv.max_turns > 0) {
      cmd.argv.insert(cmd.argv.end(), {"--max-session-turns", std::to_string(inv.max_turns)});
    }
    cmd.stdin_data = inv.prompt;
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    std::vector<nlohmann::json> events;
    std::optional<nlohmann::json> doc = parse_json_document(process.stdout_text);
    if (doc && doc->is_array()) {
      for (const nlohmann::json& e : *doc) {
        if (e.is_object()) events.push_back(e);
      }
    } else {
      events = parse_json_lines(process.stdout_text);
    }
    const nlohmann::json* result = nullptr;
    std::string session_id;
    for (const nlohmann::json& e : events) {
      if (string_field(e, "type") == "result") result = &e;
      if (session_id.empty()) session_id = string_field(e, "session_id");
    }
    if (!result) {
      AgentResult r = missing_result(process, "qwen printed no result event");
      r.session_id = session_id;
      return r;
    }
    const nlohmann::json& j = *result;
    AgentResult r;
    r.session_id = j.contains("session_id") ? string_field(j, "session_id") : session_id;
    r.text = string_field(j, "result");
    r.num_turns = static_cast<int>(int_field(j, "num_turns"));
    if (j.contains("usage")) {
      r.usage.input_tokens = int_field(j["usage"], "input_tokens");
      r.usage.output_tokens = int_field(j["usage"], "output_tokens");
      r.usage.cached_tokens = int_field(j["usage"], "cache_read_input_tokens");
    }
    // The exit-0 failure: the result text is the API error.
    bool api_error = r.text.rfind("[API Error", 0) == 0;
    if (j.value("is_error", false) || api_error || string_field(j, "subtype") != "success") {
      std::string message = r.text.empty() ? string_field(j, "error") : r.text;
      r.error_class = classify_api_error(http_status_in(message), message);
      r.error = message.empty() ? "qwen reported an error (" + string_field(j, "subtype") + ")"
                                : last_line(message);
      return r;
    }
    if (j.contains("permission_denials") && j["permission_denials"].is_array() &&
        !j["permission_denials"].empty()) {
      std::string tools;
      for (const nlohmann::json& d : j["permission_denials"]) {
        if (!tools.empty()) tools += ", ";
        tools += d.is_object() ? d.value("tool_name", "?") : "?";
      }
      r.error_class = ErrorClass::kPermanent;
      r.error = "permission denied for " + tools;
      return r;
    }
    if (!process.status.success()) {
      fail_with_exit(process, &r);
      return r;
    }
    r.success = true;
    return r;
  }

  std::string transcript(std::string_view log) const override {
    return claude_style_transcript(log, parse(log_as_process(log)));
  }
};

}  // namespace

const Invoker& qwen_invoker() {
  static const QwenInvoker invoker;
  return invoker;
}

}  // namespace baton::agents
