#include "a2a/invoker.h"

#include <cstdlib>

#include "a2a/client.h"
#include "agents/custom.h"
#include "agents/json_fields.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"
#include "util/self_exe.h"

namespace baton::a2a {

namespace {

using nlohmann::json;

using agents::string_field;

class A2aInvoker final : public agents::Invoker {
 public:
  A2aInvoker(std::string name, RemoteAgentSpec spec)
      : name_(std::move(name)), spec_(std::move(spec)) {}

  std::string name() const override { return name_; }
  std::string executable() const override { return self_executable().value_or("baton"); }

  agents::Command build_command(const agents::Invocation& inv) const override {
    agents::Command cmd;
    cmd.argv = {self_executable().value_or("baton"),    "__a2a-client", "--url", spec_.url, "--cwd",
                inv.workdir.empty() ? "." : inv.workdir};
    if (!spec_.bearer_env.empty())
      cmd.argv.insert(cmd.argv.end(), {"--bearer-env", spec_.bearer_env});
    if (!spec_.header.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"--header", spec_.header, "--header-env", spec_.header_env});
    }
    if (!inv.idempotency_key.empty())
      cmd.argv.insert(cmd.argv.end(), {"--message-id", inv.idempotency_key});
    cmd.stdin_data = inv.prompt;
    if (inv.answer) {
      // The previous attempt's question gets this answer, on the same remote task.
      cmd.argv.push_back("--answer");
      cmd.stdin_data = *inv.answer;
    }
    return cmd;
  }

  /// Healthy when the agent card is fetched and parsed within TIMEOUT_S per request.
  agents::Health health(double timeout_s) const override {
    ClientArgs args;
    args.url = spec_.url;
    args.bearer_env = spec_.bearer_env;
    args.header = spec_.header;
    args.header_env = spec_.header_env;
    agents::Health h;
    Result<std::string> card = probe_card(args, timeout_s);
    h.healthy = card.has_value();
    h.detail = card ? *card : card.error().message;
    return h;
  }

  agents::AgentResult parse(const exec::ProcessResult& process) const override {
    json line;
    agents::AgentResult r =
        agents::parse_adapter_result(process, "a2a", "a2a", name_ + " over A2A", &line);
    // Exit 3 with the question: not a failure but a gate (a2a/client.h).
    if (string_field(line, "state") == "input-required" && line.contains("question") &&
        process.status.kind == exec::ExitStatus::Kind::kExited && process.status.code == 3) {
      r.question = string_field(line, "question");
      r.error = string_field(line, "error");
      r.error_class = agents::ErrorClass::kNone;
    }
    return r;
  }

  std::string abandon(std::string_view log) const override {
    std::vector<std::pair<std::string, std::string>> headers;
    auto value = [](const std::string& env) -> std::string {
      const char* v = std::getenv(env.c_str());
      return v ? v : "";
    };
    if (!spec_.bearer_env.empty())
      headers.emplace_back("Authorization", "Bearer " + value(spec_.bearer_env));
    if (!spec_.header.empty()) headers.emplace_back(spec_.header, value(spec_.header_env));
    return cancel_waiting_task(log, headers);
  }

  std::string transcript(std::string_view log) const override {
    agents::TranscriptBuilder t;
    agents::for_each_log_event(
        log,
        [&](const json& e) {
          std::string kind = string_field(e, "a2a");
          if (kind == "card") {
            t.note("agent card: A2A " + string_field(e, "version") + " at " +
                   string_field(e, "endpoint"));
          } else if (kind == "task") {
            t.note("remote task " + string_field(e, "id"));
          } else if (kind == "status") {
            std::string text = string_field(e, "text");
            t.note("status " + string_field(e, "state") + (text.empty() ? "" : ": " + text));
          } else if (kind == "file") {
            t.note("wrote " + string_field(e, "path"));
          } else if (kind == "note") {
            t.note(string_field(e, "text"));
          }
        },
        [&](std::string_view line) { t.other(line); });
    return t.finish(parse(agents::log_as_process(log)));
  }

 private:
  std::string name_;
  RemoteAgentSpec spec_;
};

}  // namespace

Result<std::unique_ptr<agents::Invoker>> make_a2a_invoker(const std::string& name,
                                                          const RemoteAgentSpec& spec) {
  if (spec.url.rfind("http://", 0) != 0 && spec.url.rfind("https://", 0) != 0) {
    return fail("custom agent '" + name + "': a2a.url must be an http:// or https:// URL, not '" +
                spec.url + "'");
  }
  if (spec.header.empty() != spec.header_env.empty()) {
    return fail("custom agent '" + name + "': a2a.auth needs both 'header' and 'env'");
  }
  return std::make_unique<A2aInvoker>(name, spec);
}

Result<void> register_a2a_agent(const std::string& name, const RemoteAgentSpec& spec) {
  auto invoker = make_a2a_invoker(name, spec);
  if (!invoker) return tl::unexpected(invoker.error());
  return agents::register_agent_invoker(name, std::move(*invoker));
}

std::string current_step(std::string_view tail) {
  size_t at = tail.rfind("{\"a2a\":\"status\"");
  if (at == std::string_view::npos) return "";
  std::string_view line = tail.substr(at);
  line = line.substr(0, line.find('\n'));
  json e = json::parse(line, nullptr, false);
  if (!e.is_object()) return "";
  std::string text = string_field(e, "text");
  std::string step = string_field(e, "state") + (text.empty() ? "" : ": " + text);
  for (char& c : step) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (step.size() > 120) step = step.substr(0, 117) + "...";
  return step;
}

std::string a2a_transcript(const std::string& agent, std::string_view log) {
  return A2aInvoker(agent, RemoteAgentSpec{}).transcript(log);
}

bool is_a2a_log(std::string_view log) {
  return log.find("{\"a2a\":\"start\"") != std::string_view::npos;
}

}  // namespace baton::a2a
