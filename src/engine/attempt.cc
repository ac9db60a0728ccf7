#include "engine/attempt.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "acp/invoker.h"
#include "agents/prompt.h"
#include "engine/iteration.h"
#include "engine/review.h"
#include "expr/shell.h"
#include "util/text.h"

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

// A `run:` string: values quoted for the shell context they land in (expr/shell.h).
Result<std::string> render_shell_text(const std::string& text, const expr::Scope& scope) {
  auto tmpl = expr::parse_template(text);
  if (!tmpl) return fail("run: " + tmpl.error().message);
  auto out = expr::render_shell(*tmpl, scope);
  if (!out) return fail("run: " + out.error());
  return *out;
}

// A value bound for a command line, the environment or a path: a C string there, so a
// NUL byte would silently cut it short ("${x}/build" with x = "/\0" would become "/").
Result<std::string> without_nul(Result<std::string> text, const std::string& where) {
  if (text && text->find('\0') != std::string::npos) {
    return fail(where + ": the value contains a NUL byte, which a command line, the " +
                "environment or a path cannot hold");
  }
  return text;
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

const workflow::RoleSpec* AgentResolver::role(const std::string& agent_or_role) const {
  auto it = roles_.find(agent_or_role);
  return it == roles_.end() ? nullptr : &it->second;
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

Result<std::string> resolve_workdir(const std::string& root, const std::string& workdir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path base = fs::canonical(root, ec);
  if (ec) return fail("workdir: cannot resolve the task's directory " + root + ": " + ec.message());
  fs::path wanted(workdir);
  // weakly_canonical follows every symlink of the part that exists (one planted by an
  // earlier task included) and normalizes the rest lexically.
  fs::path resolved = fs::weakly_canonical(wanted.is_absolute() ? wanted : base / wanted, ec);
  if (ec) return fail("workdir '" + workdir + "': " + ec.message());
  auto [b, r] = std::mismatch(base.begin(), base.end(), resolved.begin(), resolved.end());
  if (b != base.end()) {
    return fail("workdir '" + workdir + "' resolves to " + resolved.string() +
                ", outside the task's directory " + base.string());
  }
  fs::path rest = resolved.lexically_relative(base);
  return rest.empty() || rest == "." ? root : (fs::path(root) / rest).string();
}

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  return without_partial_character(text.substr(0, max_bytes));
}

std::string_view without_partial_character(std::string_view text) {
  // Back over up to three continuation bytes (10xxxxxx) to the last lead byte.
  size_t i = text.size();
  int continuation = 0;
  while (i > 0 && continuation < 3 && (static_cast<unsigned char>(text[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++continuation;
  }
  if (i == 0) return text;
  const auto lead = static_cast<unsigned char>(text[i - 1]);
  const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (length > 1 && i - 1 + length > text.size()) return text.substr(0, i - 1);
  return text;
}

std::string cut_output(std::string_view output, size_t max_bytes, const std::string& log_path) {
  // The capture may have cut a character too: its head goes with it.
  std::string_view kept = without_partial_character(output.substr(0, max_bytes));
  std::string out(kept);
  out += "\n";
  out += kOutputCutMarker;
  out += std::to_string(kept.size()) + " bytes; full log: " + log_path + "]";
  return out;
}

bool output_was_cut(std::string_view output) {
  if (output.empty() || output.back() != ']') return false;
  size_t at = output.rfind(kOutputCutMarker);
  // The marker is the last line: nothing after it but its own text.
  return at != std::string_view::npos && output.find('\n', at) == std::string_view::npos;
}

std::string idempotency_key(const AttemptPlace& place) {
  std::string key =
      "baton-" + place.run_id + "-" + place.task_id + "-" + std::to_string(place.attempt);
  if (place.review && place.review->reviewing)
    key += "-review-" + std::to_string(place.review->cycle);
  return key;
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
    auto dir = without_nul(render_text(spec.workdir(), "workdir", scope), "workdir");
    if (!dir) return tl::unexpected(dir.error());
    auto cwd = resolve_workdir(place.root_dir, *dir);
    if (!cwd) return tl::unexpected(cwd.error());
    p.cwd = *cwd;
  }
  out.typed_outputs = typed_outputs_of(spec.outputs());
  for (const auto& [name, value] : spec.env()) {
    auto text = without_nul(render_text(value, "env." + name, scope), "env." + name);
    if (!text) return tl::unexpected(text.error());
    p.env[name] = *text;
  }
  p.env["BATON_RUN_ID"] = place.run_id;
  p.env["BATON_TASK_ID"] = place.task_id;
  p.env["BATON_ATTEMPT"] = std::to_string(place.attempt);
  // Where this attempt's log is: an A2A attempt reads its predecessors' logs beside it
  // to re-attach to a remote task one of them left running (a2a/client.h).
  p.env["BATON_ATTEMPT_LOG"] = place.log_path;
  if (place.secrets) {
    if (auto r = place.secrets->apply(spec, p); !r) return tl::unexpected(r.error());
  }

  // A command's output is its stdout: no more than the output keeps is captured.
  p.max_capture_bytes = kMaxTaskOutputBytes;
  if (spec.run_shell) {
    auto text = render_shell_text(*spec.run_shell, scope);
    if (!text) return tl::unexpected(text.error());
    p.argv = {"/bin/sh", "-c", *text};
    return out;
  }
  if (spec.run_argv) {
    for (size_t i = 0; i < spec.run_argv->size(); ++i) {
      const std::string where = "run[" + std::to_string(i) + "]";
      auto text = without_nul(render_text((*spec.run_argv)[i], where, scope), where);
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
  if (workflow::agent_via_of(spec, agents.role(spec.agent)) == workflow::AgentVia::kAcp) {
    auto policy =
        acp::parse_permission_policy(workflow::acp_permission_of(spec, agents.role(spec.agent)));
    out.invoker = acp::acp_invoker(out.agent, policy.value_or(acp::PermissionPolicy::kDeny));
    if (!out.invoker)
      return fail("agent '" + out.agent + "' cannot be driven over ACP by this baton");
  }
  const bool reviewing = place.review && place.review->reviewing && spec.review;
  auto prompt = render_prompt(spec, reviewing ? "" : agents.instructions(spec.agent), scope);
  if (!prompt) return tl::unexpected(prompt.error());
  if (reviewing) {
    // The reviewer's role instructions, then the review's own: plain text, never
    // rendered (the diff and the task's output may hold anything).
    std::string instructions = agents.instructions(spec.review->agent);
    if (!spec.review->instructions.empty()) {
      instructions += (instructions.empty() ? "" : "\n\n") + spec.review->instructions;
    }
    *prompt = review_prompt(instructions, *prompt, place.review->diff, place.review->cycle,
                            place.review->max_cycles);
  } else if (place.review) {
    *prompt = rework_prompt(*prompt, place.review->feedback, place.review->cycle,
                            place.review->max_cycles);
  }
  if (reviewing) {
    out.typed_outputs.clear();  // a reviewer answers with a verdict, not the task's outputs
  } else if (!out.typed_outputs.empty()) {
    *prompt += "\n\n" + typed_outputs_prompt(out.typed_outputs);
  }
  agents::Invocation inv;
  inv.prompt = place.feedback.empty() ? *prompt : prompt_with_feedback(place.feedback, *prompt);
  inv.workdir = p.cwd;
  inv.model = reviewing ? "" : spec.model();
  inv.max_turns = spec.max_turns;
  inv.resume_session_id = place.resume_session_id;
  inv.answer = place.answer;
  inv.idempotency_key = idempotency_key(place);
  agents::Command cmd = out.invoker->build_command(inv);
  // A prompt passed as an argument (opencode, copilot, a custom agent with
  // `prompt: arg`) is a C string there: a NUL would cut it short without a word.
  for (const std::string& arg : cmd.argv) {
    if (arg.find('\0') != std::string::npos) {
      return fail("prompt: the prompt contains a NUL byte, which " + out.agent +
                  "'s command line cannot hold (it takes the prompt as an argument)");
    }
  }
  // The agent's answer is parsed from its whole stdout (JSON events): that is captured up
  // to exec's default, and the answer is cut to kMaxTaskOutputBytes afterwards.
  p.max_capture_bytes = exec::ProcessSpec{}.max_capture_bytes;
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
  out.timed_out = status.kind == exec::ExitStatus::Kind::kTimedOut;
  record.exit_status = status.to_string();
  record.exit_code = out.exit_code;
  if (!attempt.invoker) {
    out.success = status.success();
    if (result.stdout_truncated) {
      // Only the head was captured: its trailing whitespace is not the output's end.
      std::string_view head = result.stdout_text;
      size_t start = head.find_first_not_of(" \t\r\n");
      head.remove_prefix(start == std::string_view::npos ? head.size() : start);
      out.output = cut_output(head, kMaxTaskOutputBytes, attempt.process.log_path);
      out.output_truncated = true;
    } else {
      out.output = trim(result.stdout_text);
    }
    if (!out.output_truncated && !out.output.empty() && out.output.front() == '{') {
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
    if (r.text.size() > kMaxTaskOutputBytes) {
      out.output = cut_output(r.text, kMaxTaskOutputBytes, attempt.process.log_path);
      out.output_truncated = true;
    } else {
      out.output = std::move(r.text);
    }
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
    out.question = r.question;
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
  } else if (result.stdout_truncated && attempt.invoker) {
    // An agent's answer is parsed from its stdout, of which only the head was kept. (A
    // command's cut output is marked in the output itself and by task.output_truncated.)
    out.reason += out.reason.empty() ? "" : "; ";
    out.reason += "stdout exceeded the in-memory limit (complete in the log)";
  }
  if (out.success && !attempt.typed_outputs.empty()) {
    // Typed outputs (typed_outputs.h): from the answer's last ```json block holding them
    // and the files named; a missing or mistyped one fails the attempt, retried by policy.
    char* real = ::realpath(attempt.process.cwd.c_str(), nullptr);
    std::string dir = real ? std::string(real) : attempt.process.cwd;
    std::free(real);
    auto typed = extract_typed_outputs(attempt.typed_outputs, out.output, dir);
    if (typed) {
      if (!out.outputs.is_object()) out.outputs = nlohmann::json::object();
      for (auto& [k, v] : typed->items()) out.outputs[k] = v;
    } else {
      out.success = false;
      out.retryable = true;
      out.reason = typed.error().message;
      out.error_class = "bad_output";
      record.error_class = "bad_output";
    }
  }
  record.error = out.reason;
  record.status = out.success ? "success" : (out.cancelled ? "cancelled" : "failed");
  if (out.question && !out.success && !out.cancelled) {
    // Not a failure: the agent waits for a person's answer (docs/agents.md).
    record.status = "input_required";
    record.error = "input required: " + *out.question;
    record.error_class.clear();
  }
  record_process(result, record);
  return out;
}

void record_process(const exec::ProcessResult& result, store::AttemptRecord& record) {
  record.pid = result.pid;
  // When the process started (the supervisor's record, read just before its clone), not
  // when the driver prepared it: a start that waited for a commit, a slot of the
  // supervisor or a Slurm node is not counted as the attempt's run time.
  if (result.started_at > 0) record.started_at = result.started_at;
  record.ended_at = result.ended_at;
}

}  // namespace baton::engine
