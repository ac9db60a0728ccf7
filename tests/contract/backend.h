// The adapter contract suite's view of one way of running an agent task (docs/adapters.md):
// a Backend starts the service its adapter talks to, scripts what the agent does next,
// says how a workflow selects it, counts the dispatches the service saw and whether
// anything still runs there. contract_test.cc runs every case against every Backend;
// a new adapter is one new file `tests/contract/NAME_backend.cc` implementing Backend
// plus one line in the instantiation at the end of contract_test.cc.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "harness_util.h"

namespace baton::testing::contract {

/// What the agent does in the next `baton run`. Every successful answer is the text
/// "done: contract" (kSuccessOutput).
enum class Behaviour {
  kSucceed,           ///< answers kSuccessOutput at once
  kFailAuth,          ///< every attempt fails: the service refuses the credentials (401)
  kFailRateLimit,     ///< every attempt fails: rate limited (429)
  kFailTransient,     ///< every attempt fails: a server error (500/503)
  kFailPermanent,     ///< every attempt fails: a bad request or a failed remote task
  kTransientOnce,     ///< attempt 1 fails transiently; attempt 2 answers kSuccessOutput
  kHang,              ///< works until cancelled or timed out (never answers)
  kSlowThenSucceed,   ///< works ~3-4 s (long enough to kill `baton run`), then answers
  kLateAfterTimeout,  ///< attempt 1 outlives its timeout ignoring the cancel and answers
                      ///< "LATE" after it; attempt 2 answers kSuccessOutput
  kSlowCallingBack,   ///< works ~2 s, then answers, reporting through `baton serve`'s callback
                      ///< endpoint when one runs (A2A push, a runtime's webhook)
  kAskThenAnswer,     ///< stops once to ask a person a question; answered, it goes on on
                      ///< the same remote work and its output holds the answer
};

/// The answer every scripted success gives.
inline constexpr const char* kSuccessOutput = "done: contract";

/// The cases of the contract (contract_test.cc), for Backend::cannot().
enum class Case {
  kSuccess,
  kFailureClassified,
  kTransientRetried,
  kTimeout,
  kCancel,
  kKillResume,
  kLateResult,
  kCallbacks,
  kHealth,
  kNeedsInput,
};

/// How a run of one Behaviour is set up in a project, from Backend::script().
struct RunSetup {
  std::string agent;  ///< the task's `agent:` as YAML ("claude", "{use: gemini, via: acp}")
  std::string task;   ///< the task's parameters.task (the prompt), plain text, no quotes
  std::map<std::string, std::string> env;  ///< for every baton command of the case
};

/// One backend of the suite. Started once per suite (SetUpTestSuite), used by one case
/// at a time.
class Backend {
 public:
  virtual ~Backend() = default;
  /// The name in the test's name: "cli", "acp", "a2a-1.0", ...
  virtual std::string name() const = 0;
  /// Starts the service (a server on 127.0.0.1). Returns "" when started, else why the
  /// backend cannot run here (its cases are then skipped with that reason).
  virtual std::string start() = 0;
  /// Stops the service (for the health case and at the suite's end); idempotent.
  virtual void stop() = 0;
  /// "" when the backend can do CASE, else the reason it truly cannot (the case is
  /// skipped with it and docs/adapters.md lists it).
  virtual std::string cannot(Case c) const {
    (void)c;
    return "";
  }
  /// Makes the next run in the project DIR (a git repository the test made) do
  /// BEHAVIOUR: writes what the backend needs there (.baton/config.yaml, a HOME) and
  /// says how the workflow selects the agent.
  virtual RunSetup script(const ScratchDir& dir, Behaviour behaviour) = 0;
  /// Whether the agent works on task t of the project DIR set up by script(): the
  /// service got the work and, where the adapter records a handle, the attempt's log
  /// holds it. The cancel and kill cases wait for this before they act.
  virtual bool working(const ScratchDir& dir) const = 0;
  /// How many times the service was asked to start work since start(): A2A message
  /// sends, a model server's answered turns. Cases compare it before and after.
  virtual int dispatches() const = 0;
  /// Whether the service still works on anything (a remote task not ended).
  virtual bool running_remotely() const = 0;
  /// How many answers the service produced for attempts baton had already given up
  /// (the late case waits for one before it looks at the run); 0 when it cannot tell.
  virtual int late_answers() const { return 0; }
  /// A body the service could POST to the callback endpoint of task t's first attempt in
  /// the project DIR about that attempt's remote job (its id read from the attempt's
  /// log): the job still works, or with FAILED it failed. null when the adapter takes no
  /// callbacks (then cannot(Case::kCallbacks) says why).
  virtual nlohmann::json callback_body(const ScratchDir& dir, bool failed) const {
    (void)dir;
    (void)failed;
    return nullptr;
  }
  /// The agent's name in `baton agents --health --json` for a project set up by
  /// script(), and the environment that check runs with.
  virtual std::string health_agent() const = 0;
  virtual std::map<std::string, std::string> health_env(const ScratchDir& dir) const = 0;
};

/// Makes a fresh Backend.
using BackendFactory = std::function<std::unique_ptr<Backend>()>;

/// Registers FACTORY under NAME (the test parameter); returns true. Called from a
/// namespace-scope initializer in the backend's own file:
///   const bool kRegistered = register_backend("a2a-1.0", [] { return ...; });
bool register_backend(const std::string& name, BackendFactory factory);

/// A new Backend registered as NAME, or nullptr.
std::unique_ptr<Backend> make_backend(const std::string& name);

}  // namespace baton::testing::contract
