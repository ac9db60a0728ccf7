// Cursor's CLI (`cursor-agent`), headless. It is not distributed through npm and
// cannot be pointed at a local model server, so only its command line and its
// documented output are tested here. From https://cursor.com/docs/cli/reference/
// (parameters, output-format):
// - `cursor-agent -p --output-format json --force [--model MODEL] [--resume ID]
//   PROMPT`: the prompt is an argument; --force allows commands unless denied.
// - json output, on success only, is one object: {"type":"result",
//   "subtype":"success", "is_error":false, duration_ms, duration_api_ms, result,
//   session_id, request_id}; some versions add usage{inputTokens, outputTokens,
//   cacheReadTokens}. On failure it exits non-zero with the message on stderr and
//   no JSON. stream-json ends with the same result event.
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/prompt.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

class CursorInvoker final : public Invoker {
 public:
  std::string name() const override { return "cursor"; }
  std::string executable() const override { return "cursor-agent"; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {"cursor-agent", "-p", "--output-format", "json", "--force"};
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"--model", inv.model});
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"--resume", inv.resume_session_id});
    }
    // Its own argument, no "--" (not documented for cursor-agent): as_argument().
    cmd.argv.push_back(as_argument(inv.prompt));
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    const nlohmann::json* result = nullptr;
    std::optional<nlohmann::json> doc = parse_json_document(process.stdout_text);
    std::vector<nlohmann::json> events = parse_json_lines(process.stdout_text);
    if (doc && doc->is_object()) events.push_back(*doc);
    std::string session_id;
    for (const nlohmann::json& e : events) {
      if (string_field(e, "type") == "result") result = &e;
      if (session_id.empty()) session_id = string_field(e, "session_id");
    }
    if (!result) {
      AgentResult r = missing_result(process, "cursor-agent printed no result");
      r.session_id = session_id;
      return r;
    }
    const nlohmann::json& j = *result;
    AgentResult r;
    r.text = string_field(j, "result");
    r.session_id = j.contains("session_id") ? string_field(j, "session_id") : session_id;
    if (j.contains("usage")) {
      const nlohmann::json& u = j["usage"];
      r.usage.input_tokens = int_field(u, "inputTokens") + int_field(u, "input_tokens");
      r.usage.output_tokens = int_field(u, "outputTokens") + int_field(u, "output_tokens");
      r.usage.cached_tokens = int_field(u, "cacheReadTokens") + int_field(u, "cache_read_tokens");
    }
    if (j.value("is_error", false) || string_field(j, "subtype") != "success") {
      std::string message = r.text.empty() ? string_field(j, "subtype") : r.text;
      r.error_class = classify_api_error(http_status_in(message), message);
      r.error = "cursor-agent: " + last_line(message);
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

const Invoker& cursor_invoker() {
  static const CursorInvoker invoker;
  return invoker;
}

}  // namespace baton::agents
