// Expression parsing, evaluation and template rendering.
#include <benchmark/benchmark.h>

#include "expr/expr.h"

namespace baton::bench {
namespace {

/// A scope with two task results and an input, as the scheduler's scope answers.
class BenchScope : public expr::Scope {
 public:
  std::optional<expr::Value> lookup(const std::vector<std::string>& path) const override {
    if (path.size() == 2 && path[0] == "build" && path[1] == "status") return "success";
    if (path.size() == 2 && path[0] == "build" && path[1] == "exit_code") return 0;
    if (path.size() == 2 && path[0] == "design" && path[1] == "output") return output_;
    if (path.size() == 1 && path[0] == "mode") return "quick";
    return std::nullopt;
  }

 private:
  std::string output_ = std::string(200, 'x');
};

constexpr const char* kCondition =
    "build.status == 'success' && (build.exit_code == 0 || mode != 'full') && "
    "fn:contains(design.output, 'x')";
constexpr const char* kTemplate =
    "make -j2 MODE=${mode} ${build.status == 'success' ? 'again' : 'first'} "
    "# ${fn:uppercase(mode)} ${fn:length(design.output)}";

void BM_ParseCondition(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = expr::parse_expression(kCondition);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EvaluateCondition(benchmark::State& state) {
  auto parsed = expr::parse_expression(kCondition);
  BenchScope scope;
  for (auto _ : state) {
    auto value = expr::evaluate(*parsed, scope);
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RenderTemplate(benchmark::State& state) {
  auto tmpl = expr::parse_template(kTemplate);
  BenchScope scope;
  for (auto _ : state) {
    auto text = expr::render(*tmpl, scope);
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseAndRenderLiteral(benchmark::State& state) {
  // What the engine does for every argv word of a command task: `run: [true]`.
  BenchScope scope;
  for (auto _ : state) {
    auto tmpl = expr::parse_template("true");
    auto text = expr::render(*tmpl, scope);
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ParseCondition);
BENCHMARK(BM_EvaluateCondition);
BENCHMARK(BM_RenderTemplate);
BENCHMARK(BM_ParseAndRenderLiteral);

}  // namespace
}  // namespace baton::bench
