// "Did you mean ...?": edit distance and the choice of a suggestion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace baton::workflow {

/// The Levenshtein distance between A and B (insertions, deletions and
/// substitutions of single bytes each cost 1). Stops early and returns a value
/// greater than LIMIT once the distance is known to exceed LIMIT. O(|A| * |B|)
/// time, O(|B|) memory.
size_t edit_distance(std::string_view a, std::string_view b, size_t limit = SIZE_MAX);

/// The candidate WORD most likely stands for: the one at the smallest edit
/// distance when that distance is at most 2 (and smaller than WORD's length, so
/// that a one-letter word does not match every short name), else a candidate that
/// WORD is a prefix of (at least 2 characters), else nullopt. Ties go to the
/// earlier candidate. A candidate equal to WORD is never suggested.
std::optional<std::string> suggest(std::string_view word,
                                   const std::vector<std::string>& candidates);

/// The suffix of a message naming a suggestion: "; did you mean 'X'?", or ""
/// when suggest() has none.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace baton::workflow
