// Integration tests of hosted agent runtimes over their HTTP job API (custom_agents:
// {NAME: {http_job: ...}}, docs/httpjob.md): `baton run` drives `baton __http-job`
// against the real LangGraph Agent Server (`@langchain/langgraph-cli dev`, graphs of
// tests/langgraph/graph.mjs) and against the CrewAI stand-in written from CrewAI's
// published API (tests/crewai/server.mjs). One server of each for the whole suite
// (servers.h); what a job does is chosen by its prompt.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness_util.h"
#include "servers.h"

namespace baton::testing {

// The suite's servers, also used by input_test.cc and callback_test.cc.
ServerProcess* g_crew = nullptr;
ServerProcess* g_graph = nullptr;

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Starts both servers once for the suite.
class Servers : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    crew_ = start_crewai_standin(&error);
    ASSERT_TRUE(crew_) << error;
    g_crew = crew_.get();
    log_ = (fs::temp_directory_path() / ("baton-langgraph-" + std::to_string(::getpid()) + ".log"))
               .string();
    graph_ = start_langgraph_server(log_, &error);
    ASSERT_TRUE(graph_) << error;
    g_graph = graph_.get();
  }
  void TearDown() override {
    g_crew = g_graph = nullptr;
    crew_.reset();
    graph_.reset();
    fs::remove(log_);
  }

 private:
  std::unique_ptr<ServerProcess> crew_, graph_;
  std::string log_;
};

const auto* const kServers = ::testing::AddGlobalTestEnvironment(new Servers);

// A repository in DIR whose flow.yaml runs task t on agent AGENT with TASK_TEXT (EXTRA
// is added to the task's mapping) and whose config declares AGENT as HTTP_JOB (the
// YAML of the http_job mapping).
void make_repo(const ScratchDir& dir, const std::string& agent, const std::string& http_job,
               const std::string& task_text, const std::string& extra = "") {
  make_flow_repo(dir, "name: hosted\ntasks:\n  - {id: t, agent: " + agent +
                          ", parameters: {task: \"" + task_text + "\"}" + extra + "}\n");
  dir.write(".baton/config.yaml",
            "custom_agents:\n  " + agent + ":\n    http_job: " + http_job + "\n");
}

std::string crew_config(const std::string& token_env = "CREW_TOKEN") {
  return "{profile: crewai, url: \"" + g_crew->url() + "\", auth: {env: " + token_env + "}}";
}

std::string graph_config(const std::string& profile = "langgraph",
                         const std::string& keys = ", input_key: prompt, output_key: output",
                         const std::string& assistant = "echo") {
  return "{profile: " + profile + ", url: \"" + g_graph->url() + "\", assistant_id: " + assistant +
         keys + "}";
}

const std::map<std::string, std::string> kCrewEnv = {{"CREW_TOKEN", "crew-token"}};

json attempt(const json& run, size_t n = 0) {
  if (!run.contains("attempts") || run["attempts"].size() <= n) return json::object();
  return run["attempts"][n];
}

// The log of attempt N of task t of the only run in DIR ("" while there is none).
std::string attempt_log(const ScratchDir& dir, int n) {
  std::error_code ec;
  for (const auto& run : fs::directory_iterator(fs::path(dir.path()) / ".baton" / "runs", ec)) {
    std::string log =
        read_file((run.path() / "logs" / ("t." + std::to_string(n) + ".log")).string());
    if (!log.empty()) return log;
  }
  return "";
}

// The {"httpjob":"job"} line of LOG, parsed; null when there is none.
json job_line(const std::string& log) {
  size_t at = log.find(R"({"httpjob":"job")");
  if (at == std::string::npos) return json();
  return json::parse(log.substr(at, log.find('\n', at) - at), nullptr, false);
}

template <class Fn>
bool eventually(Fn fn, double timeout_s = 60) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

int kickoffs() { return g_crew->get_json("/stats").value("kickoffs", -1); }

// The runs LangGraph holds on the thread THREAD_ID.
json graph_runs(const std::string& thread_id) {
  return g_graph->get_json("/threads/" + thread_id + "/runs");
}

TEST(HttpJobTest, CrewAiOutputIsTheCrewsResult) {
  ScratchDir dir;
  make_repo(dir, "crew", crew_config(), "research the market");
  int before = kickoffs();
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  std::string output = task_of(run, "t")["output"];
  EXPECT_EQ(output.rfind("crew says: ", 0), 0u) << output;
  EXPECT_NE(output.find("research the market"), std::string::npos) << output;
  json stats = g_crew->get_json("/stats");
  EXPECT_EQ(stats["kickoffs"], before + 1);
  // The idempotency key baton-RUN-TASK-ATTEMPT is sent in `meta`.
  EXPECT_EQ(stats["kickoff_keys"].back(), "baton-" + run["id"].get<std::string>() + "-t-1");
  EXPECT_EQ(stats["auth"].back(), "Bearer crew-token");
  std::string log = read_file(attempt(run).value("log", ""));
  EXPECT_EQ(log.find("crew-token"), std::string::npos) << log;  // sent, never logged
  EXPECT_LT(log.find(R"({"httpjob":"job")"), log.find(R"({"httpjob":"status")")) << log;
  // Each line carries the time it was written (agents/event_time.h).
  EXPECT_TRUE(job_line(log)["time_ms"].is_number_integer()) << log;
  Outcome logs = run_baton({"logs", run["id"], "t"}, dir.path());
  EXPECT_NE(logs.out.find("status completed"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("status running: research_task"), std::string::npos) << logs.out;
}

TEST(HttpJobTest, TheKeyGivenByTheEngineIsTheOneSent) {
  // The invoker passes agents::Invocation::idempotency_key as --key; it wins over the
  // key the client would make from the environment.
  ScratchDir dir;
  Outcome o = run_baton({"__http-job", "--profile", "crewai", "--url", g_crew->url(), "--auth-env",
                         "CREW_TOKEN", "--key", "baton-given-t-7"},
                        dir.path(),
                        {{"CREW_TOKEN", "crew-token"},
                         {"BATON_RUN_ID", "other"},
                         {"BATON_TASK_ID", "t"},
                         {"BATON_ATTEMPT", "1"}});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(g_crew->get_json("/stats")["kickoff_keys"].back(), "baton-given-t-7");
  EXPECT_NE(o.out.find(R"({"httpjob":"dispatch","key":"baton-given-t-7")"), std::string::npos)
      << o.out;
}

TEST(HttpJobTest, CrewAiFailuresAreClassified) {
  struct Case {
    std::string text, extra, error, error_class;
    std::map<std::string, std::string> env = kCrewEnv;
  };
  for (const Case& c : {
           Case{"SCENARIO:reject", "", "POST /kickoff: HTTP 422", "permanent"},
           Case{"SCENARIO:ratelimit", "", "POST /kickoff: HTTP 429", "rate_limit"},
           Case{"SCENARIO:fail", "", "the job ended failed: the research tool crashed",
                "permanent"},
           Case{"x", "", "POST /kickoff: HTTP 401", "auth", {{"CREW_TOKEN", "wrong"}}},
           Case{"x", "", "the environment variable CREW_TOKEN (auth.env) is not set", "auth", {}},
           Case{"SCENARIO:oddstatus", "", "unknown job status 'exploded'", "permanent"},
           Case{"SCENARIO:malformed", "", "GET /status/{id}: malformed JSON in the answer",
                "permanent"},
           Case{"SCENARIO:huge", "", "GET /status/{id}: the answer is larger than 16 MiB",
                "permanent"},
           Case{"SCENARIO:hang", ", timeout: 2s", "", "timeout"},
           Case{"SCENARIO:slow", ", timeout: 2s",
                "the profile has no cancel call: the remote job may go on", "timeout"},
       }) {
    SCOPED_TRACE(c.text + " " + c.error);
    ScratchDir dir;
    make_repo(dir, "crew", crew_config(), c.text, c.extra);
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), c.env);
    EXPECT_NE(o.exit_code, 0);
    json a = attempt(last_run(dir));
    EXPECT_EQ(a.value("error_class", ""), c.error_class) << a.dump();
    EXPECT_NE(a.value("error", "").find(c.error), std::string::npos) << a.dump();
  }
}

TEST(HttpJobTest, TransientErrorsAreRetried) {
  {
    // A 503 on /kickoff fails the attempt as transient; the retry dispatches again.
    ScratchDir dir;
    make_repo(dir, "crew", crew_config(), "SCENARIO:flaky retried",
              ", retry: {max_attempts: 2, delay: 0}");
    int before = kickoffs();
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json run = last_run(dir);
    EXPECT_EQ(task_of(run, "t")["attempts"], 2);
    EXPECT_EQ(attempt(run, 0).value("error_class", ""), "transient") << attempt(run, 0).dump();
    EXPECT_EQ(kickoffs(), before + 1);  // only the accepted kickoff is a job
  }
  {
    // 503s while polling are retried inside the attempt, with backoff.
    ScratchDir dir;
    make_repo(dir, "crew", crew_config(), "SCENARIO:pollflaky");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json run = last_run(dir);
    EXPECT_EQ(task_of(run, "t")["attempts"], 1);
    std::string log = read_file(attempt(run).value("log", ""));
    EXPECT_NE(log.find("poll failed, retrying: GET /status/{id}: HTTP 503"), std::string::npos)
        << log;
  }
}

TEST(HttpJobTest, HostileAnswersStayData) {
  ScratchDir dir;
  make_repo(dir, "crew", crew_config(), "SCENARIO:hostile");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(task_of(last_run(dir), "t")["output"],
            "$(touch /tmp/baton-crew-pwned) `touch pwned` ; rm -rf ../../ ../../escape.txt");
  EXPECT_FALSE(fs::exists("/tmp/baton-crew-pwned"));
  EXPECT_FALSE(dir.exists("pwned"));
  EXPECT_TRUE(dir.exists("flow.yaml"));
  // The id the server chose cannot add a path segment or a query: it is percent-encoded.
  json paths = g_crew->get_json("/stats")["status_paths"];
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths.back(), "/status/..%2Fadmin%3Fx%3D1");
}

TEST(HttpJobTest, LangGraphRunOutputInEveryProfile) {
  struct Case {
    std::string config, prefix;
  };
  for (const Case& c :
       {Case{graph_config(), "echo: "}, Case{graph_config("langgraph-stateless"), "echo: "},
        // The default input and output key is messages: a chat graph.
        Case{graph_config("langgraph", "", "chat"), "chat: "}}) {
    SCOPED_TRACE(c.config);
    ScratchDir dir;
    make_repo(dir, "graph", c.config, "summarize the notes");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json run = last_run(dir);
    std::string output = task_of(run, "t")["output"];
    EXPECT_EQ(output.rfind(c.prefix, 0), 0u) << output;
    EXPECT_NE(output.find("summarize the notes"), std::string::npos) << output;
    json job = job_line(read_file(attempt(run).value("log", "")));
    ASSERT_TRUE(job.is_object());
    // The server holds the run under baton's key.
    json r = g_graph->get_json("/threads/" + job["vars"].value("thread_id", "") + "/runs/" +
                               job.value("id", ""));
    EXPECT_EQ(r.value("status", ""), "success") << r.dump();
    EXPECT_EQ(r["metadata"].value("baton_key", ""),
              "baton-" + run["id"].get<std::string>() + "-t-1");
  }
}

TEST(HttpJobTest, LangGraphFailuresAndHostileOutput) {
  {
    ScratchDir dir;
    make_repo(dir, "graph", graph_config(), "FAIL now");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    json a = attempt(last_run(dir));
    EXPECT_EQ(a.value("error_class", ""), "permanent") << a.dump();
    EXPECT_NE(a.value("error", "").find("the job ended failed: "), std::string::npos) << a.dump();
    EXPECT_NE(a.value("error", "").find("the graph failed on purpose"), std::string::npos)
        << a.dump();
  }
  {
    ScratchDir dir;
    make_repo(dir, "graph",
              graph_config("langgraph", ", input_key: prompt, output_key: output", "no-such-graph"),
              "x");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    json a = attempt(last_run(dir));
    EXPECT_EQ(a.value("error_class", ""), "permanent") << a.dump();
    EXPECT_NE(a.value("error", "").find("POST /threads/{thread_id}/runs: HTTP 4"),
              std::string::npos)
        << a.dump();
  }
  {
    ScratchDir dir;
    make_repo(dir, "graph", graph_config(), "HOSTILE");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    EXPECT_EQ(task_of(last_run(dir), "t")["output"],
              "echo: $(touch /tmp/baton-graph-pwned) `touch pwned` ../../escape.txt");
    EXPECT_FALSE(fs::exists("/tmp/baton-graph-pwned"));
    EXPECT_FALSE(dir.exists("pwned"));
  }
}

TEST(HttpJobTest, LangGraphTimeoutAndCancelStopTheRemoteRun) {
  for (const bool by_cancel : {false, true}) {
    SCOPED_TRACE(by_cancel ? "baton cancel" : "timeout");
    ScratchDir dir;
    make_repo(dir, "graph", graph_config(), "SLEEP:120", by_cancel ? "" : ", timeout: 3s");
    BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
    json job;
    ASSERT_TRUE(eventually([&] {
      job = job_line(attempt_log(dir, 1));
      return job.is_object();
    }));
    std::string path =
        "/threads/" + job["vars"].value("thread_id", "") + "/runs/" + job.value("id", "");
    if (by_cancel) {
      ASSERT_TRUE(
          eventually([&] { return g_graph->get_json(path).value("status", "") == "running"; }));
      Outcome c = run_baton({"cancel", last_run(dir)["id"]}, dir.path());
      EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
    }
    Outcome o = run.wait(60);
    EXPECT_NE(o.exit_code, 0);
    json a = attempt(last_run(dir));
    EXPECT_EQ(a.value("error_class", ""), by_cancel ? "cancelled" : "timeout") << a.dump();
    EXPECT_NE(
        a.value("error", "").find("POST /threads/{thread_id}/runs/{id}/cancel answered HTTP 2"),
        std::string::npos)
        << a.dump();
    // The server stopped the run: it is no longer running there.
    EXPECT_TRUE(eventually([&] {
      return g_graph->get_json(path).value("status", "") == "interrupted";
    })) << g_graph->get_json(path).dump();
  }
}

TEST(HttpJobTest, ResumeAfterKilledRunReattachesWithoutASecondDispatch) {
  struct Case {
    std::string name, config, text;
  };
  for (const Case& c : {Case{"langgraph", graph_config(), "SLEEP:4 resumed"},
                        Case{"crewai", crew_config(), "SCENARIO:slowdone resumed"}}) {
    SCOPED_TRACE(c.name);
    ScratchDir dir;
    make_repo(dir, "agent", c.config, c.text);
    int before = kickoffs();
    BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
    json job;
    ASSERT_TRUE(eventually([&] {
      job = job_line(attempt_log(dir, 1));
      return job.is_object();
    }));
    ASSERT_TRUE(eventually(
        [&] { return attempt_log(dir, 1).find(R"("state":"running")") != std::string::npos; }));
    // While it runs, `baton logs` shows the job's status, not raw JSON.
    Outcome logs = run_baton({"logs", last_run(dir)["id"], "t"}, dir.path());
    EXPECT_NE(logs.out.find(c.name == "crewai" ? "now: running: research_task (running)"
                                               : "now: running (running)"),
              std::string::npos)
        << logs.out;
    run.signal(SIGKILL);
    run.wait();
    Outcome o = run_baton({"resume", "last", "--plain"}, dir.path(), kCrewEnv);
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["status"], "success");
    EXPECT_EQ(task_of(r, "t")["attempts"], 1);
    EXPECT_NE(task_of(r, "t")["output"].get<std::string>().find("resumed"), std::string::npos);
    if (c.name == "crewai") {
      EXPECT_EQ(kickoffs(), before + 1);
    } else {
      EXPECT_EQ(graph_runs(job["vars"].value("thread_id", "")).size(), 1u);
    }
  }
}

TEST(HttpJobTest, RetryAfterTheClientWasKilledReattachesToTheSameJob) {
  struct Case {
    std::string name, config, text;
  };
  for (const Case& c : {Case{"langgraph", graph_config(), "SLEEP:4 again"},
                        Case{"crewai", crew_config(), "SCENARIO:slowdone again"}}) {
    SCOPED_TRACE(c.name);
    ScratchDir dir;
    make_repo(dir, "agent", c.config, c.text, ", retry: {max_attempts: 2, delay: 0}");
    int before = kickoffs();
    BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
    std::string log;
    json job;
    ASSERT_TRUE(eventually([&] {
      log = attempt_log(dir, 1);
      job = job_line(log);
      return job.is_object();
    }));
    size_t at = log.find("\"pid\":");
    ASSERT_NE(at, std::string::npos) << log;
    ASSERT_EQ(::kill(std::stoi(log.substr(at + 6)), SIGKILL), 0);
    Outcome o = run.wait(60);
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["attempts"], 2);
    std::string second = read_file(attempt(r, 1).value("log", ""));
    EXPECT_NE(second.find("re-attaching to job " + job.value("id", "")), std::string::npos)
        << second;
    EXPECT_EQ(second.find(R"({"httpjob":"dispatch")"), std::string::npos) << second;
    if (c.name == "crewai") {
      EXPECT_EQ(kickoffs(), before + 1);
    } else {
      EXPECT_EQ(graph_runs(job["vars"].value("thread_id", "")).size(), 1u);
    }
  }
}

TEST(HttpJobTest, AJobDispatchedByADeadClientIsFoundByItsKey) {
  // The client dies after the server made the run but before it learnt the run's id
  // (tests/httpjob/hang_proxy.mjs holds that answer): the next attempt finds the run
  // by its key on the key's thread and re-attaches, so the run is dispatched once.
  ServerProcess::Options o;
  o.argv = {"node", std::string(BATON_SOURCE_DIR) + "/tests/httpjob/hang_proxy.mjs",
            g_graph->url()};
  std::string error;
  std::unique_ptr<ServerProcess> proxy = ServerProcess::start(o, &error);
  ASSERT_TRUE(proxy) << error;
  ScratchDir dir;
  make_repo(dir, "graph",
            "{profile: langgraph, url: \"" + proxy->url() +
                "\", assistant_id: echo, input_key: prompt, output_key: output, auth: {env: "
                "LG_KEY}}",
            "SLEEP:1 found again", ", retry: {max_attempts: 2, delay: 0}");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path(), {{"LG_KEY", "lg-s3cret"}});
  ASSERT_TRUE(eventually([&] { return proxy->get_json("/proxy-stats").value("creates", 0) == 1; }));
  std::string log = attempt_log(dir, 1);
  EXPECT_FALSE(job_line(log).is_object()) << log;
  size_t at = log.find("\"pid\":");
  ASSERT_NE(at, std::string::npos) << log;
  ASSERT_EQ(::kill(std::stoi(log.substr(at + 6)), SIGKILL), 0);
  Outcome out = run.wait(60);
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["attempts"], 2);
  EXPECT_NE(task_of(r, "t")["output"].get<std::string>().find("found again"), std::string::npos)
      << task_of(r, "t").dump();
  std::string second = read_file(attempt(r, 1).value("log", ""));
  EXPECT_NE(second.find("re-attaching to job"), std::string::npos) << second;
  EXPECT_EQ(second.find(R"({"httpjob":"dispatch")"), std::string::npos) << second;
  json job = job_line(second);
  ASSERT_TRUE(job.is_object()) << second;
  EXPECT_EQ(graph_runs(job["vars"].value("thread_id", "")).size(), 1u);
  json stats = proxy->get_json("/proxy-stats");
  EXPECT_EQ(stats.value("creates", 0), 1);
  // Every call carried the API key from the variable the config names (x-api-key).
  ASSERT_FALSE(stats["api_keys"].empty());
  for (const json& key : stats["api_keys"]) EXPECT_EQ(key, "lg-s3cret");
}

// A profile declared in the config (docs/httpjob.md "Profiles in the config") for the
// stand-in's renamed "v2" API: other paths, body, fields, status strings and auth header.
std::string v2_profile(const std::string& url) {
  return "\n      url: \"" + url +
         "\"\n      auth: {env: CREW_TOKEN}\n      profile:\n        extends: crewai\n"
         "        auth: {header: X-Crew-Key, prefix: \"\"}\n"
         "        create: {path: /v2/jobs, body: {payload: \"{input}\", idempotency: \"{key}\", "
         "inputs: null, meta: null}, capture: {id: /job/ref}}\n"
         "        status: {path: \"/v2/jobs/{id}\", field: /state, detail: /step, output: "
         "/answer/text, error: /problem}\n"
         "        states: {WORKING: running, DONE: succeeded, BROKEN: failed}\n"
         "        health: null\n";
}

TEST(HttpJobTest, AProfileDeclaredInTheConfigRunsATask) {
  ScratchDir dir;
  make_repo(dir, "crew2", v2_profile(g_crew->url()), "research the market");
  int before = kickoffs();
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "t")["output"], "crew says: research the market\n");
  json stats = g_crew->get_json("/stats");
  EXPECT_EQ(stats["kickoffs"], before + 1);
  EXPECT_EQ(stats["kickoff_keys"].back(), "baton-" + run["id"].get<std::string>() + "-t-1");
  EXPECT_EQ(stats["auth"].back(), "crew-token");  // in X-Crew-Key, as the profile says
  EXPECT_EQ(stats["status_paths"].back().get<std::string>().rfind("/v2/jobs/", 0), 0u);
  Outcome logs = run_baton({"logs", run["id"], "t"}, dir.path());
  EXPECT_NE(logs.out.find("status DONE"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("status WORKING: research_task"), std::string::npos) << logs.out;

  // What the server answers stays hostile: its id is percent-encoded in the declared path
  // too, and its output is data.
  ScratchDir hostile;
  make_repo(hostile, "crew2", v2_profile(g_crew->url()), "SCENARIO:hostile");
  o = run_baton({"run", "flow.yaml", "--plain"}, hostile.path(), kCrewEnv);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(task_of(last_run(hostile), "t")["output"],
            "$(touch /tmp/baton-crew-pwned) `touch pwned` ; rm -rf ../../ ../../escape.txt");
  EXPECT_EQ(g_crew->get_json("/stats")["status_paths"].back(), "/v2/jobs/..%2Fadmin%3Fx%3D1");
  EXPECT_FALSE(fs::exists("/tmp/baton-crew-pwned"));
  EXPECT_FALSE(hostile.exists("pwned"));
}

TEST(HttpJobTest, ADeclaredProfileIsCheckedAtItsPlace) {
  struct Case {
    std::string profile, error;
  };
  const std::string head = ".baton/config.yaml:";
  const std::string agent = ": custom agent 'svc': http_job.profile: ";
  for (const Case& c : {
           Case{"{extends: crewai, create: {method: PUT, path: /k, capture: {id: /i}}}",
                head + "5:51" + agent + "create.method: must be GET or POST, not \"PUT\""},
           Case{"{extends: crewai, create: {path: /k, capture: {id: null}}}",
                head + "5:62" + agent +
                    "create.capture.id: missing (the pointer to the job's id "
                    "in the answer)"},
           Case{"{extends: crewai, states: {DONE: finished}}",
                head + "5:49" + agent +
                    "states.DONE: \"finished\" is not a state (pending, "
                    "running, succeeded, failed, timed_out, cancelled, needs_input)"},
           Case{"{extends: crewai, status: {path: \"http://evil.example/s/{id}\"}}",
                head + "5:49" + agent + "status.path: must start with /"},
           Case{"{extends: crewai, status: {path: \"//evil.example/s/{id}\"}}",
                head + "5:49" + agent +
                    "status.path: must be a path, not a URL with a scheme "
                    "or a host"},
           Case{"{extends: crewai, status: {path: \"/s/../admin/{id}\"}}",
                head + "5:49" + agent + "status.path: holds a '.' or '..' segment"},
           Case{"{extends: crewai, status: {path: \"/s/{kickof_id}\"}}",
                head + "5:49" + agent + "status.path: uses the undefined variable {kickof_id}"},
           Case{"{extends: crewai, status: {path: \"/s/{id}#x\"}}",
                head + "5:49" + agent + "status.path: holds a character a path cannot (#)"},
           Case{"{extends: crewai, auth: {header: \"X-Key: a\\r\\nHost\"}}",
                head + "5:49" + agent +
                    "auth.header: must be an HTTP header name (letters, "
                    "digits, -)"},
           Case{"{extends: crewai, stats: {path: /s}}",
                head + "5:41" + agent +
                    "unknown field 'stats' (known: auth, input_key, "
                    "output_key, prepare, create, find, status, states, result, resume, cancel, "
                    "health, webhook)"},
           Case{"{extends: zapier}", head + "5:26" + agent +
                                         "extends: \"zapier\" is not a built-in profile (known: "
                                         "crewai, crewai-signed, langgraph, langgraph-stateless)"},
           Case{"{create: {path: /k, capture: {id: /i}}}",
                head + "5:16" + agent + "missing 'status'"},
       }) {
    SCOPED_TRACE(c.profile);
    ScratchDir dir;
    make_repo(dir, "svc", "\n      url: \"http://127.0.0.1:1\"\n      profile: " + c.profile + "\n",
              "x");
    Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    EXPECT_NE(o.err.find(c.error), std::string::npos) << o.err;
  }
}

TEST(HttpJobTest, BadConfigIsAnErrorAtItsPlace) {
  struct Case {
    std::string http_job, error;
  };
  for (const Case& c : {
           Case{"{profile: zapier, url: \"http://127.0.0.1:1\"}",
                ".baton/config.yaml:3:25: custom agent 'svc': http_job.profile: unknown profile "
                "'zapier' (known: crewai, crewai-signed, langgraph, langgraph-stateless)"},
           Case{"{profile: langgraph, url: \"http://127.0.0.1:1\"}",
                ".baton/config.yaml:3:25: custom agent 'svc': http_job.assistant_id is required "
                "by the langgraph profile"},
           Case{"{profile: crewai, url: \"http://127.0.0.1:1\", auth: tok}",
                ".baton/config.yaml:3:66: expected {env: NAME} for 'http_job.auth' (a secret is "
                "named by its environment variable, never written here) in custom agent 'svc'"},
           Case{"{profile: crewai, url: \"https://crew.example\"}",
                ".baton/config.yaml:3:38: expected an http:// URL for 'http_job.url' in custom "
                "agent 'svc'"},
           Case{"{profile: crewai}",
                ".baton/config.yaml:3:15: missing 'http_job.url' in custom agent 'svc'"},
           Case{"{profile: crewai, url: \"http://127.0.0.1:1\", webhook: x}",
                ".baton/config.yaml:3:"},
       }) {
    SCOPED_TRACE(c.http_job);
    ScratchDir dir;
    make_repo(dir, "svc", c.http_job, "x");
    Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    EXPECT_NE(o.err.find(c.error), std::string::npos) << o.err;
  }
}

}  // namespace
}  // namespace baton::testing
