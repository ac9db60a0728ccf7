// Neutral actions to each CLI's own tool calls.
#include "rehearse/tools.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "rehearse/schema.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

// Tool names per action, in order of preference (compared without case).
constexpr std::string_view kWriteTools[] = {"write",
                                            "write_file",
                                            "writefile",
                                            "create",
                                            "create_file",
                                            "str_replace_based_edit_tool",
                                            "str_replace_editor"};
constexpr std::string_view kEditTools[] = {"edit",
                                           "replace",
                                           "edit_file",
                                           "str_replace",
                                           "str_replace_based_edit_tool",
                                           "str_replace_editor"};
constexpr std::string_view kShellTools[] = {"bash",           "run_shell_command", "exec_command",
                                            "shell",          "shell_command",     "run_command",
                                            "execute_command"};
constexpr std::string_view kPatchTool = "apply_patch";

// Required string arguments that only describe the call.
constexpr std::string_view kDescriptive[] = {"description", "justification", "instruction",
                                             "reason",      "title",         "summary"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "file_path", "filePath" and "FilePath" all become "filepath".
std::string normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

template <typename Names>
bool in(const Names& names, std::string_view name) {
  std::string l = lower(name);
  return std::any_of(std::begin(names), std::end(names),
                     [&](std::string_view n) { return n == l; });
}

const json& properties(const ToolSpec& tool) {
  static const json kEmpty = json::object();
  // Anthropic's schema-less text editor tool (text_editor_2025..., named
  // str_replace_based_edit_tool or str_replace_editor) has these.
  static const json kTextEditor = {{"command", {{"type", "string"}}},
                                   {"path", {{"type", "string"}}},
                                   {"file_text", {{"type", "string"}}},
                                   {"old_str", {{"type", "string"}}},
                                   {"new_str", {{"type", "string"}}}};
  if (tool.parameters.is_object() && tool.parameters.contains("properties") &&
      tool.parameters["properties"].is_object() && !tool.parameters["properties"].empty()) {
    return tool.parameters["properties"];
  }
  std::string name = lower(tool.name);
  if (name == "str_replace_based_edit_tool" || name == "str_replace_editor") return kTextEditor;
  return kEmpty;
}

// The offered property among CANDIDATES (compared normalized), else the first candidate.
std::string param(const ToolSpec& tool, std::initializer_list<std::string_view> candidates) {
  const json& props = properties(tool);
  for (std::string_view candidate : candidates) {
    std::string want = normalize(candidate);
    for (const auto& [key, value] : props.items()) {
      if (normalize(key) == want) return key;
    }
  }
  return std::string(*candidates.begin());
}

// Claude Code's ACP adapter (@zed-industries/claude-code-acp) offers its own Read,
// Write, Edit and Bash as tools of its in-process MCP server "acp" (they go through
// the ACP client's fs/* and terminal/*): "mcp__acp__Write" is a "Write".
std::string_view without_acp_prefix(std::string_view name) {
  constexpr std::string_view kPrefix = "mcp__acp__";
  return name.substr(0, kPrefix.size()) == kPrefix ? name.substr(kPrefix.size()) : name;
}

const ToolSpec* find_tool(const std::vector<ToolSpec>& offered, std::string_view name) {
  std::string l = lower(name);
  for (const ToolSpec& tool : offered) {
    if (lower(without_acp_prefix(tool.name)) == l) return &tool;
  }
  return nullptr;
}

template <typename Names>
const ToolSpec* first_offered(const std::vector<ToolSpec>& offered, const Names& names) {
  for (std::string_view name : names) {
    if (const ToolSpec* tool = find_tool(offered, name)) return tool;
  }
  return nullptr;
}

std::string resolve(const std::string& path, const std::string& workdir) {
  if (path.empty() || path[0] == '/' || workdir.empty()) return path;
  std::string rel = path.rfind("./", 0) == 0 ? path.substr(2) : path;
  return workdir.back() == '/' ? workdir + rel : workdir + "/" + rel;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// A required time limit gets the most it may be, not the least: a timeout of 0 makes
// Claude Code's Bash (mcp__acp__Bash, whose `timeout` is required, in milliseconds)
// stop waiting at once and release, so killing, the command it has just started. The
// schema's `maximum` if it has one, else two minutes, in milliseconds when the name or
// the description says so (`timeout_ms`, "... in milliseconds"), else in seconds.
std::optional<json> generous_timeout(const std::string& key, const json& schema) {
  auto text = [&](const char* field) {
    return schema.is_object() && schema.contains(field) && schema[field].is_string()
               ? schema[field].get<std::string>()
               : std::string();
  };
  std::string name = normalize(key);
  std::string type = text("type");
  if (name.find("timeout") == std::string::npos || (type != "number" && type != "integer")) {
    return std::nullopt;
  }
  if (schema.contains("maximum") && schema["maximum"].is_number()) return schema["maximum"];
  bool ms = name.size() >= 2 && name.compare(name.size() - 2, 2, "ms") == 0;
  ms = ms || lower(text("description")).find("millisecond") != std::string::npos;
  return json(ms ? 120000 : 120);
}

// Gives every required argument that ARGS lacks a minimal value (a time limit its
// largest: generous_timeout()).
void fill_required(const ToolSpec& tool, json& args) {
  if (!tool.parameters.is_object() || !tool.parameters.contains("required") ||
      !tool.parameters["required"].is_array()) {
    return;
  }
  const json& props = properties(tool);
  for (const json& name : tool.parameters["required"]) {
    if (!name.is_string()) continue;
    const std::string key = name.get<std::string>();
    if (args.contains(key)) continue;
    json schema = props.contains(key) ? props[key] : json::object();
    std::optional<json> timeout = generous_timeout(key, schema);
    json value = timeout ? *timeout : minimal_instance(schema);
    if (value.is_string() && in(kDescriptive, normalize(key))) value = "rehearsal step";
    args[key] = value;
  }
}

ToolCall make_call(std::string name, json args) {
  ToolCall call;
  call.name = std::move(name);
  call.arguments = std::move(args);
  return call;
}

ToolCall make_custom_call(std::string name, std::string input) {
  ToolCall call;
  call.name = std::move(name);
  call.kind = ToolKind::kCustom;
  call.input = std::move(input);
  return call;
}

ToolCall function_call(const ToolSpec& tool, json args) {
  fill_required(tool, args);
  return make_call(tool.name, std::move(args));
}

ToolCall patch_call(const ToolSpec& tool, const std::string& patch) {
  if (tool.kind == ToolKind::kCustom) {
    return make_custom_call(tool.name, patch);
  }
  json args = json::object();
  args[param(tool, {"input", "patch"})] = patch;
  return function_call(tool, std::move(args));
}

ToolCall shell_call(const ToolSpec& tool, const std::string& command) {
  json args = json::object();
  std::string key = param(tool, {"command", "cmd", "script", "commands"});
  const json& props = properties(tool);
  bool wants_array = props.contains(key) && props[key].is_object() &&
                     props[key].value("type", json()) == json("array");
  if (wants_array) {
    args[key] = json::array({"bash", "-lc", command});
  } else {
    args[key] = command;
  }
  return function_call(tool, std::move(args));
}

// Whether TOOL takes a `command` sub-command with VALUE among its values (the
// Anthropic text editor tool: create, str_replace, view, ...).
bool has_subcommand(const ToolSpec& tool, std::string_view value) {
  if (in(std::initializer_list<std::string_view>{"str_replace_based_edit_tool",
                                                 "str_replace_editor"},
         tool.name)) {
    return true;
  }
  const json& props = properties(tool);
  if (!props.contains("command") || !props["command"].is_object()) return false;
  const json& e = props["command"].value("enum", json::array());
  return std::find(e.begin(), e.end(), json(std::string(value))) != e.end();
}

ToolCall write_call(const ToolSpec& tool, const WriteFile& w, const std::string& workdir) {
  if (lower(tool.name) == kPatchTool) return patch_call(tool, add_file_patch(w.path, w.content));
  if (in(kShellTools, tool.name)) return shell_call(tool, write_file_command(w.path, w.content));
  json args = json::object();
  if (has_subcommand(tool, "create")) args["command"] = "create";
  args[param(tool, {"file_path", "filePath", "path", "absolute_path", "target_file", "filename",
                    "file"})] = resolve(w.path, workdir);
  args[param(tool, {"content", "file_text", "contents", "text", "new_content", "data"})] =
      w.content;
  return function_call(tool, std::move(args));
}

ToolCall edit_call(const ToolSpec& tool, const EditFile& e, const std::string& workdir) {
  if (lower(tool.name) == kPatchTool) {
    return patch_call(tool, update_file_patch(e.path, e.old_text, e.new_text));
  }
  json args = json::object();
  if (has_subcommand(tool, "str_replace")) args["command"] = "str_replace";
  args[param(tool, {"file_path", "filePath", "path", "absolute_path", "target_file", "filename",
                    "file"})] = resolve(e.path, workdir);
  args[param(tool, {"old_string", "old_str", "old_text", "old", "search"})] = e.old_text;
  args[param(tool, {"new_string", "new_str", "new_text", "new", "replace"})] = e.new_text;
  return function_call(tool, std::move(args));
}

std::string offered_names(const std::vector<ToolSpec>& offered) {
  if (offered.empty()) return "none";
  std::string out;
  for (const ToolSpec& tool : offered) {
    if (!out.empty()) out += ", ";
    out += tool.name;
  }
  return out;
}

}  // namespace

Result<ToolCall> plan_tool_call(const Step& step, const std::vector<ToolSpec>& offered,
                                const std::string& workdir) {
  const ToolSpec* preferred = step.tool.empty() ? nullptr : find_tool(offered, step.tool);
  if (step.call) {
    const ToolSpec* tool = find_tool(offered, step.call->name);
    const json& a = step.call->arguments;
    if (tool && tool->kind == ToolKind::kCustom) {
      return make_custom_call(tool->name, a.is_string() ? a.get<std::string>() : a.dump());
    }
    json args = a;
    if (a.is_string()) {
      args = json::parse(a.get<std::string>(), nullptr, /*allow_exceptions=*/false);
      if (args.is_discarded()) args = json{{"input", a}};
    }
    return make_call(tool ? tool->name : step.call->name, std::move(args));
  }
  if (step.write_file) {
    const ToolSpec* tool = preferred;
    if (!tool) tool = first_offered(offered, kWriteTools);
    if (!tool) tool = find_tool(offered, kPatchTool);
    if (!tool) tool = first_offered(offered, kShellTools);
    if (!tool)
      return fail("no offered tool can write_file (offered: " + offered_names(offered) + ")");
    return write_call(*tool, *step.write_file, workdir);
  }
  if (step.edit_file) {
    const ToolSpec* tool = preferred;
    if (!tool) tool = first_offered(offered, kEditTools);
    if (!tool) tool = find_tool(offered, kPatchTool);
    if (!tool)
      return fail("no offered tool can edit_file (offered: " + offered_names(offered) + ")");
    return edit_call(*tool, *step.edit_file, workdir);
  }
  if (step.run) {
    const ToolSpec* tool = preferred;
    if (!tool) tool = first_offered(offered, kShellTools);
    if (!tool)
      return fail("no offered tool can run a command (offered: " + offered_names(offered) + ")");
    return shell_call(*tool, *step.run);
  }
  return fail("the step has no tool action");
}

std::string add_file_patch(const std::string& path, const std::string& content) {
  std::string patch = "*** Begin Patch\n*** Add File: " + path + "\n";
  for (const std::string& line : split_lines(content)) patch += "+" + line + "\n";
  return patch + "*** End Patch\n";
}

std::string update_file_patch(const std::string& path, const std::string& old_text,
                              const std::string& new_text) {
  std::string patch = "*** Begin Patch\n*** Update File: " + path + "\n@@\n";
  for (const std::string& line : split_lines(old_text)) patch += "-" + line + "\n";
  for (const std::string& line : split_lines(new_text)) patch += "+" + line + "\n";
  return patch + "*** End Patch\n";
}

std::string write_file_command(const std::string& path, const std::string& content) {
  std::string command;
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    command = "mkdir -p " + quote(path.substr(0, slash)) + " && ";
  }
  return command + "printf '%s' " + quote(content) + " > " + quote(path);
}

namespace {

// The first absolute path after one of the markers in TEXT, or "".
std::string workdir_in(const std::string& text) {
  static constexpr std::string_view kMarkers[] = {"<cwd>", "working directory",
                                                  "working in the directory", "cwd:", "cwd="};
  std::string l = lower(text);
  size_t best = std::string::npos;
  std::string found;
  for (std::string_view marker : kMarkers) {
    for (size_t at = l.find(marker); at != std::string::npos; at = l.find(marker, at + 1)) {
      if (at >= best) break;
      // Only separators may come between the marker and the path ("Working
      // directory: /x", "**Working Directory**: `/x`", "<cwd>/x"), not prose.
      size_t p = at + marker.size();
      while (p < text.size() &&
             std::string_view(" \t:*`'\"=>").find(text[p]) != std::string_view::npos) {
        ++p;
      }
      if (p >= text.size() || text[p] != '/') continue;
      size_t end = p;
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
             std::string_view("<>\"'`),;*").find(text[end]) == std::string_view::npos) {
        ++end;
      }
      std::string path = text.substr(p, end - p);
      while (path.size() > 1 && (path.back() == '.' || path.back() == ':' || path.back() == '/')) {
        path.pop_back();
      }
      if (path.size() > 1) {
        best = at;
        found = path;
      }
      break;
    }
  }
  return found;
}

std::string find_workdir_in(const json& node, int depth) {
  if (depth > 64) return "";
  if (node.is_string()) return workdir_in(node.get_ref<const std::string&>());
  if (node.is_array()) {
    for (const json& item : node) {
      std::string found = find_workdir_in(item, depth + 1);
      if (!found.empty()) return found;
    }
  } else if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "tools" || key == "functionDeclarations") continue;
      std::string found = find_workdir_in(value, depth + 1);
      if (!found.empty()) return found;
    }
  }
  return "";
}

}  // namespace

std::string find_workdir(const nlohmann::json& request) { return find_workdir_in(request, 0); }

}  // namespace baton::rehearse
