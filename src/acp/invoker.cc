#include "acp/invoker.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "acp/outcome.h"
#include "agents/json_fields.h"
#include "agents/output_parsing.h"
#include "agents/transcript.h"
#include "util/self_exe.h"

namespace baton::acp {

namespace {

using agents::string_field;

// How each agent baton drives over ACP is started, measured with the pinned CLIs
// (package.json). Every field is data of acp_spec().
const std::vector<AcpAgentSpec>& specs() {
  static const std::vector<AcpAgentSpec> all = [] {
    std::vector<AcpAgentSpec> v;
    AcpAgentSpec gemini;
    gemini.agent = "gemini";
    gemini.argv = {"gemini", "--acp"};
    gemini.auth_methods = {"gemini-api-key"};
    // gemini-cli 0.61 fails every write of a new file when reads go through the
    // client: it reads its files itself.
    gemini.offer_fs_read = false;
    gemini.model_flag = "-m";
    v.push_back(gemini);
    AcpAgentSpec qwen;
    qwen.agent = "qwen";
    qwen.argv = {"qwen", "--acp"};
    qwen.auth_methods = {"openai"};
    qwen.model_flag = "-m";
    v.push_back(qwen);
    // opencode and Kilo ask the client only for what their permission rules say
    // "ask"; these override the configuration's (rehearsal's "allow") so that baton's
    // policy decides edits, shell commands and paths outside the project.
    const std::string ask = R"({"edit":"ask","bash":"ask","external_directory":"ask"})";
    AcpAgentSpec opencode;
    opencode.agent = "opencode";
    opencode.argv = {"opencode", "acp"};
    opencode.env = {{"OPENCODE_PERMISSION", ask}};
    v.push_back(opencode);
    AcpAgentSpec kilo;
    kilo.agent = "kilocode";
    kilo.argv = {"kilo", "acp"};
    kilo.env = {{"KILO_PERMISSION", ask}};
    v.push_back(kilo);
    AcpAgentSpec copilot;
    copilot.agent = "copilot";
    copilot.argv = {"copilot", "--acp"};
    copilot.model_flag = "--model";
    v.push_back(copilot);
    AcpAgentSpec claude;
    claude.agent = "claude";
    claude.argv = {"claude-code-acp"};
    claude.env = {{"IS_SANDBOX", ""}};
    v.push_back(claude);
    // Codex through codex-acp: its sandbox keeps commands' writes in the workspace
    // (not /tmp, where tasks may live), and with "on-request" it asks only to leave
    // it; with "untrusted" an approved command would run unsandboxed.
    AcpAgentSpec codex;
    codex.agent = "codex";
    codex.argv = {"codex-acp",
                  "-c",
                  "approval_policy=\"on-request\"",
                  "-c",
                  "sandbox_mode=\"workspace-write\"",
                  "-c",
                  "sandbox_workspace_write.exclude_slash_tmp=true",
                  "-c",
                  "sandbox_workspace_write.exclude_tmpdir_env_var=true"};
    codex.commands_leave_sandbox = true;
    v.push_back(codex);
    return v;
  }();
  return all;
}

// The text of a tool call's content blocks: [{type:"content", content:{type:"text",
// text}}, {type:"diff", path, ...}, {type:"terminal", terminalId}].
std::string tool_content_text(const nlohmann::json& content) {
  std::string out;
  if (!content.is_array()) return out;
  for (const nlohmann::json& c : content) {
    std::string piece;
    if (string_field(c, "type") == "content" && c.contains("content"))
      piece = string_field(c["content"], "text");
    if (string_field(c, "type") == "diff") piece = "diff " + string_field(c, "path");
    if (piece.empty()) continue;
    out += (out.empty() ? "" : "\n") + piece;
  }
  return out;
}

class AcpInvoker final : public agents::Invoker {
 public:
  AcpInvoker(const agents::Invoker* base, AcpAgentSpec spec, PermissionPolicy policy)
      : base_(base), spec_(std::move(spec)), policy_(policy) {}

  std::string name() const override { return base_->name(); }
  std::string executable() const override { return spec_.argv.front(); }

  agents::Command build_command(const agents::Invocation& inv) const override {
    agents::Command cmd;
    cmd.argv = {self_executable().value_or("baton"),     "__acp-bridge", "--cwd",
                inv.workdir.empty() ? "." : inv.workdir, "--permission", to_string(policy_)};
    if (!inv.resume_session_id.empty()) {
      cmd.argv.insert(cmd.argv.end(), {"--resume", inv.resume_session_id});
    }
    for (const std::string& m : spec_.auth_methods) cmd.argv.insert(cmd.argv.end(), {"--auth", m});
    if (!spec_.offer_fs_read) cmd.argv.push_back("--no-fs-read");
    if (spec_.commands_leave_sandbox) cmd.argv.push_back("--commands-leave-sandbox");
    cmd.argv.push_back("--");
    cmd.argv.insert(cmd.argv.end(), spec_.argv.begin(), spec_.argv.end());
    if (!inv.model.empty() && !spec_.model_flag.empty()) {
      cmd.argv.insert(cmd.argv.end(), {spec_.model_flag, inv.model});
    }
    for (const auto& [k, v] : spec_.env) cmd.env[k] = v;
    cmd.stdin_data = inv.prompt;
    return cmd;
  }

  agents::AgentResult parse(const exec::ProcessResult& process) const override {
    std::vector<nlohmann::json> lines = agents::parse_json_lines(process.stdout_text);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      std::optional<Outcome> o = outcome_from_json(*it);
      if (!o) continue;
      agents::AgentResult r;
      r.success = o->success && process.status.success();
      r.text = o->text;
      r.session_id = o->session_id;
      r.usage = o->usage;
      r.num_turns = o->tool_calls + 1;
      r.error_class = o->error_class;
      r.error = o->error;
      if (o->success && !process.status.success()) agents::fail_with_exit(process, &r);
      // The bridge cannot tell baton's timeout from a cancel (both are a SIGTERM to
      // it); the supervisor can.
      using Kind = exec::ExitStatus::Kind;
      if (process.status.kind == Kind::kTimedOut || process.status.kind == Kind::kCancelled) {
        r.success = false;
        bool timed_out = process.status.kind == Kind::kTimedOut;
        r.error_class = timed_out ? agents::ErrorClass::kTimeout : agents::ErrorClass::kCancelled;
        r.error =
            timed_out ? process.status.to_string() + " (the turn was cancelled)" : "cancelled";
      }
      if (!r.success && r.error.empty()) r.error = "acp: " + process.status.to_string();
      return r;
    }
    return agents::missing_result(process, name() + " over ACP printed no result");
  }

  std::string transcript(std::string_view log) const override {
    agents::TranscriptBuilder t;
    std::string reply;
    std::set<std::string> seen;  // tool call ids already shown
    auto flush = [&] {
      t.message(reply);
      reply.clear();
    };
    agents::for_each_log_event(
        log,
        [&](const nlohmann::json& e) {
          std::string kind = string_field(e, "acp");
          if (kind == "permission") {
            flush();
            t.note("permission " + string_field(e, "decision") + ": " + string_field(e, "tool") +
                   " (" + string_field(e, "reason") + ")");
          } else if (kind == "fs_denied") {
            flush();
            t.note("refused " + string_field(e, "method") + " " + string_field(e, "path") + ": " +
                   string_field(e, "reason"));
          } else if (kind == "note") {
            flush();
            t.note(string_field(e, "text"));
          } else if (kind == "invalid") {
            flush();
            t.note("malformed message: " + string_field(e, "reason"));
          } else if (kind == "recv" && e.contains("message")) {
            const nlohmann::json& m = e["message"];
            auto tool_call = [&](const nlohmann::json& u) {
              flush();
              std::string id = string_field(u, "toolCallId");
              if (!id.empty() && !seen.insert(id).second) return;
              std::string kind_of = string_field(u, "kind");
              t.tool_call_text(kind_of.empty() ? "call" : kind_of, string_field(u, "title"));
            };
            if (string_field(m, "method") == "session/request_permission" && m.contains("params") &&
                m["params"].is_object() && m["params"].contains("toolCall")) {
              tool_call(m["params"]["toolCall"]);
              return;
            }
            if (string_field(m, "method") != "session/update" || !m.contains("params")) return;
            const nlohmann::json& p = m["params"];
            if (!p.is_object() || !p.contains("update")) return;
            const nlohmann::json& u = p["update"];
            std::string what = string_field(u, "sessionUpdate");
            if (what == "agent_message_chunk" && u.contains("content")) {
              reply += string_field(u["content"], "text");
            } else if (what == "tool_call") {
              tool_call(u);
            } else if (what == "tool_call_update") {
              std::string status = string_field(u, "status");
              if (status == "completed" || status == "failed") {
                std::string text = u.contains("content") ? tool_content_text(u["content"]) : "";
                if (text.empty()) text = status;
                t.tool_result(text, status == "failed");
              }
            } else if (what == "plan" && u.contains("entries") && u["entries"].is_array()) {
              flush();
              std::string plan;
              for (const nlohmann::json& entry : u["entries"]) {
                plan += (plan.empty() ? "" : "; ") + std::string("[") +
                        string_field(entry, "status") + "] " + string_field(entry, "content");
              }
              t.note("plan: " + plan);
            }
          }
        },
        [&](std::string_view line) { t.other(line); });
    flush();
    return t.finish(parse(agents::log_as_process(log)));
  }

 private:
  const agents::Invoker* base_;
  AcpAgentSpec spec_;
  PermissionPolicy policy_;
};

}  // namespace

const AcpAgentSpec* acp_spec(const std::string& agent) {
  for (const AcpAgentSpec& s : specs()) {
    if (s.agent == agent) return &s;
  }
  return nullptr;
}

std::optional<std::vector<std::string>> acp_command(const std::string& agent) {
  const AcpAgentSpec* spec = acp_spec(agent);
  if (!spec) return std::nullopt;
  return spec->argv;
}

std::vector<std::string> acp_agent_names() {
  std::vector<std::string> names;
  for (const AcpAgentSpec& s : specs()) names.push_back(s.agent);
  std::sort(names.begin(), names.end());
  return names;
}

const agents::Invoker* acp_invoker(const std::string& agent, PermissionPolicy policy) {
  static std::mutex mu;
  static std::map<std::pair<std::string, PermissionPolicy>, std::unique_ptr<AcpInvoker>> made;
  const AcpAgentSpec* spec = acp_spec(agent);
  const agents::Invoker* base = agents::find_invoker(agent);
  if (!spec || !base) return nullptr;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = made[{agent, policy}];
  if (!slot) slot = std::make_unique<AcpInvoker>(base, *spec, policy);
  return slot.get();
}

bool is_acp_log(std::string_view log) {
  if (log.find("{\"acp\":\"start\"") != std::string_view::npos) return true;
  return log.find("{\"acp\":\"result\"") != std::string_view::npos;
}

}  // namespace baton::acp
