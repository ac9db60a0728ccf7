// Callback mode of the HTTP job adapter (docs/httpjob.md, "Callback mode"): with `baton
// serve` running for the project, `baton __http-job` registers a callback inbox, puts
// its URL into create's body and is woken by the runtime's callbacks, which `baton
// serve` verifies first. Against the real LangGraph dev server (its `webhook`, a bearer
// token in the URL) and the CrewAI stand-in (tests/crewai/server.mjs, crewWebhookUrl,
// signed by Standard Webhooks in the crewai-signed profile), including the attacks:
// forged signature, replayed id, stale timestamp, another attempt's token, an oversized
// body, a callback claiming success for another job, and late deliveries.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness_util.h"
#include "servers.h"

namespace baton::testing {

extern ServerProcess* g_crew;  // http_job_test.cc's suite servers
extern ServerProcess* g_graph;

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::map<std::string, std::string> kCrewEnv = {{"CREW_TOKEN", "crew-token"}};

// A project in DIR whose task t runs on the hosted agent declared by HTTP_JOB (YAML),
// with `baton serve` running for it while the object lives.
class ServedProject {
 public:
  ServedProject(const std::string& http_job, const std::string& task_text) {
    make_flow_repo(dir, "name: hooked\ntasks:\n  - {id: t, agent: hosted, parameters: {task: \"" +
                            task_text + "\"}, timeout: 1m}\n");
    dir.write(".baton/config.yaml", "custom_agents:\n  hosted:\n    http_job: " + http_job + "\n");
    serve_ = std::make_unique<BatonProcess>(
        std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"}, dir.path());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (dir.read(".baton/serve/url").empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_FALSE(dir.read(".baton/serve/url").empty()) << "baton serve did not start";
  }
  ~ServedProject() {
    serve_->signal(SIGTERM);
    serve_->wait();
  }

  Outcome run() { return run_baton({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv, 120); }
  // Attempt 1's callback inbox of RUN.
  std::string inbox(const json& run) const {
    return dir.read(".baton/runs/" + run["id"].get<std::string>() + "/callbacks/t.1.inbox");
  }
  std::string secret(const json& run) const {
    return dir.read(".baton/runs/" + run["id"].get<std::string>() + "/callbacks/t.1.secret");
  }
  std::string log(const json& run) const { return read_file(run["attempts"][0].value("log", "")); }

  ScratchDir dir;

 private:
  std::unique_ptr<BatonProcess> serve_;
};

size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// The job id of the attempt's job line in LOG.
std::string job_id(const std::string& log) {
  size_t at = log.find(R"({"httpjob":"job")");
  if (at == std::string::npos) return "";
  json j = json::parse(log.substr(at, log.find('\n', at) - at), nullptr, false);
  return j.is_object() ? j.value("id", "") : "";
}

// Asks the stand-in to send one more delivery for KICKOFF (POST /deliver): what baton
// serve answered.
json deliver(const std::string& kickoff, const std::string& mode) {
  return g_crew->post_json("/deliver", {{"kickoff_id", kickoff}, {"mode", mode}});
}

std::string signed_crew() {
  return "{profile: crewai-signed, url: \"" + g_crew->url() + "\", auth: {env: CREW_TOKEN}}";
}

// Signed CrewAI webhooks wake the attempt; a delivery sent twice with one webhook-id is
// applied once and logged as a duplicate; once the attempt ended, serve refuses forged,
// stale and oversized deliveries before the inbox, and records a replay and a late
// delivery there as late, never applied.
TEST(HttpJobCallbackTest, SignedCrewAiCallbacksAreVerifiedAndDeduplicated) {
  ServedProject p(signed_crew(), "SCENARIO:ok WEBHOOK:dup research the market");
  Outcome o = p.run();
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(p.dir);
  EXPECT_EQ(task_of(run, "t")["output"],
            "crew says: SCENARIO:ok WEBHOOK:dup research the market\n");
  std::string log = p.log(run);
  EXPECT_NE(log.find("following by callbacks to http://127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find(R"({"delivery":"msg_)"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("httpjob":"callback","status":"completed")"), std::string::npos) << log;
  EXPECT_NE(log.find("duplicate callback ignored (msg_"), std::string::npos) << log;
  EXPECT_EQ(log.find("whsec_"), std::string::npos) << log;  // the secret is never logged
  const std::string kickoff = job_id(log);
  ASSERT_FALSE(kickoff.empty()) << log;
  EXPECT_EQ(p.secret(run).rfind("whsec_", 0), 0u);
  const size_t before = lines(p.inbox(run));
  EXPECT_EQ(before, 3u) << p.inbox(run);  // running, its duplicate, completed

  json forged = deliver(kickoff, "forged");
  EXPECT_EQ(forged.value("status", 0), 401) << forged.dump();
  EXPECT_NE(forged.value("answer", "").find("no matching signature"), std::string::npos);
  json stale = deliver(kickoff, "stale");
  EXPECT_EQ(stale.value("status", 0), 400) << stale.dump();
  EXPECT_NE(stale.value("answer", "").find("timestamp too old"), std::string::npos);
  EXPECT_EQ(deliver(kickoff, "huge").value("status", 0), 413);
  EXPECT_EQ(lines(p.inbox(run)), before);  // nothing refused reached the inbox

  json replay = deliver(kickoff, "again");  // the same webhook-id, byte for byte
  EXPECT_EQ(replay.value("status", 0), 200) << replay.dump();
  EXPECT_EQ(json::parse(replay.value("answer", "{}")).value("late", false), true);
  json late = deliver(kickoff, "late");
  EXPECT_EQ(json::parse(late.value("answer", "{}")).value("late", false), true) << late.dump();
  std::string inbox = p.inbox(run);
  EXPECT_EQ(lines(inbox), before + 2);
  EXPECT_NE(inbox.find(R"("late":true)"), std::string::npos) << inbox;
  run = last_run(p.dir);
  EXPECT_EQ(task_of(run, "t")["status"], "success");
  EXPECT_EQ(task_of(run, "t")["output"],
            "crew says: SCENARIO:ok WEBHOOK:dup research the market\n");
}

// A verified callback claiming success for a kickoff that is not the attempt's is
// logged and ignored: the output is the attempt's own job's.
TEST(HttpJobCallbackTest, ACallbackAboutAnotherJobIsIgnored) {
  ServedProject p(signed_crew(), "SCENARIO:ok WEBHOOK:other plan");
  Outcome o = p.run();
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(p.dir);
  EXPECT_EQ(task_of(run, "t")["output"], "crew says: SCENARIO:ok WEBHOOK:other plan\n");
  std::string log = p.log(run);
  EXPECT_NE(log.find("callback about another job ignored"), std::string::npos) << log;
  EXPECT_EQ(log.find("FORGED"), std::string::npos) << log;
}

// A callback that never comes (lost) does not hang the attempt: the slow fallback polls
// end it; a failed crew's callback ends the attempt failed.
TEST(HttpJobCallbackTest, ALostCallbackFallsBackToPolling) {
  {
    ServedProject p(signed_crew(), "SCENARIO:ok WEBHOOK:lost wait");
    Outcome o = p.run();
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json run = last_run(p.dir);
    EXPECT_EQ(task_of(run, "t")["output"], "crew says: SCENARIO:ok WEBHOOK:lost wait\n");
    EXPECT_EQ(p.log(run).find(R"("httpjob":"callback")"), std::string::npos) << p.log(run);
    EXPECT_EQ(p.inbox(run), "");
  }
  {
    ServedProject p(signed_crew(), "SCENARIO:fail crash");
    Outcome o = p.run();
    EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
    json run = last_run(p.dir);
    EXPECT_EQ(run["attempts"][0].value("error", ""),
              "permanent: the job ended failed: the research tool crashed");
    EXPECT_NE(p.log(run).find(R"("httpjob":"callback","status":"error")"), std::string::npos);
  }
}

// The plain crewai profile carries a bearer token in the callback URL's query: another
// attempt's token (an earlier run's, registered in the same project) is refused.
TEST(HttpJobCallbackTest, AnotherAttemptsTokenIsRefused) {
  ServedProject p("{profile: crewai, url: \"" + g_crew->url() + "\", auth: {env: CREW_TOKEN}}",
                  "SCENARIO:ok bearer");
  ASSERT_EQ(p.run().exit_code, 0);
  json first = last_run(p.dir);
  ASSERT_EQ(p.run().exit_code, 0);
  json second = last_run(p.dir);
  ASSERT_NE(first["id"], second["id"]);
  std::string log = p.log(second);
  EXPECT_NE(log.find(R"("httpjob":"callback","status":"completed")"), std::string::npos) << log;
  EXPECT_EQ(log.find("?token="), std::string::npos) << log;  // the token is never logged
  std::string base = p.dir.read(".baton/serve/url");
  base = base.substr(0, base.find('\n'));
  httplib::Client c(base);
  const std::string second_path =
      "/v1/callbacks/" + second["id"].get<std::string>() + "/t/1?token=";
  auto refused =
      c.Post(second_path + p.secret(first), R"({"kickoff_id": "x"})", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  json bad = deliver(job_id(log), "badtoken");
  EXPECT_EQ(bad.value("status", 0), 401) << bad.dump();
  auto own = c.Post(second_path + p.secret(second), R"({"kickoff_id": "x"})", "application/json");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);  // its own token: recorded, late
  EXPECT_NE(own->body.find(R"("late":true)"), std::string::npos) << own->body;
}

// The real LangGraph dev server POSTs its `webhook` (the URL with the attempt's token)
// to baton serve on 127.0.0.1 when the run ends (the graph sleeps 2 s, so the
// attempt waits on its inbox by then): the attempt is woken by it.
TEST(HttpJobCallbackTest, LangGraphCallsBackThroughItsWebhook) {
  ServedProject p("{profile: langgraph, url: \"" + g_graph->url() +
                      "\", assistant_id: echo, input_key: prompt, output_key: output}",
                  "SLEEP:2 hello");
  Outcome o = p.run();
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(p.dir);
  std::string log = p.log(run);
  EXPECT_NE(log.find(R"("httpjob":"callback","status":"success")"), std::string::npos) << log;
  json delivery = json::parse(p.inbox(run).substr(0, p.inbox(run).find('\n')), nullptr, false);
  ASSERT_TRUE(delivery.is_object()) << p.inbox(run);
  EXPECT_EQ(delivery["body"].value("run_id", ""), job_id(log));
  EXPECT_EQ(delivery["body"].value("status", ""), "success");
}

}  // namespace
}  // namespace baton::testing
