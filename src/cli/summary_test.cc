#include "cli/summary.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/test_util.h"

namespace baton::cli {
namespace {

using store::AttemptRecord;
using store::Batch;
using store::TaskRecord;
using store::testing::make_run;
using store::testing::open_or_die;
using store::testing::TempDir;

TaskRecord task(const std::string& id, int position, const std::string& status,
                const std::string& reason = "") {
  TaskRecord t;
  t.run_id = "r";
  t.task_id = id;
  t.position = position;
  t.status = status;
  t.attempts = status == "skipped" ? 0 : 1;
  t.reason = reason;
  t.started_at = status == "skipped" ? 0 : 100;
  t.ended_at = status == "skipped" ? 0 : 101.5;
  return t;
}

AttemptRecord attempt(const std::string& task_id, int number, const std::string& agent = "") {
  AttemptRecord a;
  a.run_id = "r";
  a.task_id = task_id;
  a.number = number;
  a.agent = agent;
  a.status = "success";
  a.log_path = "/repo/.baton/runs/r/logs/" + task_id + "." + std::to_string(number) + ".log";
  return a;
}

std::string summary_of(store::Store& store, const store::RunRecord& run) {
  char* text = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  EXPECT_NE(out, nullptr);
  auto written = write_summary(store, run, out);
  std::fclose(out);
  EXPECT_TRUE(written) << written.error().message;
  std::string result(text, size);
  std::free(text);
  return result;
}

// The counts come from the store's totals: the hooks are rows (after the tasks) but
// not counted, the widest id (a hook's here) sets the column, and the agents' attempts
// give each task its chain and usage.
TEST(SummaryTest, CountsLeaveHooksOutAndRowsShowEveryTasksAgentsAndUsage) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  store::RunRecord run = make_run("r", 100);
  run.status = "failed";
  run.ended_at = 103;
  Batch b;
  b.run = run;
  b.tasks = {task("build", 0, "success"), task("review", 1, "failed", "exited 3"),
             task("docs", 2, "skipped", "condition is false: inputs.docs"),
             task("hook:on_failure:notify", 3, "success")};
  AttemptRecord claude = attempt("review", 1, "claude");
  claude.input_tokens = 1200;
  claude.output_tokens = 30;
  claude.cost_usd = 0.5;
  AttemptRecord codex = attempt("review", 2, "codex");
  codex.input_tokens = 800;
  codex.output_tokens = 20;
  codex.cached_tokens = 100;
  b.attempts = {attempt("build", 1), claude, codex, attempt("hook:on_failure:notify", 1)};
  ASSERT_TRUE(store->apply(b));

  EXPECT_EQ(summary_of(*store, run),
            "run r (build): failed in 3.00s\n"
            "  3 tasks: 1 success, 1 failed, 1 skipped\n"
            "  TASK                    STATUS     ATTEMPTS  AGENT        TIME  TOKENS/COST\n"
            "  build                   success           1  -           1.50s\n"
            "  review                  failed            1  claude>codex    1.50s  2000 in / 50 "
            "out, $0.5000\n"
            "                          failed: exited 3\n"
            "  docs                    skipped           0  -               -\n"
            "                          skipped: condition is false: inputs.docs\n"
            "  hook:on_failure:notify  success           1  -           1.50s\n"
            "  tokens: 2000 in, 50 out, 100 cached; cost: $0.5000\n"
            "failures:\n"
            "  review: exited 3\n"
            "    log: /repo/.baton/runs/r/logs/review.2.log\n");
}

// A run of plain commands: no attempt names an agent or reports usage, so no row has
// any and no totals line is written.
TEST(SummaryTest, PlainCommandsHaveNoUsage) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  store::RunRecord run = make_run("r", 100);
  run.status = "success";
  run.ended_at = 101.5;
  Batch b;
  b.run = run;
  b.tasks = {task("a", 0, "success"), task("b", 1, "success")};
  b.attempts = {attempt("a", 1), attempt("b", 1)};
  ASSERT_TRUE(store->apply(b));

  EXPECT_EQ(summary_of(*store, run),
            "run r (build): success in 1.50s\n"
            "  2 tasks: 2 success\n"
            "  TASK  STATUS     ATTEMPTS  AGENT        TIME  TOKENS/COST\n"
            "  a     success           1  -           1.50s\n"
            "  b     success           1  -           1.50s\n");
}

}  // namespace
}  // namespace baton::cli
