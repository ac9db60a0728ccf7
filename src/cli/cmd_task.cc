// baton task "PROMPT" [--agent A] [--review ROLE]: one agent task without a workflow
// file (Rover's `rover task`, seed 000). The workflow is made here: one agent task in
// its own worktree (and sandbox with --sandbox), whose prompt is the run's input
// `prompt`. The prompt is data: the task's template is the fixed `${inputs.prompt}`, so
// `${...}`, quotes or a leading `-` in it stay as written and reach the agent as its
// prompt, never a template, a shell or an option. The workflow is written as JSON to
// .baton/runs/<run>/task.json before the run starts, so that `baton resume`, `retry`,
// `iterate` and `status` treat the run like any other.
//
// Exit codes: as `baton run`; 2 for an empty prompt, an unknown agent or role, a
// project that is not a git repository with a commit.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "agents/invoker.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/paths.h"
#include "cli/start_run.h"
#include "engine/clock.h"
#include "engine/run.h"
#include "isolation/worktree.h"
#include "workflow/duration.h"

namespace baton::cli {

namespace {

struct TaskArgs {
  std::string prompt;
  std::string agent;   // "" = the config's role `coder` when it has one, else claude
  std::string review;  // a role or agent that reviews the work, or ""
  std::string sandbox = "none";
  std::string timeout;              // a duration ("30m"), or "" for the default
  std::optional<double> timeout_s;  // TIMEOUT in seconds, once parsed
  bool plain = false;
  bool json = false;
  std::string rehearse;
};

// The id of the task in the workflow `baton task` makes.
constexpr const char* kTaskId = "task";

// NAME as `--agent`/`--review` may give it: a role of the project's config or an agent
// baton knows. Error text for the option OPTION, else "".
std::string check_agent_name(const std::string& option, const std::string& name,
                             const workflow::Config& config) {
  if (config.roles.count(name) || agents::find_invoker(name)) return "";
  std::string known;
  for (const std::string& a : agents::known_agent_names()) known += (known.empty() ? "" : ", ") + a;
  for (const auto& [role, spec] : config.roles) known += ", " + role;
  return option + ": '" + name +
         "' is neither an agent baton knows nor a role of .baton/config.yaml (" + known + ")";
}

// The single place where `baton task --review ROLE` gives the task its review cycles
// (docs/review.md): TASK (the task's JSON mapping) gets `review: {agent: ROLE}`, with
// review's defaults (max_cycles 3, on_exhausted escalate). The loader then checks ROLE
// as it checks any workflow's review.
void add_review(nlohmann::json& task, const std::string& role) {
  task["review"] = {{"agent", role}};
}

// The workflow of one `baton task`: one agent task in a worktree whose prompt is the
// input `prompt`, resuming its session on a retry (and on `baton iterate`).
nlohmann::json task_workflow(const TaskArgs& args, const std::string& agent) {
  nlohmann::json task{{"id", kTaskId},
                      {"agent", agent},
                      {"description", "a one-off task (baton task)"},
                      {"parameters", {{"task", "${inputs.prompt}"}}},
                      {"resume_session", true}};
  if (args.sandbox != "none") task["network"] = true;  // the agent must reach its model
  if (args.timeout_s) task["timeout"] = *args.timeout_s;
  return nlohmann::json{
      {"version", "1.0"},
      {"name", "task"},
      {"description", "written by `baton task`"},
      {"inputs", {{"prompt", {{"required", true}, {"description", "the prompt, as given"}}}}},
      {"settings", {{"max_parallel", 1}, {"isolation", "worktree"}, {"sandbox", args.sandbox}}},
      {"tasks", nlohmann::json::array({task})}};
}

int task_command(TaskArgs args) {
  if (!args.timeout.empty()) {
    auto seconds = workflow::parse_duration(args.timeout);
    if (!seconds) {
      std::fprintf(stderr, "baton: --timeout: %s\n", seconds.error().message.c_str());
      return kExitUsage;
    }
    args.timeout_s = *seconds;
  }
  if (args.prompt.find_first_not_of(" \t\r\n") == std::string::npos) {
    std::fprintf(stderr, "baton: the prompt is empty\n");
    return kExitUsage;
  }
  std::string root = project_root();
  // The task works in a worktree: refused here, before its workflow is written.
  auto repo = isolation::open_repository(root);
  if (!repo || !isolation::head_commit(*repo)) {
    std::fprintf(stderr,
                 "baton: baton task works in a git worktree, but %s is not a git repository with "
                 "a commit\n",
                 root.c_str());
    return kExitUsage;
  }
  auto config = load_project_config(root);
  if (!config) return kExitUsage;
  std::string agent = args.agent;
  if (agent.empty()) agent = config->roles.count("coder") ? "coder" : "claude";
  if (std::string e = check_agent_name("--agent", agent, *config); !e.empty()) {
    std::fprintf(stderr, "baton: %s\n", e.c_str());
    return kExitUsage;
  }
  nlohmann::json wf = task_workflow(args, agent);
  if (!args.review.empty()) {
    if (std::string e = check_agent_name("--review", args.review, *config); !e.empty()) {
      std::fprintf(stderr, "baton: %s\n", e.c_str());
      return kExitUsage;
    }
    if (args.review == agent) {
      std::fprintf(stderr,
                   "baton: --review: the reviewer must not be the implementing agent '%s'\n",
                   agent.c_str());
      return kExitUsage;
    }
    add_review(wf["tasks"][0], args.review);
  }
  StartArgs start;
  start.run_id = engine::new_run_id(engine::SystemClock());
  start.plain = args.plain;
  start.json = args.json;
  start.rehearse = args.rehearse;
  std::string state = state_dir(root);
  if (auto r = write_state_gitignore(state); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  namespace fs = std::filesystem;
  fs::path dir = fs::path(state) / "runs" / start.run_id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path file = dir / "task.json";
  {
    std::ofstream out(file);
    out << wf.dump(2) << "\n";
    if (ec || !out.flush()) {
      std::fprintf(stderr, "baton: cannot write %s\n", file.c_str());
      return kExitInternal;
    }
  }
  auto loaded = load_for_command(file.string(), root, {{"prompt", args.prompt}}, true);
  if (!loaded) return kExitUsage;
  return start_run(loaded, root, start);
}

}  // namespace

void add_task(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("task", "Run one agent task on a prompt, without a workflow file");
  auto args = std::make_shared<TaskArgs>();
  cmd->add_option("PROMPT", args->prompt,
                  "what the agent should do (taken as written: no ${...}, no shell)")
      ->required();
  cmd->add_option("--agent", args->agent,
                  "an agent (claude, codex, ...) or a role of .baton/config.yaml; default: the "
                  "role coder when the config has it, else claude");
  cmd->add_option("--review", args->review,
                  "a role or agent that reviews the work (needs review cycles)");
  cmd->add_option("--sandbox", args->sandbox,
                  "confine the agent: none, auto, bwrap, docker, podman")
      ->check(CLI::IsMember({"none", "auto", "bwrap", "docker", "podman"}))
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout, "how long one attempt may take (30m, 2h, 600)");
  cmd->add_flag("--plain", args->plain, "one line per transition even on a terminal");
  cmd->add_flag("--json", args->json, "print the final state as JSON on stdout");
  cmd->add_option("--rehearse", args->rehearse,
                  "run the agent against a scripted model server on 127.0.0.1 (SCRIPT.yaml)");
  cmd->callback([=] { *exit_code = task_command(*args); });
}

}  // namespace baton::cli
