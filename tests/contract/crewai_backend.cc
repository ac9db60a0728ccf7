// The contract's CrewAI backend: a hosted agent (custom_agents: {crew: {http_job:
// {profile: crewai}}}, docs/httpjob.md) on the CrewAI stand-in written from CrewAI's
// published API (tests/crewai/server.mjs, started ONCE per suite by
// tests/httpjob/servers.h; CrewAI's service cannot run offline). What the crew does is
// the prompt's SCENARIO; a prompt holding CONTRACT answers "done: contract". CrewAI's
// API has no cancel call, so the cases that need a remote job stopped are skipped.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "contract/backend.h"
#include "contract/httpjob_util.h"
#include "httpjob/servers.h"

namespace baton::testing::contract {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kToken = "crew-token";  // the stand-in's bearer token

class CrewAiBackend final : public Backend {
 public:
  std::string name() const override { return "crewai"; }

  std::string start() override {
    std::string error;
    crew_ = start_crewai_standin(&error);
    return crew_ ? "" : "the CrewAI stand-in: " + error;
  }

  void stop() override {
    if (crew_) crew_->stop();
  }

  std::string cannot(Case c) const override {
    if (c == Case::kTimeout || c == Case::kCancel) {
      return "CrewAI's API has no cancel call: the attempt ends, but the kickoff goes on "
             "at the service, so \"nothing left running remotely\" cannot hold";
    }
    return "";
  }

  RunSetup script(const ScratchDir& dir, Behaviour behaviour) override {
    RunSetup s;
    s.agent = "crew";
    s.env = {{"CREW_TOKEN", kToken}};
    std::string scenario = "ok";
    switch (behaviour) {
      case Behaviour::kSucceed:
        break;
      case Behaviour::kFailAuth:
        s.env["CREW_TOKEN"] = "not-the-token";  // 401
        break;
      case Behaviour::kFailRateLimit:
        scenario = "ratelimit";  // /kickoff answers 429
        break;
      case Behaviour::kFailTransient:
        scenario = "down";  // /kickoff answers 503
        break;
      case Behaviour::kFailPermanent:
        scenario = "fail";  // the crew ends `error`
        break;
      case Behaviour::kTransientOnce:
        scenario = "flaky";  // the first /kickoff of the prompt answers 503
        break;
      case Behaviour::kHang:
        scenario = "slow";
        break;
      case Behaviour::kSlowThenSucceed:
        scenario = "slowdone";
        break;
      case Behaviour::kSlowCallingBack:  // with baton serve: crewWebhookUrl
        scenario = "briefdone";          // 2 s
        break;
      case Behaviour::kLateAfterTimeout:
        scenario = "lateonce";
        break;
      case Behaviour::kAskThenAnswer:
        scenario = "input";  // awaiting_human_feedback until POST /resume
        break;
    }
    // The stand-in keys "first kickoff of a prompt" by the prompt: one per case.
    s.task = "SCENARIO:" + scenario + " CONTRACT-" + std::to_string(++cases_);
    dir.write(".baton/config.yaml",
              "custom_agents:\n  crew:\n    http_job: {profile: crewai, url: \"" + crew_->url() +
                  "\", auth: {env: CREW_TOKEN}}\n");
    return s;
  }

  // The kickoff id is in the first attempt's log: the handle.
  bool working(const ScratchDir& dir) const override { return http_job_recorded(dir); }

  int dispatches() const override { return stats().value("kickoffs", -1); }

  // Kickoffs not ended (a timed one by its clock, others until a poll saw them end).
  bool running_remotely() const override { return stats().value("running", 1) > 0; }

  // `lateonce` kickoffs that completed after their attempt was given up.
  int late_answers() const override { return stats().value("late", 0); }

  // A crew webhook about the attempt's kickoff (the stand-in's shape, tests/crewai/).
  json callback_body(const ScratchDir& dir, bool failed) const override {
    return {{"kickoff_id", attempt_log_field(dir, R"({"httpjob":"job")", "id")},
            {"status", failed ? "error" : "running"}};
  }

  std::string health_agent() const override { return "crew"; }

  std::map<std::string, std::string> health_env(const ScratchDir&) const override {
    return {{"CREW_TOKEN", kToken}};
  }

 private:
  json stats() const {
    json j = crew_->get_json("/stats");
    return j.is_object() ? j : json::object();
  }

  std::unique_ptr<ServerProcess> crew_;
  int cases_ = 0;
};

const bool kCrewAi = register_backend("crewai", [] { return std::make_unique<CrewAiBackend>(); });

}  // namespace
}  // namespace baton::testing::contract
