// opencode and Kilo Code's CLI (a fork of opencode), headless. They print the same
// events. Facts measured with opencode-ai 1.18.33 and @kilocode/cli 7.7.7 against a
// local server (tests/fixtures/agents/opencode_*, kilo_*):
// - `opencode run --format json --auto [-m PROVIDER/MODEL] [-s SESSION] -- PROMPT`,
//   the same for `kilo run`: the prompt is an argument. --auto approves what the
//   permission rules do not deny: Kilo rejects bash without it (or a permission
//   block in its config) and exits 1.
// - JSON Lines, each with sessionID: step_start; tool_use{part{tool, state{status,
//   input, output | error}}}; text{part{text}}; step_finish{part{reason,
//   tokens{input, output, reasoning, cache{read, write}}, cost}}; and
//   {"type":"error", error} where error is {name, data{message, statusCode}} or a
//   string. The answer is the last text event; one step is one model request.
// - An API failure prints one error line after its retries and exits 1.
// - A tool call rejected by the permission rules (a write outside the project) is a
//   tool_use with state.status "error" and "The user rejected permission ..." (an
//   "ask" rule with nobody to ask) or "The user has specified a rule which prevents
//   you from using this specific tool call ..." (a "deny" rule), and opencode still
//   exits 0: that is a failure here.
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

class OpencodeInvoker final : public Invoker {
 public:
  /// NAME: baton's name; EXE: the executable.
  OpencodeInvoker(std::string name, std::string exe)
      : name_(std::move(name)), exe_(std::move(exe)) {}

  std::string name() const override { return name_; }
  std::string executable() const override { return exe_; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {exe_, "run", "--format", "json", "--auto"};
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"-m", inv.model});
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"-s", inv.resume_session_id});
    }
    // "--" so that a prompt starting with '-' is not read as an option.
    cmd.argv.insert(cmd.argv.end(), {"--", inv.prompt});
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    AgentResult r;
    bool any_event = false;
    std::string error;
    int http_status = 0;
    std::string rejected;
    for (const nlohmann::json& e : parse_json_lines(process.stdout_text)) {
      std::string type = string_field(e, "type");
      if (type.empty()) continue;
      any_event = true;
      if (r.session_id.empty()) r.session_id = string_field(e, "sessionID");
      const nlohmann::json& part = object_field(e, "part");
      if (type == "text") {
        r.text = string_field(part, "text");
      } else if (type == "step_finish") {
        ++r.num_turns;
        if (part.contains("tokens")) {
          const nlohmann::json& t = part["tokens"];
          r.usage.input_tokens += int_field(t, "input");
          r.usage.output_tokens += int_field(t, "output");
          if (t.contains("cache")) r.usage.cached_tokens += int_field(t["cache"], "read");
        }
        if (part.contains("cost") && part["cost"].is_number()) {
          r.cost_usd = r.cost_usd.value_or(0) + part["cost"].get<double>();
        }
      } else if (type == "tool_use" && part.contains("state") && part["state"].is_object()) {
        const nlohmann::json& state = part["state"];
        std::string tool_error = string_field(state, "error");
        if (string_field(state, "status") == "error" &&
            (tool_error.find("rejected permission") != std::string::npos ||
             tool_error.find("prevents you from using this specific tool call") !=
                 std::string::npos)) {
          if (!rejected.empty()) rejected += ", ";
          rejected += string_field(part, "tool");
        }
      } else if (type == "error") {
        // A string, an object, or absent (then the empty object).
        const nlohmann::json& err = e.contains("error") ? e["error"] : object_field(e, "error");
        if (err.is_string()) {
          error = err.get<std::string>();
        } else {
          const nlohmann::json& data = object_field(err, "data");
          error = string_field(data, "message");
          if (error.empty()) error = string_field(err, "message");
          std::string kind = string_field(err, "name");
          if (error.empty()) error = kind.empty() ? "error" : kind;
          if (!kind.empty() && error.find(kind) == std::string::npos) error = kind + ": " + error;
          http_status = static_cast<int>(int_field(data, "statusCode"));
        }
      }
    }
    if (!error.empty()) {
      r.error_class = classify_api_error(http_status, error);
      if (ErrorClass by_exit = classify_exit(process.status); by_exit != ErrorClass::kNone) {
        r.error_class = by_exit;
      }
      r.error = name_ + ": " + last_line(error);
      return r;
    }
    if (!rejected.empty()) {
      r.error_class = ErrorClass::kPermanent;
      r.error = "permission rejected for " + rejected;
      return r;
    }
    if (!any_event) {
      AgentResult missing = missing_result(process, name_ + " printed no events");
      return missing;
    }
    if (!process.status.success()) {
      fail_with_exit(process, &r);
      return r;
    }
    if (r.num_turns == 0) {
      AgentResult missing = missing_result(process, name_ + " finished no step");
      missing.session_id = r.session_id;
      return missing;
    }
    r.success = true;
    return r;
  }

  // text{part{text}}, tool_use{part{tool, state{status, input, output | error}}},
  // error{error}; step_start and step_finish carry no text.
  std::string transcript(std::string_view log) const override {
    TranscriptBuilder t;
    for_each_log_event(
        log,
        [&](const nlohmann::json& e) {
          std::string type = string_field(e, "type");
          const nlohmann::json& part = object_field(e, "part");
          if (type == "text") {
            t.message(string_field(part, "text"));
          } else if (type == "tool_use") {
            const nlohmann::json& state = object_field(part, "state");
            t.tool_call(string_field(part, "tool"),
                        state.contains("input") ? state["input"] : nlohmann::json());
            if (string_field(state, "status") == "error") {
              t.tool_result(string_field(state, "error"), true);
            } else {
              t.tool_result(string_field(state, "output"), false);
            }
          } else if (type == "error" && e.contains("error")) {
            const nlohmann::json& err = e["error"];
            std::string message = err.is_string() ? err.get<std::string>() : "";
            if (message.empty() && err.is_object()) {
              message = err.contains("data") ? string_field(err["data"], "message") : "";
              if (message.empty()) message = string_field(err, "message");
              if (message.empty()) message = string_field(err, "name");
            }
            t.note("error: " + message);
          }
        },
        [&](std::string_view line) { t.other(line); });
    return t.finish(parse(log_as_process(log)));
  }

 private:
  std::string name_;
  std::string exe_;
};

}  // namespace

const Invoker& opencode_invoker() {
  static const OpencodeInvoker invoker("opencode", "opencode");
  return invoker;
}

const Invoker& kilocode_invoker() {
  static const OpencodeInvoker invoker("kilocode", "kilo");
  return invoker;
}

}  // namespace baton::agents
