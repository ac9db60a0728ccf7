// Needs input as a gate for hosted agent runtimes (docs/httpjob.md, "Needs input"): a
// LangGraph run stopped at interrupt() and a CrewAI kickoff awaiting human feedback make
// the task wait with the agent's question; `baton approve --comment` answers it on the
// same remote thread or kickoff (LangGraph: a new run with command.resume; CrewAI: POST
// /resume), also after `baton run` was killed at the gate; rejecting or cancelling ends
// the task and starts nothing remotely; a hostile question stays data. Against the real
// LangGraph dev server and the CrewAI stand-in the suite starts (http_job_test.cc).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "harness_util.h"
#include "servers.h"

namespace baton::testing {

extern ServerProcess* g_crew;
extern ServerProcess* g_graph;

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::map<std::string, std::string> kCrewEnv = {{"CREW_TOKEN", "crew-token"}};

// The two backends under test, each with the agent's config and a task text.
struct Backend {
  std::string name;
  std::string config;  // the http_job mapping
  std::string question;
};

Backend graph_backend() {
  return {"langgraph",
          "{profile: langgraph, url: \"" + g_graph->url() +
              "\", assistant_id: ask, input_key: prompt, output_key: output}",
          "Which branch should I review?"};
}

Backend crew_backend() {
  return {"crewai", "{profile: crewai, url: \"" + g_crew->url() + "\", auth: {env: CREW_TOKEN}}",
          "Which market should I research?"};
}

// A repository in DIR whose task t runs on the hosted agent B with TEXT (CrewAI: TEXT
// with SCENARIO).
void make_asking_repo(const ScratchDir& dir, const Backend& b, const std::string& text,
                      const std::string& crew_scenario = "input") {
  std::string task = b.name == "crewai" ? "SCENARIO:" + crew_scenario + " " + text : text;
  make_flow_repo(dir, "name: hosted\ntasks:\n  - {id: t, agent: asker, parameters: {task: \"" +
                          task + "\"}}\n");
  dir.write(".baton/config.yaml", "custom_agents:\n  asker:\n    http_job: " + b.config + "\n");
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

// Waits until task t of the only run in DIR waits for input; its run record then.
json await_waiting(const ScratchDir& dir) {
  json r;
  eventually(
      [&] { return attempt_log(dir, 1).find(R"("state":"needs_input")") != std::string::npos; },
      60);
  eventually([&] {
    r = last_run(dir);
    return task_of(r, "t").value("status", "") == "waiting";
  });
  return r;
}

// The LangGraph threads made with the idempotency key KEY (metadata.baton_key).
int threads_of(const std::string& key) {
  json threads = g_graph->post_json("/threads/search", {{"metadata", {{"baton_key", key}}}});
  return threads.is_array() ? static_cast<int>(threads.size()) : -1;
}

// The stand-in's kickoffs and /resume calls so far.
struct Remote {
  int kickoffs = 0;
  size_t resumes = 0;
};

Remote remote_counts() {
  json stats = g_crew->get_json("/stats");
  return {stats.value("kickoffs", -1), stats["resumes"].size()};
}

// The runs LangGraph holds on the thread of the first attempt's job in DIR.
json thread_runs(const ScratchDir& dir) {
  json job = job_line(attempt_log(dir, 1));
  return g_graph->get_json("/threads/" + job["vars"].value("thread_id", "") + "/runs");
}

// Approving with a comment answers the question on the same thread (LangGraph) or
// kickoff (CrewAI): the output holds the answer, no second thread or kickoff is made.
// With `baton run` waiting, and with `baton run` SIGKILLed at the gate, then `baton
// resume`.
TEST(HttpJobInputTest, ApproveWithACommentAnswersTheSameRemoteJob) {
  for (const Backend& b : {graph_backend(), crew_backend()}) {
    for (const bool killed : {false, true}) {
      SCOPED_TRACE(b.name + (killed ? " killed at the gate" : " live"));
      ScratchDir dir;
      make_asking_repo(dir, b, "review it");
      Remote before = remote_counts();
      std::optional<BatonProcess> live;
      live.emplace(std::vector<std::string>{"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
      json r = await_waiting(dir);
      ASSERT_EQ(task_of(r, "t")["status"], "waiting") << r.dump();
      EXPECT_EQ(task_of(r, "t")["reason"], "input required: " + b.question);
      ASSERT_FALSE(r["attempts"].empty());
      EXPECT_EQ(r["attempts"][0].value("status", ""), "input_required") << r.dump();
      Outcome status = run_baton({"status", "last"}, dir.path());
      EXPECT_NE(status.out.find(b.question), std::string::npos) << status.out;
      if (killed) {
        live->signal(SIGKILL);
        live->wait();
        live.reset();
      }
      Outcome approve =
          run_baton({"approve", "last", "t", "--comment", "the release branch"}, dir.path());
      ASSERT_EQ(approve.exit_code, 0) << approve.out << approve.err;
      Outcome done =
          killed ? run_baton({"resume", "last", "--plain"}, dir.path(), kCrewEnv) : live->wait(60);
      ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
      r = last_run(dir);
      EXPECT_EQ(task_of(r, "t")["status"], "success");
      std::string output = task_of(r, "t")["output"];
      std::string first = attempt_log(dir, 1), second = attempt_log(dir, 2);
      json job1 = job_line(first), job2 = job_line(second);
      EXPECT_NE(second.find(R"("answer":true)"), std::string::npos) << second;
      Remote after = remote_counts();
      if (b.name == "langgraph") {
        EXPECT_EQ(output, "answered: the release branch");
        // One thread: the answer is a second run on it, nothing was created anew.
        const std::string key = "baton-" + r["id"].get<std::string>() + "-t-";
        EXPECT_EQ(threads_of(key + "1"), 1);
        EXPECT_EQ(threads_of(key + "2"), 0);
        EXPECT_EQ(job2["vars"].value("thread_id", ""), job1["vars"].value("thread_id", ""));
        EXPECT_NE(job2.value("id", ""), job1.value("id", ""));
        EXPECT_EQ(thread_runs(dir).size(), 2u) << thread_runs(dir).dump();
      } else {
        EXPECT_EQ(output.rfind("crew says: SCENARIO:input review it", 0), 0u) << output;
        EXPECT_NE(output.find("; feedback: the release branch"), std::string::npos) << output;
        EXPECT_EQ(after.kickoffs, before.kickoffs + 1);
        ASSERT_EQ(after.resumes, before.resumes + 1);
        json resume = g_crew->get_json("/stats")["resumes"].back();
        EXPECT_EQ(resume.value("execution_id", ""), job1.value("id", "")) << resume.dump();
        EXPECT_EQ(resume.value("task_id", ""), "research_task");
        EXPECT_EQ(resume.value("human_feedback", ""), "the release branch");
        EXPECT_EQ(resume.value("is_approve", false), true);
        EXPECT_EQ(job2.value("id", ""), job1.value("id", ""));
      }
    }
  }
}

// Rejecting the question fails the task; `baton cancel` cancels it. Nothing is resumed
// or left running remotely (a job that waits for input runs nothing; the event says
// what is left waiting).
TEST(HttpJobInputTest, RejectOrCancelAtTheQuestionResumesNothing) {
  for (const Backend& b : {graph_backend(), crew_backend()}) {
    for (const bool by_cancel : {false, true}) {
      SCOPED_TRACE(b.name + (by_cancel ? " baton cancel" : " reject"));
      ScratchDir dir;
      make_asking_repo(dir, b, "reject me");
      Remote before = remote_counts();
      int running = g_crew->get_json("/stats").value("running", -1);
      BatonProcess live({"run", "flow.yaml", "--plain"}, dir.path(), kCrewEnv);
      ASSERT_EQ(task_of(await_waiting(dir), "t")["status"], "waiting");
      Outcome o = by_cancel ? run_baton({"cancel", "last"}, dir.path())
                            : run_baton({"approve", "last", "t", "--reject", "--reason", "not now"},
                                        dir.path());
      ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
      live.wait(60);
      json r = last_run(dir);
      EXPECT_EQ(task_of(r, "t")["status"], by_cancel ? "cancelled" : "failed");
      if (!by_cancel) {
        EXPECT_EQ(task_of(r, "t")["reason"], "rejected: not now");
      }
      EXPECT_EQ(task_of(r, "t")["attempts"], 1);
      auto events = events_of(dir, r["id"]);
      bool noted = false;
      for (const json& e : events) {
        if (e.value("kind", "") == "input.abandoned") {
          noted =
              e["data"].value("note", "").find("is left waiting for input") != std::string::npos;
        }
      }
      EXPECT_TRUE(noted);
      Remote after = remote_counts();
      EXPECT_EQ(after.resumes, before.resumes);
      if (b.name == "langgraph") {
        json runs = thread_runs(dir);
        ASSERT_EQ(runs.size(), 1u) << runs.dump();
        EXPECT_EQ(runs[0].value("status", ""), "success") << runs.dump();  // not running
      } else {
        EXPECT_EQ(after.kickoffs, before.kickoffs + 1);
        EXPECT_EQ(g_crew->get_json("/stats").value("running", -1), running);
      }
    }
  }
}

// A question with terminal escapes, shell syntax and 300 KB is shown bounded and
// without control characters, never run; a hostile answer is sent as data.
TEST(HttpJobInputTest, HostileQuestionAndAnswerStayData) {
  for (const Backend& b : {graph_backend(), crew_backend()}) {
    SCOPED_TRACE(b.name);
    ScratchDir dir;
    make_asking_repo(dir, b, "HOSTILE", "inputhostile");
    Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path(), kCrewEnv);
    ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
    json r = last_run(dir);
    std::string reason = task_of(r, "t").value("reason", "");
    EXPECT_NE(reason.find("$(touch /tmp/baton-"), std::string::npos) << reason.substr(0, 300);
    EXPECT_EQ(reason.find('\x1b'), std::string::npos);
    EXPECT_EQ(reason.find('\r'), std::string::npos);
    EXPECT_EQ(reason.find('\a'), std::string::npos);
    EXPECT_LT(reason.size(), 4500u);
    EXPECT_NE(reason.find("bytes)"), std::string::npos) << reason.substr(reason.size() - 100);
    Outcome status = run_baton({"status", "last"}, dir.path());
    EXPECT_EQ(status.out.find('\x1b'), std::string::npos);
    const std::string answer = "$(touch /tmp/baton-answer-pwned) `touch pwned`; \x1b[2J";
    ASSERT_EQ(run_baton({"approve", "last", "t", "--comment", answer}, dir.path()).exit_code, 0);
    Outcome done = run_baton({"resume", "last", "--plain"}, dir.path(), kCrewEnv);
    ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
    std::string output = task_of(last_run(dir), "t").value("output", "");
    EXPECT_NE(output.find(answer), std::string::npos) << output;
    EXPECT_FALSE(fs::exists("/tmp/baton-ask-pwned"));
    EXPECT_FALSE(fs::exists("/tmp/baton-crew-ask-pwned"));
    EXPECT_FALSE(fs::exists("/tmp/baton-answer-pwned"));
    EXPECT_FALSE(dir.exists("pwned"));
  }
}

// An answer for a job that no longer waits (answered meanwhile by someone else) is not
// sent: the attempt fails, naming the state.
TEST(HttpJobInputTest, AnAnswerForAJobThatNoLongerWaitsIsNotSent) {
  Backend b = crew_backend();
  ScratchDir dir;
  make_asking_repo(dir, b, "answered elsewhere");
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path(), kCrewEnv).exit_code,
            5);
  json job = job_line(attempt_log(dir, 1));
  httplib::Client crew("127.0.0.1", g_crew->port());
  json body = {{"execution_id", job.value("id", "")},
               {"task_id", "research_task"},
               {"human_feedback", "from the dashboard"},
               {"is_approve", true}};
  auto elsewhere = crew.Post("/resume", {{"Authorization", "Bearer crew-token"}}, body.dump(),
                             "application/json");
  ASSERT_TRUE(elsewhere && elsewhere->status == 200);
  size_t resumes = g_crew->get_json("/stats")["resumes"].size();
  ASSERT_EQ(run_baton({"approve", "last", "t", "--comment", "too late"}, dir.path()).exit_code, 0);
  run_baton({"resume", "last", "--plain"}, dir.path(), kCrewEnv);
  json r = last_run(dir);
  EXPECT_EQ(g_crew->get_json("/stats")["resumes"].size(), resumes);
  std::string log = attempt_log(dir, 2);
  EXPECT_NE(log.find("no longer waits for input"), std::string::npos) << log;
}

// Runs `baton __http-job ARGS` as attempt N of task t with STDIN_TEXT on stdin, its
// attempt log DIR/logs/t.N.log (its stdout is written there, as the supervisor would).
Outcome http_job(const ScratchDir& dir, std::vector<std::string> args, int n,
                 const std::string& stdin_text) {
  fs::create_directories(dir.path() + "/logs");
  dir.write("stdin.txt", stdin_text);
  const std::string log = dir.path() + "/logs/t." + std::to_string(n) + ".log";
  std::vector<std::string> argv = {"sh",
                                   "-c",
                                   "exec \"$@\" < stdin.txt",
                                   "sh",
                                   "env",
                                   "BATON_ATTEMPT_LOG=" + log,
                                   "BATON_TASK_ID=t",
                                   "BATON_ATTEMPT=" + std::to_string(n),
                                   "CREW_TOKEN=crew-token",
                                   BATON_BINARY,
                                   "__http-job"};
  argv.insert(argv.end(), args.begin(), args.end());
  Outcome o = run_command(argv, dir.path());
  dir.write("logs/t." + std::to_string(n) + ".log", o.out);
  return o;
}

// The {"httpjob":"result"} line of OUT, parsed; {} when there is none.
json result_line(const std::string& out) {
  size_t at = out.find(R"("httpjob":"result")");
  if (at == std::string::npos) return json::object();
  size_t begin = out.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  json j = json::parse(out.substr(begin, out.find('\n', at) - begin), nullptr, false);
  return j.is_object() ? j : json::object();
}

// An answering attempt killed after its dispatch line, before it sent the answer: the
// next attempt re-attaches to the job it named and, the job still waiting, asks the
// same question again (LangGraph: from the thread, since the run's /join shows the
// interrupt only to its first reader); nothing is created anew. Then the answer goes on
// the same job.
TEST(HttpJobInputTest, AnAttemptKilledBeforeItAnsweredAsksAgain) {
  for (const Backend& b : {graph_backend(), crew_backend()}) {
    SCOPED_TRACE(b.name);
    ScratchDir dir;
    const bool graph = b.name == "langgraph";
    const std::string url = graph ? g_graph->url() : g_crew->url();
    std::vector<std::string> args =
        graph ? std::vector<std::string>{"--profile",      "langgraph", "--url",       url,
                                         "--assistant-id", "ask",       "--input-key", "prompt",
                                         "--output-key",   "output"}
              : std::vector<std::string>{"--profile", "crewai",     "--url",
                                         url,         "--auth-env", "CREW_TOKEN"};
    const std::string prompt = graph ? "killed answer" : "SCENARIO:input killed answer";
    // Unique per pass too: the server outlives a pass of --gtest_repeat, and a key used
    // again finds the last pass's thread (and its runs).
    static int pass = 0;
    const std::string key = "baton-killed-" + std::to_string(::getpid()) + "-" +
                            std::to_string(pass++) + "-" + b.name + "-t-";
    auto with_key = [&](int n) {
      std::vector<std::string> a = args;
      a.insert(a.end(), {"--key", key + std::to_string(n)});
      return a;
    };
    int kickoffs = remote_counts().kickoffs;
    Outcome first = http_job(dir, with_key(1), 1, prompt);
    ASSERT_EQ(first.exit_code, 3) << first.out << first.err;
    json asked = result_line(first.out);
    ASSERT_EQ(asked.value("question", ""), b.question) << first.out;
    // What a client killed right after its dispatch line leaves.
    json dispatch = {{"httpjob", "dispatch"}, {"key", key + "2"}, {"url", url},
                     {"profile", b.name},     {"answer", true},   {"vars", asked["vars"]}};
    dir.write("logs/t.2.log", "{\"httpjob\":\"start\"}\n" + dispatch.dump() + "\n");
    Outcome again = http_job(dir, with_key(3), 3, prompt);
    ASSERT_EQ(again.exit_code, 3) << again.out << again.err;
    EXPECT_NE(again.out.find("re-attaching to job " + asked.value("job_id", "")), std::string::npos)
        << again.out;
    EXPECT_EQ(result_line(again.out).value("question", ""), b.question) << again.out;
    Outcome answered = http_job(
        dir,
        [&] {
          std::vector<std::string> a = with_key(4);
          a.push_back("--answer");
          return a;
        }(),
        4, "the answer after the kill");
    ASSERT_EQ(answered.exit_code, 0) << answered.out << answered.err;
    EXPECT_NE(result_line(answered.out).value("text", "").find("the answer after the kill"),
              std::string::npos)
        << answered.out;
    if (graph) {
      EXPECT_EQ(threads_of(key + "1"), 1);
      EXPECT_EQ(threads_of(key + "3"), 0);
      EXPECT_EQ(threads_of(key + "4"), 0);
      json runs = g_graph->get_json("/threads/" + asked["vars"].value("thread_id", "") + "/runs");
      EXPECT_EQ(runs.size(), 2u) << runs.dump();  // the question's run and the answer's
    } else {
      EXPECT_EQ(remote_counts().kickoffs, kickoffs + 1);
    }
  }
}

}  // namespace
}  // namespace baton::testing
