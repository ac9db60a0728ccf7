// The contract's LangGraph backend: a hosted agent (custom_agents: {graph: {http_job:
// {profile: langgraph}}}, docs/httpjob.md) on the real LangGraph Agent Server
// (`@langchain/langgraph-cli dev`, its model-free `contract` graph in
// tests/langgraph/graph.mjs, started ONCE per suite by tests/httpjob/servers.h), reached
// through tests/httpjob/hang_proxy.mjs in --pass mode: the real server makes no 401, 429
// or 5xx, so the proxy answers those (POST /proxy-fault) and counts the run creations
// (the dispatches). What the graph does is the prompt: SLEEP:N, FAIL.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "contract/backend.h"
#include "contract/httpjob_util.h"
#include "httpjob/servers.h"

namespace baton::testing::contract {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class LangGraphBackend final : public Backend {
 public:
  std::string name() const override { return "langgraph"; }

  std::string start() override {
    log_ = (fs::temp_directory_path() /
            ("baton-contract-langgraph-" + std::to_string(::getpid()) + ".log"))
               .string();
    std::string error;
    graph_ = start_langgraph_server(log_, &error);
    if (!graph_) return error;
    ServerProcess::Options o;
    o.argv = {"node", std::string(BATON_SOURCE_DIR) + "/tests/httpjob/hang_proxy.mjs",
              graph_->url(), "--pass"};
    proxy_ = ServerProcess::start(o, &error);
    return proxy_ ? "" : "the fault proxy: " + error;
  }

  void stop() override {
    if (proxy_) proxy_->stop();
    if (graph_) graph_->stop();
    if (!log_.empty()) fs::remove(log_);
  }

  std::string cannot(Case c) const override {
    if (c == Case::kLateResult) {
      return "LangGraph's cancel call interrupts the run at the server (a timed-out "
             "attempt's run ends `interrupted`), so a graph cannot ignore it and answer late";
    }
    return "";
  }

  RunSetup script(const ScratchDir& dir, Behaviour behaviour) override {
    proxy_->post_json("/proxy-fault", {{"reset", true}});
    auto fault = [&](int status, int times) {
      proxy_->post_json("/proxy-fault", {{"status", status}, {"times", times}});
    };
    RunSetup s;
    s.agent = "graph";
    s.task = "contract";
    std::string assistant = "contract";
    switch (behaviour) {
      case Behaviour::kSucceed:
        break;
      case Behaviour::kFailAuth:
        fault(401, -1);
        break;
      case Behaviour::kFailRateLimit:
        fault(429, -1);
        break;
      case Behaviour::kFailTransient:
        fault(503, -1);
        break;
      case Behaviour::kFailPermanent:
        s.task = "FAIL contract";  // the graph throws: the run ends `error`
        break;
      case Behaviour::kTransientOnce:
        fault(503, 1);
        break;
      case Behaviour::kHang:
        s.task = "SLEEP:600 contract";
        break;
      case Behaviour::kSlowThenSucceed:
        s.task = "SLEEP:4 contract";
        break;
      case Behaviour::kSlowCallingBack:  // with baton serve: the run's `webhook`
        s.task = "SLEEP:2 contract";
        break;
      case Behaviour::kLateAfterTimeout:
        break;  // cannot(): never run
      case Behaviour::kAskThenAnswer:
        assistant = "ask";  // stops at interrupt(); resumed it answers "answered: TEXT"
        break;
    }
    dir.write(".baton/config.yaml",
              "custom_agents:\n  graph:\n    http_job: {profile: langgraph, url: \"" +
                  proxy_->url() + "\", assistant_id: " + assistant +
                  ", input_key: prompt, output_key: output}\n");
    return s;
  }

  bool working(const ScratchDir& dir) const override { return http_job_recorded(dir); }

  // Runs created (POST /threads/ID/runs) through the proxy.
  int dispatches() const override { return proxy_->get_json("/proxy-stats").value("creates", -1); }

  // A thread is busy while one of its runs is pending or running (asked of the server
  // itself, not through the proxy's faults); true when the server does not answer.
  bool running_remotely() const override {
    json busy = graph_->post_json("/threads/search", {{"status", "busy"}, {"limit", 100}});
    return !busy.is_array() || !busy.empty();
  }

  // What LangGraph's webhook sends (the run, its status): about the attempt's run.
  json callback_body(const ScratchDir& dir, bool failed) const override {
    return {{"run_id", attempt_log_field(dir, R"({"httpjob":"job")", "id")},
            {"status", failed ? "error" : "running"}};
  }

  std::string health_agent() const override { return "graph"; }

  std::map<std::string, std::string> health_env(const ScratchDir&) const override { return {}; }

 private:
  std::string log_;
  std::unique_ptr<ServerProcess> graph_, proxy_;
};

const bool kLangGraph =
    register_backend("langgraph", [] { return std::make_unique<LangGraphBackend>(); });

}  // namespace
}  // namespace baton::testing::contract
