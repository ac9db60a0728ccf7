// A measurement, not a test (disabled; no timing is judged): 200 no-op tasks on the
// local executor and on the test cluster, the wall time of each run and, on Slurm,
// each attempt's submit -> start latency (the "submitting" record's time to the
// "started" record's). bench/RESULTS.md ("Slurm executor") reports what it printed:
//   baton_slurm_tests --gtest_also_run_disabled_tests --gtest_filter='SlurmBench.*'
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "harness_util.h"
#include "slurm/slurm_cluster.h"

namespace baton::testing {
namespace {

using nlohmann::json;

std::string no_op_flow(const std::string& settings) {
  std::string flow = "name: noop\n" + settings + "tasks:\n";
  for (int i = 0; i < 200; ++i) flow += "  - {id: t" + std::to_string(i) + ", run: 'true'}\n";
  return flow;
}

double run_seconds(const ScratchDir& dir) {
  auto start = std::chrono::steady_clock::now();
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {}, 900);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The "at" of the first record named KIND in a JSON Lines file, or -1.
double record_time(const std::string& path, const std::string& kind, const char* field) {
  for (const json& j : control_records(path)) {  // this attempt's, not the journal's others
    if (j.value("record", "") == kind) return j.value(field, -1.0);
  }
  return -1;
}

TEST(SlurmBench, DISABLED_TwoHundredNoOpTasks) {
  ScratchDir local, slurm;
  local.write("flow.yaml", no_op_flow("settings: {max_parallel: 16}\n"));
  slurm.write("flow.yaml", no_op_flow("settings:\n  executor: slurm\n  max_parallel: 16\n"
                                      "  slurm: {poll: 100ms}\n"));
  const double local_s = run_seconds(local);
  const double slurm_s = run_seconds(slurm);
  json r = last_run(slurm);
  std::vector<double> latency;
  const std::string logs = r["run_dir"].get<std::string>() + "/logs/";
  for (int i = 0; i < 200; ++i) {
    std::string base = logs + "t" + std::to_string(i) + ".1";
    double submitted = record_time(base + ".slurm", "submitting", "at");
    double started = record_time(base + ".attempt", "started", "started_at");
    if (submitted > 0 && started > 0) latency.push_back(started - submitted);
  }
  std::sort(latency.begin(), latency.end());
  ASSERT_EQ(latency.size(), 200u);
  std::printf("200 no-op tasks, max_parallel 16, node CPUs=4, poll 100ms\n");
  std::printf("  local: %.2f s (%.1f tasks/s)\n", local_s, 200 / local_s);
  std::printf("  slurm: %.2f s (%.1f tasks/s)\n", slurm_s, 200 / slurm_s);
  std::printf("  slurm submit -> start: median %.2f s, p90 %.2f s, max %.2f s\n", latency[100],
              latency[180], latency.back());
}

}  // namespace
}  // namespace baton::testing
