// The scheduler driving a whole run of 10,000 tasks with instant successes: every
// advance(), every attempt_finished(), no I/O (fake clock). Items are tasks.
#include <benchmark/benchmark.h>

#include <deque>

#include "dag_text.h"
#include "engine/clock.h"
#include "engine/scheduler.h"
#include "workflow/loader.h"

namespace baton::bench {
namespace {

void run_all(benchmark::State& state, Shape shape) {
  const int n = static_cast<int>(state.range(0));
  const int jobs = static_cast<int>(state.range(1));
  workflow::LoadResult loaded =
      workflow::load_workflow_text(dag_yaml(shape, n, jobs), "flow.yaml", {});
  if (!loaded.ok()) {
    state.SkipWithError("the generated workflow does not validate");
    return;
  }
  engine::FakeClock clock;
  engine::AttemptOutcome success;
  success.success = true;
  success.exit_code = 0;
  for (auto _ : state) {
    engine::Scheduler sched(*loaded.workflow, clock, engine::RunContext{"run", "micro", {}, {}});
    std::deque<engine::StartRequest> running;
    size_t transitions = 0;
    for (;;) {
      engine::Step step = sched.advance();
      transitions += step.transitions.size();
      for (auto& s : step.starts) running.push_back(std::move(s));
      if (running.empty()) break;
      // The oldest attempt ends first, as with equal-length tasks.
      sched.attempt_finished(running.front().task, running.front().attempt, success);
      running.pop_front();
    }
    if (!sched.finished()) state.SkipWithError("the run did not finish");
    benchmark::DoNotOptimize(transitions);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_SchedulerRunWide(benchmark::State& state) { run_all(state, Shape::kWide); }
void BM_SchedulerRunChain(benchmark::State& state) { run_all(state, Shape::kChain); }
void BM_SchedulerRunLayered(benchmark::State& state) { run_all(state, Shape::kLayered); }

BENCHMARK(BM_SchedulerRunWide)->Args({10000, 8})->Args({100000, 8})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SchedulerRunChain)->Args({10000, 8})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SchedulerRunLayered)
    ->Args({10000, 2})
    ->Args({10000, 8})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace baton::bench
