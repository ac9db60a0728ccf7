// Attempt preparation and outcome: turns a task spec plus the run's scope into
// the process to start, and the finished process into an AttemptOutcome.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agents/invoker.h"
#include "engine/scheduler.h"
#include "engine/secrets.h"
#include "exec/process.h"
#include "store/store.h"
#include "workflow/model.h"

namespace baton::engine {

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
  /// The run's secrets: the task's own go into its environment, every value into the
  /// log's redaction list (secrets.h). Null = none.
  const RunSecrets* secrets = nullptr;
};

/// Renders SPEC's templates in SCOPE and builds the process to run: a command task's
/// argv (or /bin/sh -c TEXT), or an agent's headless command with the prompt. The
/// environment gets the task's `env` plus BATON_RUN_ID, BATON_TASK_ID, BATON_ATTEMPT,
/// and the secrets it lists (RunSecrets::apply).
/// Errors: a template that fails to render ("parameters.task: undefined name 'x'"),
/// an agent that cannot be resolved, a listed secret that cannot be given.
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
/// error in its reason; retried by policy. Fills the usage fields of RECORD (an attempt
/// row).
AttemptOutcome judge_attempt(const PreparedAttempt& attempt, const exec::ProcessResult& result,
                             store::AttemptRecord& record);

}  // namespace baton::engine
