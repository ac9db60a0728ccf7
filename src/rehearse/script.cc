// Loading a rehearsal script from YAML, with errors at FILE:LINE:COL.
#include "rehearse/script.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace baton::rehearse {
namespace {

// Thrown inside this file only and turned into an Error by parse_script().
struct ScriptError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void error_at(const YAML::Node& node, std::string message) {
  throw ScriptError{node.Mark(), std::move(message)};
}

std::string_view line_of(const std::string& text, int line0) {
  size_t start = 0;
  for (int i = 0; i < line0; ++i) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) return {};
    start = nl + 1;
  }
  size_t end = text.find('\n', start);
  std::string_view line(text.data() + start,
                        (end == std::string::npos ? text.size() : end) - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "FILE:LINE:COL: error: MESSAGE", the source line and a caret under the column.
std::string format_error(const std::string& file, const std::string& text, const YAML::Mark& mark,
                         const std::string& message) {
  if (mark.line < 0) return file + ": error: " + message;
  std::string out = file + ":" + std::to_string(mark.line + 1) + ":" +
                    std::to_string(mark.column + 1) + ": error: " + message;
  std::string_view line = line_of(text, mark.line);
  if (!line.empty()) {
    out += "\n";
    out += line;
    out += "\n";
    for (int i = 0; i < mark.column && i < static_cast<int>(line.size()); ++i) {
      out += line[i] == '\t' ? '\t' : ' ';
    }
    out += "^";
  }
  return out;
}

std::string scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) error_at(node, what + " must be a string");
  return node.Scalar();
}

long long integer(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) error_at(node, what + " must be an integer");
  const std::string& s = node.Scalar();
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) {
    error_at(node, what + " must be an integer, not '" + s + "'");
  }
  return value;
}

double number(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) error_at(node, what + " must be a number");
  const std::string& s = node.Scalar();
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') error_at(node, what + " must be a number, not '" + s + "'");
  return value;
}

void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                const std::string& what) {
  for (const auto& kv : map) {
    const std::string& key = kv.first.Scalar();
    bool known = false;
    std::string list;
    for (std::string_view a : allowed) {
      known = known || key == a;
      if (!list.empty()) list += ", ";
      list += a;
    }
    if (!known)
      error_at(kv.first, "unknown key '" + key + "' in " + what + " (expected " + list + ")");
  }
}

nlohmann::json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& kv : node) obj[kv.first.Scalar()] = to_json(kv.second);
      return obj;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& item : node) arr.push_back(to_json(item));
      return arr;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted: always a string
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "~" || s == "null") return nullptr;
      char* end = nullptr;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == '\0') return i;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return d;
      return s;
    }
    default:
      return nullptr;
  }
}

Usage parse_usage(const YAML::Node& node) {
  if (!node.IsMap()) error_at(node, "usage must be a map of token counts");
  check_keys(node, {"input_tokens", "output_tokens", "cached_tokens"}, "usage");
  Usage usage;
  auto count = [&](const char* key, int& out) {
    if (!node[key]) return;
    long long v = integer(node[key], key);
    if (v < 0 || v > INT_MAX) error_at(node[key], std::string(key) + " must be >= 0");
    out = static_cast<int>(v);
  };
  count("input_tokens", usage.input_tokens);
  count("output_tokens", usage.output_tokens);
  count("cached_tokens", usage.cached_tokens);
  if (usage.cached_tokens > usage.input_tokens) {
    error_at(node, "cached_tokens must not exceed input_tokens");
  }
  return usage;
}

Fault parse_fault(const YAML::Node& node) {
  Fault fault;
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "drop")
      fault.kind = FaultKind::kDrop;
    else if (s == "hang")
      fault.kind = FaultKind::kHang;
    else if (s == "stall")
      fault.kind = FaultKind::kStall;
    else
      fault.status = static_cast<int>(integer(node, "fault (a status or drop, hang, stall)"));
  } else if (node.IsMap()) {
    check_keys(node, {"kind", "status", "retry_after_s", "times", "message"}, "fault");
    if (node["kind"]) {
      std::string kind = scalar(node["kind"], "kind");
      if (kind == "http")
        fault.kind = FaultKind::kHttp;
      else if (kind == "drop")
        fault.kind = FaultKind::kDrop;
      else if (kind == "hang")
        fault.kind = FaultKind::kHang;
      else if (kind == "stall")
        fault.kind = FaultKind::kStall;
      else
        error_at(node["kind"],
                 "unknown fault kind '" + kind + "' (expected http, drop, hang, stall)");
    }
    if (node["status"]) fault.status = static_cast<int>(integer(node["status"], "status"));
    if (node["retry_after_s"]) {
      fault.retry_after_s = number(node["retry_after_s"], "retry_after_s");
      if (fault.retry_after_s < 0) error_at(node["retry_after_s"], "retry_after_s must be >= 0");
    }
    if (node["times"]) {
      const YAML::Node& times = node["times"];
      if (times.IsScalar() && (times.Scalar() == "forever" || times.Scalar() == "always")) {
        fault.times = INT_MAX;
      } else {
        long long t = integer(times, "times");
        if (t < 1) error_at(times, "times must be >= 1 (or forever)");
        fault.times = t > INT_MAX ? INT_MAX : static_cast<int>(t);
      }
    }
    if (node["message"]) fault.message = scalar(node["message"], "message");
  } else {
    error_at(node, "fault must be a status, a kind (drop, hang, stall) or a map");
  }
  if (fault.status < 100 || fault.status > 599) {
    error_at(node,
             "fault status must be an HTTP status (100..599), not " + std::to_string(fault.status));
  }
  return fault;
}

Step parse_step(const YAML::Node& node) {
  Step step;
  step.line = node.Mark().line + 1;
  if (node.IsScalar()) {
    step.text = node.Scalar();
    return step;
  }
  if (!node.IsMap()) error_at(node, "a step must be a map (text, write_file, run, ...) or a text");
  check_keys(node, {"text", "write_file", "edit_file", "run", "call", "fault", "tool", "usage"},
             "step");
  int actions = 0;
  for (const char* key : {"text", "write_file", "edit_file", "run", "call", "fault"}) {
    if (node[key]) ++actions;
  }
  if (actions != 1) {
    error_at(node,
             "a step needs exactly one of text, write_file, edit_file, run, call, fault (has " +
                 std::to_string(actions) + ")");
  }
  if (node["text"]) step.text = scalar(node["text"], "text");
  if (const YAML::Node& n = node["write_file"]) {
    if (!n.IsMap()) error_at(n, "write_file must be a map {path, content}");
    check_keys(n, {"path", "content"}, "write_file");
    if (!n["path"]) error_at(n, "write_file needs a path");
    WriteFile w;
    w.path = scalar(n["path"], "path");
    if (w.path.empty()) error_at(n["path"], "path must not be empty");
    if (n["content"]) w.content = scalar(n["content"], "content");
    step.write_file = std::move(w);
  }
  if (const YAML::Node& n = node["edit_file"]) {
    if (!n.IsMap()) error_at(n, "edit_file must be a map {path, old, new}");
    check_keys(n, {"path", "old", "new"}, "edit_file");
    for (const char* key : {"path", "old", "new"}) {
      if (!n[key]) error_at(n, std::string("edit_file needs ") + key);
    }
    EditFile e;
    e.path = scalar(n["path"], "path");
    e.old_text = scalar(n["old"], "old");
    e.new_text = scalar(n["new"], "new");
    if (e.old_text.empty()) error_at(n["old"], "old must not be empty");
    step.edit_file = std::move(e);
  }
  if (const YAML::Node& n = node["run"]) {
    step.run = scalar(n, "run");
    if (step.run->empty()) error_at(n, "run must not be empty");
  }
  if (const YAML::Node& n = node["call"]) {
    if (!n.IsMap()) error_at(n, "call must be a map {name, arguments}");
    check_keys(n, {"name", "arguments"}, "call");
    if (!n["name"]) error_at(n, "call needs a name");
    ToolUse use;
    use.name = scalar(n["name"], "name");
    if (n["arguments"]) {
      if (n["arguments"].IsScalar())
        use.arguments = n["arguments"].Scalar();
      else
        use.arguments = to_json(n["arguments"]);
    }
    step.call = std::move(use);
  }
  if (node["fault"]) step.fault = parse_fault(node["fault"]);
  if (node["tool"]) step.tool = scalar(node["tool"], "tool");
  if (node["usage"]) step.usage = parse_usage(node["usage"]);
  return step;
}

std::vector<Step> parse_steps(const YAML::Node& node) {
  if (!node.IsSequence()) error_at(node, "a step list must be a sequence");
  std::vector<Step> steps;
  for (const auto& item : node) steps.push_back(parse_step(item));
  return steps;
}

std::map<std::string, std::vector<Step>> parse_step_lists(const YAML::Node& node,
                                                          const std::string& what) {
  if (!node.IsMap()) error_at(node, what + " must be a map of names to step lists");
  std::map<std::string, std::vector<Step>> lists;
  for (const auto& kv : node) {
    lists[scalar(kv.first, "a name")] = parse_steps(kv.second);
  }
  return lists;
}

Script parse_root(const YAML::Node& root) {
  Script script;
  if (!root || root.IsNull()) return script;
  if (!root.IsMap()) error_at(root, "a script must be a map (tasks, agents, fallback, usage)");
  check_keys(root, {"tasks", "agents", "fallback", "usage"}, "the script");
  if (root["usage"]) script.usage = parse_usage(root["usage"]);
  if (root["tasks"]) script.tasks = parse_step_lists(root["tasks"], "tasks");
  if (root["agents"]) script.agents = parse_step_lists(root["agents"], "agents");
  if (root["fallback"]) {
    script.fallback = parse_steps(root["fallback"]);
    if (script.fallback.empty()) error_at(root["fallback"], "fallback must not be empty");
  }
  return script;
}

}  // namespace

const std::vector<Step>& Script::steps_for(const std::string& task, const std::string& agent,
                                           const std::string& attempt) const {
  if (!task.empty()) {
    if (!agent.empty() && !attempt.empty()) {
      auto it = tasks.find(task + ":" + agent + ":" + attempt);
      if (it != tasks.end()) return it->second;
    }
    if (!agent.empty()) {
      auto it = tasks.find(task + ":" + agent);
      if (it != tasks.end()) return it->second;
    }
    auto it = tasks.find(task);
    if (it != tasks.end()) return it->second;
  }
  if (!agent.empty()) {
    auto it = agents.find(agent);
    if (it != agents.end()) return it->second;
  }
  return fallback;
}

Result<Script> parse_script(const std::string& text, const std::string& file_name) {
  try {
    YAML::Node root = YAML::Load(text);
    Script script = parse_root(root);
    script.path = file_name;
    return script;
  } catch (const ScriptError& e) {
    return fail(format_error(file_name, text, e.mark, e.message));
  } catch (const YAML::Exception& e) {
    return fail(format_error(file_name, text, e.mark, e.msg));
  } catch (const std::exception& e) {
    return fail(file_name + ": error: " + e.what());
  }
}

Result<Script> load_script(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": error: cannot read: " + std::strerror(errno), errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(path + ": error: cannot read: " + std::strerror(errno), errno);
  return parse_script(text.str(), path);
}

const char* fault_kind_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::kHttp:
      return "http";
    case FaultKind::kDrop:
      return "drop";
    case FaultKind::kHang:
      return "hang";
    case FaultKind::kStall:
      return "stall";
  }
  return "http";
}

}  // namespace baton::rehearse
