// Parsing and validating a workflow file of 10,000 tasks (YAML text to a valid model).
#include <benchmark/benchmark.h>

#include "dag_text.h"
#include "workflow/loader.h"

namespace baton::bench {
namespace {

void load(benchmark::State& state, Shape shape) {
  const int n = static_cast<int>(state.range(0));
  const std::string text = dag_yaml(shape, n, 8);
  workflow::LoadOptions options;
  for (auto _ : state) {
    workflow::LoadResult result = workflow::load_workflow_text(text, "flow.yaml", options);
    if (!result.ok()) {
      state.SkipWithError("the generated workflow does not validate");
      return;
    }
    benchmark::DoNotOptimize(result.workflow->tasks.size());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

void BM_LoadValidateWide(benchmark::State& state) { load(state, Shape::kWide); }
void BM_LoadValidateChain(benchmark::State& state) { load(state, Shape::kChain); }
void BM_LoadValidateLayered(benchmark::State& state) { load(state, Shape::kLayered); }

BENCHMARK(BM_LoadValidateWide)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadValidateChain)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadValidateLayered)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace baton::bench
