// The rehearsal script: which turns the scripted model takes, per task or agent.
//
// A script is a YAML file (docs/rehearsal.md is the reference):
//
//   usage: {input_tokens: 100, output_tokens: 20, cached_tokens: 0}
//   tasks:
//     build:
//       - write_file: {path: hello.txt, content: "hi\n"}
//       - run: make test
//       - text: done
//     "build:codex":                     # task build when codex runs it
//       - fault: {status: 500, times: 2, retry_after_s: 1}
//       - text: done
//   agents:
//     gemini: [{text: "done"}]
//   fallback:
//     - text: done
//
// Each step is one model turn; the server (server.h) serves a session's steps in
// order, one per request that offers tools.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace baton::rehearse {

/// A file the agent writes with its own write tool (Claude `Write`, Codex
/// `apply_patch`, Gemini/Qwen `write_file`, opencode/Kilo `write`, Copilot `create`).
/// A relative path is resolved against the agent's working directory when the
/// request names it (see tools.h); Codex's apply_patch always ends the file with
/// a newline.
struct WriteFile {
  std::string path;
  std::string content;
};

/// A replacement in an existing file with the agent's own edit tool (Claude
/// `Edit`, Gemini `replace`, Qwen/opencode/Copilot `edit`, Codex `apply_patch`).
/// OLD must occur in the file exactly once (the CLI checks).
struct EditFile {
  std::string path;
  std::string old_text;
  std::string new_text;
};

/// A call of any tool by its name, with the arguments as given (a JSON object, or
/// for a custom tool such as Codex's apply_patch, a JSON string: the raw input).
struct ToolUse {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};

/// How an injected failure looks on the wire.
enum class FaultKind {
  kHttp,   ///< an HTTP error status with an error body in the protocol's shape
  kDrop,   ///< the connection is closed without any response
  kHang,   ///< no response at all until the server stops or the client gives up
  kStall,  ///< response headers and one stream event (half the body when not
           ///< streaming), then nothing until the server stops or the client gives up
};

/// An injected failure. `times` consecutive requests of the session get it
/// before the script moves on.
struct Fault {
  FaultKind kind = FaultKind::kHttp;
  int status = 500;          ///< HTTP status for kHttp (500, 429, 529, 503, 401, ...)
  double retry_after_s = 0;  ///< > 0: sent as `retry-after` (seconds) and `retry-after-ms`
  int times = 1;             ///< number of requests that get this fault, >= 1
  std::string message;       ///< the error body's message; "" = a default per status
};

/// Token counts reported for one model response. `input_tokens` counts the whole
/// prompt, cached part included (Anthropic's `input_tokens` gets the uncached part,
/// `cache_read_input_tokens` the cached part).
struct Usage {
  int input_tokens = 100;
  int output_tokens = 20;
  int cached_tokens = 0;
};

/// One model turn. Exactly one action is set: a tool call (write_file, edit_file,
/// run, call) or a fault; a step with none of them answers `text`, which ends the
/// agent's turn.
struct Step {
  std::string text;                     ///< the final answer (when no other action is set)
  std::optional<WriteFile> write_file;  ///< write a file with the CLI's write tool
  std::optional<std::string> run;       ///< a shell command with the CLI's shell tool
  std::optional<Fault> fault;           ///< an injected failure
  std::optional<EditFile> edit_file;    ///< replace text in a file with the CLI's edit tool
  std::optional<ToolUse> call;          ///< call this tool by name, arguments as given
  std::string tool;                     ///< preferred tool name for the action ("" = choose)
  std::optional<Usage> usage;           ///< token counts for this turn (default: Script::usage)
  int line = 0;                         ///< 1-based line of the step in the script, 0 = none

  /// Whether the step is a final text answer (no tool call and no fault).
  bool is_text() const { return !write_file && !run && !fault && !edit_file && !call; }
};

/// A step that answers TEXT.
inline Step text_step(std::string text) {
  Step step;
  step.text = std::move(text);
  return step;
}

/// A whole script. The step list of a session (task T, agent A, attempt N) is the
/// first that exists of: tasks["T:A:N"], tasks["T:A"], tasks["T"], agents["A"],
/// fallback. The default fallback is [{text: "done"}].
struct Script {
  std::map<std::string, std::vector<Step>> tasks;
  std::map<std::string, std::vector<Step>> agents;
  std::vector<Step> fallback = {text_step("done")};
  Usage usage;       ///< token counts reported for every turn without its own
  std::string path;  ///< the file the script was loaded from, "" when built in code

  /// The step list for a session, by the lookup order above. AGENT and ATTEMPT may
  /// be "" (a request without a rehearsal API key: only the fallback applies when
  /// TASK is "" too). The reference stays valid while the Script lives.
  const std::vector<Step>& steps_for(const std::string& task, const std::string& agent,
                                     const std::string& attempt) const;
};

/// Reads and checks the script at PATH (YAML; JSON is YAML too). Errors name the
/// place: "PATH:LINE:COL: error: MESSAGE" followed by the source line and a caret
/// (e.g. an unknown key, a step with two actions, a fault status outside
/// 100..599, `times` < 1, a YAML syntax error); a file that cannot be read gives
/// "PATH: error: cannot read: REASON". Never throws.
Result<Script> load_script(const std::string& path);

/// As load_script() for TEXT, named FILE_NAME in errors. Never throws.
Result<Script> parse_script(const std::string& text, const std::string& file_name);

/// The name of a fault kind as written in scripts: http, drop, hang, stall.
const char* fault_kind_name(FaultKind kind);

}  // namespace baton::rehearse
