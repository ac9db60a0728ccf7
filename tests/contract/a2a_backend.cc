// The contract's A2A backends: a remote agent declared in .baton/config.yaml
// (custom_agents: {svc: {a2a: {url}}}) served by ONE scripted @a2a-js/sdk server
// (tests/a2a/server.mjs, tests/a2a_server_util.h) per suite. a2a-1.0 talks to its
// A2A 1.0 agent with streaming (SSE), a2a-0.3 to its 0.3 agent by polling tasks/get,
// so both ways of following a remote task pass the contract. What the agent does is
// the prompt's SCENARIO; HTTP faults are queued at the server (POST /fault).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "a2a_server_util.h"
#include "contract/backend.h"
#include "contract/httpjob_util.h"

namespace baton::testing::contract {
namespace {

using nlohmann::json;

class A2aBackend final : public Backend {
 public:
  explicit A2aBackend(std::string version) : version_(std::move(version)) {}

  std::string name() const override { return "a2a-" + version_; }

  std::string start() override {
    server_ = std::make_unique<A2aServer>();
    return server_->running() ? "" : "the A2A test server did not start (scripts/setup-a2a)";
  }

  void stop() override {
    if (server_) server_->stop();
  }

  RunSetup script(const ScratchDir& dir, Behaviour behaviour) override {
    server_->fault({{"reset", true}, {"times", 0}});
    RunSetup s;
    s.agent = "svc";
    std::string scenario = "complete";
    push_ = false;
    switch (behaviour) {
      case Behaviour::kSucceed:
        break;
      case Behaviour::kFailAuth:
        server_->fault({{"status", 401}, {"times", 1}});
        break;
      case Behaviour::kFailRateLimit:
        server_->fault({{"status", 429}, {"times", 1}});
        break;
      case Behaviour::kFailTransient:
        server_->fault({{"status", 503}, {"times", 1}});
        break;
      case Behaviour::kFailPermanent:
        scenario = "fail";
        break;
      case Behaviour::kTransientOnce:
        server_->fault({{"status", 503}, {"times", 1}});
        break;
      case Behaviour::kHang:
        scenario = "slow";
        break;
      case Behaviour::kSlowThenSucceed:
        scenario = "slowdone";
        break;
      case Behaviour::kSlowCallingBack:
        scenario = "briefdone";  // ~2 s
        push_ = true;            // the agent card offers push notifications
        break;
      case Behaviour::kLateAfterTimeout:
        scenario = "lateonce";
        break;
      case Behaviour::kAskThenAnswer:
        scenario = "input";  // input-required; the answer completes it with "answer: TEXT"
        break;
    }
    // The answer is "done: " and the prompt without its SCENARIO word.
    s.task = "SCENARIO:" + scenario + " contract";
    dir.write(".baton/config.yaml",
              "custom_agents:\n  svc:\n    a2a: {url: \"" + server_->url(agent_path()) + "\"}\n");
    return s;
  }

  // The remote task's id is in the first attempt's log ({"a2a":"task"}): the handle.
  bool working(const ScratchDir& dir) const override {
    std::error_code ec;
    for (const auto& run : std::filesystem::directory_iterator(dir.path() + "/.baton/runs", ec)) {
      if (read_file((run.path() / "logs" / "t.1.log").string()).find(R"({"a2a":"task")") !=
          std::string::npos)
        return true;
    }
    return false;
  }

  int dispatches() const override {
    json calls = server_->stats().value("calls", json::object());
    int n = 0;
    for (const char* m : {"SendMessage", "SendStreamingMessage", "message/send", "message/stream"})
      n += calls.value(m, 0);
    return n;
  }

  bool running_remotely() const override { return server_->stats().value("running", 0) > 0; }

  std::string health_agent() const override { return "svc"; }

  std::map<std::string, std::string> health_env(const ScratchDir&) const override { return {}; }

  // A status update of the attempt's remote task as the sdk's push sender sends it.
  json callback_body(const ScratchDir& dir, bool failed) const override {
    const std::string task_id = attempt_log_field(dir, R"({"a2a":"task")", "id");
    const std::string text = failed ? "late" : "twice";
    if (version_ == "1.0") {
      return {{"statusUpdate",
               {{"taskId", task_id},
                {"contextId", "c"},
                {"status",
                 {{"state", failed ? "TASK_STATE_FAILED" : "TASK_STATE_WORKING"},
                  {"message",
                   {{"messageId", "m-" + text},
                    {"role", "ROLE_AGENT"},
                    {"parts", {{{"text", text}}}}}}}}}}};
    }
    return {{"kind", "status-update"},
            {"taskId", task_id},
            {"contextId", "c"},
            {"final", failed},
            {"status",
             {{"state", failed ? "failed" : "working"},
              {"message",
               {{"kind", "message"},
                {"messageId", "m-" + text},
                {"role", "agent"},
                {"parts", {{{"kind", "text"}, {"text", text}}}}}}}}};
  }

  // Stubborn remote tasks that completed after their attempt timed out.
  int late_answers() const override { return server_->stats().value("late", 0); }

 private:
  std::string agent_path() const {
    if (push_) return version_ == "1.0" ? "v1-push" : "v03-push";
    return version_ == "1.0" ? "v1-stream" : "v03-poll";
  }

  std::string version_;
  bool push_ = false;  // this case's agent follows by push notifications
  std::unique_ptr<A2aServer> server_;
};

const bool kA2a10 = register_backend("a2a-1.0", [] { return std::make_unique<A2aBackend>("1.0"); });
const bool kA2a03 = register_backend("a2a-0.3", [] { return std::make_unique<A2aBackend>("0.3"); });

}  // namespace
}  // namespace baton::testing::contract
