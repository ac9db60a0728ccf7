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

/// PROMPT as an argument of its own on a command line (`cursor-agent ... PROMPT`, a
/// custom agent's `prompt: arg`): a prompt that starts with '-' (another task's output
/// or a model's text can) would be read as an option by the agent's CLI, so it gets
/// one leading space, which a model reads the same. Any other prompt is returned as
/// it is.
std::string as_argument(const std::string& prompt);

}  // namespace baton::agents
