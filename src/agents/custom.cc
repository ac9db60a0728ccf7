#include "agents/custom.h"

#include <cctype>
#include <list>
#include <mutex>
#include <optional>
#include <regex>

#include "agents/builtin.h"
#include "agents/output_parsing.h"
#include "agents/prompt.h"
#include "util/text.h"

namespace baton::agents {

namespace {

constexpr const char* kPromptMarker = "{prompt}";

// "a.b.0.c" -> {"a", "b", "0", "c"}; nullopt when a step is empty.
std::optional<std::vector<std::string>> split_path(const std::string& path) {
  std::vector<std::string> steps;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string step = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (step.empty()) return std::nullopt;
    steps.push_back(step);
    if (dot == std::string::npos) return steps;
    start = dot + 1;
  }
}

const nlohmann::json* walk(const nlohmann::json& root, const std::vector<std::string>& steps) {
  const nlohmann::json* node = &root;
  for (const std::string& step : steps) {
    if (node->is_object()) {
      auto it = node->find(step);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      if (step.find_first_not_of("0123456789") != std::string::npos || step.size() > 9) {
        return nullptr;
      }
      size_t index = std::stoul(step);
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

class CustomInvoker final : public Invoker {
 public:
  CustomInvoker(std::string name, CustomAgentSpec spec, std::optional<std::regex> regex,
                std::vector<std::string> path)
      : name_(std::move(name)),
        spec_(std::move(spec)),
        regex_(std::move(regex)),
        path_(std::move(path)) {}

  std::string name() const override { return name_; }
  std::string executable() const override { return spec_.command.front(); }

  /// Found in PATH only: a custom agent's command is never started to ask for its
  /// version (it might do work).
  Health health(double) const override {
    Health h;
    std::string path = find_executable(executable());
    h.healthy = !path.empty();
    h.detail = h.healthy ? path : "not found in PATH";
    return h;
  }

  Command build_command(const Invocation& inv) const override {
    Command cmd;
    cmd.env = spec_.env;
    cmd.argv = spec_.command;
    if (spec_.prompt == PromptVia::kStdin) {
      cmd.stdin_data = inv.prompt;
      return cmd;
    }
    bool placed = false;
    for (std::string& arg : cmd.argv) {
      if (arg == kPromptMarker) {  // an argument of its own: as_argument()
        arg = as_argument(inv.prompt);
        placed = true;
        continue;
      }
      for (size_t at = arg.find(kPromptMarker); at != std::string::npos;
           at = arg.find(kPromptMarker, at + inv.prompt.size())) {
        arg.replace(at, std::string_view(kPromptMarker).size(), inv.prompt);
        placed = true;
      }
    }
    if (!placed) cmd.argv.push_back(as_argument(inv.prompt));
    return cmd;
  }

  AgentResult parse(const exec::ProcessResult& process) const override {
    AgentResult r;
    if (!process.status.success()) {
      std::string detail = last_line(process.stderr_tail);
      fail_with_exit(process, &r);
      if (process.status.kind == exec::ExitStatus::Kind::kExited && !detail.empty()) {
        r.error_class = classify_api_error(http_status_in(detail), detail);
      }
      return r;
    }
    r.num_turns = 1;
    if (regex_) {
      std::smatch m;
      const std::string& out = process.stdout_text;
      if (!std::regex_search(out, m, *regex_)) {
        r.error_class = ErrorClass::kPermanent;
        r.error = name_ + ": the answer regex did not match the output";
        return r;
      }
      r.text = m.size() > 1 ? m[1].str() : m[0].str();
    } else if (!path_.empty()) {
      std::optional<std::string> answer = answer_at_path(process.stdout_text);
      if (!answer) {
        r.error_class = ErrorClass::kPermanent;
        r.error = name_ + ": the output has no JSON value at '" + spec_.answer_json_path + "'";
        return r;
      }
      r.text = *answer;
    } else {
      r.text = trim(process.stdout_text);
    }
    r.success = true;
    return r;
  }

 private:
  std::optional<std::string> answer_at_path(const std::string& out) const {
    auto as_text = [](const nlohmann::json& v) {
      return v.is_string() ? v.get<std::string>() : v.dump();
    };
    std::optional<nlohmann::json> doc = parse_json_document(out);
    if (doc) {
      if (const nlohmann::json* v = walk(*doc, path_)) return as_text(*v);
    }
    std::vector<nlohmann::json> lines = parse_json_lines(out);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      if (const nlohmann::json* v = walk(*it, path_)) return as_text(*v);
    }
    return std::nullopt;
  }

  std::string name_;
  CustomAgentSpec spec_;
  std::optional<std::regex> regex_;
  std::vector<std::string> path_;
};

bool valid_name(const std::string& name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// The index of the first argument of COMMAND that holds "{prompt}" inside code an
// interpreter runs: the argument after `-c` (or a flag cluster ending in c, `-lc`)
// of a shell, after `-c` of python, after `-e`/`--eval`/`-p` of node, perl or ruby.
// There the prompt would be parsed as code, and no quoting baton could add is right
// for every interpreter; as an argument of its own it is data ("$1", sys.argv[1]).
std::optional<size_t> prompt_in_code(const std::vector<std::string>& command) {
  static const char* const kShells[] = {"sh",  "bash", "dash", "zsh",    "ksh",
                                        "ash", "mksh", "fish", "busybox"};
  static const char* const kEvals[] = {"-e", "-E", "--eval", "-p", "--print", "-r", "-x"};
  std::string program = command.front();
  program = program.substr(
      program.find_last_of('/') == std::string::npos ? 0 : program.find_last_of('/') + 1);
  bool shell = false;
  for (const char* s : kShells) shell = shell || program == s;
  for (size_t i = 2; i < command.size(); ++i) {
    if (command[i].find(kPromptMarker) == std::string::npos) continue;
    const std::string& flag = command[i - 1];
    bool code = flag == "-c";
    if (shell && flag.size() >= 2 && flag[0] == '-' && flag[1] != '-' && flag.back() == 'c') {
      code = true;  // -c, -lc, -ec, -xc: the next argument is the script
    }
    for (const char* e : kEvals) code = code || (!shell && flag == e);
    if (code) return i;
  }
  return std::nullopt;
}

struct Registry {
  std::mutex mu;
  std::map<std::string, const Invoker*> by_name;
  std::list<std::unique_ptr<Invoker>> all;  // never shrinks: handed-out pointers stay valid
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: used until exit
  return *r;
}

}  // namespace

Result<std::unique_ptr<Invoker>> make_custom_invoker(const std::string& name,
                                                     const CustomAgentSpec& spec) {
  if (spec.command.empty() || spec.command.front().empty()) {
    return fail("custom agent '" + name + "': command is empty");
  }
  if (spec.prompt == PromptVia::kArg) {
    if (auto at = prompt_in_code(spec.command)) {
      const std::string& program = spec.command.front();
      return fail("custom agent '" + name + "': command[" + std::to_string(*at) +
                  "] puts {prompt} inside the code that '" + program + " " + spec.command[*at - 1] +
                  "' runs, so a prompt (upstream outputs, a model's text) would run as code; "
                  "pass it as an argument of its own instead ([" +
                  program + ", " + spec.command[*at - 1] + ", 'tool \"$1\"', " + program +
                  ", '{prompt}'] for a shell) or use prompt: stdin");
    }
  }
  if (!spec.answer_regex.empty() && !spec.answer_json_path.empty()) {
    return fail("custom agent '" + name + "': give answer.regex or answer.json_path, not both");
  }
  std::optional<std::regex> regex;
  if (!spec.answer_regex.empty()) {
    try {
      regex.emplace(spec.answer_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return fail("custom agent '" + name + "': invalid answer regex '" + spec.answer_regex +
                  "': " + e.what());
    }
  }
  std::vector<std::string> path;
  if (!spec.answer_json_path.empty()) {
    auto steps = split_path(spec.answer_json_path);
    if (!steps) {
      return fail("custom agent '" + name + "': invalid answer json_path '" +
                  spec.answer_json_path + "': a step is empty");
    }
    path = std::move(*steps);
  }
  return std::make_unique<CustomInvoker>(name, spec, std::move(regex), std::move(path));
}

Result<void> register_custom_agent(const std::string& name, const CustomAgentSpec& spec) {
  if (!valid_name(name)) {
    return fail("custom agent '" + name +
                "': a name is letters, digits, '_' and '-', starting with a letter");
  }
  if (builtin_invoker(name)) {
    return fail("custom agent '" + name + "': the name of a built-in agent");
  }
  auto invoker = make_custom_invoker(name, spec);
  if (!invoker) return tl::unexpected(invoker.error());
  return register_agent_invoker(name, std::move(*invoker));
}

Result<void> register_agent_invoker(const std::string& name, std::unique_ptr<Invoker> invoker) {
  if (!valid_name(name)) {
    return fail("custom agent '" + name +
                "': a name is letters, digits, '_' and '-', starting with a letter");
  }
  if (builtin_invoker(name)) {
    return fail("custom agent '" + name + "': the name of a built-in agent");
  }
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.all.push_back(std::move(invoker));
  r.by_name[name] = r.all.back().get();
  std::vector<std::string> names;
  for (const auto& [n, inv] : r.by_name) names.push_back(n);
  refresh_known_agent_names(names);
  return ok();
}

const Invoker* find_custom_invoker(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : it->second;
}

bool is_custom_agent(const std::string& name) { return find_custom_invoker(name) != nullptr; }

}  // namespace baton::agents
