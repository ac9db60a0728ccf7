// Sizes in workflow files: `limits.memory` (settings and tasks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::workflow {

/// Parses a size written as text, in bytes. Accepted forms: a whole number of bytes
/// ("1048576"), or a number (fractions allowed) followed by a unit: B; KB, MB, GB, TB
/// (powers of 1000); KiB, MiB, GiB, TiB (powers of 1024); K, M, G, T are read as
/// KiB..TiB (as `ulimit` and docker do). Units are case-sensitive except that the
/// single letters may be lower case ("512m"). Surrounding spaces are ignored; one
/// space between the number and the unit is allowed ("2 GiB"). The result is rounded
/// down to whole bytes. Error (also for a value above 2^62 bytes): "invalid size
/// 'TEXT': expected a number of bytes or a value like 512MiB, 2GiB" (TEXT as given).
Result<int64_t> parse_size(std::string_view text);

/// The error message parse_size() gives for TEXT.
std::string invalid_size_message(std::string_view text);

}  // namespace baton::workflow
