#include "cli/summary.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

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

// Run "r", created at 100 s, ended with STATUS at ENDED_AT (seconds).
store::RunRecord ended_run(const std::string& status, double ended_at) {
  store::RunRecord run = make_run("r", 100);
  run.status = status;
  run.ended_at = ended_at;
  return run;
}

std::string summary_of(store::Store& store, const store::RunRecord& run, bool every_task = false) {
  char* text = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  EXPECT_NE(out, nullptr);
  auto written = write_summary(store, run, out, every_task);
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
  const store::RunRecord run = ended_run("failed", 103);
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
  const store::RunRecord run = ended_run("success", 101.5);
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

// RUN's summary's lines that begin with "  " + ID + " " for an id of IDS.
std::vector<std::string> rows_of(const std::string& summary, const std::vector<std::string>& ids) {
  std::vector<std::string> rows;
  size_t at = 0;
  while (at < summary.size()) {
    size_t end = summary.find('\n', at);
    std::string line = summary.substr(at, end - at);
    for (const std::string& id : ids) {
      if (line.rfind("  " + id + " ", 0) == 0) rows.push_back(id);
    }
    at = end == std::string::npos ? summary.size() : end + 1;
  }
  return rows;
}

// A run of N tasks t0..t(N-1): STATUS_OF(i) gives each one's status; one hook that
// succeeded after them. Returns the ids of the tasks.
std::vector<std::string> write_run(store::Store& store, const store::RunRecord& run, int n,
                                   const std::function<std::string(int)>& status_of) {
  Batch b;
  b.run = run;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back("t" + std::to_string(i));
    const std::string status = status_of(i);
    b.tasks.push_back(task(ids.back(), i, status, status == "failed" ? "exited 1" : ""));
    if (status != "skipped") b.attempts.push_back(attempt(ids.back(), 1));
  }
  b.tasks.push_back(task("hook:on_success:notify", n, "success"));
  EXPECT_TRUE(store.apply(b));
  return ids;
}

// A run of more tasks than kSummaryRows lists, in declaration order, only the tasks that
// did not succeed (and the hooks), then one line that counts the others by state and
// says how to list them; --all (every_task) lists every task as a short run does.
TEST(SummaryTest, ALongRunListsOnlyTheTasksThatDidNotSucceed) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  const store::RunRecord run = ended_run("failed", 110);
  const int n = static_cast<int>(kSummaryRows) + 5;
  auto ids = write_run(*store, run, n, [](int i) -> std::string {
    if (i == 30 || i == 5) return "failed";
    if (i == 7) return "skipped";
    if (i == 44) return "cancelled";
    return "success";
  });

  const std::string compact = summary_of(*store, run);
  EXPECT_EQ(rows_of(compact, ids), (std::vector<std::string>{"t5", "t7", "t30", "t44"})) << compact;
  EXPECT_NE(compact.find("  45 tasks: 41 success, 2 failed, 1 skipped, 1 cancelled\n"),
            std::string::npos)
      << compact;
  EXPECT_NE(
      compact.find("  ... 41 tasks not listed (41 success); every task: baton status r --all\n"
                   "  hook:on_success:notify "),
      std::string::npos)
      << compact;
  EXPECT_NE(compact.find("failures:\n  t5: exited 1\n    log: /repo/.baton/runs/r/logs/t5.1.log\n"
                         "  t30: exited 1\n"),
            std::string::npos)
      << compact;

  const std::string all = summary_of(*store, run, true);
  EXPECT_EQ(rows_of(all, ids), ids) << all;
  EXPECT_EQ(all.find("not listed"), std::string::npos) << all;
}

// kSummaryRows tasks are still listed in full; one more and only the ones that did not
// succeed are.
TEST(SummaryTest, RowsAreLeftOutOnlyAboveTheLimit) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  const store::RunRecord run = ended_run("success", 110);
  const int n = static_cast<int>(kSummaryRows);
  auto ids = write_run(*store, run, n, [](int) { return std::string("success"); });
  const std::string full = summary_of(*store, run);
  EXPECT_EQ(rows_of(full, ids).size(), kSummaryRows) << full;
  EXPECT_EQ(full.find("not listed"), std::string::npos) << full;

  TempDir other;
  auto longer = open_or_die(other.file("state.db"));
  ids = write_run(*longer, run, n + 1, [](int) { return std::string("success"); });
  const std::string compact = summary_of(*longer, run);
  EXPECT_TRUE(rows_of(compact, ids).empty()) << compact;
  EXPECT_NE(
      compact.find("  ... 41 tasks not listed (41 success); every task: baton status r --all\n"),
      std::string::npos)
      << compact;
  EXPECT_NE(compact.find("  hook:on_success:notify "), std::string::npos) << compact;
}

// When more tasks than kSummaryRows did not succeed, the rows and the failures both
// stop after kSummaryRows, each with a count of the rest.
TEST(SummaryTest, ALongFailedRunStopsItsRowsAndFailuresAtTheLimit) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  const store::RunRecord run = ended_run("failed", 110);
  const int n = 100;
  auto ids = write_run(*store, run, n,
                       [](int i) -> std::string { return i % 10 == 9 ? "cancelled" : "failed"; });
  const std::string compact = summary_of(*store, run);
  const std::vector<std::string> expected(ids.begin(), ids.begin() + kSummaryRows);
  EXPECT_EQ(rows_of(compact, ids), expected) << compact;
  EXPECT_NE(
      compact.find("  ... 60 tasks not listed (54 failed, 6 cancelled); every task: baton status "
                   "r --all\n"),
      std::string::npos)
      << compact;
  // 90 failed: the first 40 listed with their logs, the other 50 counted.
  size_t logs = 0;
  for (size_t at = compact.find("    log: "); at != std::string::npos;
       at = compact.find("    log: ", at + 1)) {
    ++logs;
  }
  EXPECT_EQ(logs, kSummaryRows) << compact;
  EXPECT_NE(compact.find("  t43: exited 1\n    log: /repo/.baton/runs/r/logs/t43.1.log\n"
                         "  ... 50 failed tasks not listed; every task: baton status r --all\n"),
            std::string::npos)
      << compact;

  const std::string all = summary_of(*store, run, true);
  EXPECT_EQ(rows_of(all, ids), ids);
  EXPECT_EQ(all.find("failed tasks not listed"), std::string::npos) << all;
}

}  // namespace
}  // namespace baton::cli
