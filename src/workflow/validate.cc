#include "workflow/validate.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "expr/expr.h"
#include "expr/shell.h"
#include "workflow/graph.h"
#include "workflow/scalar_position.h"
#include "workflow/suggest.h"

namespace baton::workflow {
namespace {

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& part : path) out += (out.empty() ? "" : ".") + part;
  return out;
}

class Validator {
 public:
  Validator(const ReadResult& read, const LoadOptions& options, const SourceText& source,
            DiagnosticSink& sink)
      : read_(read), wf_(read.workflow), options_(options), source_(source), sink_(sink) {}

  void run();

 private:
  void check_ids();
  void check_hook_ids(const std::string& group, const std::vector<TaskSpec>& hooks,
                      const std::vector<TaskPlaces>& places);
  void check_dependencies();
  void check_cycles();
  void check_roles();
  void check_agent(const TaskSpec& task, const TaskPlaces& places, const std::string& label);
  void check_secrets(const TaskSpec& task, const TaskPlaces& places, const std::string& label);
  // review: only on agent tasks; its agent a known role or agent.
  void check_review(const TaskSpec& task, const TaskPlaces& places, const std::string& label);
  // TASK is the index of a workflow task, or -1 for a hook.
  void check_templates(const TaskPlaces& places, int task, const std::string& label);
  void check_reference(const expr::Reference& ref, SourceLoc loc, int task,
                       const std::string& label);
  // A `run:` string: every value placeable (expr::shell_contexts), fn:raw warned.
  void check_shell(const TemplateSite& site, const expr::Template& tmpl);
  // A literal `workdir`: not absolute, not above the root (symlinks: at run time).
  void check_workdir(const TemplateSite& site, const expr::Template& tmpl,
                     const std::string& label);
  void check_required_inputs();
  void check_provided_inputs();
  // Whether TARGET is a (transitive) dependency of TASK. A direct dependency is
  // found at once; else TASK's whole upstream set is computed, once per task.
  bool is_upstream(int target, int task) {
    const std::vector<int>& direct = deps_[task];
    if (std::find(direct.begin(), direct.end(), target) != direct.end()) return true;
    if (upstream_task_ != task) {
      upstream_ = upstream_of(deps_, task);
      upstream_task_ = task;
    }
    return upstream_[target];
  }
  // Names templates and conditions read: the head of each reference, NAME of inputs.NAME.
  std::set<std::string> referenced_;
  void warn_once(SourceLoc loc, const std::string& message) {
    if (warned_.insert(message).second) sink_.warning(loc, message);
  }

  const ReadResult& read_;
  const Workflow& wf_;
  const LoadOptions& options_;
  const SourceText& source_;
  DiagnosticSink& sink_;
  std::vector<std::string> ids_;      // task ids in declaration order
  std::map<std::string, int> index_;  // task id -> index of its first task
  std::vector<std::vector<int>> deps_;
  bool has_cycle_ = false;
  std::set<std::string> warned_;  // warnings given: each once per file, at its first place
  std::vector<bool> upstream_;    // of task upstream_task_, computed when first needed
  int upstream_task_ = -1;
};

void Validator::run() {
  for (const TaskSpec& t : wf_.tasks) {
    index_.emplace(t.id, static_cast<int>(ids_.size()));
    ids_.push_back(t.id);
  }
  deps_ = dependency_indices(wf_);
  check_ids();
  check_dependencies();
  check_cycles();
  check_roles();
  for (size_t i = 0; i < wf_.tasks.size(); ++i) {
    const TaskSpec& t = wf_.tasks[i];
    const std::string label = "task " + in_quotes(t.id);
    if (t.id.empty()) continue;  // reported; its references cannot be placed in the DAG
    check_agent(t, read_.tasks[i], label);
    check_review(t, read_.tasks[i], label);
    check_secrets(t, read_.tasks[i], label);
    check_templates(read_.tasks[i], static_cast<int>(i), label);
    // Limits bind sandboxed tasks only: on another they would promise what is not kept.
    if (read_.tasks[i].limits && t.sandbox.value_or(wf_.settings.sandbox) == Sandbox::kNone) {
      sink_.error(*read_.tasks[i].limits,
                  label +
                      " has 'limits' but no sandbox: limits apply to sandboxed tasks "
                      "(set 'sandbox' on the task or in settings)");
    }
  }
  for (const auto& [group, places] : read_.hooks) {
    const std::vector<TaskSpec>& hooks = group == "on_start"     ? wf_.hooks.on_start
                                         : group == "on_success" ? wf_.hooks.on_success
                                         : group == "on_failure" ? wf_.hooks.on_failure
                                                                 : wf_.hooks.on_complete;
    check_hook_ids(group, hooks, places);
    for (size_t i = 0; i < hooks.size(); ++i) {
      const std::string label = "hook " + in_quotes(hooks[i].id);
      check_agent(hooks[i], places[i], label);
      check_secrets(hooks[i], places[i], label);
      check_templates(places[i], -1, label);
    }
  }
  if (options_.check_required_inputs) check_required_inputs();
  check_provided_inputs();
}

void Validator::check_ids() {
  std::map<std::string, int> first_line;
  for (size_t i = 0; i < wf_.tasks.size(); ++i) {
    const TaskPlaces& places = read_.tasks[i];
    if (!places.has_id) continue;
    const std::string& id = wf_.tasks[i].id;
    if (id == "inputs" || id == "variables" || id == "run" || id == "env" || id == "secrets") {
      sink_.error(places.id, "task id " + in_quotes(id) +
                                 " is reserved: inputs, variables, run, env and secrets name "
                                 "other values in templates");
    }
    auto [it, inserted] = first_line.emplace(id, places.id.line);
    if (!inserted) {
      sink_.error(places.id, "duplicate task id " + in_quotes(wf_.tasks[i].id) +
                                 " (first defined at line " + std::to_string(it->second) + ")");
    }
  }
}

void Validator::check_hook_ids(const std::string& group, const std::vector<TaskSpec>& hooks,
                               const std::vector<TaskPlaces>& places) {
  std::map<std::string, int> first_line;
  for (size_t i = 0; i < hooks.size(); ++i) {
    auto [it, inserted] = first_line.emplace(hooks[i].id, places[i].id.line);
    if (!inserted) {
      sink_.error(places[i].id, "duplicate hook id " + in_quotes(hooks[i].id) + " in " + group +
                                    " (first defined at line " + std::to_string(it->second) + ")");
    }
  }
}

void Validator::check_dependencies() {
  for (size_t i = 0; i < wf_.tasks.size(); ++i) {
    const TaskSpec& t = wf_.tasks[i];
    const TaskPlaces& places = read_.tasks[i];
    std::set<std::string> seen;
    for (size_t d = 0; d < t.dependencies.size(); ++d) {
      const std::string& dep = t.dependencies[d];
      SourceLoc loc = d < places.dependency_items.size() ? places.dependency_items[d] : t.loc;
      std::string in = t.id.empty() ? "" : " in task " + in_quotes(t.id);
      if (!index_.count(dep)) {
        sink_.error(loc, "unknown dependency " + in_quotes(dep) + in + did_you_mean(dep, ids_));
      } else if (!seen.insert(dep).second) {
        sink_.warning(loc, "dependency " + in_quotes(dep) + " is listed twice" + in);
      }
    }
  }
}

void Validator::check_cycles() {
  for (const std::vector<int>& cycle : find_cycles(wf_)) {
    has_cycle_ = true;
    const TaskSpec& first = wf_.tasks[cycle.front()];
    const std::string& next = wf_.tasks[cycle.size() > 1 ? cycle[1] : cycle[0]].id;
    SourceLoc loc = first.loc;
    const TaskPlaces& places = read_.tasks[cycle.front()];
    for (size_t d = 0; d < first.dependencies.size() && d < places.dependency_items.size(); ++d) {
      if (first.dependencies[d] == next) {
        loc = places.dependency_items[d];
        break;
      }
    }
    sink_.error(loc, "dependency cycle: " + cycle_text(wf_, cycle));
  }
}

void Validator::check_roles() {
  // A misspelt agent in settings.agent_limits would limit nothing.
  for (const auto& [agent, loc] : read_.agent_limits) {
    if (contains(options_.known_agents, agent)) continue;
    sink_.error(loc, "unknown agent " + in_quotes(agent) + " in 'agent_limits' in settings" +
                         did_you_mean(agent, options_.known_agents));
  }
  for (const auto& [name, role] : wf_.agents) {
    auto places = read_.roles.find(name);
    for (size_t i = 0; i < role.use.size(); ++i) {
      if (contains(options_.known_agents, role.use[i])) continue;
      SourceLoc loc = places != read_.roles.end() && i < places->second.use_items.size()
                          ? places->second.use_items[i]
                          : role.loc;
      sink_.error(loc, "unknown agent " + in_quotes(role.use[i]) + " in role " + in_quotes(name) +
                           did_you_mean(role.use[i], options_.known_agents));
    }
  }
}

void Validator::check_agent(const TaskSpec& task, const TaskPlaces& places,
                            const std::string& label) {
  if (task.agent.empty()) return;
  const std::string& agent = task.agent;
  if (!wf_.agents.count(agent) && !options_.config_roles.count(agent) &&
      !contains(options_.known_agents, agent)) {
    std::vector<std::string> names;
    for (const auto& [name, role] : wf_.agents) names.push_back(name);
    for (const auto& [name, role] : options_.config_roles) names.push_back(name);
    names.insert(names.end(), options_.known_agents.begin(), options_.known_agents.end());
    sink_.error(places.agent, "unknown agent or role " + in_quotes(agent) + " in " + label +
                                  did_you_mean(agent, names));
  }
  const RoleSpec* role = nullptr;
  if (auto r = wf_.agents.find(agent); r != wf_.agents.end()) {
    role = &r->second;
  } else if (auto c = options_.config_roles.find(agent); c != options_.config_roles.end()) {
    role = &c->second;
  }
  if (agent_via_of(task, role) == AgentVia::kAcp) {
    // The bridge is baton itself, which a container image does not hold.
    Sandbox sandbox = task.sandbox.value_or(wf_.settings.sandbox);
    if (sandbox == Sandbox::kDocker || sandbox == Sandbox::kPodman) {
      sink_.error(places.agent, label + " drives its agent over ACP, which cannot run in a " +
                                    (sandbox == Sandbox::kDocker ? "docker" : "podman") +
                                    " sandbox yet (the bridge, baton itself, is not in the " +
                                    "image): use sandbox bwrap or none, or via: cli");
    }
    // The agents acp/invoker.h's acp_spec() knows (workflow/ does not link acp/): the
    // same list as acp::acp_agent_names() (AcpInvokerTest checks that one).
    static const std::vector<std::string> kAcpAgents = {"claude",   "codex",    "copilot", "gemini",
                                                        "kilocode", "opencode", "qwen"};
    std::string acp_list;
    for (const std::string& a : kAcpAgents) acp_list += (acp_list.empty() ? "" : ", ") + a;
    std::vector<std::string> agents = {agent};
    if (role) agents = role->use;
    for (const std::string& a : agents) {
      if (contains(kAcpAgents, a) || !contains(options_.known_agents, a)) continue;
      sink_.error(places.agent, "agent " + in_quotes(a) + " of " + label +
                                    " cannot be driven over ACP by this baton (via: acp " +
                                    "supports " + acp_list + ")");
    }
  }
  bool has_task = task.parameters().is_object() && task.parameters().contains("task");
  if (!has_task && task.description().empty()) {
    sink_.error(task.loc, label + " gives its agent no instruction: add 'parameters.task' or " +
                              "'description'");
  }
}

void Validator::check_review(const TaskSpec& task, const TaskPlaces& places,
                             const std::string& label) {
  if (!task.review || !places.review) return;
  if (task.agent.empty()) {
    sink_.error(*places.review, label + " has 'review' but no 'agent': only an agent's work " +
                                    "is reviewed (docs/review.md)");
    return;
  }
  const std::string& agent = task.review->agent;
  if (agent.empty()) return;  // reported by the reader
  if (!wf_.agents.count(agent) && !options_.config_roles.count(agent) &&
      !contains(options_.known_agents, agent)) {
    std::vector<std::string> names;
    for (const auto& [name, role] : wf_.agents) names.push_back(name);
    for (const auto& [name, role] : options_.config_roles) names.push_back(name);
    names.insert(names.end(), options_.known_agents.begin(), options_.known_agents.end());
    sink_.error(places.review_agent, "unknown agent or role " + in_quotes(agent) +
                                         " in 'review' of " + label + did_you_mean(agent, names));
  }
}

void Validator::check_secrets(const TaskSpec& task, const TaskPlaces& places,
                              const std::string& label) {
  std::vector<std::string> names;
  for (const auto& [name, spec] : wf_.secrets) names.push_back(name);
  std::set<std::string> seen;
  for (size_t i = 0; i < task.secrets().size(); ++i) {
    const std::string& name = task.secrets()[i];
    SourceLoc loc = i < places.secret_items.size() ? places.secret_items[i] : task.loc;
    if (!wf_.secrets.count(name)) {
      sink_.error(loc, "unknown secret " + in_quotes(name) + " in " + label +
                           " (not in 'context.secrets')" + did_you_mean(name, names));
    } else if (!seen.insert(name).second) {
      sink_.warning(loc, "secret " + in_quotes(name) + " is listed twice in " + label);
    }
  }
}

void Validator::check_templates(const TaskPlaces& places, int task, const std::string& label) {
  for (const TemplateSite& site : places.templates) {
    if (site.condition && site.text.empty()) continue;
    auto parsed =
        site.condition ? expr::parse_condition(site.text) : expr::parse_template(site.text);
    if (!parsed) {
      sink_.error(scalar_offset_loc(source_, site.mark, site.text, parsed.error().offset),
                  parsed.error().message);
      continue;
    }
    for (const expr::Reference& ref : parsed->references()) {
      if (ref.path.empty()) continue;
      check_reference(ref, scalar_offset_loc(source_, site.mark, site.text, ref.offset), task,
                      label);
    }
    if (site.shell) check_shell(site, *parsed);
    if (site.workdir) check_workdir(site, *parsed, label);
  }
}

void Validator::check_shell(const TemplateSite& site, const expr::Template& tmpl) {
  auto contexts = expr::shell_contexts(tmpl);
  if (!contexts) {
    sink_.error(scalar_offset_loc(source_, site.mark, site.text, contexts.error().offset),
                contexts.error().message);
    return;
  }
  size_t n = 0;
  for (const expr::Segment& s : tmpl.segments) {
    if (!s.expr) continue;
    if ((*contexts)[n++] != expr::ShellContext::kRaw) continue;
    sink_.warning(scalar_offset_loc(source_, site.mark, site.text, s.offset),
                  "fn:raw inserts its value into the shell command unquoted: whoever controls "
                  "the value controls the command");
  }
}

void Validator::check_workdir(const TemplateSite& site, const expr::Template& tmpl,
                              const std::string& label) {
  if (!tmpl.is_literal()) return;  // checked when rendered (engine::resolve_workdir)
  std::string text;
  for (const expr::Segment& s : tmpl.segments) text += s.literal;
  std::filesystem::path path = std::filesystem::path(text).lexically_normal();
  const bool up = !path.empty() && *path.begin() == "..";
  if (!path.is_absolute() && !up) return;
  sink_.error(scalar_offset_loc(source_, site.mark, site.text, 0),
              "workdir " + in_quotes(text) + " of " + label +
                  " is outside the task's directory: give a path inside the project "
                  "(relative to its root, without leaving it through '..')");
}

void Validator::check_reference(const expr::Reference& ref, SourceLoc loc, int task,
                                const std::string& label) {
  const std::vector<std::string>& path = ref.path;
  const std::string& head = path[0];
  const std::string text = join_path(path);
  referenced_.insert(head == "inputs" && path.size() > 1 ? path[1] : head);
  auto found = index_.find(head);
  int target = found == index_.end() ? -1 : found->second;
  if (target >= 0) {
    if (task >= 0 && target == task) {
      sink_.error(loc, label + " refers to its own result " + in_quotes(text));
      return;
    }
    if (task >= 0 && !has_cycle_ && !is_upstream(target, task)) {
      sink_.error(loc, label + " refers to " + in_quotes(text) + " but " + in_quotes(head) +
                           " is not upstream of it; add it to dependencies");
    }
    if (path.size() > 1 && !contains(task_result_fields(), path[1])) {
      sink_.error(loc, "unknown field " + in_quotes(path[1]) + " of task " + in_quotes(head) +
                           did_you_mean(path[1], task_result_fields()));
    }
    return;
  }
  auto declared_input = [&](const std::string& name) {
    return wf_.inputs.count(name) > 0 || options_.provided_inputs.count(name) > 0;
  };
  auto is_variable = [&](const std::string& name) {
    return wf_.variables.is_object() && wf_.variables.contains(name);
  };
  if (head == "inputs") {
    if (path.size() > 1 && !declared_input(path[1])) {
      warn_once(loc, "input " + in_quotes(path[1]) + " is not declared in 'inputs'");
    }
    return;
  }
  if (head == "variables") {
    if (path.size() > 1 && !is_variable(path[1])) {
      warn_once(loc, "variable " + in_quotes(path[1]) + " is not in 'context.variables'");
    }
    return;
  }
  if (head == "secrets") {
    // A secret's value never enters a template: rendered text reaches prompts, argv,
    // the state database and events.
    std::string name = path.size() > 1 ? path[1] : "NAME";
    sink_.error(loc, "secrets cannot be used in templates: add " + in_quotes(name) +
                         " to the 'secrets' of " + label + " and read $" + name +
                         " (or the file named by $BATON_SECRET_FILE_" + name + ") in the task");
    return;
  }
  if (head == "run" || head == "env") return;
  if (declared_input(head) || is_variable(head)) return;
  std::vector<std::string> names = ids_;
  for (const auto& [name, spec] : wf_.inputs) names.push_back(name);
  if (wf_.variables.is_object()) {
    for (const auto& [name, value] : wf_.variables.items()) names.push_back(name);
  }
  warn_once(loc, in_quotes(head) + " is not a task, input or variable" + did_you_mean(head, names));
}

void Validator::check_required_inputs() {
  for (const auto& [name, spec] : wf_.inputs) {
    if (!spec.required || spec.default_value || options_.provided_inputs.count(name)) continue;
    auto place = read_.inputs.find(name);
    sink_.error(
        place == read_.inputs.end() ? SourceLoc{} : place->second,
        "missing required input " + in_quotes(name) + ": give it with -i " + name + "=VALUE");
  }
}

// Every -i KEY must be declared (inputs, or context.variables, which it overrides in
// bare ${KEY} references) or read by a template or condition, unless
// settings.allow_extra_inputs: a misspelt KEY would otherwise be ignored without a word.
void Validator::check_provided_inputs() {
  if (wf_.settings.allow_extra_inputs) return;
  std::vector<std::string> names;
  for (const auto& [name, spec] : wf_.inputs) names.push_back(name);
  if (wf_.variables.is_object()) {
    for (const auto& [name, value] : wf_.variables.items()) names.push_back(name);
  }
  for (const std::string& name : referenced_) {
    if (name != "inputs" && name != "variables" && !contains(ids_, name)) names.push_back(name);
  }
  for (const auto& [name, value] : options_.provided_inputs) {
    if (contains(names, name)) continue;
    sink_.error(SourceLoc{}, "-i " + name + ": the workflow declares no input " + in_quotes(name) +
                                 did_you_mean(name, names) +
                                 " (declare it under 'inputs', or set "
                                 "'settings.allow_extra_inputs: true' to accept any)");
  }
}

}  // namespace

void validate_workflow(const ReadResult& read, const LoadOptions& options, const SourceText& source,
                       DiagnosticSink& sink) {
  Validator(read, options, source, sink).run();
}

}  // namespace baton::workflow
