#include "cli/run_report.h"

#include <csignal>
#include <cstdio>

#include "cli/exit_codes.h"
#include "cli/summary.h"

namespace baton::cli {

int report_run(store::Store& store, const engine::RunOutcome& outcome, const std::string& state_dir,
               bool json, const Rehearsal* rehearsal) {
  auto cannot_read = [&] {
    std::fprintf(stderr, "baton: cannot read back run %s from %s/state.db\n",
                 outcome.run_id.c_str(), state_dir.c_str());
    return kExitInternal;
  };
  auto run = store.get_run(outcome.run_id);
  if (!run || !*run) return cannot_read();
  if (json) {
    auto tasks = store.list_tasks(outcome.run_id);
    if (!tasks) return cannot_read();
    nlohmann::json out = to_json(**run);
    out["tasks"] = nlohmann::json::array();
    for (const auto& t : *tasks) out["tasks"].push_back(to_json(t));
    if (!outcome.run_branch.empty()) out["run_branch"] = outcome.run_branch;
    if (!outcome.integration.empty()) out["integration"] = outcome.integration;
    if (!outcome.review_warnings.empty()) out["review_warnings"] = outcome.review_warnings;
    std::printf("%s\n", dump_json(out).c_str());
  } else {
    // Streamed from the store: the report of a 100,000-task run holds no list of its
    // tasks or attempts (bench/RESULTS.md, memory).
    std::printf("\n");
    if (!write_summary(store, **run, stdout)) return cannot_read();
    for (const std::string& hook : outcome.hook_failures) {
      std::printf("hook failed: %s\n", hook.c_str());
    }
    if (!outcome.integration.empty()) {
      std::printf("integration: %s\n", outcome.integration.c_str());
    }
    for (const std::string& warning : outcome.review_warnings) {
      std::printf("warning: %s\n", warning.c_str());
    }
    if (rehearsal) {
      std::printf("rehearsal: %zu model requests served (log: %s)\n", rehearsal->request_count(),
                  rehearsal->log_path().c_str());
    }
    if (outcome.status == engine::RunStatus::kWaiting || outcome.interrupted_by_signal) {
      auto listed = store.for_each_task(outcome.run_id, [&](const store::TaskRecord& t) {
        if (t.status != "waiting") return;
        std::printf("waiting: %s: %s\n  approve: baton approve %s %s [--comment TEXT]\n",
                    t.task_id.c_str(), t.reason.c_str(), outcome.run_id.c_str(), t.task_id.c_str());
      });
      if (!listed) return cannot_read();
      if (!outcome.interrupted_by_signal)
        std::printf("then: baton resume %s\n", outcome.run_id.c_str());
    } else if (outcome.status == engine::RunStatus::kPaused) {
      std::printf("paused: continue with baton resume %s\n", outcome.run_id.c_str());
    }
  }
  if (outcome.interrupted_by_signal) {
    // On stderr, also after --json: how to go on is the one thing left to say.
    std::fflush(stdout);
    std::fprintf(stderr, "baton: interrupted; continue with: baton resume %s\n",
                 outcome.run_id.c_str());
  }
  if (outcome.interrupted_by_signal == SIGINT) return kExitSigint;
  if (outcome.cancel_requested) return kExitCancelled;  // baton cancel, not an outside SIGTERM
  if (outcome.interrupted_by_signal == SIGTERM) return kExitSigterm;
  switch (outcome.status) {
    case engine::RunStatus::kSuccess:
      return kExitSuccess;
    case engine::RunStatus::kCancelled:
      return kExitCancelled;
    case engine::RunStatus::kWaiting:
      return kExitWaiting;
    case engine::RunStatus::kPaused:
      return kExitPaused;
    default:
      return kExitRunFailed;
  }
}

}  // namespace baton::cli
