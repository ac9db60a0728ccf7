// Augment's Auggie CLI, headless. It cannot be pointed at a local model server (it
// speaks Augment's own backend API and needs AUGMENT_SESSION_AUTH), so only its
// command line and its documented output are tested here. Facts for
// @augmentcode/auggie 0.36.0, from its --help and its bundle (augment.mjs):
// - `auggie --print --output-format json --show-cost -w WORKDIR [-m MODEL]
//   [--max-turns N] [-r SESSION] -i PROMPT`: the prompt is an argument.
// - json output is one object printed at the end: {"type":"result", result,
//   is_error, subtype, session_id, num_turns, request_id, billing{usage_unit
//   ("usd" | "credits"), total_cost}} (billing only with --show-cost and when
//   billing is enabled). No token counts.
// - Without credentials it exits 1 with "No auth provided" on stderr
//   (tests/fixtures/agents/auggie_noauth.stderr).
#include <string>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"

namespace baton::agents {

namespace {

class AuggieInvoker final : public Invoker {
 public:
  std::string name() const override { return "auggie"; }
  std::string executable() const override { return "auggie"; }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.argv = {"auggie", "--print", "--output-format", "json", "--show-cost"};
    if (!inv.workdir.empty()) cmd.argv.insert(cmd.argv.end(), {"-w", inv.workdir});
    if (!inv.model.empty()) cmd.argv.insert(cmd.argv.end(), {"-m", inv.model});
    if (inv.max_turns > 0) {
      cmd.argv.insert(cmd.argv.end(), {"--max-turns", std::to_string(inv.max_turns)});
    }
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"-r", inv.resume_session_id});
    }
    cmd.argv.insert(cmd.argv.end(), {"-i", inv.prompt});
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    const nlohmann::json* result = nullptr;
    std::optional<nlohmann::json> doc = parse_json_document(process.stdout_text);
    std::vector<nlohmann::json> events = parse_json_lines(process.stdout_text);
    if (doc && doc->is_object()) events.push_back(*doc);
    for (const nlohmann::json& e : events) {
      if (string_field(e, "type") == "result") result = &e;
    }
    if (!result) return missing_result(process, "auggie printed no result");
    const nlohmann::json& j = *result;
    AgentResult r;
    r.text = string_field(j, "result");
    r.session_id = string_field(j, "session_id");
    r.num_turns = static_cast<int>(int_field(j, "num_turns"));
    if (j.contains("billing") && string_field(j["billing"], "usage_unit") == "usd" &&
        j["billing"].contains("total_cost") && j["billing"]["total_cost"].is_number()) {
      r.cost_usd = j["billing"]["total_cost"].get<double>();
    }
    if (j.value("is_error", false)) {
      std::string message = r.text.empty() ? string_field(j, "subtype") : r.text;
      r.error_class = classify_api_error(http_status_in(message), message);
      r.error = "auggie: " + last_line(message);
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

const Invoker& auggie_invoker() {
  static const AuggieInvoker invoker;
  return invoker;
}

}  // namespace baton::agents
