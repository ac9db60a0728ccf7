// Gemini CLI, headless. Facts measured with gemini-cli 0.61.0 against a local server
// (tests/fixtures/agents/gemini_*) and read from its bundle:
// - `gemini --output-format json --yolo --skip-trust [-m MODEL]`; the prompt is read
//   from stdin ("-p: appended to input on stdin"; with stdin not a terminal and no
//   -p it runs headless on the stdin text). Without -m it first asks a router model.
// - Without --skip-trust (or GEMINI_CLI_TRUST_WORKSPACE=true) it refuses an untrusted
//   folder: text on stderr, exit 55.
// - json output: one object {session_id, response, stats{models{NAME{tokens{input,
//   candidates, cached}}}}}; stream-json: events ending in
//   {"type":"result","status":"success"|"error", stats{input_tokens, output_tokens,
//   cached}, error{type, message}}. No cost field.
// - On an API error in json mode stdout is empty, the error goes to stderr as a
//   pretty-printed {session_id, error{type, message, code}} after stack traces, and
//   the exit code is the HTTP status mod 256 (500 -> 244, 429 -> 173).
// - Its own fatal errors have fixed exit codes: 41 authentication, 42 input,
//   44 sandbox, 52 config, 53 turn limit, 54 tool execution, 55 untrusted folder,
//   130 cancelled.
// - It retries 500/429 ten times with backoff before giving up (general.maxAttempts
//   in settings.json lowers that).
// - `--resume ID` takes a session UUID (as printed in session_id), "latest" or an index.
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

// The class of one of Gemini CLI's own exit codes, or of an HTTP status it exited
// with (mod 256); kNone when CODE says nothing.
ErrorClass class_of_exit_code(int code, int* http_status) {
  switch (code) {
    case 41:
      return ErrorClass::kAuth;
    case 42:
    case 44:
    case 52:
    case 53:
    case 54:
    case 55:
      return ErrorClass::kPermanent;
    case 130:
      return ErrorClass::kCancelled;
    default:
      break;
  }
  // 400..511 come out as 144..255: the only exit codes in that range it uses.
  if (code >= 144 && code <= 255) {
    *http_status = code + 256;
    return classify_api_error(*http_status, "");
  }
  return ErrorClass::kNone;
}

const char* what_exit_code_means(int code) {
  switch (code) {
    case 41:
      return "gemini: authentication failed";
    case 42:
      return "gemini: invalid input";
    case 44:
      return "gemini: sandbox error";
    case 52:
      return "gemini: configuration error";
    case 53:
      return "gemini: turn limit reached";
    case 54:
      return "gemini: a tool failed";
    case 55:
      return "gemini: the folder is not trusted (run with --skip-trust)";
    default:
      return nullptr;
  }
}

void add_model_tokens(const nlohmann::json& stats, Usage* usage) {
  if (!stats.is_object()) return;
  auto models = stats.find("models");
  if (models == stats.end() || !models->is_object()) return;
  for (const auto& [name, model] : models->items()) {
    if (!model.is_object()) continue;
    auto tokens = model.find("tokens");
    if (tokens != model.end() && tokens->is_object()) {
      // "input" is the prompt less cached tokens in newer versions; "prompt" the total.
      usage->input_tokens +=
          tokens->contains("prompt") ? int_field(*tokens, "prompt") : int_field(*tokens, "input");
      usage->output_tokens += int_field(*tokens, "candidates");
      usage->cached_tokens += int_field(*tokens, "cached");
    } else {  // stream-json's per-model stats
      usage->input_tokens += int_field(model, "input_tokens");
      usage->output_tokens += int_field(model, "output_tokens");
      usage->cached_tokens += int_field(model, "cached");
    }
  }
}

// Model requests of the agent's own loop: the "main" role's when the stats split
// them by role (the router's requests are not turns, and 0.61 routes with a model
// of its own whose only role is "utility_router"), else every request.
int main_requests(const nlohmann::json& stats) {
  int turns = 0;
  if (!stats.is_object() || !stats.contains("models") || !stats["models"].is_object()) return 0;
  for (const auto& [name, model] : stats["models"].items()) {
    if (!model.is_object()) continue;
    if (model.contains("roles") && model["roles"].is_object() && !model["roles"].empty()) {
      if (model["roles"].contains("main")) {
        turns += static_cast<int>(int_field(model["roles"]["main"], "totalRequests"));
      }
    } else if (model.contains("api")) {
      turns += static_cast<int>(int_field(model["api"], "totalRequests"));
    }
  }
  return turns;
}

class GeminiInvoker final : public Invoker {
 public:
  std::string name() const override { return "gemini"; }
  std::string executable() const override { return "gemini"; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {"gemini", "--output-format", "json", "--yolo", "--skip-trust"};
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"-m", inv.model});
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"--resume", inv.resume_session_id});
    }
    cmd.stdin_data = inv.prompt;
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    std::optional<nlohmann::json> doc = parse_json_document(process.stdout_text);
    if (doc && doc->is_object() && doc->contains("response")) return from_json(*doc, process);
    std::vector<nlohmann::json> events = parse_json_lines(process.stdout_text);
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (string_field(*it, "type") == "result") return from_stream(events, *it, process);
    }
    return from_failure(process);
  }

 private:
  // --output-format json: {session_id, response, stats}.
  static AgentResult from_json(const nlohmann::json& j, const exec::ProcessResult& process) {
    AgentResult r;
    r.session_id = string_field(j, "session_id");
    r.text = string_field(j, "response");
    if (j.contains("stats")) {
      add_model_tokens(j["stats"], &r.usage);
      r.num_turns = main_requests(j["stats"]);
    }
    if (j.contains("error") && j["error"].is_object()) {
      std::string message = string_field(j["error"], "message");
      r.error_class = classify_api_error(static_cast<int>(int_field(j["error"], "code")), message);
      r.error = message.empty() ? "gemini reported an error" : last_line(message);
      return r;
    }
    if (!process.status.success()) {
      fail_with_exit(process, &r);
      return r;
    }
    r.success = true;
    return r;
  }

  // --output-format stream-json: init{session_id}, message{role, content, delta},
  // tool_use, tool_result, result{status, stats, error}.
  static AgentResult from_stream(const std::vector<nlohmann::json>& events,
                                 const nlohmann::json& result, const exec::ProcessResult& process) {
    AgentResult r;
    bool in_reply = false;
    for (const nlohmann::json& e : events) {
      std::string type = string_field(e, "type");
      if (type == "init") {
        r.session_id = string_field(e, "session_id");
      } else if (type == "message" && string_field(e, "role") == "assistant") {
        // Deltas of one reply are concatenated; a reply after a tool call starts anew.
        if (!in_reply || !e.value("delta", false)) r.text.clear();
        r.text += string_field(e, "content");
        in_reply = true;
      } else if (type == "tool_use" || type == "tool_result") {
        in_reply = false;
        if (type == "tool_use") ++r.num_turns;
      }
    }
    ++r.num_turns;
    if (result.contains("stats") && result["stats"].is_object()) {
      const nlohmann::json& s = result["stats"];
      r.usage.input_tokens = int_field(s, "input_tokens");
      r.usage.output_tokens = int_field(s, "output_tokens");
      r.usage.cached_tokens = int_field(s, "cached");
    }
    if (string_field(result, "status") != "success") {
      std::string message =
          result.contains("error") ? string_field(result["error"], "message") : "";
      r.error_class = classify_api_error(http_status_in(message), message);
      r.error = message.empty() ? "gemini reported an error" : last_line(message);
      return r;
    }
    if (!process.status.success()) {
      fail_with_exit(process, &r);
      return r;
    }
    r.success = true;
    return r;
  }

  // No result on stdout: the error report on stderr and the exit code.
  static AgentResult from_failure(const exec::ProcessResult& process) {
    AgentResult r = missing_result(process, "gemini printed no result");
    if (process.status.kind != exec::ExitStatus::Kind::kExited) return r;
    int http_status = 0;
    ErrorClass by_code = class_of_exit_code(process.status.code, &http_status);
    std::optional<nlohmann::json> report = trailing_json_object(process.stderr_tail);
    if (report && report->contains("error") && (*report)["error"].is_object()) {
      const nlohmann::json& error = (*report)["error"];
      r.session_id = string_field(*report, "session_id");
      std::string message = string_field(error, "message");
      // The message is often the API's own JSON error: take its message and code.
      if (auto inner = nlohmann::json::parse(message, nullptr, false);
          inner.is_object() && inner.contains("error") && inner["error"].is_object()) {
        if (int code = static_cast<int>(int_field(inner["error"], "code")); code >= 400) {
          http_status = code;
        }
        message = string_field(inner["error"], "message");
      }
      int code = static_cast<int>(int_field(error, "code"));
      if (code >= 400 && code < 600) http_status = code;
      r.error_class = classify_api_error(http_status, message);
      if (by_code != ErrorClass::kNone && http_status == 0) r.error_class = by_code;
      r.error = (http_status ? "gemini: API error " + std::to_string(http_status) + ": "
                             : std::string("gemini: ")) +
                (message.empty() ? process.status.to_string() : last_line(message));
      return r;
    }
    if (by_code != ErrorClass::kNone) {
      r.error_class = by_code;
      if (const char* what = what_exit_code_means(process.status.code)) {
        r.error = std::string(what) + " (" + process.status.to_string() + ")";
      } else if (http_status) {
        r.error = "gemini: API error " + std::to_string(http_status) + " (" +
                  process.status.to_string() + ")";
      }
    }
    return r;
  }

  // json: one object {session_id, response, stats} (the answer and usage only);
  // stream-json: message{role, content, delta}, tool_use{tool_name, parameters},
  // tool_result{status, output, error{message}}, error, result.
  std::string transcript(std::string_view log) const override {
    TranscriptBuilder t;
    std::string reply;  // the assistant's deltas, joined until a tool call
    auto flush = [&] {
      t.message(reply);
      reply.clear();
    };
    for_each_log_event(
        log,
        [&](const nlohmann::json& e) {
          std::string type = string_field(e, "type");
          if (type == "message" && string_field(e, "role") == "assistant") {
            if (!(e.contains("delta") && e["delta"] == true)) flush();
            reply += string_field(e, "content");
          } else if (type == "tool_use") {
            flush();
            t.tool_call(string_field(e, "tool_name"),
                        e.contains("parameters") ? e["parameters"] : nlohmann::json());
          } else if (type == "tool_result") {
            bool failed = string_field(e, "status") != "success";
            std::string text = string_field(e, "output");
            if (failed && e.contains("error")) text = string_field(e["error"], "message");
            t.tool_result(text, failed);
          } else if (type == "error") {
            flush();
            t.note("error: " + string_field(e, "message"));
          } else if (e.contains("error") && e["error"].is_object()) {
            flush();
            t.note("error: " + string_field(e["error"], "message"));
          }
        },
        [&](std::string_view line) { t.other(line); });
    flush();
    return t.finish(parse(log_as_process(log)));
  }
};

}  // namespace

const Invoker& gemini_invoker() {
  static const GeminiInvoker invoker;
  return invoker;
}

}  // namespace baton::agents
