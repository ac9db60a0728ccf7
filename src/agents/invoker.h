// Agent invokers: one per agent CLI. An invoker knows how to find its CLI, build
// a headless command line, and turn what the CLI printed into one AgentResult.
//
// Invokers are stateless and know nothing of workflows or the engine; the engine
// runs the Command they build with exec::Process and hands the output back.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/process.h"

namespace baton::agents {

/// Why an agent attempt failed; decides retry and fallback.
enum class ErrorClass {
  kNone,
  kAuth,       ///< bad or missing credentials: never retried
  kRateLimit,  ///< 429 / overloaded: retried with backoff
  kTimeout,    ///< the CLI or baton timed out
  kTransient,  ///< 5xx, dropped connection: retried
  kPermanent,  ///< anything else (bad request, permission denied, tool refused)
  kCancelled,  ///< terminated by baton on request
};

/// "", "auth", "rate_limit", "timeout", "transient", "permanent", "cancelled".
const char* to_string(ErrorClass error_class);
/// The ErrorClass that to_string() names NAME ("" → kNone); kPermanent for any other
/// name, so an unknown class from an adapter's result line is never retried as
/// transient.
ErrorClass error_class_named(std::string_view name);

/// Token counts as the CLI reports them.
struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_tokens = 0;
};

/// The one result of an agent attempt.
struct AgentResult {
  bool success = false;
  std::string text;  ///< the agent's final answer
  std::string session_id;
  Usage usage;
  std::optional<double> cost_usd;  ///< USD, when the CLI reports it
  int num_turns = 0;
  /// Seconds the provider asked to wait before trying again, when the CLI reports
  /// it (Claude Code's last `system/api_retry` event's retry_delay_ms); baton waits
  /// at least this long before retrying a rate-limited attempt.
  std::optional<double> retry_after_s;
  ErrorClass error_class = ErrorClass::kNone;
  std::string error;  ///< short reason when !success
  /// The agent stopped to ask this and waits for an answer (an A2A agent's
  /// input-required): not a failure; the engine makes the task wait for a person and
  /// the next attempt carries the answer (Invocation::answer). success is false.
  std::optional<std::string> question;
};

/// What to ask.
struct Invocation {
  std::string prompt;
  std::string workdir;            ///< the agent's working directory
  std::string model;              ///< "" = the CLI's default
  std::string resume_session_id;  ///< "" = new session
  int max_turns = 0;              ///< 0 = no limit
  /// A person's answer to the question the task's previous attempt ended with
  /// (AgentResult::question): the attempt continues that conversation with it instead
  /// of sending the prompt. nullopt = a new turn.
  std::optional<std::string> answer;
  /// "baton-RUN-TASK-ATTEMPT", filled by the engine (engine::idempotency_key): the
  /// same for the same attempt whoever starts it (a re-attach after a crash, a resume),
  /// different for every attempt. An adapter that dispatches work to a service sends it
  /// so that the service can refuse a second dispatch of the same attempt (A2A: the
  /// message's messageId). "" when the caller has no run (tests, probes).
  std::string idempotency_key;
};

/// Whether an agent can take work now (`baton agents --health`, docs/adapters.md).
struct Health {
  bool healthy = false;
  std::string detail;  ///< one line: what was checked and found, or why not healthy
};

/// A command line ready for exec::ProcessSpec.
struct Command {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::optional<std::string> stdin_data;  ///< the prompt, when the CLI reads stdin
};

/// One agent CLI.
class Invoker {
 public:
  virtual ~Invoker() = default;
  /// baton's name for the agent: "claude", "codex", ...
  virtual std::string name() const = 0;
  /// The executable looked up in PATH: "claude", "codex", ...
  virtual std::string executable() const = 0;
  /// The headless command for one attempt.
  virtual Command build_command(const Invocation& invocation) const = 0;
  /// Turns the finished process's output into a result. Never throws; output that
  /// cannot be parsed gives success=false, kPermanent, and says so in `error`.
  virtual AgentResult parse(const exec::ProcessResult& process) const = 0;
  /// A readable transcript of an attempt's log LOG (the CLI's stdout with its stderr
  /// interleaved, as recorded): the agent's messages, its tool calls with their key
  /// argument, their results in brief, the final answer and the usage; the format is
  /// in agents/transcript.h. Lines that are not the CLI's events are kept, marked.
  /// This default, for CLIs whose output is not a stream of events, is LOG as it is.
  /// Never throws on any input.
  virtual std::string transcript(std::string_view log) const { return std::string(log); }
  /// The task of an attempt that ended with a question (AgentResult::question) will
  /// not be continued (its gate was rejected or the run cancelled): ends what the
  /// agent keeps waiting for, read from that attempt's log LOG (an A2A agent: its
  /// remote task is cancelled). Bounded (a few seconds); returns a one-line note of
  /// what was done for the event log, "" when there is nothing to end. Default: "".
  virtual std::string abandon(std::string_view log) const {
    (void)log;
    return "";
  }
  /// Whether the agent can take work, found within about TIMEOUT_S seconds; never
  /// throws. This default, for local CLIs: the executable is found in PATH and answers
  /// (health_of(detect(executable(), TIMEOUT_S))). A remote agent asks its service
  /// (A2A: its agent card).
  virtual Health health(double timeout_s) const;
};

/// The invoker named NAME, or nullptr. Known names: see known_agent_names(). A
/// built-in invoker lives for the whole program, a custom one (agents/custom.h)
/// from its registration on.
const Invoker* find_invoker(const std::string& name);

/// Every agent name baton knows (for validation), sorted: the built-in agents and
/// the custom agents registered so far (agents/custom.h).
const std::vector<std::string>& known_agent_names();

/// Where a CLI is installed and which version it reports.
struct Detection {
  bool installed = false;
  std::string path;  ///< absolute path found in PATH
  /// "VERSION (npm NAME)" from the package.json of the npm package the executable's
  /// real path lies in (no process started); else the first line of `EXE --version`,
  /// trimmed; "" when unknown.
  std::string version;
  bool timed_out = false;  ///< `--version` did not end within its time limit (killed)
};

/// The absolute path of EXECUTABLE found in PATH (or EXECUTABLE itself when it holds
/// a '/' and is executable), without running it; "" when not found.
std::string find_executable(const std::string& executable);

/// Looks EXECUTABLE up in PATH and finds its version: from the package.json of the npm
/// package it belongs to, else by running `EXECUTABLE --version` (5 s limit).
Detection detect(const std::string& executable);

/// As detect(), with TIMEOUT_S seconds for `--version` (the process group is killed
/// after that, the version left empty and `timed_out` set). Node-based CLIs take 0.2
/// to 4 s to start. Thread safety: may be called from several threads at once.
Detection detect(const std::string& executable, double timeout_s);

/// The health of a local CLI from its DETECTION: healthy when it is installed and did
/// not time out answering `--version`; the detail is its version, "not found in PATH"
/// or "`--version` did not answer within TIMEOUT_S s".
Health health_of(const Detection& detection, double timeout_s);

/// Where detect_all() is: called after each probe ends.
struct ProbeProgress {
  size_t done = 0;   ///< probes ended so far
  size_t total = 0;  ///< probes in all
  /// The executables being probed now, in the order they were given.
  std::vector<std::string> running;
};

/// How detect_all() probes.
struct ProbeOptions {
  double timeout_s = 10;    ///< per `--version`, seconds
  size_t max_parallel = 8;  ///< probes at a time (at least 1)
  /// Called after each probe ends, one call at a time (under a lock), from a probing
  /// thread; may be empty.
  std::function<void(const ProbeProgress&)> on_progress;
};

/// detect() of every executable of EXECUTABLES, at most OPTIONS.max_parallel at a
/// time, each `--version` bounded by OPTIONS.timeout_s: the whole takes at most about
/// ceil(n / max_parallel) timeouts however the CLIs behave. The result has one
/// Detection per executable, in the order given, whatever order the probes end in.
std::vector<Detection> detect_all(const std::vector<std::string>& executables,
                                  const ProbeOptions& options);

}  // namespace baton::agents
