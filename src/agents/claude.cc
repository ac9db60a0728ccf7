// Claude Code, headless. Facts measured with claude-code 2.1.197 against a local
// server (tests/fixtures/agents/claude_*):
// - `claude -p --output-format stream-json --verbose`: stream-json needs --verbose.
//   The prompt is read from stdin.
// - As root, --dangerously-skip-permissions refuses to run unless IS_SANDBOX=1;
//   `--permission-mode acceptEdits` works as root and lets it edit files.
// - In default permission mode a denied write still exits 0 and is listed in
//   `permission_denials`: that is a failure.
// - An API failure gives "subtype":"success" with "is_error":true and exit 1, and
//   `api_error_status` holds the HTTP status: check is_error, not the subtype.
// - Without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC and the DISABLE_* variables it
//   makes extra requests and DNS look-ups.
// - The final event is {"type":"result", result, session_id, total_cost_usd,
//   usage{input_tokens, output_tokens, cache_read_input_tokens}, num_turns}.
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

class ClaudeInvoker final : public Invoker {
 public:
  std::string name() const override { return "claude"; }
  std::string executable() const override { return "claude"; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {"claude",      "-p",        "--output-format",
                "stream-json", "--verbose", "--permission-mode",
                "acceptEdits"};
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"--model", inv.model});
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"--resume", inv.resume_session_id});
    }
    if (inv.max_turns > 0) {
      cmd.argv.insert(cmd.argv.end(), {"--max-turns", std::to_string(inv.max_turns)});
    }
    cmd.env = {{"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
               {"DISABLE_TELEMETRY", "1"},
               {"DISABLE_ERROR_REPORTING", "1"},
               {"DISABLE_AUTOUPDATER", "1"}};
    cmd.stdin_data = inv.prompt;
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    const nlohmann::json* result = nullptr;
    std::vector<nlohmann::json> events = parse_json_lines(process.stdout_text);
    std::string session_id;
    std::optional<double> retry_delay_s;
    for (const nlohmann::json& e : events) {
      if (e.value("type", "") == "result") result = &e;
      if (e.value("subtype", "") == "api_retry" && e.contains("retry_delay_ms") &&
          e["retry_delay_ms"].is_number()) {
        retry_delay_s = e["retry_delay_ms"].get<double>() / 1000.0;
      }
      if (session_id.empty() && e.contains("session_id") && e["session_id"].is_string()) {
        session_id = e["session_id"].get<std::string>();
      }
    }
    if (!result) {
      AgentResult r = missing_result(process, "claude printed no result event");
      r.session_id = session_id;
      return r;
    }
    const nlohmann::json& j = *result;
    AgentResult r;
    r.session_id = j.value("session_id", session_id);
    if (j.contains("result") && j["result"].is_string()) r.text = j["result"].get<std::string>();
    if (j.contains("total_cost_usd") && j["total_cost_usd"].is_number()) {
      r.cost_usd = j["total_cost_usd"].get<double>();
    }
    r.num_turns = j.value("num_turns", 0);
    if (j.contains("usage") && j["usage"].is_object()) {
      const nlohmann::json& u = j["usage"];
      r.usage.input_tokens = u.value("input_tokens", int64_t{0});
      r.usage.output_tokens = u.value("output_tokens", int64_t{0});
      r.usage.cached_tokens = u.value("cache_read_input_tokens", int64_t{0});
    }
    bool is_error = j.value("is_error", false);
    int http_status = j.contains("api_error_status") && j["api_error_status"].is_number_integer()
                          ? j["api_error_status"].get<int>()
                          : 0;
    if (is_error || j.value("subtype", "success") != "success") {
      r.error_class = classify_api_error(http_status, r.text);
      if (r.error_class == ErrorClass::kRateLimit) r.retry_after_s = retry_delay_s;
      r.error = r.text.empty() ? "claude reported an error (" + j.value("subtype", "") + ")"
                               : last_line(r.text);
      return r;
    }
    if (j.contains("permission_denials") && j["permission_denials"].is_array() &&
        !j["permission_denials"].empty()) {
      std::string tools;
      for (const nlohmann::json& d : j["permission_denials"]) {
        if (!tools.empty()) tools += ", ";
        tools += d.value("tool_name", "?");
      }
      r.error_class = ErrorClass::kPermanent;
      r.error = "permission denied for " + tools;
      return r;
    }
    if (!process.status.success()) {
      r.error_class = classify_exit(process.status);
      if (r.error_class == ErrorClass::kNone) r.error_class = ErrorClass::kPermanent;
      r.error = process.status.to_string();
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

const Invoker& claude_invoker() {
  static const ClaudeInvoker invoker;
  return invoker;
}

}  // namespace baton::agents
