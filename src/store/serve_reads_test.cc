// The store's reads for `baton serve` (issue 13): the runs page with filters and a
// keyset cursor, a run's totals, the global event feed, the waiting tasks.
#include <gtest/gtest.h>

#include "store/test_util.h"

namespace baton::store {
namespace {

using testing::make_event;
using testing::make_run;
using testing::open_or_die;
using testing::TempDir;

TaskRecord task(const std::string& run, const std::string& id, const std::string& status,
                int position) {
  TaskRecord t;
  t.run_id = run;
  t.task_id = id;
  t.status = status;
  t.position = position;
  return t;
}

TEST(ServeReadsTest, RunsPageFiltersAndWalksTheCursorWithoutGapsOrRepeats) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch b;
  for (int i = 0; i < 7; ++i) {
    RunRecord r = make_run("r" + std::to_string(i), /*created_at=*/i < 4 ? 10 : 10 + i);
    r.status = i % 2 ? "failed" : "success";
    r.workflow_name = i < 5 ? "build" : "deploy";
    ASSERT_TRUE(store->apply(Batch{r, {}, {}, {}}));
  }
  // Newest first; the four runs with one created_at are ordered by id.
  std::vector<std::string> seen;
  RunPageQuery q;
  q.limit = 3;
  for (int page = 0; page < 5; ++page) {
    auto runs = store->list_runs_page(q);
    ASSERT_TRUE(runs) << runs.error().message;
    for (const auto& r : *runs) seen.push_back(r.id);
    if (runs->size() < 3) break;
    q.after_created_at = runs->back().created_at;
    q.after_id = runs->back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}));

  RunPageQuery failed_builds;
  failed_builds.status = "failed";
  failed_builds.workflow = "build";
  auto runs = store->list_runs_page(failed_builds);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, "r3");
  EXPECT_EQ((*runs)[1].id, "r1");
}

TEST(ServeReadsTest, RunTotalsCountTasksAndSumTokensAndKnownCosts) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch b;
  b.run = make_run("r");
  b.tasks = {task("r", "a", "success", 0), task("r", "b", "success", 1),
             task("r", "c", "running", 2)};
  AttemptRecord a1;
  a1.run_id = "r";
  a1.task_id = "a";
  a1.number = 1;
  a1.input_tokens = 100;
  a1.output_tokens = 20;
  a1.cached_tokens = 5;
  a1.cost_usd = 0.25;
  AttemptRecord a2 = a1;
  a2.task_id = "b";
  a2.cost_usd.reset();  // unknown cost: not summed, not zero
  b.attempts = {a1, a2};
  ASSERT_TRUE(store->apply(b));
  auto totals = store->run_totals("r");
  ASSERT_TRUE(totals) << totals.error().message;
  EXPECT_EQ(totals->tasks_total, 3);
  EXPECT_EQ(totals->tasks_by_status.at("success"), 2);
  EXPECT_EQ(totals->tasks_by_status.at("running"), 1);
  EXPECT_EQ(totals->input_tokens, 200);
  EXPECT_EQ(totals->output_tokens, 40);
  EXPECT_EQ(totals->cached_tokens, 10);
  ASSERT_TRUE(totals->cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*totals->cost_usd, 0.25);

  auto none = store->run_totals("nope");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->tasks_total, 0);
  EXPECT_FALSE(none->cost_usd.has_value());
}

TEST(ServeReadsTest, FeedOrdersEveryRunsEventsByCommitAndFiltersByRun) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  auto other = open_or_die(dir.file("state.db"));  // a second writer, as another baton
  ASSERT_TRUE(store->apply(Batch{make_run("r1"), {}, {}, {make_event("r1", "run.created")}}));
  ASSERT_TRUE(other->apply(Batch{make_run("r2"), {}, {}, {make_event("r2", "run.created")}}));
  ASSERT_TRUE(store->apply(Batch{{}, {}, {}, {make_event("r1", "task.ready")}}));
  auto head = store->last_feed_id();
  ASSERT_TRUE(head);
  auto all = store->list_feed(0, "", 100);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].event.run_id, "r1");
  EXPECT_EQ((*all)[1].event.run_id, "r2");
  EXPECT_EQ((*all)[2].event.kind, "task.ready");
  EXPECT_LT((*all)[0].id, (*all)[1].id);
  EXPECT_LT((*all)[1].id, (*all)[2].id);
  EXPECT_EQ(*head, (*all)[2].id);

  auto after_first = store->list_feed((*all)[0].id, "", 100);
  ASSERT_TRUE(after_first);
  EXPECT_EQ(after_first->size(), 2u);
  auto limited = store->list_feed(0, "", 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 1u);
  auto r1 = store->list_feed(0, "r1", 100);
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->size(), 2u);
  EXPECT_EQ((*r1)[1].event.seq, 2);

  auto exists = store->feed_event_exists((*all)[1].id);
  ASSERT_TRUE(exists);
  EXPECT_TRUE(*exists);
  auto missing = store->feed_event_exists(*head + 1);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TEST(ServeReadsTest, EmptyStoreHasFeedHeadZero) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  auto head = store->last_feed_id();
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, 0);
}

TEST(ServeReadsTest, WaitingTasksOnlyOfRunsThatAreNotOver) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  RunRecord live = make_run("live", 2);
  live.status = "waiting";
  RunRecord over = make_run("over", 1);
  over.status = "failed";
  ASSERT_TRUE(store->apply(Batch{
      live, {task("live", "gate", "waiting", 0), task("live", "build", "success", 1)}, {}, {}}));
  ASSERT_TRUE(store->apply(Batch{over, {task("over", "gate", "waiting", 0)}, {}, {}}));
  RunRecord older = make_run("z-older", 0.5);  // an id that sorts after, created before
  ASSERT_TRUE(store->apply(Batch{older, {task("z-older", "gate", "waiting", 0)}, {}, {}}));
  auto waiting = store->list_waiting_tasks(10);
  ASSERT_TRUE(waiting) << waiting.error().message;
  ASSERT_EQ(waiting->size(), 2u);
  EXPECT_EQ((*waiting)[0].run_id, "live");  // newest run first
  EXPECT_EQ((*waiting)[0].task_id, "gate");
  EXPECT_EQ((*waiting)[1].run_id, "z-older");
}

TEST(ServeReadsTest, DependenciesAreWrittenOnceAndKeptByLaterUpserts) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  TaskRecord b = task("r", "b", "pending", 1);
  b.dependencies = std::vector<std::string>{"a", "x-y"};
  TaskRecord a = task("r", "a", "pending", 0);
  a.dependencies = std::vector<std::string>{};
  ASSERT_TRUE(store->apply(Batch{make_run("r"), {a, b}, {}, {}}));
  // A later upsert without them (the driver's) keeps them.
  TaskRecord later = task("r", "b", "success", 1);
  ASSERT_TRUE(store->apply(Batch{{}, {later}, {}, {}}));
  auto got = store->get_task("r", "b");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->status, "success");
  ASSERT_TRUE((*got)->dependencies.has_value());
  EXPECT_EQ(*(*got)->dependencies, (std::vector<std::string>{"a", "x-y"}));
  auto first = store->get_task("r", "a");
  ASSERT_TRUE(first && *first);
  ASSERT_TRUE((*first)->dependencies.has_value());
  EXPECT_TRUE((*first)->dependencies->empty());
}

}  // namespace
}  // namespace baton::store
