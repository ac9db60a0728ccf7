#include "workflow/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <unordered_set>

#include "workflow/duration.h"
#include "workflow/loader.h"
#include "workflow/scalar_position.h"
#include "workflow/size.h"
#include "workflow/source.h"
#include "workflow/suggest.h"

namespace baton::workflow {
namespace {

constexpr int kMaxCount = 1000000;  // upper bound of max_parallel and max_attempts

const std::vector<std::string> kTopKeys = {"version", "name",     "description", "metadata",
                                           "inputs",  "settings", "agents",      "context",
                                           "tasks",   "hooks"};
const std::vector<std::string> kSettingsKeys = {"max_parallel",
                                                "timeout",
                                                "on_failure",
                                                "kill_grace",
                                                "max_cost_usd",
                                                "isolation",
                                                "integrate",
                                                "sandbox",
                                                "image",
                                                "git_author",
                                                "integrate_at",
                                                "limits",
                                                "allow_extra_inputs",
                                                "agent_limits",
                                                "executor",
                                                "slurm",
                                                "single_agent",
                                                "single_agent_pause",
                                                "github_actions"};
const std::vector<std::string> kGithubActionsKeys = {"runs_on"};
const std::vector<std::string> kExecutorValues = {"local", "slurm"};
const std::vector<std::string> kSlurmKeys = {"partition", "account", "time",       "cpus",
                                             "mem",       "extra",   "lost_after", "poll"};
// sbatch options baton sets itself (executor/slurm_command.h): `extra` may not name them.
const std::vector<std::string> kSlurmReservedOptions = {
    "--parsable", "--requeue", "--no-requeue", "--job-name", "-J",       "--comment", "--signal",
    "--wrap",     "--output",  "-o",           "--error",    "-e",       "--input",   "-i",
    "--time",     "-t",        "--chdir",      "-D",         "--export", "--array",   "-a"};
const std::vector<std::string> kLimitKeys = {"pids", "memory", "cpu_seconds", "open_files"};
// Upper bounds of limits.pids and limits.open_files (the kernel's own are lower).
constexpr double kMaxLimitCount = 1LL << 30;
constexpr int64_t kMinMemoryBytes = 1 << 20;
const std::vector<std::string> kIsolationValues = {"none", "worktree"};
const std::vector<std::string> kSandboxValues = {"none", "bwrap", "auto", "docker", "podman"};
const std::vector<std::string> kRetryKeys = {"max_attempts", "delay", "backoff", "max_delay",
                                             "jitter"};
const std::vector<std::string> kInputKeys = {"required", "default", "description"};
const std::vector<std::string> kRoleKeys = {"use", "instructions", "via", "permission",
                                            "max_concurrent"};
const std::vector<std::string> kTaskAgentKeys = {"use", "via", "permission"};
const std::vector<std::string> kAgentViaValues = {"cli", "acp"};
const std::vector<std::string> kReviewKeys = {"agent", "max_cycles", "instructions",
                                              "on_exhausted"};
const std::vector<std::string> kAcpPermissionValues = {"allow-worktree", "allow-all", "deny"};
const std::vector<std::string> kContextKeys = {"variables", "secrets"};
const std::vector<std::string> kSecretKeys = {"env", "file"};
const std::vector<std::string> kHookKeys = {"on_start", "on_success", "on_failure", "on_complete"};

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// OPTION (an sbatch argument up to its '=') names one baton sets: exactly, as an
// abbreviation getopt_long accepts ("--requ"), or as a short option with its value
// attached ("-Jname").
bool is_reserved_sbatch_option(const std::string& option) {
  for (const std::string& r : kSlurmReservedOptions) {
    if (option == r) return true;
    bool is_long = option.size() > 2 && option[1] == '-';
    if (is_long && r.size() > 2 && r.compare(0, option.size(), option) == 0) return true;
    if (!is_long && r.size() == 2 && option.compare(0, 2, r) == 0) return true;
  }
  return false;
}

// "a, b or c"
std::string alternatives(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

bool is_task_id(const std::string& id) {
  if (id.empty() || id[0] == '-') return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_env_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A whole-text number: optional sign, digits, fraction, exponent. nullopt otherwise.
std::optional<double> parse_number(const std::string& text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') ++begin;
  double value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value, std::chars_format::general);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

bool all_of(std::string_view s, const std::function<bool(char)>& pred) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

// A plain scalar per the YAML 1.2 core schema (yaml.org/spec/1.2.2 10.3.2).
nlohmann::json resolve_plain(const std::string& s) {
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (all_of(body, digit)) {
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
    if (ec == std::errc() && ptr == body.data() + body.size()) return negative ? -value : value;
    return std::strtod(s.c_str(), nullptr);  // too large for 64 bits
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    int base = s[1] == 'x' ? 16 : 8;
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), value, base);
    if (ec == std::errc() && ptr == s.data() + s.size()) return value;
    return s;
  }
  // Floats: [-+]? ( . digits | digits ( . digits* )? ) ( [eE] [-+]? digits )?
  size_t i = 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < body.size() && digit(body[i])) ++i, ++int_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && digit(body[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return s;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && digit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return s;
  }
  if (i != body.size()) return s;
  double value = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(value)) return s;
  return value;
}

// Reads the parts of a workflow, one node at a time.
class Reader {
 public:
  Reader(DiagnosticSink& sink, ReadResult* out) : sink_(sink), out_(out), wf_(out->workflow) {}

  void read(const YamlNode& root);

 private:
  void error(SourceLoc loc, std::string message) { sink_.error(loc, std::move(message)); }
  void expected(const YamlEntry& e, const char* what, const std::string& where) {
    error(e.value_loc(), std::string("expected ") + what + " for " + in_quotes(e.key) + where);
  }

  bool read_string(const YamlEntry& e, const std::string& where, std::string* out);
  bool read_count(const YamlEntry& e, const std::string& where, int* out);
  bool read_bool(const YamlEntry& e, const std::string& where, bool* out);
  bool read_amount(const YamlEntry& e, const std::string& where, double* out);
  bool read_duration(const YamlEntry& e, const std::string& where, bool positive, double* out);
  bool read_enum(const YamlEntry& e, const std::string& where,
                 const std::vector<std::string>& values, size_t* index);
  bool read_mapping_json(const YamlEntry& e, const std::string& where, nlohmann::json* out,
                         std::vector<TemplateSite>* sites);
  bool is_mapping(const YamlEntry& e, const std::string& where);
  // ENTRY's value as JSON within the file's budget (see yaml_to_json()).
  bool to_json(const YamlEntry& e, const std::string& where, nlohmann::json* out,
               std::vector<TemplateSite>* sites);

  void read_settings(const YamlEntry& e);
  void read_inputs(const YamlEntry& e);
  void read_roles(const YamlEntry& e);
  void read_github_actions(const YamlEntry& e);
  void read_context(const YamlEntry& e);
  void read_tasks(const YamlEntry& e);
  void read_hooks(const YamlEntry& e);
  // Reads task NUMBER (1-based) of its list; HOOK_GROUP is "" for workflow tasks.
  void read_task(const YamlNode& node, int number, const std::string& hook_group, TaskSpec* task,
                 TaskPlaces* places);
  void read_retry(const YamlEntry& e, const std::string& label, RetryPolicy* retry);
  // Reads a `limits:` mapping; WHERE names it (" in settings.limits", " in limits of
  // task 'a'"). Fields with errors are left unset.
  void read_limits(const YamlEntry& e, const std::string& where, Limits* limits);
  // Reads `settings.slurm:` (docs/slurm.md, "Options").
  void read_slurm(const YamlEntry& e, SlurmSettings* slurm);
  void read_run(const YamlEntry& e, const std::string& where, TaskSpec* task, TaskPlaces* places);
  void read_gate(const YamlEntry& g, const std::string& where, TaskSpec* task, TaskPlaces* places);
  void read_review(const YamlEntry& r, const std::string& where, TaskSpec* task,
                   TaskPlaces* places);
  void read_env(const YamlEntry& e, const std::string& label, TaskSpec* task, TaskPlaces* places);
  // Checks the typed output declarations of an `outputs:` mapping (docs/workflow.md,
  // "Typed outputs"): `NAME: {type: T, path: P, description: D}`; a plain value is a
  // description.
  void read_outputs(const YamlEntry& e, const std::string& where);
  void read_task_secrets(const YamlEntry& e, const std::string& where, TaskSpec* task,
                         TaskPlaces* places);

  DiagnosticSink& sink_;
  ReadResult* out_;
  Workflow& wf_;
  size_t json_budget_ = kMaxJsonValues;
};

bool Reader::to_json(const YamlEntry& e, const std::string& where, nlohmann::json* out,
                     std::vector<TemplateSite>* sites) {
  std::string why;
  std::optional<nlohmann::json> value = yaml_to_json(e.value, &json_budget_, sites, &why);
  if (!value) {
    error(e.value_loc(), "the value of " + in_quotes(e.key) + where + " " + why);
    return false;
  }
  *out = std::move(*value);
  return true;
}

bool Reader::read_string(const YamlEntry& e, const std::string& where, std::string* out) {
  if (!e.value.IsScalar()) {
    expected(e, "a string", where);
    return false;
  }
  *out = e.value.Scalar();
  return true;
}

bool Reader::read_count(const YamlEntry& e, const std::string& where, int* out) {
  std::optional<double> n = e.value.IsScalar() ? parse_number(e.value.Scalar()) : std::nullopt;
  if (!n) {
    expected(e, "a number", where);
    return false;
  }
  if (*n != std::floor(*n)) {
    expected(e, "a whole number", where);
    return false;
  }
  if (*n < 1) {
    error(e.value_loc(), in_quotes(e.key) + where + " must be at least 1");
    return false;
  }
  if (*n > kMaxCount) {
    error(e.value_loc(),
          in_quotes(e.key) + where + " must be at most " + std::to_string(kMaxCount));
    return false;
  }
  *out = static_cast<int>(*n);
  return true;
}

bool Reader::read_bool(const YamlEntry& e, const std::string& where, bool* out) {
  nlohmann::json v = e.value.IsScalar() && e.value.Tag() == "?" ? resolve_plain(e.value.Scalar())
                                                                : nlohmann::json();
  if (!v.is_boolean()) {
    expected(e, "true or false", where);
    return false;
  }
  *out = v.get<bool>();
  return true;
}

// A non-negative amount of money (USD), written as a number.
bool Reader::read_amount(const YamlEntry& e, const std::string& where, double* out) {
  std::optional<double> n = e.value.IsScalar() ? parse_number(e.value.Scalar()) : std::nullopt;
  if (!n) {
    expected(e, "a number (USD)", where);
    return false;
  }
  if (*n < 0) {
    error(e.value_loc(), in_quotes(e.key) + where + " must not be negative");
    return false;
  }
  *out = *n;
  return true;
}

bool Reader::read_duration(const YamlEntry& e, const std::string& where, bool positive,
                           double* out) {
  if (!e.value.IsScalar()) {
    expected(e, "a duration", where);
    return false;
  }
  Result<double> d = parse_duration(e.value.Scalar());
  if (!d) {
    error(e.value_loc(), d.error().message);
    return false;
  }
  if (positive && *d <= 0) {
    error(e.value_loc(), in_quotes(e.key) + where + " must be greater than 0");
    return false;
  }
  *out = *d;
  return true;
}

bool Reader::read_enum(const YamlEntry& e, const std::string& where,
                       const std::vector<std::string>& values, size_t* index) {
  if (!e.value.IsScalar()) {
    expected(e, "a string", where);
    return false;
  }
  const std::string& v = e.value.Scalar();
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == v) {
      *index = i;
      return true;
    }
  }
  error(e.value_loc(), "invalid value " + in_quotes(v) + " for " + in_quotes(e.key) + where +
                           ": expected " + alternatives(values) + did_you_mean(v, values));
  return false;
}

void Reader::read_outputs(const YamlEntry& e, const std::string& where) {
  static const std::vector<std::string> kOutputKeys = {"type", "path", "description"};
  static const std::vector<std::string> kOutputTypes = {"string", "number", "boolean", "file"};
  for (const YamlEntry& item : map_entries(e.value, nullptr, " in 'outputs'" + where, sink_)) {
    if (!item.value.IsMap()) continue;  // NAME: description
    const std::string in_output = " in output '" + item.key + "'" + where;
    bool has_type = false, type_ok = false, is_file = false;
    const YamlEntry* path = nullptr;
    std::vector<YamlEntry> fields = map_entries(item.value, &kOutputKeys, in_output, sink_);
    for (const YamlEntry& f : fields) {
      size_t i;
      std::string text;
      if (f.key == "type") {
        has_type = true;
        if (read_enum(f, in_output, kOutputTypes, &i)) {
          type_ok = true;
          is_file = i == 3;
        }
      } else if (f.key == "path") {
        if (read_string(f, in_output, &text)) path = &f;
      } else if (f.key == "description") {
        read_string(f, in_output, &text);
      }
    }
    if (!has_type) {
      // {description: ...} alone is an untyped output, as a plain string is; a path
      // needs `type: file`.
      if (path) error(path->value_loc(), "'path'" + in_output + " is only for 'type: file'");
      continue;
    }
    if (!type_ok) continue;
    if (is_file && !path) {
      error(item.value_loc(),
            "missing 'path'" + in_output + ": a file output names the file the task writes");
    } else if (!is_file && path) {
      error(path->value_loc(), "'path'" + in_output + " is only for 'type: file'");
    } else if (path) {
      const std::string p = path->value.Scalar();
      bool dotdot = p == ".." || p.rfind("../", 0) == 0 || p.find("/../") != std::string::npos ||
                    (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0);
      if (p.empty() || p.front() == '/' || dotdot) {
        error(path->value_loc(), "invalid 'path' " + in_quotes(p) + in_output +
                                     ": expected a path relative to the task's directory, "
                                     "without '..'");
      }
    }
  }
}

bool Reader::is_mapping(const YamlEntry& e, const std::string& where) {
  if (e.value.IsMap()) return true;
  expected(e, "a mapping", where);
  return false;
}

bool Reader::read_mapping_json(const YamlEntry& e, const std::string& where, nlohmann::json* out,
                               std::vector<TemplateSite>* sites) {
  if (e.value.IsNull()) return true;  // an empty value: as if absent
  if (!is_mapping(e, where)) return false;
  return to_json(e, where, out, sites);
}

void Reader::read(const YamlNode& root) {
  if (!root.IsMap()) {
    error(root.IsNull() ? SourceLoc{} : loc_of(root.Mark()), "expected a mapping at the top level");
    return;
  }
  bool has_name = false, has_tasks = false;
  for (const YamlEntry& e : map_entries(root, &kTopKeys, " at the top level", sink_)) {
    const std::string& k = e.key;
    if (k == "version") {
      read_string(e, "", &wf_.version);
    } else if (k == "name") {
      has_name = true;
      if (read_string(e, "", &wf_.name) && wf_.name.empty()) {
        error(e.value_loc(), "'name' is empty");
      }
    } else if (k == "description") {
      read_string(e, "", &wf_.description);
    } else if (k == "metadata") {
      read_mapping_json(e, "", &wf_.metadata, nullptr);
    } else if (k == "inputs") {
      read_inputs(e);
    } else if (k == "settings") {
      read_settings(e);
    } else if (k == "agents") {
      read_roles(e);
    } else if (k == "context") {
      read_context(e);
    } else if (k == "tasks") {
      has_tasks = true;
      read_tasks(e);
    } else if (k == "hooks") {
      read_hooks(e);
    }
  }
  SourceLoc top = loc_of(root.Mark());
  if (!has_name) error(top, "missing 'name' at the top level");
  if (!has_tasks) error(top, "missing 'tasks' at the top level");
}

void Reader::read_settings(const YamlEntry& s) {
  if (s.value.IsNull()) return;
  if (!is_mapping(s, "")) return;
  const std::string where = " in settings";
  Settings& settings = wf_.settings;
  for (const YamlEntry& e : map_entries(s.value, &kSettingsKeys, where, sink_)) {
    if (e.key == "max_parallel") {
      read_count(e, where, &settings.max_parallel);
    } else if (e.key == "timeout") {
      read_duration(e, where, true, &settings.timeout_s);
    } else if (e.key == "kill_grace") {
      read_duration(e, where, false, &settings.kill_grace_s);
    } else if (e.key == "max_cost_usd") {
      double usd;
      if (read_amount(e, where, &usd)) settings.max_cost_usd = usd;
    } else if (e.key == "on_failure") {
      size_t i;
      if (read_enum(e, where, {"stop", "continue"}, &i)) {
        settings.on_failure = i == 0 ? RunFailurePolicy::kStop : RunFailurePolicy::kContinue;
      }
    } else if (e.key == "isolation") {
      size_t i;
      if (read_enum(e, where, kIsolationValues, &i)) settings.isolation = static_cast<Isolation>(i);
    } else if (e.key == "integrate") {
      size_t i;
      if (read_enum(e, where, {"merge", "squash", "none"}, &i))
        settings.integrate = static_cast<Integration>(i);
    } else if (e.key == "integrate_at") {
      size_t i;
      if (read_enum(e, where, {"end", "task"}, &i))
        settings.integrate_at = static_cast<IntegrateAt>(i);
    } else if (e.key == "sandbox") {
      size_t i;
      if (read_enum(e, where, kSandboxValues, &i)) settings.sandbox = static_cast<Sandbox>(i);
    } else if (e.key == "image") {
      read_string(e, where, &settings.image);
    } else if (e.key == "allow_extra_inputs") {
      read_bool(e, where, &settings.allow_extra_inputs);
    } else if (e.key == "executor") {
      size_t i;
      if (read_enum(e, where, kExecutorValues, &i))
        settings.executor = static_cast<ExecutorKind>(i);
    } else if (e.key == "slurm") {
      if (!e.value.IsNull() && is_mapping(e, where)) read_slurm(e, &settings.slurm);
    } else if (e.key == "agent_limits") {
      read_agent_limits(e, where, sink_, &settings.agent_limits, &out_->agent_limits);
    } else if (e.key == "single_agent") {
      read_bool(e, where, &settings.single_agent);
    } else if (e.key == "single_agent_pause") {
      read_duration(e, where, false, &settings.single_agent_pause_s);
    } else if (e.key == "limits") {
      if (!e.value.IsNull() && is_mapping(e, where)) {
        read_limits(e, " in settings.limits", &settings.limits);
      }
    } else if (e.key == "github_actions") {
      read_github_actions(e);
    } else if (e.key == "git_author") {
      std::string author;
      if (!read_string(e, where, &author)) continue;
      size_t lt = author.find('<');
      if (lt == std::string::npos || lt == 0 || author.size() < lt + 3 || author.back() != '>') {
        error(e.value_loc(), "invalid value " + in_quotes(author) + " for 'git_author'" + where +
                                 ": expected 'Name <email>'");
      } else {
        settings.git_author = author;
      }
    }
  }
}

// settings.github_actions: {runs_on: LABEL or [LABELS]}, for `baton export
// github-actions` (docs/github-actions.md).
void Reader::read_github_actions(const YamlEntry& g) {
  if (g.value.IsNull() || !is_mapping(g, " in settings")) return;
  const std::string where = " in settings.github_actions";
  Settings& settings = wf_.settings;
  for (const YamlEntry& e : map_entries(g.value, &kGithubActionsKeys, where, sink_)) {
    std::vector<YamlNode> items;
    if (e.value.IsScalar()) {
      items.push_back(e.value);
    } else if (e.value.IsSequence() && e.value.size() > 0) {
      for (const YamlNode& item : e.value) items.push_back(item);
    } else {
      error(e.value_loc(), "expected a runner label or a list of them for 'runs_on'" + where);
      continue;
    }
    for (const YamlNode& item : items) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        error(loc_of(item.Mark()), "expected a runner label (a non-empty string)" + where);
        continue;
      }
      settings.github_runs_on.push_back(item.Scalar());
      settings.github_runs_on_locs.push_back(loc_of(item.Mark()));
    }
  }
}

void Reader::read_inputs(const YamlEntry& in) {
  if (in.value.IsNull()) return;
  if (!is_mapping(in, "")) return;
  for (const YamlEntry& item : map_entries(in.value, nullptr, " in inputs", sink_)) {
    InputSpec spec;
    spec.loc = loc_of(item.key_node.Mark());
    out_->inputs[item.key] = spec.loc;
    const std::string where = " in input " + in_quotes(item.key);
    if (!item.value.IsNull() && !item.value.IsMap()) {
      error(item.value_loc(), "expected a mapping for input " + in_quotes(item.key));
    } else if (item.value.IsMap()) {
      for (const YamlEntry& e : map_entries(item.value, &kInputKeys, where, sink_)) {
        if (e.key == "required") {
          read_bool(e, where, &spec.required);
        } else if (e.key == "default") {
          nlohmann::json value;
          if (to_json(e, where, &value, nullptr)) spec.default_value = std::move(value);
        } else if (e.key == "description") {
          read_string(e, where, &spec.description);
        }
      }
    }
    wf_.inputs[item.key] = std::move(spec);
  }
}

void Reader::read_roles(const YamlEntry& roles) {
  if (roles.value.IsNull()) return;
  if (!is_mapping(roles, "")) return;
  for (const YamlEntry& item : map_entries(roles.value, nullptr, " in agents", sink_)) {
    RoleSpec role;
    RolePlaces places;
    read_role(item, sink_, &role, &places);
    wf_.agents[item.key] = std::move(role);
    out_->roles[item.key] = std::move(places);
  }
}

void Reader::read_context(const YamlEntry& c) {
  if (c.value.IsNull()) return;
  if (!is_mapping(c, "")) return;
  const std::string where = " in context";
  for (const YamlEntry& e : map_entries(c.value, &kContextKeys, where, sink_)) {
    if (e.key == "variables") {
      read_mapping_json(e, where, &wf_.variables, nullptr);
      continue;
    }
    // secrets
    if (e.value.IsNull() || !is_mapping(e, where)) continue;
    for (const YamlEntry& s : map_entries(e.value, nullptr, " in secrets", sink_)) {
      SecretSpec secret;
      secret.name = s.key;
      if (!is_env_name(s.key)) {
        // Tasks get the secret as $NAME or $BATON_SECRET_FILE_NAME.
        error(loc_of(s.key_node.Mark()), "invalid secret name " + in_quotes(s.key) +
                                             ": use letters, digits and '_', not starting "
                                             "with a digit (it names an environment variable)");
      }
      const std::string swhere = " in secret " + in_quotes(s.key);
      if (!s.value.IsMap()) {
        error(s.value_loc(), "expected a mapping for secret " + in_quotes(s.key));
        continue;
      }
      for (const YamlEntry& f : map_entries(s.value, &kSecretKeys, swhere, sink_)) {
        read_string(f, swhere, f.key == "env" ? &secret.env : &secret.file);
      }
      bool has_env = s.value["env"].IsDefined(), has_file = s.value["file"].IsDefined();
      if (has_env == has_file) {
        error(loc_of(s.key_node.Mark()),
              "secret " + in_quotes(s.key) +
                  (has_env ? " has both 'env' and 'file'" : " needs 'env' or 'file'"));
      }
      wf_.secrets[s.key] = std::move(secret);
    }
  }
}

void Reader::read_tasks(const YamlEntry& e) {
  if (!e.value.IsSequence()) {
    expected(e, "a list", "");
    return;
  }
  if (e.value.size() == 0) {
    error(e.value_loc(), "'tasks' is empty; a workflow needs at least one task");
    return;
  }
  // Sized once: growing by doubling would hold both copies at the peak.
  wf_.tasks.reserve(e.value.size());
  out_->tasks.reserve(e.value.size());
  int number = 0;
  for (const YamlNode& node : e.value) {
    TaskSpec task;
    TaskPlaces places;
    read_task(node, ++number, "", &task, &places);
    wf_.tasks.push_back(std::move(task));
    out_->tasks.push_back(std::move(places));
  }
}

void Reader::read_hooks(const YamlEntry& h) {
  if (h.value.IsNull()) return;
  if (!is_mapping(h, "")) return;
  for (const YamlEntry& e : map_entries(h.value, &kHookKeys, " in hooks", sink_)) {
    std::vector<TaskSpec>* list = e.key == "on_start"     ? &wf_.hooks.on_start
                                  : e.key == "on_success" ? &wf_.hooks.on_success
                                  : e.key == "on_failure" ? &wf_.hooks.on_failure
                                                          : &wf_.hooks.on_complete;
    std::vector<TaskPlaces>& places = out_->hooks[e.key];
    if (e.value.IsNull()) continue;
    if (!e.value.IsSequence()) {
      expected(e, "a list", " in hooks");
      continue;
    }
    int number = 0;
    for (const YamlNode& node : e.value) {
      TaskSpec task;
      TaskPlaces p;
      read_task(node, ++number, e.key, &task, &p);
      list->push_back(std::move(task));
      places.push_back(std::move(p));
    }
  }
}

void Reader::read_task(const YamlNode& node, int number, const std::string& hook_group,
                       TaskSpec* task, TaskPlaces* places) {
  bool hook = !hook_group.empty();
  task->loc = loc_of(node.Mark());
  task->set_spec_sha256(sha256_hex(canonical_text(node)));
  places->id = task->loc;
  if (hook) task->id = hook_group + "." + std::to_string(number);
  std::string label = hook ? "hook " + in_quotes(task->id) : "task " + std::to_string(number);
  if (!node.IsMap()) {
    error(task->loc, "expected a mapping for " + label);
    return;
  }
  // The id first: every other message names the task by it.
  YamlNode id = node["id"];
  if (id.IsDefined()) {
    if (id.IsScalar()) {
      task->id = id.Scalar();
      places->has_id = true;
      places->id = loc_of(id.Mark());
      label = (hook ? "hook " : "task ") + in_quotes(task->id);
      if (task->id.size() > kMaxTaskIdLength) {
        error(places->id, std::string(hook ? "hook" : "task") + " id " +
                              in_quotes(task->id.substr(0, 32) + "...") + " is too long (" +
                              std::to_string(task->id.size()) + " characters; at most " +
                              std::to_string(kMaxTaskIdLength) + ")");
      } else if (!is_task_id(task->id)) {
        error(places->id, "invalid task id " + in_quotes(task->id) +
                              ": use letters, digits, '_' and '-', not starting with '-'");
      }
    } else {
      error(places->id, "expected a string for 'id' in " + label);
    }
  } else if (!hook) {
    error(task->loc, label + " has no 'id'");
  }
  const std::string where = " in " + label;
  bool has_agent = false, has_run = false;
  for (const YamlEntry& e : map_entries(node, &task_keys(), where, sink_)) {
    const std::string& k = e.key;
    if (k == "id") continue;
    if (k == "agent") {
      has_agent = true;
      places->agent = e.value_loc();
      if (e.value.IsMap()) {
        // agent: {use: NAME, via: cli|acp, permission: POLICY}
        const std::string in_agent = " in 'agent'" + where;
        bool has_use = false;
        for (const YamlEntry& a : map_entries(e.value, &kTaskAgentKeys, in_agent, sink_)) {
          size_t i;
          if (a.key == "use") {
            has_use = true;
            places->agent = a.value_loc();
            if (read_string(a, in_agent, &task->agent) && task->agent.empty()) {
              error(a.value_loc(), "'use' is empty" + in_agent);
            }
          } else if (a.key == "via" && read_enum(a, in_agent, kAgentViaValues, &i)) {
            task->mutable_extras().agent_via = static_cast<AgentVia>(i);
          } else if (a.key == "permission" && read_enum(a, in_agent, kAcpPermissionValues, &i)) {
            task->mutable_extras().acp_permission = kAcpPermissionValues[i];
          }
        }
        if (!has_use) error(e.value_loc(), "'agent' has no 'use'" + where);
      } else if (read_string(e, where, &task->agent) && task->agent.empty()) {
        error(e.value_loc(), "'agent' is empty" + where);
      }
    } else if (k == "run") {
      has_run = true;
      read_run(e, where, task, places);
    } else if (k == "description") {
      if (read_string(e, where, &task->mutable_extras().description)) {
        places->templates.push_back({task->description(), false, e.value.Mark()});
      }
    } else if (k == "parameters") {
      read_mapping_json(e, where, &task->mutable_extras().parameters, &places->templates);
    } else if (k == "dependencies") {
      if (hook) {
        error(loc_of(e.key_node.Mark()), "hooks have no 'dependencies'; they run in order");
        continue;
      }
      if (e.value.IsNull()) continue;
      if (!e.value.IsSequence()) {
        expected(e, "a list", where);
        continue;
      }
      for (const YamlNode& item : e.value) {
        if (!item.IsScalar()) {
          error(loc_of(item.Mark()), "expected a task id in 'dependencies'" + where);
          continue;
        }
        task->dependencies.push_back(item.Scalar());
        places->dependency_items.push_back(loc_of(item.Mark()));
      }
    } else if (k == "condition") {
      if (read_string(e, where, &task->condition)) {
        places->templates.push_back({task->condition, true, e.value.Mark()});
      }
    } else if (k == "retry") {
      if (e.value.IsNull()) continue;
      if (!is_mapping(e, where)) continue;
      RetryPolicy retry;
      read_retry(e, label, &retry);
      task->mutable_extras().retry = retry;
    } else if (k == "timeout") {
      double t;
      if (read_duration(e, where, true, &t)) task->timeout_s = t;
    } else if (k == "on_failure") {
      size_t i;
      if (e.value.IsScalar() && e.value.Scalar() == "continue") {
        // The run-level word in a task: say where it belongs.
        error(e.value_loc(), "invalid value 'continue' for 'on_failure'" + where +
                                 ": expected fail, skip, retry or escalate; 'continue' is a "
                                 "run-level setting (settings.on_failure: continue runs the "
                                 "other tasks after one fails); on a task, 'skip' lets its "
                                 "dependants run");
      } else if (read_enum(e, where, {"fail", "skip", "retry", "escalate"}, &i)) {
        task->on_failure = static_cast<TaskFailureAction>(i);
      }
    } else if (k == "env") {
      read_env(e, label, task, places);
    } else if (k == "workdir") {
      if (read_string(e, where, &task->mutable_extras().workdir)) {
        places->templates.push_back({task->workdir(), false, e.value.Mark()});
        places->templates.back().workdir = true;
      }
    } else if (k == "outputs") {
      if (read_mapping_json(e, where, &task->mutable_extras().outputs, nullptr)) {
        read_outputs(e, where);
      }
    } else if (k == "model") {
      read_string(e, where, &task->mutable_extras().model);
    } else if (k == "fallback") {
      size_t i;
      if (read_enum(e, where, {"next_in_list", "same_agent", "fail"}, &i)) {
        task->fallback = i == 0   ? FallbackStrategy::kNextInList
                         : i == 1 ? FallbackStrategy::kSameAgent
                                  : FallbackStrategy::kFail;
      }
    } else if (k == "resume_session") {
      read_bool(e, where, &task->resume_session);
    } else if (k == "max_turns") {
      read_count(e, where, &task->max_turns);
    } else if (k == "max_cost_usd") {
      double usd;
      if (read_amount(e, where, &usd)) task->mutable_extras().max_cost_usd = usd;
    } else if (k == "secrets") {
      read_task_secrets(e, where, task, places);
    } else if (k == "gate") {
      if (hook) {
        error(loc_of(e.key_node.Mark()), "hooks have no 'gate'; they run unattended");
        continue;
      }
      read_gate(e, where, task, places);
    } else if (k == "review") {
      if (hook) {
        error(loc_of(e.key_node.Mark()), "hooks have no 'review'; they run unattended");
        continue;
      }
      read_review(e, where, task, places);
    } else if (k == "limits") {
      if (hook) {
        error(loc_of(e.key_node.Mark()),
              "hooks have no 'limits'; they run in the project root, unsandboxed");
        continue;
      }
      places->limits = loc_of(e.key_node.Mark());
      if (!e.value.IsNull() && is_mapping(e, where)) {
        read_limits(e, " in limits of " + label, &task->mutable_extras().limits);
      }
    } else if (k == "executor") {
      if (hook) {
        error(loc_of(e.key_node.Mark()), "hooks have no 'executor'; they run on this machine");
        continue;
      }
      size_t i;
      if (read_enum(e, where, kExecutorValues, &i)) {
        task->mutable_extras().executor = static_cast<ExecutorKind>(i);
      }
    } else if (k == "isolation" || k == "sandbox" || k == "network" || k == "image") {
      if (hook) {
        error(loc_of(e.key_node.Mark()),
              "hooks have no " + in_quotes(k) + "; they run in the project root, unsandboxed");
        continue;
      }
      size_t i;
      bool network;
      if (k == "isolation" && read_enum(e, where, kIsolationValues, &i)) {
        task->isolation = static_cast<Isolation>(i);
      } else if (k == "sandbox" && read_enum(e, where, kSandboxValues, &i)) {
        task->sandbox = static_cast<Sandbox>(i);
      } else if (k == "network" && read_bool(e, where, &network)) {
        task->mutable_extras().network = network;
      } else if (k == "image") {
        std::string image;
        if (read_string(e, where, &image)) task->mutable_extras().image = image;
      }
    }
  }
  if (!has_agent && !has_run && !task->gate()) {
    error(task->loc, label + " needs 'agent', 'run' or 'gate'");
  } else if (has_agent && has_run) {
    error(task->loc, label + " has both 'agent' and 'run'");
  }
}

void Reader::read_gate(const YamlEntry& g, const std::string& where, TaskSpec* task,
                       TaskPlaces* places) {
  GateSpec gate;
  gate.loc = g.value_loc();
  if (!g.value.IsNull()) {
    if (!is_mapping(g, where)) return;
    static const std::vector<std::string> kGateKeys = {"message"};
    const std::string in_gate = " in gate" + where;
    for (const YamlEntry& e : map_entries(g.value, &kGateKeys, in_gate, sink_)) {
      if (read_string(e, in_gate, &gate.message)) {
        places->templates.push_back({gate.message, false, e.value.Mark()});
      }
    }
  }
  task->mutable_extras().gate = std::move(gate);
}

void Reader::read_review(const YamlEntry& r, const std::string& where, TaskSpec* task,
                         TaskPlaces* places) {
  places->review = loc_of(r.key_node.Mark());
  if (!is_mapping(r, where)) return;
  ReviewSpec review;
  review.loc = r.value_loc();
  const std::string in_review = " in 'review'" + where;
  bool has_agent = false;
  for (const YamlEntry& e : map_entries(r.value, &kReviewKeys, in_review, sink_)) {
    size_t i;
    if (e.key == "agent") {
      has_agent = true;
      places->review_agent = e.value_loc();
      if (read_string(e, in_review, &review.agent) && review.agent.empty()) {
        error(e.value_loc(), "'agent' is empty" + in_review);
      }
    } else if (e.key == "max_cycles") {
      read_count(e, in_review, &review.max_cycles);
    } else if (e.key == "instructions") {
      read_string(e, in_review, &review.instructions);
    } else if (e.key == "on_exhausted" && read_enum(e, in_review, {"escalate", "fail"}, &i)) {
      review.on_exhausted = static_cast<ReviewExhausted>(i);
    }
  }
  if (!has_agent) error(r.value_loc(), "'review' has no 'agent'" + where);
  task->review = std::move(review);
}

void Reader::read_run(const YamlEntry& e, const std::string& where, TaskSpec* task,
                      TaskPlaces* places) {
  if (e.value.IsScalar()) {
    task->run_shell = e.value.Scalar();
    if (task->run_shell->empty()) error(e.value_loc(), "'run' is empty" + where);
    places->templates.push_back({*task->run_shell, false, e.value.Mark()});
    places->templates.back().shell = true;
    return;
  }
  if (!e.value.IsSequence()) {
    expected(e, "a string or a list", where);
    return;
  }
  std::vector<std::string> argv;
  for (const YamlNode& item : e.value) {
    if (!item.IsScalar()) {
      error(loc_of(item.Mark()), "expected a string in 'run'" + where);
      continue;
    }
    argv.push_back(item.Scalar());
    // Without "${" an item is a literal with nothing to check (expr::parse_template):
    // no site for it, so a run of plain commands does not copy every argument twice.
    if (item.Scalar().find("${") != std::string::npos) {
      places->templates.push_back({item.Scalar(), false, item.Mark()});
    }
  }
  if (e.value.size() == 0) error(e.value_loc(), "'run' is an empty list" + where);
  task->run_argv = std::move(argv);
}

void Reader::read_env(const YamlEntry& env, const std::string& label, TaskSpec* task,
                      TaskPlaces* places) {
  if (env.value.IsNull()) return;
  if (!is_mapping(env, " in " + label)) return;
  const std::string where = " in env of " + label;
  for (const YamlEntry& e : map_entries(env.value, nullptr, where, sink_)) {
    if (!is_env_name(e.key)) {
      error(loc_of(e.key_node.Mark()), "invalid environment variable name " + in_quotes(e.key) +
                                           where + ": use letters, digits and '_'");
      continue;
    }
    std::string value;
    if (!read_string(e, where, &value)) continue;
    task->mutable_extras().env[e.key] = value;
    places->templates.push_back({value, false, e.value.Mark()});
  }
}

// task.secrets: a list of names (checked against context.secrets by validate.cc).
void Reader::read_task_secrets(const YamlEntry& e, const std::string& where, TaskSpec* task,
                               TaskPlaces* places) {
  if (e.value.IsNull()) return;
  if (!e.value.IsSequence()) {
    expected(e, "a list of secret names", where);
    return;
  }
  for (const YamlNode& item : e.value) {
    if (!item.IsScalar()) {
      error(loc_of(item.Mark()), "expected a secret name in 'secrets'" + where);
      continue;
    }
    task->mutable_extras().secrets.push_back(item.Scalar());
    places->secret_items.push_back(loc_of(item.Mark()));
  }
}

void Reader::read_retry(const YamlEntry& r, const std::string& label, RetryPolicy* retry) {
  const std::string where = " in retry of " + label;
  for (const YamlEntry& e : map_entries(r.value, &kRetryKeys, where, sink_)) {
    if (e.key == "max_attempts") {
      read_count(e, where, &retry->max_attempts);
    } else if (e.key == "delay") {
      read_duration(e, where, false, &retry->delay_s);
    } else if (e.key == "max_delay") {
      double d;
      if (read_duration(e, where, false, &d)) retry->max_delay_s = d;
    } else if (e.key == "backoff") {
      size_t i;
      if (read_enum(e, where, {"fixed", "exponential"}, &i)) {
        retry->backoff = i == 0 ? Backoff::kFixed : Backoff::kExponential;
      }
    } else if (e.key == "jitter") {
      std::optional<double> j = e.value.IsScalar() ? parse_number(e.value.Scalar()) : std::nullopt;
      if (!j) {
        expected(e, "a number", where);
      } else if (*j < 0 || *j > 1) {
        error(e.value_loc(), "'jitter'" + where + " must be between 0 and 1");
      } else {
        retry->jitter = *j;
      }
    }
  }
}

void Reader::read_slurm(const YamlEntry& s, SlurmSettings* slurm) {
  const std::string where = " in settings.slurm";
  // Slurm names: no control characters, no leading '-' (they would read as options).
  auto name = [&](const YamlEntry& e, std::string* out) {
    std::string v;
    if (!read_string(e, where, &v)) return;
    bool bad = v.empty() || v[0] == '-';
    for (unsigned char c : v) bad = bad || c < 0x20 || c == 0x7f;
    if (bad) {
      error(e.value_loc(), "invalid value " + in_quotes(v) + " for " + in_quotes(e.key) + where +
                               ": expected a Slurm name (not empty, no control characters, " +
                               "not starting with '-')");
      return;
    }
    *out = v;
  };
  for (const YamlEntry& e : map_entries(s.value, &kSlurmKeys, where, sink_)) {
    if (e.key == "partition") {
      name(e, &slurm->partition);
    } else if (e.key == "account") {
      name(e, &slurm->account);
    } else if (e.key == "time") {
      double t;
      if (read_duration(e, where, true, &t)) slurm->time_s = t;
    } else if (e.key == "cpus") {
      int n;
      if (read_count(e, where, &n)) slurm->cpus = n;
    } else if (e.key == "lost_after") {
      read_duration(e, where, true, &slurm->lost_after_s);
    } else if (e.key == "poll") {
      read_duration(e, where, true, &slurm->poll_s);
    } else if (e.key == "mem") {
      Result<int64_t> bytes =
          e.value.IsScalar() ? parse_size(e.value.Scalar()) : fail("not a scalar");
      if (!bytes || *bytes < kMinMemoryBytes) {
        error(e.value_loc(), "invalid size for 'mem'" + where +
                                 ": expected at least 1MiB, as bytes or a value like 512MiB, "
                                 "2GiB");
      } else {
        slurm->mem_bytes = *bytes;
      }
    } else if (e.key == "extra") {
      if (e.value.IsNull()) continue;
      if (!e.value.IsSequence()) {
        expected(e, "a list of sbatch options", where);
        continue;
      }
      for (const YamlNode& item : e.value) {
        if (!item.IsScalar()) {
          error(loc_of(item.Mark()), "expected a string in 'extra'" + where);
          continue;
        }
        const std::string& v = item.Scalar();
        bool control = false;
        for (unsigned char c : v) control = control || c < 0x20 || c == 0x7f;
        std::string option = v.substr(0, v.find('='));
        if (v.size() < 2 || v[0] != '-' || v == "--" || control) {
          error(loc_of(item.Mark()), "invalid sbatch option " + in_quotes(v) + " in 'extra'" +
                                         where +
                                         ": expected one option per item, like '--qos=low'");
        } else if (is_reserved_sbatch_option(option)) {
          error(loc_of(item.Mark()), "sbatch option " + in_quotes(option) + " in 'extra'" + where +
                                         " is set by baton (docs/slurm.md, \"Options\")");
        } else {
          slurm->extra.push_back(v);
        }
      }
    }
  }
}

void Reader::read_limits(const YamlEntry& l, const std::string& where, Limits* limits) {
  // A whole number from 1 to kMaxLimitCount.
  auto count = [&](const YamlEntry& e, std::optional<int64_t>* out) {
    std::optional<double> n = e.value.IsScalar() ? parse_number(e.value.Scalar()) : std::nullopt;
    if (!n || *n != std::floor(*n)) {
      expected(e, "a whole number", where);
    } else if (*n < 1) {
      error(e.value_loc(), in_quotes(e.key) + where + " must be at least 1");
    } else if (*n > kMaxLimitCount) {
      error(e.value_loc(), in_quotes(e.key) + where + " must be at most " +
                               std::to_string(static_cast<int64_t>(kMaxLimitCount)));
    } else {
      *out = static_cast<int64_t>(*n);
    }
  };
  for (const YamlEntry& e : map_entries(l.value, &kLimitKeys, where, sink_)) {
    if (e.key == "pids") {
      count(e, &limits->pids);
    } else if (e.key == "open_files") {
      count(e, &limits->open_files);
    } else if (e.key == "cpu_seconds") {
      double seconds;
      if (read_duration(e, where, true, &seconds)) limits->cpu_seconds = seconds;
    } else if (e.key == "memory") {
      if (!e.value.IsScalar()) {
        expected(e, "a size", where);
        continue;
      }
      Result<int64_t> bytes = parse_size(e.value.Scalar());
      if (!bytes) {
        error(e.value_loc(), "invalid size " + in_quotes(e.value.Scalar()) + " for 'memory'" +
                                 where +
                                 ": expected a number of bytes or a value like 512MiB, "
                                 "2GiB");
      } else if (*bytes < kMinMemoryBytes) {
        error(e.value_loc(), "'memory'" + where + " must be at least 1MiB");
      } else {
        limits->memory = *bytes;
      }
    }
  }
}

}  // namespace

SourceLoc YamlEntry::value_loc() const {
  if (value && !value.IsNull()) {
    SourceLoc loc = loc_of(value.Mark());
    if (loc.line > 0) return loc;
  }
  return loc_of(key_node.Mark());
}

std::vector<YamlEntry> map_entries(const YamlNode& map, const std::vector<std::string>* allowed,
                                   const std::string& where, DiagnosticSink& sink) {
  std::vector<YamlEntry> entries;
  std::map<std::string, int> first_line;
  for (auto it = map.begin(); it != map.end(); ++it) {
    YamlEntry e{"", it->first, it->second};
    SourceLoc key_loc = loc_of(e.key_node.Mark());
    if (!e.key_node.IsScalar()) {
      sink.error(key_loc, "expected a string key" + where);
      continue;
    }
    e.key = e.key_node.Scalar();
    auto [seen, inserted] = first_line.emplace(e.key, key_loc.line);
    if (!inserted) {
      sink.error(key_loc, "duplicate key " + in_quotes(e.key) + where + " (first at line " +
                              std::to_string(seen->second) + ")");
      continue;
    }
    if (allowed && std::find(allowed->begin(), allowed->end(), e.key) == allowed->end()) {
      sink.error(key_loc,
                 "unknown key " + in_quotes(e.key) + where + did_you_mean(e.key, *allowed));
      continue;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

void read_role(const YamlEntry& entry, DiagnosticSink& sink, RoleSpec* role, RolePlaces* places) {
  role->name = entry.key;
  role->loc = loc_of(entry.key_node.Mark());
  const std::string where = " in role " + in_quotes(entry.key);
  if (!entry.value.IsMap()) {
    sink.error(entry.value_loc(), "expected a mapping for role " + in_quotes(entry.key));
    return;
  }
  bool has_use = false;
  for (const YamlEntry& e : map_entries(entry.value, &kRoleKeys, where, sink)) {
    if (e.key == "max_concurrent") {
      int n = 0;
      if (read_concurrency(e, where, sink, &n)) role->max_concurrent = n;
      continue;
    }
    if (e.key == "via" || e.key == "permission") {
      const std::vector<std::string>& values =
          e.key == "via" ? kAgentViaValues : kAcpPermissionValues;
      std::string v = e.value.IsScalar() ? e.value.Scalar() : "";
      auto it = std::find(values.begin(), values.end(), v);
      if (!e.value.IsScalar() || it == values.end()) {
        sink.error(e.value_loc(), "invalid value " + in_quotes(v) + " for " + in_quotes(e.key) +
                                      where + ": expected " + alternatives(values) +
                                      did_you_mean(v, values));
      } else if (e.key == "via") {
        role->via = static_cast<AgentVia>(it - values.begin());
      } else {
        role->acp_permission = v;
      }
      continue;
    }
    if (e.key == "instructions") {
      if (!e.value.IsScalar()) {
        sink.error(e.value_loc(), "expected a string for 'instructions'" + where);
      } else {
        role->instructions = e.value.Scalar();
      }
      continue;
    }
    has_use = true;
    if (e.value.IsScalar()) {
      role->use.push_back(e.value.Scalar());
      places->use_items.push_back(loc_of(e.value.Mark()));
    } else if (e.value.IsSequence()) {
      for (const YamlNode& item : e.value) {
        if (!item.IsScalar()) {
          sink.error(loc_of(item.Mark()), "expected an agent name in 'use'" + where);
          continue;
        }
        role->use.push_back(item.Scalar());
        places->use_items.push_back(loc_of(item.Mark()));
      }
      if (e.value.size() == 0) sink.error(e.value_loc(), "'use' is empty" + where);
    } else {
      sink.error(e.value_loc(), "expected a list of agents for 'use'" + where);
    }
  }
  if (!has_use) sink.error(role->loc, "missing 'use'" + where);
}

bool read_concurrency(const YamlEntry& e, const std::string& where, DiagnosticSink& sink,
                      int* out) {
  std::optional<double> n = e.value.IsScalar() ? parse_number(e.value.Scalar()) : std::nullopt;
  if (!n || *n != std::floor(*n)) {
    sink.error(e.value_loc(), "expected a whole number for " + in_quotes(e.key) + where);
    return false;
  }
  if (*n < 1) {
    sink.error(e.value_loc(), in_quotes(e.key) + where + " must be at least 1");
    return false;
  }
  if (*n > kMaxCount) {
    sink.error(e.value_loc(),
               in_quotes(e.key) + where + " must be at most " + std::to_string(kMaxCount));
    return false;
  }
  *out = static_cast<int>(*n);
  return true;
}

void read_agent_limits(const YamlEntry& e, const std::string& where, DiagnosticSink& sink,
                       std::map<std::string, int>* out, std::map<std::string, SourceLoc>* places) {
  if (e.value.IsNull()) return;
  if (!e.value.IsMap()) {
    sink.error(e.value_loc(),
               "expected a mapping (agent: attempts at once) for " + in_quotes(e.key) + where);
    return;
  }
  const std::string inner = " in " + in_quotes(e.key) + where;
  for (const YamlEntry& item : map_entries(e.value, nullptr, inner, sink)) {
    int n = 0;
    if (places) (*places)[item.key] = loc_of(item.key_node.Mark());
    if (read_concurrency(item, inner, sink, &n)) (*out)[item.key] = n;
  }
}

namespace {

// One yaml_to_json(): its budget and sites, and two sets of node ids. SITED: the
// scalars already appended to SITES. A scalar reached again through an alias is the
// same text at the same place: its template is checked once, so an error in it is
// reported once, and a 1 MB anchor aliased a thousand times is not parsed a thousand
// times. OPEN: the collections being converted (the path from the root). A collection met
// again inside itself (`&a [x, *a]`) is a cycle JSON cannot hold; without this check
// it would be written out until the depth or the budget ran out, and the YAML
// builder's alias limit (kMaxAliasBytes) cannot count an alias of an anchor not yet
// complete, so a 2 KB file could fill gigabytes before either did.
// WHY: set to the reason when the conversion fails.
struct Conversion {
  size_t* budget;
  std::vector<TemplateSite>* sites;
  std::string why;
  std::unordered_set<uint32_t> sited;
  std::unordered_set<uint32_t> open;
};

bool convert(const YamlNode& node, int depth, Conversion* c, nlohmann::json* out) {
  if (depth > kMaxJsonDepth) {
    c->why = "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  if (*c->budget == 0) {
    c->why = "takes the file's values past " + std::to_string(kMaxJsonValues);
    return false;
  }
  --*c->budget;
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "?") {
        *out = resolve_plain(s);
        if (!out->is_string()) return true;
      }
      if (c->sites && c->sited.insert(node.id()).second) {
        c->sites->push_back({s, false, node.Mark()});
      }
      *out = s;
      return true;
    }
    case YAML::NodeType::Sequence:
    case YAML::NodeType::Map: {
      if (!c->open.insert(node.id()).second) {
        c->why =
            "contains itself through an alias (line " + std::to_string(node.Mark().line + 1) + ")";
        return false;
      }
      bool ok = true;
      if (node.IsSequence()) {
        *out = nlohmann::json::array();
        for (const YamlNode& item : node) {
          nlohmann::json value;
          if (!(ok = convert(item, depth + 1, c, &value))) break;
          out->push_back(std::move(value));
        }
      } else {
        *out = nlohmann::json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          // Non-string keys are not JSON; the first of two equal keys wins, as in
          // map_entries.
          if (!it->first.IsScalar() || out->contains(it->first.Scalar())) continue;
          nlohmann::json value;
          if (!(ok = convert(it->second, depth + 1, c, &value))) break;
          (*out)[it->first.Scalar()] = std::move(value);
        }
      }
      c->open.erase(node.id());
      return ok;
    }
    default:
      *out = nullptr;
      return true;
  }
}

}  // namespace

std::optional<nlohmann::json> yaml_to_json(const YamlNode& node, size_t* budget,
                                           std::vector<TemplateSite>* sites, std::string* why) {
  nlohmann::json out;
  Conversion c{budget, sites, {}, {}, {}};
  if (!convert(node, 0, &c, &out)) {
    if (why) *why = std::move(c.why);
    return std::nullopt;
  }
  return out;
}

void read_workflow(const YamlNode& root, DiagnosticSink& sink, ReadResult* out) {
  Reader(sink, out).read(root);
}

}  // namespace baton::workflow
