#include "engine/attempt.h"

#include <filesystem>

#include "agents/prompt.h"

namespace baton::engine {

namespace {

Result<std::string> render_text(const std::string& text, const std::string& where,
                                const expr::Scope& scope) {
  auto tmpl = expr::parse_template(text);
  if (!tmpl) return fail(where + ": " + tmpl.error().message);
  auto out = expr::render(*tmpl, scope);
  if (!out) return fail(where + ": " + out.error());
  return *out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// A parameter value as prompt text: strings rendered, anything else as JSON with
// its string leaves rendered.
Result<std::string> render_value(const nlohmann::json& value, const std::string& where,
                                 const expr::Scope& scope) {
  if (value.is_string()) return render_text(value.get<std::string>(), where, scope);
  nlohmann::json copy = value;
  std::vector<std::pair<nlohmann::json*, std::string>> stack{{&copy, where}};
  while (!stack.empty()) {
    auto [node, path] = stack.back();
    stack.pop_back();
    if (node->is_string()) {
      auto text = render_text(node->get<std::string>(), path, scope);
      if (!text) return tl::unexpected(text.error());
      *node = *text;
    } else if (node->is_object()) {
      for (auto it = node->begin(); it != node->end(); ++it) {
        stack.push_back({&it.value(), path + "." + it.key()});
      }
    } else if (node->is_array()) {
      for (size_t i = 0; i < node->size(); ++i) {
        stack.push_back({&(*node)[i], path + "[" + std::to_string(i) + "]"});
      }
    }
  }
  return copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

AgentResolver::AgentResolver(std::map<std::string, workflow::RoleSpec> roles)
    : roles_(std::move(roles)) {}

bool AgentResolver::installed(const std::string& agent) {
  auto it = installed_.find(agent);
  if (it != installed_.end()) return it->second;
  const agents::Invoker* invoker = agents::find_invoker(agent);
  bool ok = invoker && !agents::find_executable(invoker->executable()).empty();
  installed_[agent] = ok;
  return ok;
}

Result<std::vector<std::string>> AgentResolver::candidates(const std::string& agent_or_role) {
  auto role = roles_.find(agent_or_role);
  if (role == roles_.end()) {
    if (!agents::find_invoker(agent_or_role)) {
      return fail("agent '" + agent_or_role + "' is not supported yet by this baton");
    }
    if (!installed(agent_or_role)) {
      return fail("agent '" + agent_or_role + "' is not installed (not found in PATH)");
    }
    return std::vector<std::string>{agent_or_role};
  }
  std::vector<std::string> found;
  std::string tried;
  for (const std::string& agent : role->second.use) {
    if (installed(agent)) found.push_back(agent);
    tried += (tried.empty() ? "" : ", ") + agent;
  }
  if (found.empty()) {
    return fail("no agent for role '" + agent_or_role + "' is installed (tried: " + tried + ")");
  }
  return found;
}

std::string AgentResolver::instructions(const std::string& agent_or_role) const {
  auto role = roles_.find(agent_or_role);
  return role == roles_.end() ? "" : role->second.instructions;
}

Result<std::pair<std::string, std::string>> AgentResolver::resolve(
    const std::string& agent_or_role) {
  auto found = candidates(agent_or_role);
  if (!found) return tl::unexpected(found.error());
  return std::pair<std::string, std::string>{found->front(), instructions(agent_or_role)};
}

Result<std::string> render_prompt(const workflow::TaskSpec& spec, const std::string& instructions,
                                  const expr::Scope& scope) {
  std::string task_text;
  std::vector<std::pair<std::string, std::string>> context;
  if (spec.parameters().is_object()) {
    for (auto it = spec.parameters().begin(); it != spec.parameters().end(); ++it) {
      auto text = render_value(it.value(), "parameters." + it.key(), scope);
      if (!text) return tl::unexpected(text.error());
      if (it.key() == "task") {
        task_text = *text;
      } else {
        context.emplace_back(it.key(), *text);
      }
    }
  }
  if (task_text.empty()) {
    auto text = render_text(spec.description(), "description", scope);
    if (!text) return tl::unexpected(text.error());
    task_text = *text;
  }
  if (task_text.empty())
    return fail("task '" + spec.id + "' has no parameters.task or description");
  return agents::build_prompt(instructions, task_text, context);
}

Result<PreparedAttempt> prepare_attempt(const workflow::TaskSpec& spec, const AttemptPlace& place,
                                        const expr::Scope& scope, AgentResolver& agents) {
  PreparedAttempt out;
  exec::ProcessSpec& p = out.process;
  p.log_path = place.log_path;
  p.timeout_s = place.timeout_s;
  p.kill_grace_s = place.kill_grace_s;
  p.cwd = place.root_dir;
  if (!spec.workdir().empty()) {
    auto dir = render_text(spec.workdir(), "workdir", scope);
    if (!dir) return tl::unexpected(dir.error());
    std::filesystem::path path(*dir);
    p.cwd = path.is_absolute() ? path.string()
                               : (std::filesystem::path(place.root_dir) / path).string();
  }
  for (const auto& [name, value] : spec.env()) {
    auto text = render_text(value, "env." + name, scope);
    if (!text) return tl::unexpected(text.error());
    p.env[name] = *text;
  }
  p.env["BATON_RUN_ID"] = place.run_id;
  p.env["BATON_TASK_ID"] = place.task_id;
  p.env["BATON_ATTEMPT"] = std::to_string(place.attempt);
  if (place.secrets) {
    if (auto r = place.secrets->apply(spec, p); !r) return tl::unexpected(r.error());
  }

  if (spec.run_shell) {
    auto text = render_text(*spec.run_shell, "run", scope);
    if (!text) return tl::unexpected(text.error());
    p.argv = {"/bin/sh", "-c", *text};
    return out;
  }
  if (spec.run_argv) {
    for (size_t i = 0; i < spec.run_argv->size(); ++i) {
      auto text = render_text((*spec.run_argv)[i], "run[" + std::to_string(i) + "]", scope);
      if (!text) return tl::unexpected(text.error());
      p.argv.push_back(*text);
    }
    return out;
  }
  if (place.agent.empty()) {
    auto chosen = agents.resolve(spec.agent);
    if (!chosen) return tl::unexpected(chosen.error());
    out.agent = chosen->first;
  } else {
    out.agent = place.agent;
  }
  out.invoker = agents::find_invoker(out.agent);
  if (!out.invoker) return fail("agent '" + out.agent + "' is not supported yet by this baton");
  auto prompt = render_prompt(spec, agents.instructions(spec.agent), scope);
  if (!prompt) return tl::unexpected(prompt.error());
  agents::Invocation inv;
  inv.prompt = *prompt;
  inv.workdir = p.cwd;
  inv.model = spec.model();
  inv.max_turns = spec.max_turns;
  inv.resume_session_id = place.resume_session_id;
  agents::Command cmd = out.invoker->build_command(inv);
  p.argv = cmd.argv;
  for (auto& [k, v] : cmd.env) p.env[k] = v;
  p.stdin_data = cmd.stdin_data;
  return out;
}

AttemptOutcome judge_attempt(const PreparedAttempt& attempt, const exec::ProcessResult& result,
                             store::AttemptRecord& record) {
  AttemptOutcome out;
  out.agent = attempt.agent;
  const exec::ExitStatus& status = result.status;
  if (status.kind == exec::ExitStatus::Kind::kExited) out.exit_code = status.code;
  out.cancelled = status.kind == exec::ExitStatus::Kind::kCancelled;
  record.exit_status = status.to_string();
  record.exit_code = out.exit_code;
  if (!attempt.invoker) {
    out.success = status.success();
    out.output = trim(result.stdout_text);
    if (!out.output.empty() && out.output.front() == '{') {
      auto parsed = nlohmann::json::parse(out.output, nullptr, false);
      if (parsed.is_object()) out.outputs = parsed;
    }
    if (!out.success) out.reason = status.to_string();
    if (out.cancelled) record.error_class = "cancelled";
    if (status.kind == exec::ExitStatus::Kind::kTimedOut) record.error_class = "timeout";
    if (status.kind == exec::ExitStatus::Kind::kFailedToStart) out.retryable = false;
  } else {
    agents::AgentResult r = attempt.invoker->parse(result);
    out.success = r.success;
    out.output = r.text;
    out.retryable = r.error_class != agents::ErrorClass::kAuth;
    out.error_class = agents::to_string(r.error_class);
    out.session_id = r.session_id;
    out.cost_usd = r.cost_usd;
    out.retry_after_s = r.retry_after_s;
    out.cancelled = out.cancelled || r.error_class == agents::ErrorClass::kCancelled;
    record.session_id = r.session_id;
    record.input_tokens = r.usage.input_tokens;
    record.output_tokens = r.usage.output_tokens;
    record.cached_tokens = r.usage.cached_tokens;
    record.cost_usd = r.cost_usd;
    record.error_class = agents::to_string(r.error_class);
    if (!r.success) {
      out.reason = r.error.empty() ? status.to_string() : r.error;
      if (r.error_class != agents::ErrorClass::kNone) {
        out.reason = std::string(agents::to_string(r.error_class)) + ": " + out.reason;
      }
    }
  }
  if (!result.output_error.empty()) {
    // Output that never reached the disk (a full disk, an I/O error): the log or the
    // captured stdout is incomplete, so the attempt cannot count as a success.
    out.success = false;
    out.reason += out.reason.empty() ? "" : "; ";
    out.reason += "output incomplete: " + result.output_error;
  } else if (result.stdout_truncated) {
    out.reason += out.reason.empty() ? "" : "; ";
    out.reason += "stdout exceeded the in-memory limit (complete in the log)";
  }
  record.output = out.output;
  record.error = out.reason;
  record.status = out.success ? "success" : (out.cancelled ? "cancelled" : "failed");
  record.pid = result.pid;
  record.ended_at = result.ended_at;
  return out;
}

}  // namespace baton::engine
