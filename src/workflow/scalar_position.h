// Where a byte of a YAML scalar's value sits in the source text.
//
// Template errors point at the offending character, so an offset into a scalar's
// parsed value must be mapped back to a line and column of the file. yaml-cpp
// gives only the scalar's start (its Mark); this module rereads the source from
// there for each scalar style (plain, 'single', "double", | literal, > folded).
#pragma once

#include <yaml-cpp/mark.h>

#include <cstddef>
#include <string_view>

#include "workflow/diagnostic.h"
#include "workflow/model.h"

namespace baton::workflow {

/// The 1-based place of a mark (line -1 in yaml-cpp: unknown, gives {0, 0}).
SourceLoc loc_of(const YAML::Mark& mark);

/// The place in SOURCE of byte OFFSET of VALUE, the parsed value of the scalar that
/// starts at MARK. When the source cannot be matched to the value (escapes spanning
/// lines, an unknown mark, OFFSET past the end), the scalar's own place
/// (loc_of(MARK)) is returned, so a caller always gets a usable place.
SourceLoc scalar_offset_loc(const SourceText& source, const YAML::Mark& mark,
                            std::string_view value, size_t offset);

}  // namespace baton::workflow
