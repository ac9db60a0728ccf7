// baton run FLOW [-i KEY=VALUE]...: execute a workflow, show it live, summarise. FLOW
// may be a spec-kitty feature directory (cli/kitty_run.h, docs/spec-kitty.md).
#include <malloc.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/kitty_run.h"
#include "cli/live_view.h"
#include "cli/load.h"
#include "cli/paths.h"
#include "cli/rehearsal.h"
#include "cli/run_report.h"
#include "cli/run_webhooks.h"
#include "engine/run.h"
#include "engine/workspaces.h"
#include "kitty/lane_observer.h"
#include "store/store.h"

namespace baton::cli {

namespace {

struct RunArgs {
  std::string file;
  std::vector<std::string> vars;
  bool plain = false;
  bool json = false;
  std::string rehearse;  // a rehearsal script, or ""
  bool no_wait = false;  // exit 5 instead of waiting for `baton approve`
  std::string run_id;    // hidden --run-id: the id `baton serve` chose, or "" (generated)
  KittyFlags kitty;      // --impl-agent, --review-agent, --max-concurrent (features only)
};

int run_command(const RunArgs& args) {
  auto inputs = parse_inputs(args.vars);
  if (!inputs) {
    std::fprintf(stderr, "baton: %s\n", inputs.error().message.c_str());
    return kExitUsage;
  }
  std::string root = project_root();
  std::optional<KittySetup> feature;
  std::optional<LoadedWorkflow> loaded;
  if (workflow::is_kitty_feature_dir(args.file)) {
    feature = prepare_kitty(args.file, root, args.kitty, nullptr);
    if (!feature) return kExitUsage;
    if (feature->nothing_to_run) {
      std::printf("%s: every work package is done; nothing to run\n", args.file.c_str());
      return kExitSuccess;
    }
    for (const std::string& warning : kitty_done_branch_warnings(*feature, root)) {
      std::fprintf(stderr, "baton: warning: %s\n", warning.c_str());
    }
    loaded = std::move(feature->loaded);
  } else {
    if (!args.kitty.impl_agent.empty() || !args.kitty.review_agent.empty() ||
        args.kitty.max_concurrent > 0) {
      std::fprintf(stderr,
                   "baton: --impl-agent, --review-agent and --max-concurrent are for spec-kitty "
                   "feature directories\n");
      return kExitUsage;
    }
    loaded = load_for_command(args.file, root, *inputs, true);
    if (!loaded) return kExitUsage;
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
  auto store = store::open_sqlite_store(state + "/state.db");
  if (!store) {
    std::fprintf(stderr, "baton: %s\n", store.error().message.c_str());
    return kExitInternal;
  }
  // Registered before the run's first event, so that it has its deliveries; sends until
  // the end of this function, then drains what is due (docs/webhooks.md).
  auto webhooks = RunWebhooks::start(state + "/state.db", loaded->webhooks, root);
  engine::RunOptions options;
  options.root_dir = root;
  options.state_dir = state;
  options.inputs = merged_inputs(*loaded);
  options.config_roles = loaded->config_roles;
  options.no_wait = args.no_wait;
  engine::SystemClock clock;
  options.run_id = args.run_id.empty() ? engine::new_run_id(clock) : args.run_id;
  if (!args.run_id.empty()) {
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
  if (feature) {
    if (auto saved = save_kitty(state, options.run_id, feature->saved); !saved) {
      std::fprintf(stderr, "baton: %s\n", saved.error().message.c_str());
      return kExitInternal;
    }
    for (const auto& wp : feature->feature.work_packages) wp_ids.push_back(wp.id);
    lanes = std::make_unique<kitty::LaneObserver>(
        *view, *feature->backend, feature->lanes, "baton", [](const std::string& problem) {
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
    return kExitInternal;
  }
  // The report reads every task and attempt back from the store; the workflow model is
  // no longer needed, so its memory goes first (100,000 tasks: about 90 MB; see
  // bench/RESULTS.md, memory) and glibc hands the freed pages back.
  loaded.reset();
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return report_run(**store, *outcome, state, args.json, rehearsal.get());
}

}  // namespace

void add_run(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("run", "Execute a workflow");
  auto args = std::make_shared<RunArgs>();
  cmd->add_option("FLOW", args->file,
                  "workflow file (YAML or JSON), or a spec-kitty feature directory")
      ->required();
  cmd->add_option("--impl-agent", args->kitty.impl_agent,
                  "features: the agent or role implementing each work package");
  cmd->add_option("--review-agent", args->kitty.review_agent,
                  "features: the agent or role reviewing each work package");
  cmd->add_option("--max-concurrent", args->kitty.max_concurrent,
                  "features: work packages in flight at once")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("-i,--var", args->vars, "an input or variable KEY=VALUE (repeatable)");
  cmd->add_flag("--plain", args->plain, "one line per transition even on a terminal");
  cmd->add_flag("--json", args->json, "print the final state as JSON on stdout");
  cmd->add_option("--rehearse", args->rehearse,
                  "run agent tasks against a scripted model server on 127.0.0.1 (SCRIPT.yaml)");
  cmd->add_flag("--no-wait", args->no_wait,
                "when only gates are left, record the run waiting and exit 5 (see baton approve)");
  // For `baton serve` (serve/api_actions.cc), which answers with the run's id before
  // the run has a row: hidden, as no person needs it.
  cmd->add_option("--run-id", args->run_id, "the new run's id")
      ->check([](const std::string& id) -> std::string {
        for (char c : id) {
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
            return "a run id is letters, digits and '-'";
          }
        }
        return id.empty() || id.size() > 64 ? "a run id is 1 to 64 characters" : "";
      })
      ->group("");
  cmd->callback([=] { *exit_code = run_command(*args); });
}

}  // namespace baton::cli
