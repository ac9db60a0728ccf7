#include "cli/start_run.h"

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/exit_codes.h"
#include "cli/job_results.h"
#include "cli/kitty_run.h"
#include "cli/live_view.h"
#include "cli/paths.h"
#include "cli/rehearsal.h"
#include "cli/run_report.h"
#include "cli/run_webhooks.h"
#include "cli/store_location.h"
#include "engine/run.h"
#include "engine/workspaces.h"
#include "kitty/lane_observer.h"
#include "store/store.h"
#include "util/free_memory.h"

namespace baton::cli {

int start_run(std::optional<LoadedWorkflow>& loaded, const std::string& root,
              const StartArgs& args) {
  engine::RunOptions options;
  if ((!args.only.empty() || args.finish) &&
      !prepare_job(args.only, args.results, *loaded, options)) {
    return kExitUsage;
  }
  auto isolation = engine::check_isolation(loaded->workflow, root);
  if (!isolation) {
    std::fprintf(stderr, "baton: %s\n", isolation.error().message.c_str());
    return kExitUsage;
  }
  for (const std::string& note : engine::isolation_notes(*isolation)) {
    std::fprintf(stderr, "baton: note: %s\n", note.c_str());
  }

  std::string state = state_dir(root);
  if (auto r = write_state_gitignore(state); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  const std::string location = store_location(state);
  auto store = open_state_store(location);
  if (!store) {
    std::fprintf(stderr, "baton: %s\n", store.error().message.c_str());
    return kExitInternal;
  }
  // Registered before the run's first event, so that it has its deliveries; sends until
  // the end of this function, then drains what is due (docs/webhooks.md).
  auto webhooks = RunWebhooks::start(location, loaded->webhooks, root);
  options.root_dir = root;
  options.state_dir = state;
  options.inputs = merged_inputs(*loaded);
  options.config_roles = loaded->config_roles;
  options.no_wait = args.no_wait;
  options.run_id = args.run_id;
  engine::SystemClock clock;
  if (args.refuse_existing) {
    auto existing = (*store)->get_run(args.run_id);
    if (!existing) {
      std::fprintf(stderr, "baton: %s\n", existing.error().message.c_str());
      return kExitInternal;
    }
    if (*existing) {
      std::fprintf(stderr, "baton: --run-id: a run %s exists already\n", args.run_id.c_str());
      return kExitUsage;
    }
  }
  std::unique_ptr<Rehearsal> rehearsal;
  if (!args.rehearse.empty()) {
    auto started = Rehearsal::start(args.rehearse, state + "/runs/" + options.run_id);
    if (!started) {
      std::fprintf(stderr, "baton: --rehearse: %s\n", started.error().message.c_str());
      return kExitUsage;
    }
    rehearsal = std::move(*started);
    rehearsal->attach_to(options);
  }
  bool tty = !args.plain && !args.json && isatty(STDOUT_FILENO);
  auto view = make_view(tty, args.json ? stderr : stdout);
  std::unique_ptr<kitty::LaneObserver> lanes;
  engine::RunObserver* observer = view.get();
  std::vector<std::string> wp_ids;
  if (args.feature) {
    if (auto saved = save_kitty(state, options.run_id, args.feature->saved); !saved) {
      std::fprintf(stderr, "baton: %s\n", saved.error().message.c_str());
      return kExitInternal;
    }
    for (const auto& wp : args.feature->feature.work_packages) wp_ids.push_back(wp.id);
    lanes = std::make_unique<kitty::LaneObserver>(
        *view, *args.feature->backend, args.feature->lanes, "baton",
        [](const std::string& problem) {
          std::fprintf(stderr, "baton: warning: lanes: %s\n", problem.c_str());
        });
    observer = lanes.get();
  }
  auto outcome = engine::execute_run(loaded->workflow, **store, options, *observer, clock);
  if (lanes) lanes->finish(wp_ids);
  lanes.reset();
  view.reset();
  if (!outcome) {
    std::fprintf(stderr, "baton: %s\n", outcome.error().message.c_str());
    // Another baton holds the run (--run-id raced, or its lease was taken over).
    return outcome.error().message.find("is already being run") != std::string::npos
               ? kExitBusy
               : kExitInternal;
  }
  if (!args.only.empty()) {
    if (int rc = write_task_result(**store, outcome->run_id, args.only, args.results);
        rc != kExitSuccess) {
      return rc;
    }
  }
  // The report reads every task and attempt back from the store; the workflow model is
  // no longer needed, so its memory goes first (100,000 tasks: about 90 MB; see
  // bench/RESULTS.md, memory) and glibc hands the freed pages back.
  loaded.reset();
  release_free_memory();
  return report_run(**store, *outcome, state, args.json, rehearsal.get());
}

}  // namespace baton::cli
