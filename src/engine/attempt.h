// Attempt preparation and outcome: turns a task spec plus the run's scope into
// the process to start, and the finished process into an AttemptOutcome.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agents/invoker.h"
#include "engine/scheduler.h"
#include "engine/secrets.h"
#include "engine/typed_outputs.h"
#include "exec/process.h"
#include "store/store.h"
#include "workflow/model.h"

namespace baton::engine {

/// The most bytes of a task's output kept as its `output` (`${task.output}`, the task row,
/// `baton status`): 1 MiB. A command task's stdout is captured up to this many bytes
/// (exec::ProcessSpec::max_capture_bytes), so baton never holds more of it in memory;
/// the log keeps everything.
inline constexpr size_t kMaxTaskOutputBytes = 1u << 20;

/// How a cut output ends: `\n…[output cut at N bytes; full log: PATH]`, N the bytes kept
/// before the marker.
inline constexpr std::string_view kOutputCutMarker = "…[output cut at ";

/// OUTPUT cut to at most MAX_BYTES bytes at a UTF-8 character boundary, followed by
/// "\n…[output cut at N bytes; full log: LOG_PATH]" (N: the bytes kept).
std::string cut_output(std::string_view output, size_t max_bytes, const std::string& log_path);

/// Whether OUTPUT ends with the marker cut_output() appends.
bool output_was_cut(std::string_view output);

/// The longest prefix of TEXT of at most MAX_BYTES bytes that does not end inside a
/// UTF-8 sequence (TEXT itself when it is short enough).
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

/// TEXT without a UTF-8 sequence that its end cuts short (a lead byte followed by fewer
/// continuation bytes than it announces); TEXT itself otherwise.
std::string_view without_partial_character(std::string_view text);

/// Resolves `agent:` values to agent CLIs: a role (workflow `agents:`, then
/// .baton/config.yaml roles) gives its `use` list; an agent name is itself. The
/// first agent of the list whose CLI is installed is chosen. Detection results are
/// cached for the life of the object.
class AgentResolver {
 public:
  /// ROLES: role name -> spec (the workflow's roles override the config's).
  explicit AgentResolver(std::map<std::string, workflow::RoleSpec> roles);

  /// The chosen agent for AGENT_OR_ROLE and the role's instructions ("" for none).
  /// Error: no invoker for any listed agent, or none of them installed
  /// ("no agent for role 'planner' is installed (tried: claude, codex)").
  Result<std::pair<std::string, std::string>> resolve(const std::string& agent_or_role);

  /// Every installed agent for AGENT_OR_ROLE in preference order (the role's `use`
  /// list, or the agent itself). Errors as for resolve() when none is installed.
  Result<std::vector<std::string>> candidates(const std::string& agent_or_role);

  /// The role's instructions ("" for an agent name or a role without any).
  std::string instructions(const std::string& agent_or_role) const;

  /// The role AGENT_OR_ROLE names, or null for an agent name. Valid while this lives.
  const workflow::RoleSpec* role(const std::string& agent_or_role) const;

 private:
  bool installed(const std::string& agent);
  std::map<std::string, workflow::RoleSpec> roles_;
  std::map<std::string, bool> installed_;
};

/// An attempt ready to start.
struct PreparedAttempt {
  exec::ProcessSpec process;
  std::string agent;  ///< "" for command tasks
  const agents::Invoker* invoker = nullptr;
  /// The task's typed outputs (typed_outputs.h), read by judge_attempt() from the
  /// output and process.cwd; empty for a review attempt.
  std::vector<TypedOutput> typed_outputs;
};

/// A review or a rework attempt of a task with `review` (docs/review.md).
struct ReviewAttempt {
  bool reviewing = false;  ///< true: the reviewer's attempt; false: the implementer's rework
  int cycle = 1;           ///< 1-based
  int max_cycles = 1;
  std::string diff;      ///< reviews: the work's changes (Workspaces::review_diff())
  std::string feedback;  ///< reworks: the review's feedback
};

/// Paths and identity an attempt needs.
struct AttemptPlace {
  std::string run_id;
  std::string task_id;
  int attempt = 1;
  std::string root_dir;  ///< tasks run here unless `workdir` says otherwise
  std::string log_path;  ///< where output goes
  double timeout_s = 3600;
  double kill_grace_s = 10;
  std::string agent;              ///< agent tasks: the agent chosen by the scheduler; "" = resolve
  std::string resume_session_id;  ///< agent tasks: a session to resume; "" = a new one
  /// agent tasks: a person's answer to the question the previous attempt ended with
  /// (agents::Invocation::answer); nullopt = none
  std::optional<std::string> answer = std::nullopt;
  /// agent tasks: the feedback of a pending `baton iterate`, put before the prompt
  /// (prompt_with_feedback(), engine/iteration.h); "" = none
  std::string feedback = "";
  /// The run's secrets: the task's own go into its environment, every value into the
  /// log's redaction list (secrets.h). Null = none.
  const RunSecrets* secrets = nullptr;
  /// A review or rework (docs/review.md): the prompt is review_prompt() (the reviewer's
  /// role instructions and review.instructions, the task's prompt, the diff) or
  /// rework_prompt() (the task's prompt and the feedback); a review runs without the
  /// task's `model`. Null = the task's own prompt.
  const ReviewAttempt* review = nullptr;
};

/// The idempotency key of an attempt (agents::Invocation::idempotency_key,
/// docs/adapters.md): "baton-RUN-TASK-ATTEMPT", with "-review-CYCLE" after it for a
/// reviewer's attempt (which shares the task's attempt number). A remote adapter sends
/// it with its dispatch (A2A: the messageId).
std::string idempotency_key(const AttemptPlace& place);

/// The directory a task runs in for its rendered `workdir` WORKDIR: ROOT (the project
/// root, or the task's worktree) joined with WORKDIR (an absolute WORKDIR as it is),
/// after every symlink of it that exists is resolved, must be ROOT or below it. Returns
/// ROOT/REST, REST the resolved path relative to ROOT with its symlinks resolved ("" or
/// "." gives ROOT). Errors: ROOT cannot be resolved; the path resolves outside ROOT
/// ("workdir '../..' resolves to /x, outside the task's directory /x/p/q"). Symlinks
/// created after the check (by a task running at the same time) are not seen.
Result<std::string> resolve_workdir(const std::string& root, const std::string& workdir);

/// Renders SPEC's templates in SCOPE and builds the process to run: a command task's
/// argv (or /bin/sh -c TEXT, each value quoted for the shell by expr::render_shell(),
/// see expr/shell.h), or an agent's headless command with the prompt. The
/// environment gets the task's `env` plus BATON_RUN_ID, BATON_TASK_ID, BATON_ATTEMPT,
/// and the secrets it lists (RunSecrets::apply).
/// Errors: a template that fails to render ("parameters.task: undefined name 'x'"), a
/// NUL byte in a rendered `run:` string, argv element, `env:` value or `workdir` (exec
/// and setenv take C strings: "run[3]: the value contains a NUL byte, ..."), a
/// `workdir` outside the task's directory (resolve_workdir()), an agent that cannot be
/// resolved, a listed secret that cannot be given.
Result<PreparedAttempt> prepare_attempt(const workflow::TaskSpec& spec, const AttemptPlace& place,
                                        const expr::Scope& scope, AgentResolver& agents);

/// The prompt text of an agent task: the role's instructions, then the task
/// (parameters.task, else the description), then every other parameter as
/// `key: value` lines. Errors as for prepare_attempt().
Result<std::string> render_prompt(const workflow::TaskSpec& spec, const std::string& instructions,
                                  const expr::Scope& scope);

/// Judges a finished process. Command tasks: success is exit 0; output is stdout
/// with surrounding whitespace trimmed; when that output is a JSON object it is
/// also the task's `outputs`. Agent tasks: the invoker's parse decides, and
/// auth errors are not retryable. An attempt whose log or captured stdout could not be
/// written in full (result.output_error) fails, whatever its exit status, with the
/// error in its reason; retried by policy. An output longer than kMaxTaskOutputBytes
/// (for a command, a stdout the capture cut) is cut there and marked (cut_output(), the
/// log named is the attempt's), and output_truncated is set. Fills the usage fields
/// of RECORD (an attempt row) and its process's fields (record_process()); its `output`
/// stays empty: the task row keeps the output, the log every attempt's.
AttemptOutcome judge_attempt(const PreparedAttempt& attempt, const exec::ProcessResult& result,
                             store::AttemptRecord& record);

/// Copies what RESULT knows of the attempt's process into RECORD (an attempt row): its
/// pid, its end (ended_at) and its own start (started_at, the supervisor's record of it,
/// Unix s), which replaces the time the driver prepared the attempt; a process that
/// never started (result.started_at 0) leaves that time as it is.
void record_process(const exec::ProcessResult& result, store::AttemptRecord& record);

}  // namespace baton::engine
