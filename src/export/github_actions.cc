#include "export/github_actions.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "workflow/graph.h"

namespace baton::exporter {

namespace {

using workflow::SourceLoc;
using workflow::TaskSpec;
using workflow::Workflow;

// The pinned actions every job uses (their major versions; docs/github-actions.md).
constexpr const char* kCheckout = "actions/checkout@v4";
constexpr const char* kUpload = "actions/upload-artifact@v4";
constexpr const char* kDownload = "actions/download-artifact@v4";

// Where a job keeps baton's files: the runner's temporary directory, emptied by the
// runner for every job and outside the work tree (so never packed as a task's files).
constexpr const char* kWorkDir = "${{ runner.temp }}/baton";

// The script of every task job: constant text; every value comes from the job's
// environment (BATON_FLOW, BATON_TASK, BATON_UPSTREAM, BATON_INPUTS), set from values
// checked by this file. Upstream jobs' files are unpacked in dependency order (a later
// task's version of a file wins), their results gathered for `baton run --only`. A
// job packs the regular files it added or changed, never a symbolic link: a link one
// task made and a file "through" it from another task would otherwise let two tasks
// together write outside the checkout when a later job unpacks both.
constexpr const char* kTaskScript =
    R"(# baton export github-actions: runs one task (docs/github-actions.md).
work="$RUNNER_TEMP/baton"
mkdir -p "$work/results" "$work/out/results" "$work/state"
for job in $BATON_UPSTREAM; do
  tar --no-same-owner -xzf "$work/in/baton-task-$job/files.tar.gz"
  cp "$work/in/baton-task-$job/results/"*.json "$work/results/"
done
status=0
baton run --only "$BATON_TASK" --results "$work/results" \
  --inputs-json "$BATON_INPUTS" --plain -- "$BATON_FLOW" || status=$?
cp "$work/results/$BATON_TASK.json" "$work/out/results/"
git ls-files -z --others --modified -- . ':(exclude).baton' |
  while IFS= read -r -d '' file; do
    if [ -f "$file" ] && [ ! -L "$file" ]; then printf '%s\0' "$file"; fi
  done | tar --null -T - -czf "$work/out/files.tar.gz"
cp -a .baton "$work/state/"
exit "$status")";

// The script of the finishing job: every result that exists (a job that never ran left
// none: `--finish` records its task cancelled), the end hooks, then each job's audit
// chain verified and exported, and this job's own.
constexpr const char* kFinishScript =
    R"(# baton export github-actions: end hooks and audit chains (docs/github-actions.md).
work="$RUNNER_TEMP/baton"
mkdir -p "$work/results" "$work/audit"
for job in $BATON_UPSTREAM; do
  if [ -d "$work/in/baton-task-$job" ]; then
    tar --no-same-owner -xzf "$work/in/baton-task-$job/files.tar.gz"
    cp "$work/in/baton-task-$job/results/"*.json "$work/results/"
  fi
done
status=0
baton run --finish --results "$work/results" \
  --inputs-json "$BATON_INPUTS" --plain -- "$BATON_FLOW" || status=$?
for dir in "$work/states/"*/; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  (cd "$dir" && baton audit export last -o "$work/audit/$name.jsonl" &&
    baton audit verify last) || status=1
done
baton audit export last -o "$work/audit/baton-finish.jsonl" || status=1
baton audit verify last || status=1
exit "$status")";

bool valid_gha_id(std::string_view id) {
  if (id.empty()) return false;
  auto first = static_cast<unsigned char>(id[0]);
  if (!std::isalpha(first) && id[0] != '_') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool has_expression(std::string_view text) { return text.find("${{") != std::string_view::npos; }

// The scalar text of an input's default as `-i` would give it: strings as they are,
// other JSON values as JSON text.
std::string input_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// Emits a user-derived string: always double-quoted, so no value is read back as
// another YAML type, a comment or a structure.
void quoted(YAML::Emitter& out, const std::string& value) { out << YAML::DoubleQuoted << value; }

// The tasks' jobs and what each needs: computed and checked before anything is emitted.
struct Plan {
  std::vector<std::string> job_ids;             // per task
  std::vector<int> order;                       // tasks, dependencies first
  std::vector<std::vector<int>> upstream;       // per task: upstream tasks in `order`
  std::vector<std::vector<std::string>> needs;  // per task: job ids
};

class Compiler {
 public:
  Compiler(const Workflow& wf, const GithubActionsOptions& options, workflow::DiagnosticSink& sink)
      : wf_(wf), options_(options), sink_(sink) {}

  std::optional<std::string> compile() {
    check_workflow();
    plan();
    if (sink_.has_errors()) return std::nullopt;
    return emit();
  }

 private:
  void error(SourceLoc loc, std::string message) { sink_.error(loc, std::move(message)); }
  void warning(SourceLoc loc, std::string message) { sink_.warning(loc, std::move(message)); }

  // A value that becomes part of the YAML file: refused when GitHub would evaluate it.
  void check_plain(std::string_view value, SourceLoc loc, const std::string& what) {
    if (has_expression(value)) {
      error(loc, what + " contains '${{', which GitHub Actions would evaluate as an expression");
    }
  }

  void check_task(const TaskSpec& task, const std::string& where) {
    if (task.gate()) {
      error(task.gate()->loc,
            where +
                ": gate: a GitHub Actions job cannot wait for `baton approve` (use a GitHub "
                "environment with required reviewers around the exported workflow instead)");
    }
    if (task.failure_action() == workflow::TaskFailureAction::kEscalate) {
      error(task.loc, where +
                          ": on_failure: escalate waits for `baton approve`, which a GitHub "
                          "Actions job cannot do");
    }
    if (task.isolation == workflow::Isolation::kWorktree) {
      error(task.loc, where +
                          ": isolation: worktree: each job has its own checkout; task branches "
                          "and their integration order cannot be handed between jobs");
    }
    for (const std::string& name : task.secrets()) {
      auto it = wf_.secrets.find(name);
      if (it == wf_.secrets.end()) continue;
      const workflow::SecretSpec& secret = it->second;
      if (!secret.env.empty()) {
        if (!valid_env_name(secret.env) || lower(secret.env).rfind("github_", 0) == 0) {
          error(task.loc, where + ": secret '" + name + "' reads $" + secret.env +
                              ", which is not a GitHub secret name (letters, digits and '_', "
                              "not starting with a digit or GITHUB_)");
        }
      } else if (!secret.file.empty()) {
        warning(task.loc, where + ": secret '" + name + "' is read from the file " + secret.file +
                              ": it must exist on every runner");
      }
    }
  }

  void check_workflow() {
    const workflow::Settings& s = wf_.settings;
    SourceLoc none;
    if (s.isolation == workflow::Isolation::kWorktree) {
      error(none,
            "settings.isolation: worktree: each job has its own checkout; task branches and "
            "their integration order cannot be handed between jobs");
    }
    for (size_t i = 0; i < wf_.hooks.on_start.size(); ++i) {
      error(wf_.hooks.on_start[i].loc,
            "hooks.on_start: a hook that must run before every task has no job to run in "
            "(make it a task the others depend on)");
    }
    for (const TaskSpec& task : wf_.tasks) check_task(task, "task '" + task.id + "'");
    for (const auto* list :
         {&wf_.hooks.on_success, &wf_.hooks.on_failure, &wf_.hooks.on_complete}) {
      for (const TaskSpec& hook : *list) check_task(hook, "hook");
    }
    check_plain(wf_.name, none, "the workflow's name");
    check_plain(options_.flow_path, none, "the workflow's path");
    if (!options_.runs_on.empty()) {
      runs_on_ = options_.runs_on;
      runs_on_locs_.assign(runs_on_.size(), none);
    } else if (!s.github_runs_on.empty()) {
      runs_on_ = s.github_runs_on;
      runs_on_locs_ = s.github_runs_on_locs;
    } else {
      runs_on_ = {"self-hosted"};
      runs_on_locs_ = {none};
    }
    for (size_t i = 0; i < runs_on_.size(); ++i) {
      if (runs_on_[i].empty()) error(runs_on_locs_[i], "runs-on: an empty runner label");
      check_plain(runs_on_[i], runs_on_locs_[i], "the runner label '" + runs_on_[i] + "'");
    }
    for (const auto& [name, input] : wf_.inputs) {
      if (!valid_gha_id(name)) {
        error(input.loc, "input '" + name +
                             "' is not a GitHub Actions input id (a letter or '_', then letters, "
                             "digits, '_' and '-')");
      }
      check_plain(input.description, input.loc, "the description of input '" + name + "'");
      if (input.default_value) {
        check_plain(input_text(*input.default_value), input.loc,
                    "the default of input '" + name + "'");
      }
    }
    if (s.max_parallel > 1 && static_cast<int>(wf_.tasks.size()) > s.max_parallel) {
      warning(none, "settings.max_parallel: " + std::to_string(s.max_parallel) +
                        " is not enforced across GitHub Actions jobs: as many tasks run at once "
                        "as runners with the labels are free");
    }
    if (!s.agent_limits.empty() || !s.role_limits.empty()) {
      warning(none,
              "agent_limits and max_concurrent are not enforced across GitHub Actions jobs; "
              "bound them with the runners' labels");
    }
    if (s.max_cost_usd) {
      warning(none,
              "settings.max_cost_usd: each job counts the cost of its own task and the tasks "
              "upstream of it, not of the whole run");
    }
  }

  void plan() {
    const size_t n = wf_.tasks.size();
    plan_.job_ids.resize(n);
    std::map<std::string, int> seen;  // lower-cased job id -> task
    for (size_t i = 0; i < n; ++i) {
      plan_.job_ids[i] = gha_job_id(wf_.tasks[i].id);
      std::string key = lower(plan_.job_ids[i]);
      if (key == kFinishJob) {
        error(wf_.tasks[i].loc, "task '" + wf_.tasks[i].id + "' would be the job " + key);
      }
      auto [it, inserted] = seen.emplace(key, static_cast<int>(i));
      if (!inserted) {
        error(wf_.tasks[i].loc, "task '" + wf_.tasks[i].id + "' and task '" +
                                    wf_.tasks[it->second].id + "' map to the same job id '" +
                                    plan_.job_ids[i] + "' (GitHub compares job ids ignoring case)");
      }
    }
    auto order = workflow::topological_order(wf_);
    if (!order) {
      error(SourceLoc{}, "the workflow's tasks form a cycle");
      return;
    }
    plan_.order = *order;
    std::vector<int> rank(n);
    for (size_t k = 0; k < n; ++k) rank[plan_.order[k]] = static_cast<int>(k);
    auto deps = workflow::dependency_indices(wf_);
    plan_.upstream.resize(n);
    plan_.needs.resize(n);
    for (size_t i = 0; i < n; ++i) {
      std::vector<bool> up = workflow::upstream_of(deps, static_cast<int>(i));
      for (int t : plan_.order) {
        if (up[t]) plan_.upstream[i].push_back(t);
      }
      for (int d : deps[i]) plan_.needs[i].push_back(plan_.job_ids[d]);
    }
    // on_failure: stop reaches only the tasks downstream of the failed one: it differs
    // from a local run when two tasks are independent (neither upstream of the other).
    bool chain = true;
    for (size_t k = 1; k < n && chain; ++k) {
      const auto& up = plan_.upstream[plan_.order[k]];
      chain = std::find(up.begin(), up.end(), plan_.order[k - 1]) != up.end();
    }
    if (wf_.settings.on_failure == workflow::RunFailurePolicy::kStop && !chain) {
      warning(SourceLoc{},
              "settings.on_failure: stop: a failed task cancels the tasks downstream of it; "
              "jobs of other branches still run");
    }
    // max_parallel: 1 is expressible: each job also waits for the one before it.
    if (wf_.settings.max_parallel == 1) {
      for (size_t k = 1; k < n; ++k) {
        int task = plan_.order[k];
        const std::string& previous = plan_.job_ids[plan_.order[k - 1]];
        auto& needs = plan_.needs[task];
        if (std::find(needs.begin(), needs.end(), previous) == needs.end()) {
          needs.push_back(previous);
        }
      }
    }
  }

  void emit_runs_on(YAML::Emitter& out) {
    out << YAML::Key << "runs-on" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& label : runs_on_) quoted(out, label);
    out << YAML::EndSeq;
  }

  // The job's env entries for the secrets of TASKS: `VAR: ${{ secrets.VAR }}` for each
  // secret read from an environment variable (names checked by check_task()).
  void emit_secret_env(YAML::Emitter& out, const std::vector<const TaskSpec*>& tasks) {
    std::set<std::string> vars;
    for (const TaskSpec* task : tasks) {
      for (const std::string& name : task->secrets()) {
        auto it = wf_.secrets.find(name);
        if (it != wf_.secrets.end() && !it->second.env.empty()) vars.insert(it->second.env);
      }
    }
    for (const std::string& var : vars) {
      out << YAML::Key << var << YAML::Value << "${{ secrets." + var + " }}";
    }
  }

  std::string upstream_jobs(const std::vector<int>& tasks) const {
    std::string text;
    for (int t : tasks) {
      if (!text.empty()) text += ' ';
      text += plan_.job_ids[t];
    }
    return text;
  }

  void emit_upload(YAML::Emitter& out, const std::string& step, const std::string& name,
                   const std::string& path, bool hidden_files) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << step;
    out << YAML::Key << "if" << YAML::Value << "${{ always() }}";
    out << YAML::Key << "uses" << YAML::Value << kUpload;
    out << YAML::Key << "with" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << name;
    out << YAML::Key << "path" << YAML::Value << path;
    out << YAML::Key << "if-no-files-found" << YAML::Value << "error";
    if (hidden_files) out << YAML::Key << "include-hidden-files" << YAML::Value << true;
    out << YAML::EndMap << YAML::EndMap;
  }

  void emit_task_job(YAML::Emitter& out, int i) {
    const TaskSpec& task = wf_.tasks[i];
    const std::string& job = plan_.job_ids[i];
    out << YAML::Key << job << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value;
    quoted(out, task.id);
    if (!plan_.needs[i].empty()) {
      out << YAML::Key << "needs" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const std::string& need : plan_.needs[i]) out << need;
      out << YAML::EndSeq;
      // baton decides what an upstream failure or a false condition means for the task
      // (cancelled, skipped): the job runs unless the workflow run was cancelled.
      out << YAML::Key << "if" << YAML::Value << "${{ !cancelled() }}";
    }
    emit_runs_on(out);
    out << YAML::Key << "timeout-minutes" << YAML::Value << job_timeout_minutes(wf_, task);
    out << YAML::Key << "env" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "BATON_TASK" << YAML::Value;
    quoted(out, task.id);
    out << YAML::Key << "BATON_UPSTREAM" << YAML::Value;
    quoted(out, upstream_jobs(plan_.upstream[i]));
    emit_secret_env(out, {&task});
    out << YAML::EndMap;
    out << YAML::Key << "steps" << YAML::Value << YAML::BeginSeq;
    out << YAML::BeginMap << YAML::Key << "uses" << YAML::Value << kCheckout << YAML::EndMap;
    for (int up : plan_.upstream[i]) {
      const std::string& up_job = plan_.job_ids[up];
      out << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value << "Download " + up_job;
      out << YAML::Key << "uses" << YAML::Value << kDownload;
      out << YAML::Key << "with" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value << "baton-task-" + up_job;
      out << YAML::Key << "path" << YAML::Value
          << std::string(kWorkDir) + "/in/baton-task-" + up_job;
      out << YAML::EndMap << YAML::EndMap;
    }
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << "Run the task";
    out << YAML::Key << "shell" << YAML::Value << "bash";
    out << YAML::Key << "run" << YAML::Value << YAML::Literal << kTaskScript;
    out << YAML::EndMap;
    emit_upload(out, "Upload the result and files", "baton-task-" + job,
                std::string(kWorkDir) + "/out", false);
    emit_upload(out, "Upload the state", "baton-state-" + job, std::string(kWorkDir) + "/state",
                true);
    out << YAML::EndSeq << YAML::EndMap;
  }

  void emit_finish_job(YAML::Emitter& out) {
    std::vector<const TaskSpec*> hooks;
    double hook_seconds = 0;
    for (const auto* list :
         {&wf_.hooks.on_success, &wf_.hooks.on_failure, &wf_.hooks.on_complete}) {
      for (const TaskSpec& hook : *list) {
        hooks.push_back(&hook);
        hook_seconds += hook.timeout_s.value_or(wf_.settings.timeout_s) + wf_.settings.kill_grace_s;
      }
    }
    out << YAML::Key << kFinishJob << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << "baton: hooks and audit";
    if (!wf_.tasks.empty()) {
      out << YAML::Key << "needs" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (int t : plan_.order) out << plan_.job_ids[t];
      out << YAML::EndSeq;
    }
    out << YAML::Key << "if" << YAML::Value << "${{ always() }}";
    emit_runs_on(out);
    out << YAML::Key << "timeout-minutes" << YAML::Value
        << static_cast<int>(std::ceil(hook_seconds / 60)) + kJobOverheadMinutes;
    out << YAML::Key << "env" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "BATON_UPSTREAM" << YAML::Value;
    quoted(out, upstream_jobs(plan_.order));
    emit_secret_env(out, hooks);
    out << YAML::EndMap;
    out << YAML::Key << "steps" << YAML::Value << YAML::BeginSeq;
    out << YAML::BeginMap << YAML::Key << "uses" << YAML::Value << kCheckout << YAML::EndMap;
    struct Download {
      const char* name;
      const char* pattern;
      const char* dir;
    };
    for (const Download& d :
         {Download{"Download every task's result and files", "baton-task-*", "in"},
          Download{"Download every task's state", "baton-state-*", "states"}}) {
      out << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value << d.name;
      out << YAML::Key << "uses" << YAML::Value << kDownload;
      out << YAML::Key << "with" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "pattern" << YAML::Value << d.pattern;
      out << YAML::Key << "path" << YAML::Value << std::string(kWorkDir) + "/" + d.dir;
      out << YAML::EndMap << YAML::EndMap;
    }
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << "Run the end hooks and export the audit chains";
    out << YAML::Key << "shell" << YAML::Value << "bash";
    out << YAML::Key << "run" << YAML::Value << YAML::Literal << kFinishScript;
    out << YAML::EndMap;
    emit_upload(out, "Upload the audit chains", "baton-audit", std::string(kWorkDir) + "/audit",
                false);
    out << YAML::EndSeq << YAML::EndMap;
  }

  std::string emit() {
    YAML::Emitter out;
    out.SetIndent(2);
    out << YAML::Comment(
        "Generated by `baton export github-actions`; regenerate it rather than editing it "
        "(docs/github-actions.md).");
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value;
    quoted(out, "baton: " + wf_.name);
    out << YAML::Key << "on" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "workflow_dispatch" << YAML::Value;
    if (wf_.inputs.empty()) {
      out << YAML::Null;
    } else {
      out << YAML::BeginMap << YAML::Key << "inputs" << YAML::Value << YAML::BeginMap;
      for (const auto& [name, input] : wf_.inputs) {
        out << YAML::Key << name << YAML::Value << YAML::BeginMap;
        if (!input.description.empty()) {
          out << YAML::Key << "description" << YAML::Value;
          quoted(out, input.description);
        }
        out << YAML::Key << "required" << YAML::Value << input.required;
        if (input.default_value) {
          out << YAML::Key << "default" << YAML::Value;
          quoted(out, input_text(*input.default_value));
        }
        out << YAML::Key << "type" << YAML::Value << "string";
        out << YAML::EndMap;
      }
      out << YAML::EndMap << YAML::EndMap;
    }
    out << YAML::EndMap;
    out << YAML::Key << "permissions" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "contents" << YAML::Value << "read";
    out << YAML::EndMap;
    // One run of this workflow per ref at a time; a second waits (never cancels).
    out << YAML::Key << "concurrency" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "group" << YAML::Value << "baton-${{ github.workflow }}-${{ github.ref }}";
    out << YAML::Key << "cancel-in-progress" << YAML::Value << false;
    out << YAML::EndMap;
    out << YAML::Key << "env" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "BATON_FLOW" << YAML::Value;
    quoted(out, options_.flow_path);
    out << YAML::Key << "BATON_INPUTS" << YAML::Value << "${{ toJSON(inputs) }}";
    out << YAML::EndMap;
    out << YAML::Key << "jobs" << YAML::Value << YAML::BeginMap;
    for (int t : plan_.order) emit_task_job(out, t);
    emit_finish_job(out);
    out << YAML::EndMap << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
  }

  const Workflow& wf_;
  const GithubActionsOptions& options_;
  workflow::DiagnosticSink& sink_;
  Plan plan_;
  std::vector<std::string> runs_on_;  // the labels in force and where each is written
  std::vector<SourceLoc> runs_on_locs_;
};

}  // namespace

std::string gha_job_id(const std::string& task_id) {
  if (valid_gha_id(task_id) && lower(task_id).rfind("baton_", 0) != 0) return task_id;
  return "task_" + task_id;
}

int job_timeout_minutes(const Workflow& wf, const TaskSpec& task) {
  const workflow::RetryPolicy retry = task.effective_retry();
  int agents = 1;
  if (!task.is_command() && !task.agent.empty()) {
    auto role = wf.agents.find(task.agent);
    if (role != wf.agents.end() && !role->second.use.empty()) {
      agents = static_cast<int>(role->second.use.size());
    }
  }
  const int attempts = std::max(1, retry.max_attempts) * agents;
  double seconds =
      attempts * (task.timeout_s.value_or(wf.settings.timeout_s) + wf.settings.kill_grace_s);
  for (int n = 1; n < attempts; ++n) {
    int k = (n - 1) % std::max(1, retry.max_attempts);  // retries restart per agent
    double delay = retry.delay_s;
    if (retry.backoff == workflow::Backoff::kExponential) delay *= std::pow(2.0, k);
    if (retry.max_delay_s) delay = std::min(delay, *retry.max_delay_s);
    seconds += delay * (1 + retry.jitter);
  }
  return static_cast<int>(std::ceil(seconds / 60)) + kJobOverheadMinutes;
}

std::optional<std::string> compile_github_actions(const Workflow& wf,
                                                  const GithubActionsOptions& options,
                                                  workflow::DiagnosticSink& sink) {
  return Compiler(wf, options, sink).compile();
}

}  // namespace baton::exporter
