// Durations in workflow files: `timeout`, `retry.delay`, `retry.max_delay`,
// `settings.kill_grace`.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::workflow {

/// Parses a duration written as text, in seconds. Accepted forms: a non-negative
/// number of seconds ("90", "1.5"), or one or more NUMBER UNIT parts with units
/// in decreasing order, each at most once: h (hours), m (minutes), s (seconds), ms
/// (milliseconds), e.g. "30s", "10m", "1h", "1h30m", "1.5s", "500ms", "2m30s".
/// Surrounding spaces are ignored; spaces inside are not allowed.
/// Error: "invalid duration 'TEXT': expected a number of seconds or a value like
/// 30s, 10m, 1h" (TEXT as given).
Result<double> parse_duration(std::string_view text);

/// The error message parse_duration() gives for TEXT.
std::string invalid_duration_message(std::string_view text);

}  // namespace baton::workflow
