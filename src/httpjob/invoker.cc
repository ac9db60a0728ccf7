#include "httpjob/invoker.h"

#include "agents/custom.h"
#include "agents/json_fields.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"
#include "httpjob/config_profile.h"
#include "httpjob/health.h"
#include "httpjob/input.h"
#include "httpjob/profile.h"
#include "util/self_exe.h"

namespace baton::httpjob {

namespace {

using nlohmann::json;

using agents::string_field;

class HttpJobInvoker final : public agents::Invoker {
 public:
  HttpJobInvoker(std::string name, HttpJobSpec spec)
      : name_(std::move(name)), spec_(std::move(spec)) {}

  std::string name() const override { return name_; }
  std::string executable() const override { return self_executable().value_or("baton"); }

  agents::Command build_command(const agents::Invocation& inv) const override {
    agents::Command cmd;
    cmd.argv = {self_executable().value_or("baton"),
                "__http-job",
                "--profile",
                spec_.profile,
                "--url",
                spec_.url};
    if (!spec_.profile_document.is_null()) {
      cmd.argv.insert(cmd.argv.end(), {"--profile-json", spec_.profile_document.dump()});
    }
    auto add = [&](const char* option, const std::string& value) {
      if (!value.empty()) cmd.argv.insert(cmd.argv.end(), {option, value});
    };
    add("--assistant-id", spec_.assistant_id);
    add("--input-key", spec_.input_key);
    add("--output-key", spec_.output_key);
    add("--auth-env", spec_.auth_env);
    add("--key", inv.idempotency_key);
    cmd.stdin_data = inv.prompt;
    if (inv.answer) {
      // The previous attempt's question gets this answer, on the same remote job.
      cmd.argv.push_back("--answer");
      cmd.stdin_data = *inv.answer;
    }
    return cmd;
  }

  // The profile's health call (httpjob/health.h), not the local executable.
  agents::Health health(double timeout_s) const override {
    auto profile = load_profile(spec_.profile, spec_.profile_document);
    if (!profile) return {false, profile.error().message};
    return check_health(*profile, spec_.url, spec_.auth_env, timeout_s);
  }

  agents::AgentResult parse(const exec::ProcessResult& process) const override {
    json line;
    agents::AgentResult r =
        agents::parse_adapter_result(process, "httpjob", "http job", name_ + " (HTTP job)", &line);
    // Exit 3 with the question: not a failure but a gate (httpjob/input.h).
    if (string_field(line, "state") == "needs_input" && line.contains("question") &&
        process.status.kind == exec::ExitStatus::Kind::kExited &&
        process.status.code == kExitNeedsInput) {
      r.question = string_field(line, "question");
      r.error = string_field(line, "error");
      r.error_class = agents::ErrorClass::kNone;
    }
    return r;
  }

  // Nothing is sent (input.h): a job waiting for input runs nothing; the note names what
  // is left waiting on the server.
  std::string abandon(std::string_view log) const override { return abandoned_job_note(log); }

  std::string transcript(std::string_view log) const override {
    agents::TranscriptBuilder t;
    agents::for_each_log_event(
        log,
        [&](const json& e) {
          std::string kind = string_field(e, "httpjob");
          if (kind == "dispatch") {
            t.note("dispatched to " + string_field(e, "url") + " (" + string_field(e, "profile") +
                   ", key " + string_field(e, "key") + ")");
          } else if (kind == "job") {
            t.note("job " + string_field(e, "id"));
          } else if (kind == "status") {
            std::string detail = string_field(e, "detail");
            t.note("status " + string_field(e, "status") + (detail.empty() ? "" : ": " + detail));
          } else if (kind == "note") {
            t.note(string_field(e, "text"));
          } else if (kind == "callback") {  // callback mode (httpjob/callback.h)
            t.note("callback: " +
                   (string_field(e, "status").empty() ? "job changed" : string_field(e, "status")));
          }
        },
        [&](std::string_view line) { t.other(line); });
    return t.finish(parse(agents::log_as_process(log)));
  }

 private:
  std::string name_;
  HttpJobSpec spec_;
};

}  // namespace

Result<std::unique_ptr<agents::Invoker>> make_http_job_invoker(const std::string& name,
                                                               const HttpJobSpec& spec) {
  const std::string where = "custom agent '" + name + "': ";
  if (spec.url.rfind("http://", 0) != 0) {
    return fail(where + "http_job.url must be an http:// URL, not '" + spec.url + "'");
  }
  auto profile = load_profile(spec.profile, spec.profile_document);
  if (!profile) return fail(where + "http_job.profile: " + profile.error().message);
  if (spec.assistant_id.empty() && spec.profile_document.is_null() &&
      spec.profile.rfind("langgraph", 0) == 0) {
    return fail(where + "http_job.assistant_id is required by the " + spec.profile + " profile");
  }
  if (spec.assistant_id.empty() &&
      spec.profile_document.dump().find("{assistant_id}") != std::string::npos) {
    return fail(where + "http_job.assistant_id is required: the profile uses {assistant_id}");
  }
  return std::make_unique<HttpJobInvoker>(name, spec);
}

Result<void> register_http_job_agent(const std::string& name, const HttpJobSpec& spec) {
  auto invoker = make_http_job_invoker(name, spec);
  if (!invoker) return tl::unexpected(invoker.error());
  return agents::register_agent_invoker(name, std::move(*invoker));
}

std::string current_step(std::string_view tail) {
  // Status lines are written with sorted keys: {"detail":D,"httpjob":"status",...}.
  size_t at = tail.rfind("\"httpjob\":\"status\"");
  if (at == std::string_view::npos) return "";
  size_t begin = tail.rfind('\n', at);
  std::string_view line = tail.substr(begin == std::string_view::npos ? 0 : begin + 1);
  line = line.substr(0, line.find('\n'));
  json e = json::parse(line, nullptr, false);
  if (!e.is_object()) return "";
  std::string detail = string_field(e, "detail");
  std::string step = string_field(e, "status") + (detail.empty() ? "" : ": " + detail);
  for (char& c : step) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (step.size() > 120) step = step.substr(0, 117) + "...";
  return step;
}

bool is_http_job_log(std::string_view log) {
  return log.find("{\"httpjob\":\"start\"") != std::string_view::npos;
}

std::string http_job_transcript(const std::string& agent, std::string_view log) {
  return HttpJobInvoker(agent, HttpJobSpec{}).transcript(log);
}

}  // namespace baton::httpjob
