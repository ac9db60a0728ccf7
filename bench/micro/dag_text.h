// Workflow text for the micro benchmarks: the same DAG shapes bench/gen.py writes.
#pragma once

#include <string>

namespace baton::bench {

/// The shapes of bench/gen.py: independent tasks, one chain, or layers of 100 tasks
/// where each task after the first layer depends on 1..3 tasks of the layer before.
enum class Shape { kWide, kChain, kLayered };

/// A baton workflow (YAML) of N no-op argv tasks (`run: [true]`) named t0..t(N-1)
/// in SHAPE, with settings.max_parallel = MAX_PARALLEL. Deterministic (fixed seed).
std::string dag_yaml(Shape shape, int n, int max_parallel);

}  // namespace baton::bench
