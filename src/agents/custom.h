// Custom agents: any command line that takes a prompt and prints an answer, declared
// in .baton/config.yaml (custom_agents:) and run like an agent CLI.
//
//   custom_agents:
//     summarizer:
//       command: [python3, tools/summarize.py, --model, small]
//       prompt: stdin                # or "arg"
//       answer: {regex: "ANSWER: (.*)"}   # or {json_path: result.text}; default: stdout
//       env: {SUMMARY_STYLE: short}
//
// A custom agent's attempt succeeds when the command exits 0 and the answer is found.
// Registered agents are known to find_invoker() and known_agent_names().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agents/invoker.h"
#include "util/error.h"

namespace baton::agents {

/// How a custom agent receives its prompt.
enum class PromptVia {
  kStdin,  ///< written to the command's stdin, which is then closed
  kArg,    ///< as an argument: see CustomAgentSpec::command
};

/// What a custom agent runs and how its answer is found.
struct CustomAgentSpec {
  /// argv; argv[0] is looked up in PATH. With PromptVia::kArg every "{prompt}" in an
  /// argument is replaced by the prompt; when no argument holds "{prompt}", the
  /// prompt is appended as the last argument.
  std::vector<std::string> command;
  PromptVia prompt = PromptVia::kStdin;
  /// ECMAScript regular expression searched in stdout; the answer is its first
  /// capture group, or the whole match when it has none. Empty: not used.
  std::string answer_regex;
  /// Dotted path into stdout parsed as JSON ("result.text", "choices.0.text"; a
  /// number indexes an array). When stdout is JSON Lines, the last line that has the
  /// path is used. A string is the answer as it is, another value its JSON text.
  /// Empty: not used. At most one of answer_regex and answer_json_path is set.
  std::string answer_json_path;
  /// Set on top of baton's environment.
  std::map<std::string, std::string> env;
};

/// An invoker for SPEC under NAME; name() is NAME, executable() is command[0].
/// Errors: an empty command or argv[0], both answer_regex and answer_json_path set,
/// a regex that does not compile, an empty step in the JSON path, and, with
/// PromptVia::kArg, "{prompt}" inside the code an interpreter runs (the argument after
/// a shell's `-c`, python's `-c`, node's, perl's or ruby's `-e`): the prompt carries
/// upstream outputs and model text, which must stay data ("custom agent 'x':
/// command[2] puts {prompt} inside the code that 'sh -c' runs, ...").
Result<std::unique_ptr<Invoker>> make_custom_invoker(const std::string& name,
                                                     const CustomAgentSpec& spec);

/// Makes NAME a known agent (find_invoker(), known_agent_names()). NAME: letters,
/// digits, '_' and '-', starting with a letter; not a built-in agent's name.
/// Registering a NAME again replaces its spec (invokers handed out before stay valid).
/// Errors: as make_custom_invoker(), and a bad or built-in NAME; nothing is
/// registered then. Thread safety: guarded by a mutex; but known_agent_names()
/// returns a reference that registration updates, so register before handing it out
/// (the CLI registers the config's agents before loading a workflow).
Result<void> register_custom_agent(const std::string& name, const CustomAgentSpec& spec);

/// Makes INVOKER (not null) the known agent NAME, as register_custom_agent() does for
/// a command line: for agents run another way (a remote agent over A2A, a2a/invoker.h).
/// Errors: a bad or built-in NAME; nothing is registered then.
Result<void> register_agent_invoker(const std::string& name, std::unique_ptr<Invoker> invoker);

/// The registered custom agent NAME, or nullptr.
const Invoker* find_custom_invoker(const std::string& name);

/// True when NAME is a registered custom agent.
bool is_custom_agent(const std::string& name);

}  // namespace baton::agents
