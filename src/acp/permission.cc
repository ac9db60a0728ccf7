#include "acp/permission.h"

#include "acp/confine.h"
#include "agents/json_fields.h"

namespace baton::acp {

const char* to_string(PermissionPolicy policy) {
  switch (policy) {
    case PermissionPolicy::kAllowWorktree:
      return "allow-worktree";
    case PermissionPolicy::kAllowAll:
      return "allow-all";
    case PermissionPolicy::kDeny:
      return "deny";
  }
  return "?";
}

std::optional<PermissionPolicy> parse_permission_policy(const std::string& name) {
  if (name == "allow-worktree") return PermissionPolicy::kAllowWorktree;
  if (name == "allow-all") return PermissionPolicy::kAllowAll;
  if (name == "deny") return PermissionPolicy::kDeny;
  return std::nullopt;
}

namespace {

using agents::string_field;

std::string pick_option(const nlohmann::json& options, const char* first, const char* second) {
  if (!options.is_array()) return "";
  for (const char* want : {first, second}) {
    for (const nlohmann::json& o : options) {
      if (string_field(o, "kind") == want && !string_field(o, "optionId").empty())
        return string_field(o, "optionId");
    }
  }
  return "";
}

}  // namespace

std::vector<std::string> tool_call_paths(const nlohmann::json& tool_call, const std::string& cwd) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    if (p.empty()) return;
    out.push_back(p[0] == '/' ? p : cwd + "/" + p);
  };
  if (!tool_call.is_object()) return out;
  if (auto loc = tool_call.find("locations"); loc != tool_call.end() && loc->is_array()) {
    for (const nlohmann::json& l : *loc) add(string_field(l, "path"));
  }
  if (auto in = tool_call.find("rawInput"); in != tool_call.end() && in->is_object()) {
    for (const char* key : {"file_path", "filePath", "absolute_path", "path", "dir_path",
                            "directory", "cwd", "source", "destination", "old_path", "new_path"}) {
      add(string_field(*in, key));
    }
    if (auto paths = in->find("paths"); paths != in->end() && paths->is_array()) {
      for (const nlohmann::json& p : *paths) {
        if (p.is_string()) add(p.get<std::string>());
      }
    }
  }
  return out;
}

PermissionDecision decide_permission(PermissionPolicy policy, const std::string& root,
                                     const nlohmann::json& params, bool commands_leave_sandbox) {
  PermissionDecision d;
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& call =
      params.is_object() && params.contains("toolCall") ? params["toolCall"] : empty;
  d.tool = string_field(call, "title");
  if (d.tool.empty()) d.tool = string_field(call, "toolCallId");
  d.paths = tool_call_paths(call, root);
  switch (policy) {
    case PermissionPolicy::kAllowAll:
      d.allow = true;
      d.reason = "policy allow-all";
      break;
    case PermissionPolicy::kDeny:
      d.reason = "policy deny";
      break;
    case PermissionPolicy::kAllowWorktree: {
      d.allow = true;
      d.reason = d.paths.empty() ? "names no path (runs in the attempt's sandbox)"
                                 : "every path is in the task's directory";
      std::string kind = string_field(call, "kind");
      if (d.paths.empty() && (kind == "delete" || kind == "move")) {
        d.allow = false;
        d.reason = "a " + kind + " that names no path";
      }
      if (commands_leave_sandbox && kind == "execute") {
        d.allow = false;
        d.reason = "a command the agent asks to run outside its own sandbox";
        break;
      }
      for (const std::string& p : d.paths) {
        if (auto c = confine(root, p); !c) {
          d.allow = false;
          d.reason = c.error().message;
          break;
        }
      }
      break;
    }
  }
  const nlohmann::json& options =
      params.is_object() && params.contains("options") ? params["options"] : empty;
  d.option_id = d.allow ? pick_option(options, "allow_once", "allow_always")
                        : pick_option(options, "reject_once", "reject_always");
  return d;
}

}  // namespace baton::acp
