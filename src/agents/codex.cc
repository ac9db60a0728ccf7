// OpenAI Codex CLI, headless. Facts measured with codex-cli 0.169.0 against a local
// server (tests/fixtures/agents/codex_*):
// - `codex exec --json -s workspace-write` (no --full-auto in this version); the
//   prompt is read from stdin when the PROMPT argument is `-`;
//   `--skip-git-repo-check` is needed outside a git repository.
// - JSON Lines events: thread.started{thread_id}, item.completed with items of type
//   agent_message{text}, command_execution, file_change, error;
//   turn.completed{usage{input_tokens, cached_input_tokens, output_tokens}};
//   turn.failed{error{message}}; top-level {"type":"error","message"} while it
//   reconnects. No cost field.
// - A command that fails inside its sandbox does not fail the run (exit 0).
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

class CodexInvoker final : public Invoker {
 public:
  std::string name() const override { return "codex"; }
  std::string executable() const override { return "codex"; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {"codex",
                "exec",
                "--json",
                "-s",
                "workspace-write",
                "--skip-git-repo-check",
                "-c",
                "check_for_update_on_startup=false"};
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"-m", inv.model});
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"resume", inv.resume_session_id});
    }
    cmd.argv.push_back("-");
    cmd.stdin_data = inv.prompt;
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    AgentResult r;
    bool completed = false;
    bool failed = false;
    std::string failure;
    std::string last_error;
    for (const nlohmann::json& e : parse_json_lines(process.stdout_text)) {
      std::string type = e.value("type", "");
      if (type == "thread.started") {
        r.session_id = e.value("thread_id", "");
      } else if (type == "item.completed" && e.contains("item") && e["item"].is_object()) {
        const nlohmann::json& item = e["item"];
        if (item.value("type", "") == "agent_message") r.text = item.value("text", "");
      } else if (type == "turn.completed") {
        completed = true;
        ++r.num_turns;
        if (e.contains("usage") && e["usage"].is_object()) {
          const nlohmann::json& u = e["usage"];
          r.usage.input_tokens += u.value("input_tokens", int64_t{0});
          r.usage.output_tokens += u.value("output_tokens", int64_t{0});
          r.usage.cached_tokens += u.value("cached_input_tokens", int64_t{0});
        }
      } else if (type == "turn.failed") {
        failed = true;
        if (e.contains("error") && e["error"].is_object())
          failure = e["error"].value("message", "");
      } else if (type == "error") {
        last_error = e.value("message", "");
      }
    }
    if (failed || (!completed && !last_error.empty())) {
      std::string message = !failure.empty() ? failure : last_error;
      r.error_class = classify_exit(process.status);
      if (r.error_class == ErrorClass::kNone) r.error_class = classify_api_error(0, message);
      r.error = message.empty() ? "codex reported a failed turn" : message;
      return r;
    }
    if (!completed) {
      AgentResult missing = missing_result(process, "codex printed no turn.completed event");
      missing.session_id = r.session_id;
      return missing;
    }
    if (!process.status.success()) {
      r.error_class = classify_exit(process.status);
      if (r.error_class == ErrorClass::kNone) r.error_class = ErrorClass::kPermanent;
      r.error = process.status.to_string();
      std::string detail = last_line(process.stderr_tail);
      if (!detail.empty()) r.error += ": " + detail;
      return r;
    }
    r.success = true;
    return r;
  }

  // item.completed items: agent_message, command_execution{command,
  // aggregated_output, exit_code}, file_change{changes[{path, kind}]},
  // mcp_tool_call{server, tool, arguments}, web_search{query}, error{message};
  // turn.failed and top-level error events.
  std::string transcript(std::string_view log) const override {
    TranscriptBuilder t;
    for_each_log_event(
        log,
        [&](const nlohmann::json& e) {
          std::string type = string_field(e, "type");
          if (type == "turn.failed" && e.contains("error")) {
            t.note("turn failed: " + string_field(e["error"], "message"));
          } else if (type == "error") {
            t.note("error: " + string_field(e, "message"));
          }
          if (type != "item.completed" || !e.contains("item") || !e["item"].is_object()) return;
          const nlohmann::json& item = e["item"];
          std::string kind = string_field(item, "type");
          if (kind == "agent_message") {
            t.message(string_field(item, "text"));
          } else if (kind == "command_execution") {
            t.tool_call_text("shell", string_field(item, "command"));
            int64_t code = int_field(item, "exit_code");
            std::string output = string_field(item, "aggregated_output");
            if (code != 0) {
              t.tool_result("exit " + std::to_string(code) + (output.empty() ? "" : ": " + output),
                            true);
            } else {
              t.tool_result(output, false);
            }
          } else if (kind == "file_change") {
            std::string changes;
            if (item.contains("changes") && item["changes"].is_array()) {
              for (const nlohmann::json& c : item["changes"]) {
                if (!changes.empty()) changes += ", ";
                changes += string_field(c, "kind") + " " + string_field(c, "path");
              }
            }
            t.tool_call_text("patch", changes);
            if (string_field(item, "status") == "failed") t.tool_result("failed", true);
          } else if (kind == "mcp_tool_call") {
            t.tool_call(string_field(item, "server") + "." + string_field(item, "tool"),
                        item.contains("arguments") ? item["arguments"] : nlohmann::json());
          } else if (kind == "web_search") {
            t.tool_call_text("web_search", string_field(item, "query"));
          } else if (kind == "error") {
            t.note("error: " + string_field(item, "message"));
          }
        },
        [&](std::string_view line) { t.other(line); });
    return t.finish(parse(log_as_process(log)));
  }
};

}  // namespace

const Invoker& codex_invoker() {
  static const CodexInvoker invoker;
  return invoker;
}

}  // namespace baton::agents
