// The contract's local backends: a real agent CLI (Claude Code, `cli`) and a real ACP
// agent (Gemini CLI's `gemini --acp` behind `baton __acp-bridge`, `acp`), both against
// ONE rehearsal model server (src/rehearse/) that this test process starts for the
// whole suite. It is not `baton run --rehearse`: that server lives inside `baton run`
// and would die with it in the kill-and-resume case. The agent is pointed at it by the
// environment baton passes on to its attempts (agents::rehearsal_env()), with one API
// key per case, "baton-rehearse:BEHAVIOUR:AGENT:N", so that each case plays its own
// step list from the start and every attempt of the case goes on in that list.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "agents/rehearsal_env.h"
#include "contract/backend.h"
#include "rehearse/script.h"
#include "rehearse/server.h"

namespace baton::testing::contract {
namespace {

namespace fs = std::filesystem;

// One step list per behaviour (the TASK part of the key). Both CLIs make 3 requests
// for a failing turn (1 + 2 retries: CLAUDE_CODE_MAX_RETRIES=2, Gemini CLI's own
// bound), measured with the pinned versions; so "transient-once" fails attempt 1 and
// answers attempt 2. A 429 with retry-after 3 s holds the turn ~3-5 s ("slow").
constexpr const char* kScript = R"(tasks:
  succeed: [{text: "done: contract"}]
  auth: [{fault: {status: 401, times: forever}}]
  rate: [{fault: {status: 429, times: forever}}]
  transient: [{fault: {status: 500, times: forever}}]
  permanent: [{fault: {status: 400, times: forever}}]
  transient-once: [{fault: {status: 500, times: 3}}, {text: "done: contract"}]
  hang: [{fault: {kind: hang, times: forever}}]
  slow: [{fault: {status: 429, retry_after_s: 3, times: 1}}, {text: "done: contract"}]
)";

const char* list_of(Behaviour b) {
  switch (b) {
    case Behaviour::kSucceed:
      return "succeed";
    case Behaviour::kFailAuth:
      return "auth";
    case Behaviour::kFailRateLimit:
      return "rate";
    case Behaviour::kFailTransient:
      return "transient";
    case Behaviour::kFailPermanent:
      return "permanent";
    case Behaviour::kTransientOnce:
      return "transient-once";
    case Behaviour::kHang:
      return "hang";
    case Behaviour::kSlowThenSucceed:
    case Behaviour::kSlowCallingBack:
      return "slow";
    case Behaviour::kLateAfterTimeout:
    case Behaviour::kAskThenAnswer:
      return "";
  }
  return "";
}

class RehearsalBackend final : public Backend {
 public:
  RehearsalBackend(std::string name, std::string agent, std::string agent_yaml)
      : name_(std::move(name)), agent_(std::move(agent)), agent_yaml_(std::move(agent_yaml)) {}

  std::string name() const override { return name_; }

  std::string start() override {
    std::string exe = source_dir() + "/.agents/node_modules/.bin/" + agent_;
    if (!fs::exists(exe)) return agent_ + " is not installed in .agents/ (scripts/setup-agents)";
    auto script = rehearse::parse_script(kScript, "contract-script.yaml");
    if (!script) return "the contract's script: " + script.error().message;
    auto server = rehearse::ModelServer::start(std::move(*script));
    if (!server) return "the rehearsal server: " + server.error().message;
    server_ = std::move(*server);
    return "";
  }

  void stop() override {
    if (server_) server_->stop();
    stopped_ = true;
  }

  std::string cannot(Case c) const override {
    if (c == Case::kLateResult) {
      return "a local attempt is its process: on timeout or cancel baton kills its process "
             "group before a retry starts, so no answer of a stale attempt can arrive";
    }
    if (c == Case::kCallbacks) {
      return "a local agent reports on its own pipes (stdout, ACP over stdio): nothing calls "
             "back through baton serve, so there is no callback to duplicate";
    }
    if (c == Case::kNeedsInput) {
      return "a headless CLI turn ends with an answer or an error: the agent cannot stop to "
             "ask a person mid-task (ACP's permission requests are answered by the policy)";
    }
    return "";
  }

  RunSetup script(const ScratchDir& dir, Behaviour behaviour) override {
    RunSetup s;
    s.agent = agent_yaml_;
    s.task = "contract";
    std::string key = rehearse::session_api_key(list_of(behaviour), agent_, ++sessions_);
    std::string home = dir.path() + "/.home";
    auto env = agents::rehearsal_env(agent_, server_->base_url(), key, home, "");
    EXPECT_TRUE(env) << (env ? "" : env.error().message);
    if (!env) return s;
    auto written = agents::write_rehearsal_files(*env);
    EXPECT_TRUE(written) << (written ? "" : written.error().message);
    s.env = env->env;
    s.env["PATH"] = agent_path()["PATH"];
    key_ = key;
    return s;
  }

  // The model got a request of this case's session (the CLI is in its turn).
  bool working(const ScratchDir&) const override {
    for (const auto& r : server_->requests()) {
      if (r.session == key_ && r.had_tools) return true;
    }
    return false;
  }

  // A turn the model ended with its answer: one per agent process that got its answer
  // (a second process of the same attempt would be a second one).
  int dispatches() const override {
    int n = 0;
    for (const auto& r : server_->requests()) n += r.had_tools && r.action == "text" ? 1 : 0;
    return n;
  }

  // The model server holds no work of its own: what runs is local (checked by the
  // suite through the processes).
  bool running_remotely() const override { return false; }

  std::string health_agent() const override { return agent_; }

  // A local CLI's health is its executable: with the backend stopped, it is looked up
  // in a PATH without the pinned CLIs.
  std::map<std::string, std::string> health_env(const ScratchDir&) const override {
    if (stopped_) return {{"PATH", "/usr/bin:/bin"}};
    return agent_path();
  }

 private:
  std::string name_, agent_, agent_yaml_;
  std::unique_ptr<rehearse::ModelServer> server_;
  int sessions_ = 0;
  std::string key_;  // the API key of the last script()
  bool stopped_ = false;
};

const bool kCli = register_backend(
    "cli", [] { return std::make_unique<RehearsalBackend>("cli", "claude", "claude"); });
const bool kAcp = register_backend("acp", [] {
  return std::make_unique<RehearsalBackend>("acp", "gemini", "{use: gemini, via: acp}");
});

}  // namespace
}  // namespace baton::testing::contract
