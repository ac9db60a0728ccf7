#include "dag_text.h"

#include <random>

namespace baton::bench {

std::string dag_yaml(Shape shape, int n, int max_parallel) {
  constexpr int kLayerWidth = 100;
  std::mt19937 rng(1);
  std::string out =
      "version: \"1.0\"\nname: micro\nsettings: {max_parallel: " + std::to_string(max_parallel) +
      "}\ntasks:\n";
  for (int i = 0; i < n; ++i) {
    out += "  - {id: t" + std::to_string(i) + ", run: [true]";
    std::string deps;
    if (shape == Shape::kChain && i > 0) {
      deps = "t" + std::to_string(i - 1);
    } else if (shape == Shape::kLayered && i >= kLayerWidth) {
      int layer_start = (i / kLayerWidth - 1) * kLayerWidth;
      int k = 1 + static_cast<int>(rng() % 3);
      // K distinct tasks of the previous layer: consecutive from a random start.
      int start = layer_start + static_cast<int>(rng() % (kLayerWidth - 3));
      for (int d = 0; d < k; ++d) deps += (d == 0 ? "t" : ", t") + std::to_string(start + d);
    }
    if (!deps.empty()) out += ", dependencies: [" + deps + "]";
    out += "}\n";
  }
  return out;
}

}  // namespace baton::bench
