// The prompt an agent task sends: role instructions, the task, and context lines.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace baton::agents {

/// Builds the prompt text of an agent attempt, in this layout (parts that are
/// empty are left out, parts are separated by one blank line):
///
///   INSTRUCTIONS
///
///   TASK
///
///   Context:
///   key: value          (one line per item; a multi-line value is indented by 2)
///
/// INSTRUCTIONS: the role's instructions; TASK: the task text; CONTEXT: name/value
/// pairs in the order given. The result ends with a newline.
std::string build_prompt(const std::string& instructions, const std::string& task,
                         const std::vector<std::pair<std::string, std::string>>& context);

}  // namespace baton::agents
