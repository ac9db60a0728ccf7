// The workflow as written: the in-memory form of a workflow file (YAML or JSON).
//
// The schema is seed 001's (../shared/seeds/001_0ad356ec54de143c.txt) plus the
// additions in docs/workflow.md. A Workflow produced by
// load_workflow() (loader.h) has passed validation: ids are unique, every
// dependency exists, the graph is acyclic, every ${...} parses and refers only to
// upstream tasks, inputs or variables. Durations are stored in seconds.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace baton::workflow {

/// A place in a source file: 1-based line and column; 0 means unknown.
struct SourceLoc {
  int line = 0;
  int column = 0;
};

/// settings.on_failure: what the run does once a task has failed for good.
enum class RunFailurePolicy {
  kStop,      ///< start nothing new; running tasks are terminated and recorded cancelled
  kContinue,  ///< keep running every task that does not depend on the failed one
};

/// task.on_failure: what happens to a task whose last attempt failed.
enum class TaskFailureAction : uint8_t {
  kFail,   ///< the task is failed (default)
  kSkip,   ///< the task is recorded skipped; dependants see status 'skipped'
  kRetry,  ///< retry per `retry` (3 attempts when no retry block is given), then fail
  /// after every attempt and fallback agent failed, the task waits for a person
  /// (`baton approve`: succeeded; `--reject`: failed as usual)
  kEscalate,
};

/// task.gate: a human approval the task waits for before its work (docs/gates-and-resume.md).
struct GateSpec {
  std::string message;  ///< a template, rendered when the task starts waiting
  SourceLoc loc;        ///< where the gate's mapping starts
};

/// retry.backoff: how the delay grows between attempts.
enum class Backoff {
  kFixed,        ///< every retry waits `delay_s`
  kExponential,  ///< retry n (1-based) waits delay_s * 2^(n-1)
};

/// A task's retry block. Attempts happen while attempt < max_attempts.
struct RetryPolicy {
  int max_attempts = 1;               ///< total attempts, including the first (>= 1)
  double delay_s = 0;                 ///< seconds before the first retry
  Backoff backoff = Backoff::kFixed;  ///< growth of the delay
  std::optional<double> max_delay_s;  ///< cap on any one delay, seconds
  double jitter = 0;                  ///< 0..1: up to this fraction of the delay is added at random
};

/// task.fallback: which agent the next attempt of a failed agent task uses (seed 004
/// WP07). Attempts are counted per agent: each agent gets the task's retry policy.
enum class FallbackStrategy : uint8_t {
  kNextInList,  ///< after an agent's attempts are used up (or auth/permanent), the role's next
                ///< agent
  kSameAgent,   ///< only the first installed agent; permanent errors are retried too
  kFail,        ///< only the first installed agent; no retry after auth/permanent errors
};

/// settings.isolation and task `isolation`: where a task works (docs/isolation.md).
enum class Isolation : uint8_t {
  kNone,      ///< in the project root, like any command
  kWorktree,  ///< in its own git worktree on its own branch; committed when it succeeds
};

/// settings.integrate: how the branches of worktree tasks reach the run's branch.
enum class Integration {
  kMerge,   ///< one merge commit per task, in dependency order, at the end of the run
  kSquash,  ///< one ordinary commit per task with its changes
  kNone,    ///< no run branch; each task's branch is kept as it is
};

/// settings.integrate_at: when a worktree task's branch enters the run's branch.
enum class IntegrateAt {
  kEnd,   ///< every branch once all tasks have ended, in dependency order
  kTask,  ///< each branch right after its task succeeded and committed, in completion order
};

/// settings.sandbox and task `sandbox`: what confines a task's process (docs/sandboxes.md).
enum class Sandbox : uint8_t {
  kNone,    ///< no confinement
  kBwrap,   ///< bubblewrap: a minimal file system, writable worktree, no network by default
  kAuto,    ///< bwrap where it works here, else none (with a warning)
  kDocker,  ///< a container of `image` on dockerd, through the Docker Engine API
  kPodman,  ///< a container of `image` on `podman system service`, same API
};

/// settings.executor and a task's `executor:`: where its attempts run (docs/slurm.md).
enum class ExecutorKind : uint8_t {
  kLocal,  ///< under baton's run supervisor on this machine (exec/supervised.h)
  kSlurm,  ///< one Slurm batch job per attempt (executor/slurm.h)
};

/// settings.slurm: how attempts on Slurm are submitted (docs/slurm.md, "Options").
/// Every value reaches sbatch as an argv element of its own, never through a shell.
struct SlurmSettings {
  std::string partition;  ///< --partition; "" = the cluster's default
  std::string account;    ///< --account; "" = none
  /// --time of every job, seconds (Slurm rounds up to whole minutes); unset = the
  /// task's timeout + kill_grace + 60 s
  std::optional<double> time_s;
  std::optional<int> cpus;           ///< --cpus-per-task
  std::optional<int64_t> mem_bytes;  ///< --mem (passed in MiB, rounded up)
  /// More sbatch options, one argv element each ("--qos=low"); each starts with '-'
  /// and none is one baton sets itself (the loader refuses them)
  std::vector<std::string> extra;
  /// A job the scheduler no longer lists (or lists as ended) and that left no exit
  /// record is lost after this many seconds (the shared file system's delay)
  double lost_after_s = 30;
  double poll_s = 2;  ///< seconds between two looks at the scheduler's queue
};

/// `limits:` of settings (the default of every sandboxed task) or of one task (on top
/// of settings'): what a sandboxed task's processes may use. Unset fields fall back
/// to settings', then to the sandbox's defaults (isolation::ResourceLimits). They apply
/// to sandboxed tasks only (bwrap, docker, podman); docs/sandboxes.md says how.
struct Limits {
  std::optional<int64_t> pids;        ///< processes and threads at once (>= 1)
  std::optional<int64_t> memory;      ///< bytes (`512MiB`, `2GiB`; >= 1 MiB)
  std::optional<double> cpu_seconds;  ///< CPU time per process, seconds (> 0)
  std::optional<int64_t> open_files;  ///< open file descriptors per process (>= 1)
};

/// How an agent task drives its agent: `via:` of `agent: {use: NAME, via: ...}`.
enum class AgentVia {
  kCli,  ///< the CLI's headless mode (agents/invoker.h)
  kAcp,  ///< the Agent Client Protocol, through `baton __acp-bridge` (acp/invoker.h)
};

/// The fields of a task that most tasks leave unset. A TaskSpec holds them behind one
/// pointer (TaskExtrasPtr), allocated when the first of them is written, so a plain
/// command task does not pay for them (sizeof(TaskSpec) 656 -> 296 bytes: 36 MB at
/// 100,000 tasks). Read them through TaskSpec's accessors, which answer the defaults
/// below when the task has none; write them through TaskSpec::mutable_extras().
struct TaskExtras {
  std::string description;
  /// string leaves are templates; null when the task has none (read as {} through
  /// TaskSpec::parameters(), so an empty map is not allocated per task)
  nlohmann::json parameters;
  std::optional<RetryPolicy> retry;        ///< as written; see effective_retry()
  std::map<std::string, std::string> env;  ///< extra environment; values are templates
  std::string workdir;  ///< working directory (template), relative to the run's root
  /// declared outputs (name -> description); null when none (read as {})
  nlohmann::json outputs;
  std::string model;  ///< agent model override; empty = the agent's default
  /// `agent: {use: NAME, via: acp}`: how the agent is driven (docs/agents.md, "Agents
  /// over ACP"); unset: the role's `via`, else kCli (see agent_via_of()).
  std::optional<AgentVia> agent_via;
  /// `agent: {..., permission: P}`: the answer policy to an ACP agent's permission
  /// requests: "allow-worktree", "allow-all" or "deny" (acp/permission.h); "" = unset.
  std::string acp_permission;
  std::optional<double> max_cost_usd;  ///< budget of the task over all attempts, USD
  std::optional<bool> network;         ///< sandboxed tasks: network access (default false)
  std::optional<std::string> image;    ///< docker/podman sandboxes: the image; else settings.image
  Limits limits;                       ///< sandboxed tasks: resource limits over settings'
  /// secrets: names from context.secrets this task may use; no other task sees them.
  std::vector<std::string> secrets;
  /// gate: the task waits for `baton approve` once it could start; its work (if any)
  /// runs after the approval. A task with a gate may have neither `agent` nor `run`.
  std::optional<GateSpec> gate;
  /// executor: where this task's attempts run; unset = settings.executor
  std::optional<ExecutorKind> executor;
};

/// Owns a TaskExtras or nothing. A value like the fields it holds: copying copies the
/// TaskExtras, moving moves the pointer. get() is null until get_or_create().
class TaskExtrasPtr {
 public:
  TaskExtrasPtr() = default;
  TaskExtrasPtr(const TaskExtrasPtr& other)
      : p_(other.p_ ? std::make_unique<TaskExtras>(*other.p_) : nullptr) {}
  TaskExtrasPtr& operator=(const TaskExtrasPtr& other) {
    if (this != &other) p_ = other.p_ ? std::make_unique<TaskExtras>(*other.p_) : nullptr;
    return *this;
  }
  TaskExtrasPtr(TaskExtrasPtr&&) noexcept = default;
  TaskExtrasPtr& operator=(TaskExtrasPtr&&) noexcept = default;

  /// The extras, or null when none was ever written.
  const TaskExtras* get() const { return p_.get(); }
  /// The extras, allocated (all fields at their defaults) on the first call.
  TaskExtras& get_or_create() {
    if (!p_) p_ = std::make_unique<TaskExtras>();
    return *p_;
  }

 private:
  std::unique_ptr<TaskExtras> p_;
};

/// One task: either an agent task (`agent` set) or a command task (`run` set).
/// The fields every task may use are members; the rarely set ones (TaskExtras) are
/// read through the accessors below (a default when unset: "", {}, nullopt) and
/// written through mutable_extras().
struct TaskSpec {
  std::string id;
  SourceLoc loc;      ///< where the task's mapping starts
  std::string agent;  ///< role or agent name; empty for command tasks
  /// run: as a list: argv, each element a template (${...} interpolated).
  std::optional<std::vector<std::string>> run_argv;
  /// run: as a string: a template, run by `/bin/sh -c`.
  std::optional<std::string> run_shell;
  std::vector<std::string> dependencies;  ///< ids of tasks this one waits for
  std::string condition;                  ///< a condition (see expr/condition.h); empty = always
  std::optional<double> timeout_s;        ///< seconds; falls back to settings.timeout_s
  int max_turns = 0;                      ///< agent turns per attempt (0 = the CLI's default)
  std::optional<TaskFailureAction> on_failure;                ///< as written; default kFail
  FallbackStrategy fallback = FallbackStrategy::kNextInList;  ///< agent tasks only
  bool resume_session = false;         ///< on a retry with the same agent, resume its session
  std::optional<Isolation> isolation;  ///< as written; falls back to settings.isolation
  std::optional<Sandbox> sandbox;      ///< as written; falls back to settings.sandbox
  /// SHA-256 of the task's mapping in canonical form (yaml_tree.h canonical_text:
  /// comments and layout do not count), as 32 bytes (a hex string cost 112 bytes a
  /// task); all zero when unknown. Read it as hex through spec_sha256().
  std::array<uint8_t, 32> spec_digest{};
  /// The rarely set fields; null until mutable_extras() is first called.
  TaskExtrasPtr extras;

  /// spec_digest as lowercase hex (64 characters); "" when it is unknown (a task not
  /// read from a file). `baton resume` compares it to the run's.
  std::string spec_sha256() const;
  /// Sets spec_digest from HEX (64 hex digits, as sha256_hex() gives); anything else
  /// makes it unknown.
  void set_spec_sha256(std::string_view hex);

  /// The rarely set fields for writing: allocates them (at their defaults) on first use.
  TaskExtras& mutable_extras() { return extras.get_or_create(); }

  // Read access to TaskExtras' fields; each answers the field's default when the task
  // has no extras. References stay valid until the task is changed or destroyed.
  const std::string& description() const { return read_extras().description; }
  /// The parameters mapping; {} when the task has none.
  const nlohmann::json& parameters() const;
  const std::optional<RetryPolicy>& retry() const { return read_extras().retry; }
  const std::map<std::string, std::string>& env() const { return read_extras().env; }
  const std::string& workdir() const { return read_extras().workdir; }
  /// The declared outputs mapping; {} when the task declares none.
  const nlohmann::json& outputs() const;
  const std::string& model() const { return read_extras().model; }
  const std::optional<AgentVia>& agent_via() const { return read_extras().agent_via; }
  const std::string& acp_permission() const { return read_extras().acp_permission; }
  const std::optional<double>& max_cost_usd() const { return read_extras().max_cost_usd; }
  const std::optional<bool>& network() const { return read_extras().network; }
  const std::optional<std::string>& image() const { return read_extras().image; }
  const Limits& limits() const { return read_extras().limits; }
  const std::vector<std::string>& secrets() const { return read_extras().secrets; }
  const std::optional<GateSpec>& gate() const { return read_extras().gate; }
  const std::optional<ExecutorKind>& executor() const { return read_extras().executor; }

  bool is_command() const { return run_argv.has_value() || run_shell.has_value(); }
  /// A gate with no work: approving it is the task's success.
  bool is_gate_only() const { return gate().has_value() && !is_command() && agent.empty(); }
  /// The retry policy in force: the retry block if given; else 3 attempts with a
  /// 10 s exponential backoff when on_failure is retry; else a single attempt.
  RetryPolicy effective_retry() const;
  /// on_failure with its default (kFail).
  TaskFailureAction failure_action() const { return on_failure.value_or(TaskFailureAction::kFail); }

 private:
  /// The extras, or a shared TaskExtras at its defaults when there are none.
  const TaskExtras& read_extras() const;
};

/// settings: run-wide limits.
struct Settings {
  int max_parallel = 3;     ///< tasks running at once (>= 1)
  double timeout_s = 3600;  ///< default per-attempt timeout, seconds
  RunFailurePolicy on_failure = RunFailurePolicy::kStop;
  double kill_grace_s = 10;                ///< seconds between SIGTERM and SIGKILL
  std::optional<double> max_cost_usd;      ///< budget of the whole run, USD: nothing starts past it
  Isolation isolation = Isolation::kNone;  ///< default of every task (hooks: always none)
  Integration integrate = Integration::kMerge;   ///< used when some task runs in a worktree
  IntegrateAt integrate_at = IntegrateAt::kEnd;  ///< when branches are integrated
  Sandbox sandbox = Sandbox::kNone;              ///< default of every task (hooks: always none)
  std::string image;  ///< image of docker/podman sandboxes; "" = baton-sandbox:latest
  std::string git_author = "baton <baton@localhost>";  ///< "Name <email>" of baton's commits
  Limits limits;  ///< resource limits of every sandboxed task (each field: task's, then this)
  ExecutorKind executor = ExecutorKind::kLocal;  ///< where tasks run unless they say
  SlurmSettings slurm;                           ///< settings.slurm (executor: slurm)
  /// `-i KEY=VALUE` may name a KEY that neither inputs nor context.variables declare
  /// (by default that is an error: a misspelt input would silently be ignored)
  bool allow_extra_inputs = false;
  /// `settings.agent_limits` (and `agent_limits:` of .baton/config.yaml, which the file's
  /// entries override): agent name -> attempts of that agent running at once (>= 1).
  /// An agent not listed is bounded by max_parallel only.
  std::map<std::string, int> agent_limits;
  /// Role name -> its `max_concurrent` (>= 1): attempts of tasks whose `agent:` names
  /// that role running at once. Filled by the loader from the roles in effect (the
  /// file's `agents:`, then the config's); not a key of `settings`.
  std::map<std::string, int> role_limits;
};

/// inputs.NAME: a value the caller gives with `-i NAME=VALUE`.
struct InputSpec {
  bool required = false;
  std::optional<nlohmann::json> default_value;
  std::string description;
};

/// agents.ROLE (or a role in .baton/config.yaml): agents in preference order.
struct RoleSpec {
  std::string name;
  std::vector<std::string> use;  ///< agent names, first preferred
  std::string instructions;      ///< prepended to every prompt of this role
  std::optional<AgentVia> via;   ///< `via:` of the role: how its agents are driven
  std::string acp_permission;    ///< `permission:` of the role (ACP); "" = unset
  /// `max_concurrent:` of the role: attempts of its tasks running at once (>= 1);
  /// unset = no limit besides max_parallel and the agents' limits
  std::optional<int> max_concurrent;
  SourceLoc loc;
};

/// How TASK drives its agent: the task's `via`, else that of ROLE (the role TASK's
/// `agent` names, or null), else kCli.
AgentVia agent_via_of(const TaskSpec& task, const RoleSpec* role);

/// TASK's ACP permission policy: the task's `permission`, else ROLE's, else
/// "allow-worktree".
std::string acp_permission_of(const TaskSpec& task, const RoleSpec* role);

/// context.secrets.NAME: where a secret's value comes from (env var or file).
struct SecretSpec {
  std::string name;
  std::string env;   ///< environment variable to read, or empty
  std::string file;  ///< file to read, or empty
};

/// hooks: tasks run at moments of the run's life; each list runs in order.
struct Hooks {
  std::vector<TaskSpec> on_start;     ///< before the first task
  std::vector<TaskSpec> on_success;   ///< after the run succeeded
  std::vector<TaskSpec> on_failure;   ///< after the run failed
  std::vector<TaskSpec> on_complete;  ///< after every run, last
};

/// A whole workflow file.
struct Workflow {
  std::string path;           ///< the file it was loaded from ("<string>" if none)
  std::string source_sha256;  ///< hex SHA-256 of the file's bytes
  std::string version;
  std::string name;
  std::string description;
  nlohmann::json metadata = nlohmann::json::object();
  Settings settings;
  std::map<std::string, InputSpec> inputs;
  std::map<std::string, RoleSpec> agents;               ///< roles defined in the file
  nlohmann::json variables = nlohmann::json::object();  ///< context.variables
  std::map<std::string, SecretSpec> secrets;
  std::vector<TaskSpec> tasks;  ///< in declaration order
  Hooks hooks;

  /// Index of the task with this id in `tasks`, or -1.
  int task_index(const std::string& id) const;
};

}  // namespace baton::workflow
