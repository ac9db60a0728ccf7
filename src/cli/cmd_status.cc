// baton status [RUN] [--json] [--all]: recent runs, or one run's tasks and attempts.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/paths.h"
#include "cli/store_location.h"
#include "cli/summary.h"
#include "store/store.h"

namespace baton::cli {

namespace {

int status_command(const std::string& run_id_arg, bool json, bool all, int limit) {
  auto db = find_state_db();
  if (!db) {
    std::fprintf(stderr, "baton: %s\n", db.error().message.c_str());
    return kExitUsage;
  }
  auto store = open_state_store(*db);
  if (!store) {
    std::fprintf(stderr, "baton: %s\n", store.error().message.c_str());
    return kExitInternal;
  }
  if (run_id_arg.empty()) {
    auto runs = (*store)->list_runs(limit);
    if (!runs) {
      std::fprintf(stderr, "baton: %s\n", runs.error().message.c_str());
      return kExitInternal;
    }
    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : *runs) out.push_back(to_json(r));
      std::printf("%s\n", dump_json(out).c_str());
    } else {
      std::fputs(render_run_list(*runs).c_str(), stdout);
    }
    return kExitSuccess;
  }
  auto run = resolve_run(**store, run_id_arg, *db);
  if (!run) return run.error();
  const std::string& run_id = run->id;
  if (!json) {
    if (auto written = write_summary(**store, *run, stdout, all); !written) {
      std::fflush(stdout);
      std::fprintf(stderr, "baton: %s\n", written.error().message.c_str());
      return kExitInternal;
    }
    return kExitSuccess;
  }
  auto tasks = (*store)->list_tasks(run_id);
  auto attempts = (*store)->list_attempts(run_id, "");
  if (!tasks || !attempts) {
    std::fprintf(stderr, "baton: %s\n",
                 (!tasks ? tasks.error() : attempts.error()).message.c_str());
    return kExitInternal;
  }
  nlohmann::json out = to_json(*run);
  out["tasks"] = nlohmann::json::array();
  for (const auto& t : *tasks) out["tasks"].push_back(to_json(t));
  out["attempts"] = nlohmann::json::array();
  for (const auto& a : *attempts) out["attempts"].push_back(to_json(a));
  std::printf("%s\n", dump_json(out).c_str());
  return kExitSuccess;
}

}  // namespace

void add_status(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("status", "Show runs, or one run's tasks, attempts and cost");
  auto run_id = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  auto limit = std::make_shared<int>(20);
  cmd->add_option("RUN", *run_id,
                  "a run id, a unique prefix of one, or 'last' (default: list recent runs)");
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->add_flag("--all", *all,
                fmt::format("a row for every task (a run of more than {} tasks lists only those "
                            "that did not succeed)",
                            kSummaryRows));
  cmd->add_option("-n,--limit", *limit, "how many runs to list")->check(CLI::PositiveNumber);
  cmd->callback([=] { *exit_code = status_command(*run_id, *json, *all, *limit); });
}

}  // namespace baton::cli
