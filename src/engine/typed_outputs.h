// Typed outputs (docs/workflow.md, "Typed outputs"): a task's `outputs:` entries that
// declare a `type` (string, number, boolean, file). An agent's answer or a command's
// stdout gives them in a fenced ```json block; a `type: file` output is the content of a
// file the task wrote under its directory. A missing or mistyped output is an error
// naming the output, the type expected and what was found: the attempt fails with the
// error class `bad_output` (docs/failures.md), never with a placeholder value.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace baton::engine {

/// The most bytes of a `type: file` output read: 1 MiB (1,048,576). A longer file is
/// an error, not a cut value.
inline constexpr size_t kMaxOutputFileBytes = 1u << 20;

/// One declared typed output.
struct TypedOutput {
  std::string name;
  std::string type;  ///< "string", "number", "boolean" or "file"
  std::string path;  ///< type file: relative to the task's directory; "" otherwise
};

/// The typed outputs of a task's `outputs:` mapping (TaskSpec::outputs()): the entries
/// whose value is a mapping with a `type`, in the mapping's order. Entries written as
/// a description (`name: text`) are not typed and are left out.
std::vector<TypedOutput> typed_outputs_of(const nlohmann::json& outputs);

/// The bodies of every fenced block opened by ```json (or ```JSON; a fence of three or
/// more backticks, closed by a line starting with the same fence) in TEXT, in order.
std::vector<std::string_view> json_blocks(std::string_view text);

/// The values of DECLARED read from ANSWER (an agent's final answer or a command's
/// stdout) and from files under TASK_DIR (the realpath(3) of the task's directory).
/// The JSON values come from the LAST ```json block of ANSWER whose object has every
/// declared non-file name (else from ANSWER itself when it is a JSON object). Returns
/// an object name -> value (a file's value is its content as a string).
/// Errors: "output 'count' (number) is missing: no ```json block in the output has
/// it", "output 'count': expected a number, found the string \"12\"", "output 'report'
/// (file report.md): no such file", "... is outside the task's directory", "... is
/// larger than 1048576 bytes", "... is not a regular file", "... is not UTF-8 text".
Result<nlohmann::json> extract_typed_outputs(const std::vector<TypedOutput>& declared,
                                             std::string_view answer, const std::string& task_dir);

/// The lines added to an agent's prompt for DECLARED: the names and types it must give
/// in a final ```json block, and the files it must write. "" when DECLARED is empty.
std::string typed_outputs_prompt(const std::vector<TypedOutput>& declared);

}  // namespace baton::engine
