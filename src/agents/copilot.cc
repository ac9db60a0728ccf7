// GitHub Copilot CLI, headless. Facts measured with @github/copilot 1.0.102 against a
// local server (tests/fixtures/agents/copilot_*):
// - `copilot --prompt=PROMPT --allow-all-tools --no-ask-user --output-format json`:
//   the prompt is an argument, joined to the option so that a prompt starting with
//   '-' is not refused; --allow-all-tools is required for tools to run without a
//   person: without it a tool call is denied (tool.execution_complete with
//   success:false and error.code "denied"), nothing is written, and it still exits
//   0: that is a failure here.
// - JSON Lines events {type, data, id, timestamp}: assistant.message{content,
//   toolRequests}, tool.execution_start{toolCallId, toolName},
//   tool.execution_complete{toolCallId, success, error{message, code}},
//   assistant.turn_end, session.error{message, statusCode}, and last
//   {"type":"result", sessionId, exitCode, usage{premiumRequests, ...}}. No token
//   counts and no cost in USD.
// - An API failure: it retries five times, then session.error and a result with
//   exitCode 1; the process exits 1.
#include <map>
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

class CopilotInvoker final : public Invoker {
 public:
  std::string name() const override { return "copilot"; }
  std::string executable() const override { return "copilot"; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {"copilot", "--output-format", "json", "--allow-all-tools", "--no-ask-user"};
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"--model", inv.model});
    if (!inv.resume_session_id.empty()) {
      cmd.argv.push_back("--resume=" + inv.resume_session_id);
    }
    // One argument: `-p -x` is refused ("a value is required for '--prompt <text>'").
    cmd.argv.push_back("--prompt=" + inv.prompt);
    cmd.env = {{"COPILOT_AUTO_UPDATE", "false"}};
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    AgentResult r;
    const nlohmann::json* result = nullptr;
    std::map<std::string, std::string> tool_names;  // toolCallId -> toolName
    std::string denied;
    std::string session_error;
    int http_status = 0;
    std::vector<nlohmann::json> events = parse_json_lines(process.stdout_text);
    for (const nlohmann::json& e : events) {
      std::string type = string_field(e, "type");
      const nlohmann::json& data = object_field(e, "data");
      if (type == "assistant.message") {
        std::string content = string_field(data, "content");
        if (!content.empty()) r.text = content;
      } else if (type == "assistant.turn_end") {
        ++r.num_turns;
      } else if (type == "tool.execution_start") {
        tool_names[string_field(data, "toolCallId")] = string_field(data, "toolName");
      } else if (type == "tool.execution_complete" && data.contains("success") &&
                 data["success"] == false && data.contains("error") &&
                 string_field(data["error"], "code") == "denied") {
        std::string tool = tool_names[string_field(data, "toolCallId")];
        if (!denied.empty()) denied += ", ";
        denied += tool.empty() ? "?" : tool;
      } else if (type == "session.error") {
        session_error = string_field(data, "message");
        if (session_error.empty()) session_error = string_field(data, "errorType");
        http_status = static_cast<int>(int_field(data, "statusCode"));
      } else if (type == "result") {
        result = &e;
      }
    }
    if (result) r.session_id = string_field(*result, "sessionId");
    if (!session_error.empty()) {
      if (!http_status) http_status = http_status_in(session_error);
      r.error_class = classify_api_error(http_status, session_error);
      if (ErrorClass by_exit = classify_exit(process.status); by_exit != ErrorClass::kNone) {
        r.error_class = by_exit;
      }
      r.error = "copilot: " + last_line(session_error);
      return r;
    }
    if (!result) {
      AgentResult missing = missing_result(process, "copilot printed no result event");
      return missing;
    }
    if (!denied.empty()) {
      r.error_class = ErrorClass::kPermanent;
      r.error = "permission denied for " + denied;
      return r;
    }
    int exit_code = static_cast<int>(int_field(*result, "exitCode"));
    if (exit_code != 0) {
      r.error_class = ErrorClass::kPermanent;
      r.error = "copilot reported exit code " + std::to_string(exit_code);
      return r;
    }
    if (!process.status.success()) {
      fail_with_exit(process, &r);
      return r;
    }
    r.success = true;
    return r;
  }

  // assistant.message{content}, tool.execution_start{toolName, arguments},
  // tool.execution_complete{success, result{content}, error{message}},
  // session.error{message}; the ephemeral deltas are skipped.
  std::string transcript(std::string_view log) const override {
    TranscriptBuilder t;
    for_each_log_event(
        log,
        [&](const nlohmann::json& e) {
          std::string type = string_field(e, "type");
          const nlohmann::json& data = object_field(e, "data");
          if (type == "assistant.message") {
            t.message(string_field(data, "content"));
          } else if (type == "tool.execution_start") {
            t.tool_call(string_field(data, "toolName"),
                        data.contains("arguments") ? data["arguments"] : nlohmann::json());
          } else if (type == "tool.execution_complete") {
            bool ok = data.contains("success") && data["success"] == true;
            if (ok) {
              t.tool_result(data.contains("result") ? string_field(data["result"], "content") : "",
                            false);
            } else {
              t.tool_result(data.contains("error") ? string_field(data["error"], "message") : "",
                            true);
            }
          } else if (type == "session.error") {
            t.note("error: " + string_field(data, "message"));
          }
        },
        [&](std::string_view line) { t.other(line); });
    return t.finish(parse(log_as_process(log)));
  }
};

}  // namespace

const Invoker& copilot_invoker() {
  static const CopilotInvoker invoker;
  return invoker;
}

}  // namespace baton::agents
