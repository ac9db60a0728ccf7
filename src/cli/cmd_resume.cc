// baton resume RUN [--force] [--plain|--json] [--no-wait] [--rehearse SCRIPT]: continue a
// run after baton was killed, interrupted, cancelled, paused, or left it waiting on a
// gate (docs/gates-and-resume.md). What is re-run and what is not: engine/run.h resume_run().
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/kitty_run.h"
#include "cli/live_view.h"
#include "cli/load.h"
#include "cli/open_run.h"
#include "cli/orchestrator.h"
#include "cli/rehearsal.h"
#include "cli/resume.h"
#include "cli/run_report.h"
#include "cli/run_webhooks.h"
#include "engine/run.h"
#include "engine/spec_changes.h"
#include "kitty/lane_observer.h"

namespace baton::cli {

void add_resume_flags(CLI::App* cmd, ResumeArgs& args) {
  cmd->add_flag("--force", args.force, "resume although the workflow file changed");
  cmd->add_flag("--plain", args.plain, "one line per transition even on a terminal");
  cmd->add_flag("--json", args.json, "print the final state as JSON on stdout");
  cmd->add_flag("--no-wait", args.no_wait,
                "when only gates are left, record the run waiting and exit 5");
  cmd->add_option("--rehearse", args.rehearse,
                  "run agent tasks against a scripted model server on 127.0.0.1 (SCRIPT.yaml)");
}

int resume_command(const ResumeArgs& args, const std::vector<std::string>& retried) {
  auto opened = open_run(args.run_id);
  if (!opened) return opened.error();
  store::Store& store = *opened->store;
  const store::RunRecord& run = opened->run;
  if (run.status == "success") {
    std::printf("run %s already succeeded; nothing to resume\n", run.id.c_str());
    return kExitSuccess;
  }
  Orchestrator holder(run.orchestrator_pid, run.orchestrator_start_time);
  if (run.orchestrator_pid != static_cast<int>(getpid()) && holder.alive()) {
    std::fprintf(stderr, "baton: run %s is being run by another baton (pid %d); not resuming\n",
                 run.id.c_str(), run.orchestrator_pid);
    return kExitBusy;
  }
  const std::string file = workflow_file(run, opened->db_path);
  const std::string state = std::filesystem::path(opened->db_path).parent_path().string();
  // A spec-kitty feature is built again from its WP files with the agents and the
  // lanes its run started with (cli/kitty_run.h), so the same WPs are its tasks.
  std::optional<KittySetup> feature;
  std::optional<LoadedWorkflow> loaded;
  if (workflow::is_kitty_feature_dir(file)) {
    auto saved = load_kitty_saved(state, run.id);
    if (!saved) {
      std::fprintf(stderr, "baton: %s\n", saved.error().message.c_str());
      return kExitUsage;
    }
    feature = prepare_kitty(file, run.root_dir, {}, &*saved);
    if (feature) loaded = std::move(feature->loaded);
  } else {
    loaded = load_for_command(file, run.root_dir, {}, false);
  }
  if (!loaded) {
    std::fprintf(stderr, "baton: cannot load %s, the workflow of run %s\n", file.c_str(),
                 run.id.c_str());
    return kExitUsage;
  }
  engine::ResumeOptions resume;
  resume.retried = retried;
  if (loaded->workflow.source_sha256 != run.workflow_sha256) {
    auto tasks = store.list_tasks(run.id);
    if (!tasks) {
      std::fprintf(stderr, "baton: %s\n", tasks.error().message.c_str());
      return kExitInternal;
    }
    resume.changed = engine::spec_changes(loaded->workflow, *tasks);
    std::string list;
    for (const std::string& c : resume.changed) list += (list.empty() ? "" : ", ") + c;
    if (list.empty()) list = "none (comments, layout, settings or hooks)";
    if (!args.force) {
      std::fprintf(stderr,
                   "baton: %s changed since run %s started (sha256 %.12s -> %.12s); tasks "
                   "changed: %s. Resume with --force to run what is left with the new file\n",
                   file.c_str(), run.id.c_str(), run.workflow_sha256.c_str(),
                   loaded->workflow.source_sha256.c_str(), list.c_str());
      return kExitUsage;
    }
    std::fprintf(stderr, "baton: note: %s changed since the run started (tasks changed: %s)\n",
                 file.c_str(), list.c_str());
    resume.forced = true;
  }

  auto webhooks = RunWebhooks::start(opened->db_path, loaded->webhooks, run.root_dir);
  engine::RunOptions options;
  options.root_dir = run.root_dir;
  options.state_dir = state;
  options.config_roles = loaded->config_roles;
  options.no_wait = args.no_wait;
  std::unique_ptr<Rehearsal> rehearsal;
  if (!args.rehearse.empty()) {
    auto started = Rehearsal::start(args.rehearse, state + "/runs/" + run.id);
    if (!started) {
      std::fprintf(stderr, "baton: --rehearse: %s\n", started.error().message.c_str());
      return kExitUsage;
    }
    rehearsal = std::move(*started);
    rehearsal->attach_to(options);
  }
  bool tty = !args.plain && !args.json && isatty(STDOUT_FILENO);
  auto view = make_view(tty, args.json ? stderr : stdout);
  engine::SystemClock clock;
  std::unique_ptr<kitty::LaneObserver> lanes;
  engine::RunObserver* observer = view.get();
  std::vector<std::string> wp_ids;
  if (feature) {
    for (const auto& wp : feature->feature.work_packages) wp_ids.push_back(wp.id);
    lanes = std::make_unique<kitty::LaneObserver>(
        *view, *feature->backend, feature->lanes, "baton", [](const std::string& problem) {
          std::fprintf(stderr, "baton: warning: lanes: %s\n", problem.c_str());
        });
    observer = lanes.get();
  }
  auto outcome =
      engine::resume_run(loaded->workflow, store, run, options, resume, *observer, clock);
  if (lanes) lanes->finish(wp_ids);
  lanes.reset();
  view.reset();
  if (!outcome) {
    std::fprintf(stderr, "baton: %s\n", outcome.error().message.c_str());
    return outcome.error().message.find("is already being run") != std::string::npos
               ? kExitBusy
               : kExitInternal;
  }
  return report_run(store, *outcome, state, args.json, rehearsal.get());
}

void add_resume(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "resume", "Continue a run that was killed, interrupted, cancelled, paused or waiting");
  auto args = std::make_shared<ResumeArgs>();
  cmd->add_option("RUN", args->run_id, kRunHelp)->required();
  add_resume_flags(cmd, *args);
  cmd->callback([=] { *exit_code = resume_command(*args, {}); });
}

}  // namespace baton::cli
