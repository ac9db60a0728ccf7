#include "workflow/suggest.h"

#include <algorithm>

namespace baton::workflow {

size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (diff > limit) return limit == SIZE_MAX ? diff : limit + 1;
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    size_t row_min = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
      row_min = std::min(row_min, row[j]);
    }
    // Every later row is at least this row's minimum.
    if (limit != SIZE_MAX && row_min > limit) return limit + 1;
  }
  return row[b.size()];
}

std::optional<std::string> suggest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  constexpr size_t kMaxDistance = 2;
  const std::string* best = nullptr;
  size_t best_distance = kMaxDistance + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == word) continue;
    size_t d = edit_distance(word, candidate, kMaxDistance);
    if (d < best_distance && d < word.size()) {
      best = &candidate;
      best_distance = d;
    }
  }
  if (best) return *best;
  if (word.size() >= 2) {
    for (const std::string& candidate : candidates) {
      if (candidate.size() > word.size() && candidate.compare(0, word.size(), word) == 0) {
        return candidate;
      }
    }
  }
  return std::nullopt;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto s = suggest(word, candidates);
  return s ? "; did you mean '" + *s + "'?" : std::string();
}

}  // namespace baton::workflow
