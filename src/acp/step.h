// The current step of an agent attempt over ACP, for the live view: read from the end
// of its log (acp/client.h's lines), not from raw JSON on the screen.
#pragma once

#include <string>
#include <string_view>

namespace baton::acp {

/// The most bytes of a log's end current_step() is meant to be given (the caller reads
/// them; a longer tail is fine but slower).
inline constexpr size_t kStepTailBytes = 64 * 1024;

/// The agent's current step in TAIL (the end of a bridge's log, possibly starting
/// mid-line): the last tool call ("edit: Writing to a.txt", from a `tool_call` update
/// or a permission request's toolCall, with " (failed)" once its update says so) or
/// plan ("plan: Run the tests", its first entry in progress, else its first pending
/// one), whichever came last; "" when there is neither. One line, at most 120 bytes.
/// Never throws on any input.
std::string current_step(std::string_view tail);

}  // namespace baton::acp
