// baton run FLOW [-i KEY=VALUE]...: execute a workflow, show it live, summarise. FLOW
// may be a spec-kitty feature directory (cli/kitty_run.h, docs/spec-kitty.md). With
// --only TASK or --finish and --results DIR: one job of a workflow exported to GitHub
// Actions (docs/github-actions.md).
#include <cctype>
#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/job_results.h"
#include "cli/kitty_run.h"
#include "cli/load.h"
#include "cli/paths.h"
#include "cli/start_run.h"
#include "engine/clock.h"
#include "engine/run.h"

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
  // One job of an exported GitHub Actions workflow (docs/github-actions.md):
  std::string only;         // --only TASK: run TASK, import the results upstream of it
  bool finish = false;      // --finish: import every task's result, run the end hooks
  std::string results;      // --results DIR: where the results are read and written
  std::string inputs_json;  // --inputs-json JSON: inputs as one object (GitHub's toJSON(inputs))
};

int run_command(const RunArgs& args) {
  auto inputs = parse_inputs(args.vars);
  if (!inputs) {
    std::fprintf(stderr, "baton: %s\n", inputs.error().message.c_str());
    return kExitUsage;
  }
  if (!args.inputs_json.empty()) {
    if (auto r = add_json_inputs(args.inputs_json, *inputs); !r) {
      std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
      return kExitUsage;
    }
  }
  const bool job = !args.only.empty() || args.finish;
  if (job && args.results.empty()) {
    std::fprintf(stderr, "baton: --only and --finish need --results DIR\n");
    return kExitUsage;
  }
  std::string root = project_root();
  std::optional<KittySetup> feature;
  std::optional<LoadedWorkflow> loaded;
  if (workflow::is_kitty_feature_dir(args.file)) {
    if (job) {
      std::fprintf(stderr, "baton: --only and --finish are for workflow files\n");
      return kExitUsage;
    }
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

  StartArgs start;
  start.run_id = args.run_id.empty() ? engine::new_run_id(engine::SystemClock()) : args.run_id;
  start.refuse_existing = !args.run_id.empty();
  start.plain = args.plain;
  start.json = args.json;
  start.rehearse = args.rehearse;
  start.no_wait = args.no_wait;
  start.feature = feature ? &*feature : nullptr;
  start.only = args.only;
  start.finish = args.finish;
  start.results = args.results;
  return start_run(loaded, root, start);
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
  auto* only = cmd->add_option("--only", args->only,
                               "run only TASK, importing the results of the tasks upstream of it "
                               "from --results (a job of `baton export github-actions`)");
  auto* finish = cmd->add_flag("--finish", args->finish,
                               "import every task's result from --results and run the end hooks "
                               "(the last job of `baton export github-actions`)");
  only->excludes(finish);
  cmd->add_option("--results", args->results,
                  "with --only/--finish: the directory of the tasks' result files (TASK.json)");
  cmd->add_option("--inputs-json", args->inputs_json,
                  "inputs as one JSON object, as GitHub's toJSON(inputs) gives them");
  cmd->callback([=] { *exit_code = run_command(*args); });
}

}  // namespace baton::cli
