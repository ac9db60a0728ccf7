// Integration tests of remote agents over A2A (custom_agents: {NAME: {a2a: ...}}):
// `baton run` drives `baton __a2a-client` against the real @a2a-js/sdk server with the
// scripted executor of tests/a2a/server.mjs (installed by scripts/setup-a2a into the
// build directory), on 127.0.0.1 and a free port. Each test starts its own server;
// what the remote agent does is chosen by the prompt (SCENARIO:NAME) and which card it
// serves by the URL's path (1.0 or 0.3, streaming or not).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "a2a_server_util.h"
#include "harness_util.h"
#include "rehearse/script.h"
#include "rehearse/server.h"
#include "util/held_port.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A repository in DIR with flow.yaml running task t on AGENT with TASK_TEXT, and the
// config declaring AGENT as the A2A agent at URL (AUTH: the a2a.auth YAML, or "").
void make_a2a_repo(const ScratchDir& dir, const std::string& agent, const std::string& url,
                   const std::string& task_text, const std::string& extra = "",
                   const std::string& auth = "") {
  make_flow_repo(dir, "name: a2a\ntasks:\n  - {id: t, agent: " + agent + ", parameters: {task: \"" +
                          task_text + "\"}" + extra + "}\n");
  dir.write(".baton/config.yaml", "custom_agents:\n  " + agent + ":\n    a2a: {url: \"" + url +
                                      "\"" + (auth.empty() ? "" : ", auth: " + auth) + "}\n");
}

json first_attempt(const json& run) {
  if (!run.contains("attempts") || run["attempts"].empty()) return json::object();
  return run["attempts"][0];
}

// The log of attempt N of task t of the only run in DIR (read from the files, since
// `baton status` may not see a run that is just starting); "" while there is none.
std::string attempt_log(const ScratchDir& dir, int n) {
  std::error_code ec;
  for (const auto& run : fs::directory_iterator(fs::path(dir.path()) / ".baton" / "runs", ec)) {
    std::string log =
        read_file((run.path() / "logs" / ("t." + std::to_string(n) + ".log")).string());
    if (!log.empty()) return log;
  }
  return "";
}

TEST(A2aTest, OutputIsTheArtifactTextIn10And03StreamingOrPolling) {
  A2aServer server;
  struct Case {
    std::string path, send_method, get_method;
    bool streaming;
  };
  for (const Case& c : {Case{"v1-stream", "SendStreamingMessage", "GetTask", true},
                        Case{"v1-poll", "SendMessage", "GetTask", false},
                        Case{"v03-stream", "message/stream", "tasks/get", true},
                        Case{"v03-poll", "message/send", "tasks/get", false},
                        Case{"legacy-card", "message/send", "tasks/get", false}}) {
    SCOPED_TRACE(c.path);
    ScratchDir dir;
    make_a2a_repo(dir, "reviewer-svc", server.url(c.path), "SCENARIO:steps review main.c");
    int sends = server.calls(c.send_method), gets = server.calls(c.get_method);
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json run = last_run(dir);
    std::string output = task_of(run, "t")["output"];
    EXPECT_EQ(output.rfind("done: ", 0), 0u) << output;
    EXPECT_NE(output.find("review main.c"), std::string::npos) << output;
    EXPECT_EQ(server.calls(c.send_method), sends + 1);
    // The message carries the attempt's idempotency key.
    EXPECT_EQ(server.stats()["message_ids"].back(),
              "baton-" + run["id"].get<std::string>() + "-t-1");
    // Polling asks tasks/get; a stream carries the states itself.
    EXPECT_EQ(server.calls(c.get_method) > gets, !c.streaming);
    std::string log = read_file(first_attempt(run).value("log", ""));
    EXPECT_NE(log.find(R"({"a2a":"task","id":)"), std::string::npos) << log;
    // The task line comes before any state of the task.
    EXPECT_LT(log.find(R"({"a2a":"task")"), log.find(R"({"a2a":"status")")) << log;
    // Each line carries the time it was written (agents/event_time.h).
    for (size_t at = 0, end; (end = log.find('\n', at)) != std::string::npos; at = end + 1) {
      json line = json::parse(log.substr(at, end - at), nullptr, false);
      if (line.is_object() && line.contains("a2a")) {
        EXPECT_TRUE(line["time_ms"].is_number_integer()) << line;
      }
    }
    Outcome logs = run_baton({"logs", run["id"], "t"}, dir.path());
    // Every state a stream carried is shown; polling sees only some of them.
    EXPECT_NE(logs.out.find(c.streaming ? "status working: thinking" : "status completed"),
              std::string::npos)
        << logs.out;
    EXPECT_NE(logs.out.find("remote task "), std::string::npos) << logs.out;
  }
}

TEST(A2aTest, TimeoutSendsTasksCancel) {
  A2aServer server;
  for (const std::string path : {"v1-stream", "v03-poll"}) {
    SCOPED_TRACE(path);
    ScratchDir dir;
    make_a2a_repo(dir, "slow-svc", server.url(path), "SCENARIO:slow", ", timeout: 2s");
    int cancels = server.stats().value("cancels", 0);
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_NE(o.exit_code, 0) << o.out << o.err;
    json run = last_run(dir);
    EXPECT_EQ(task_of(run, "t")["status"], "failed");
    EXPECT_EQ(first_attempt(run).value("error_class", ""), "timeout") << first_attempt(run).dump();
    EXPECT_EQ(server.stats().value("cancels", 0), cancels + 1);  // the server saw the cancel
  }
}

TEST(A2aTest, AuthHeaderComesFromTheEnvironmentReference) {
  A2aServer server;
  {
    ScratchDir dir;
    make_a2a_repo(dir, "guarded", server.url("auth"), "hello", "",
                  "{bearer: {env: A2A_TEST_TOKEN}}");
    Outcome o =
        run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {{"A2A_TEST_TOKEN", "s3cret"}});
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    EXPECT_EQ(server.stats()["auth"].back().value("authorization", ""), "Bearer s3cret");
    // The secret is sent, never logged.
    std::string log = read_file(first_attempt(last_run(dir)).value("log", ""));
    EXPECT_EQ(log.find("s3cret"), std::string::npos) << log;
  }
  {
    ScratchDir dir;
    make_a2a_repo(dir, "keyed", server.url("auth"), "hello", "",
                  "{header: X-API-Key, env: A2A_TEST_KEY}");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {{"A2A_TEST_KEY", "k3y"}});
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    EXPECT_EQ(server.stats()["auth"].back().value("x-api-key", ""), "k3y");
  }
  {
    ScratchDir dir;  // the variable is not set: refused before anything is sent
    make_a2a_repo(dir, "guarded", server.url("auth"), "hello", "",
                  "{bearer: {env: A2A_TEST_UNSET_TOKEN}}");
    size_t seen = server.stats()["auth"].size();
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    json attempt = first_attempt(last_run(dir));
    EXPECT_EQ(attempt.value("error_class", ""), "auth") << attempt.dump();
    EXPECT_NE(attempt.value("error", "").find("A2A_TEST_UNSET_TOKEN"), std::string::npos)
        << attempt.dump();
    EXPECT_EQ(server.stats()["auth"].size(), seen);
  }
  {
    ScratchDir dir;  // a secret written inline is refused by the config
    make_a2a_repo(dir, "guarded", server.url("auth"), "hello", "", "{bearer: s3cret}");
    Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    EXPECT_NE(o.err.find("expected {env: NAME} for 'a2a.auth.bearer'"), std::string::npos) << o.err;
  }
}

TEST(A2aTest, FilePartIsWrittenInTheWorktree) {
  A2aServer server;
  ScratchDir dir;
  make_a2a_repo(dir, "writer", server.url("v1-poll"), "SCENARIO:file NAME:notes/review.txt");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("notes/review.txt"), "file body\n");
  EXPECT_EQ(task_of(last_run(dir), "t")["output"], "wrote a file");
}

TEST(A2aTest, HostileFileNamesAreRefused) {
  A2aServer server;
  for (const std::string name : {"../../a2a-escape.txt", "/tmp/a2a-absolute-escape.txt"}) {
    SCOPED_TRACE(name);
    ScratchDir dir;
    make_a2a_repo(dir, "writer", server.url("v03-stream"), "SCENARIO:file NAME:" + name);
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    json attempt = first_attempt(last_run(dir));
    EXPECT_NE(attempt.value("error", "").find("file part '" + name + "'"), std::string::npos)
        << attempt.dump();
    EXPECT_FALSE(fs::exists(fs::path(dir.path()) / ".." / ".." / "a2a-escape.txt"));
    EXPECT_FALSE(fs::exists("/tmp/a2a-absolute-escape.txt"));
  }
}

TEST(A2aTest, MalformedHungForeignAndFailedFailWithAClearReason) {
  A2aServer server;
  struct Case {
    std::string path, text, extra, error, error_class;
  };
  for (const Case& c :
       {Case{"malformed", "x", "", "SendMessage: malformed JSON in the answer", "permanent"},
        Case{"hang", "x", ", timeout: 2s", "", "timeout"},
        Case{"elsewhere", "x", "",
             "the agent card's endpoint http://127.0.0.1:1/elsewhere/ is not on the configured "
             "origin",
             "permanent"},
        Case{"drop", "x", "",
             "SendStreamingMessage: the stream closed before the task ended (state working)",
             "transient"},
        Case{"v03-poll", "SCENARIO:fail", "",
             "the remote task ended failed: the review tool crashed", "permanent"}}) {
    SCOPED_TRACE(c.path + " " + c.text);
    ScratchDir dir;
    make_a2a_repo(dir, "svc", server.url(c.path), c.text, c.extra);
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    json attempt = first_attempt(last_run(dir));
    EXPECT_EQ(attempt.value("error_class", ""), c.error_class) << attempt.dump();
    EXPECT_NE(attempt.value("error", "").find(c.error), std::string::npos) << attempt.dump();
  }
}

TEST(A2aTest, EventsAfterTheFinalStateAreIgnored) {
  A2aServer server;
  ScratchDir dir;
  make_a2a_repo(dir, "svc", server.url("late"), "x");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(task_of(last_run(dir), "t")["output"], "on time");
}

TEST(A2aTest, ResumeAfterKilledRunReattachesWithoutASecondSend) {
  A2aServer server;
  ScratchDir dir;
  make_a2a_repo(dir, "slow-svc", server.url("v1-stream"), "SCENARIO:slowdone");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  json r;
  ASSERT_TRUE(eventually(
      [&] { return attempt_log(dir, 1).find(R"("state":"working")") != std::string::npos; }));
  // While it runs, `baton logs` shows the remote task's state, not raw JSON.
  Outcome logs = run_baton({"logs", last_run(dir)["id"], "t"}, dir.path());
  EXPECT_NE(logs.out.find("now: working: started (running)"), std::string::npos) << logs.out;
  run.signal(SIGKILL);
  run.wait();
  Outcome o = run_baton({"resume", "last", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  EXPECT_EQ(task_of(r, "t")["attempts"], 1);
  EXPECT_EQ(server.calls("SendStreamingMessage"), 1);
}

TEST(A2aTest, RetryAfterTheClientWasKilledReattachesToTheSameRemoteTask) {
  A2aServer server;
  for (const std::string path : {"v1-poll", "v03-stream"}) {
    SCOPED_TRACE(path);
    ScratchDir dir;
    make_a2a_repo(dir, "slow-svc", server.url(path), "SCENARIO:slowdone",
                  ", retry: {max_attempts: 2, delay: 0}");
    int sends = server.calls("SendMessage") + server.calls("message/stream");
    BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
    json r;
    std::string log;
    ASSERT_TRUE(eventually([&] {
      log = attempt_log(dir, 1);
      return log.find(R"({"a2a":"task")") != std::string::npos;
    }));
    size_t at = log.find("\"pid\":");
    ASSERT_NE(at, std::string::npos) << log;
    ASSERT_EQ(::kill(std::stoi(log.substr(at + 6)), SIGKILL), 0);
    Outcome o = run.wait(60);
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["status"], "success");
    EXPECT_EQ(task_of(r, "t")["attempts"], 2);
    EXPECT_EQ(server.calls("SendMessage") + server.calls("message/stream"), sends + 1);
    std::string second = read_file(r["attempts"][1].value("log", ""));
    EXPECT_NE(second.find("re-attaching to remote task"), std::string::npos) << second;
  }
}

// Waits until task t of the only run in DIR is waiting; its run record then.
json await_waiting(const ScratchDir& dir) {
  json r;
  // The question's attempt has ended (its log has the final line) before the run is read.
  eventually(
      [&] { return attempt_log(dir, 1).find(R"("state":"input-required")") != std::string::npos; });
  eventually([&] {
    r = last_run(dir);
    return task_of(r, "t").value("status", "") == "waiting";
  });
  return r;
}

// input-required is a gate: the task waits with the agent's question; `baton approve
// --comment` answers it on the same remote task, which completes with the answer. In
// 1.0 and 0.3, streaming and polling, with the answer given to a live `baton run`, to
// a run that stopped at the gate (--no-wait), and to a run killed at the gate.
TEST(A2aTest, InputRequiredIsAGateAnsweredOnTheSameRemoteTask) {
  A2aServer server;
  enum class How { kLive, kNoWait, kKilled };
  struct Case {
    std::string path;
    How how;
  };
  for (const Case& c : {Case{"v1-stream", How::kLive}, Case{"v03-poll", How::kNoWait},
                        Case{"v03-stream", How::kKilled}, Case{"v1-poll", How::kKilled}}) {
    SCOPED_TRACE(c.path + " " + std::to_string(static_cast<int>(c.how)));
    ScratchDir dir;
    make_a2a_repo(dir, "asker", server.url(c.path), "SCENARIO:input review main.c");
    json before = server.stats();
    std::optional<BatonProcess> live;
    if (c.how == How::kNoWait) {
      Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path());
      ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
      EXPECT_NE(o.out.find("input required: which branch should I review?"), std::string::npos)
          << o.out;
    } else {
      live.emplace(std::vector<std::string>{"run", "flow.yaml", "--plain"}, dir.path());
    }
    json r = await_waiting(dir);
    ASSERT_EQ(task_of(r, "t")["status"], "waiting") << r.dump();
    EXPECT_EQ(task_of(r, "t")["reason"], "input required: which branch should I review?");
    EXPECT_EQ(first_attempt(r).value("status", ""), "input_required") << r.dump();
    Outcome status = run_baton({"status", "last"}, dir.path());
    EXPECT_NE(status.out.find("which branch should I review?"), std::string::npos) << status.out;
    if (c.how == How::kKilled) {
      live->signal(SIGKILL);
      live->wait();
      live.reset();
    }
    Outcome approve =
        run_baton({"approve", "last", "t", "--comment", "the release branch"}, dir.path());
    ASSERT_EQ(approve.exit_code, 0) << approve.out << approve.err;
    if (c.how == How::kLive) {
      Outcome o = live->wait(60);
      ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    } else {
      Outcome o = run_baton({"resume", "last", "--plain"}, dir.path());
      ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    }
    r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["status"], "success");
    EXPECT_EQ(task_of(r, "t")["output"], "answer: the release branch");
    json after = server.stats();
    // One remote task: the answer went to it, not to a new one.
    EXPECT_EQ(after.value("tasks", 0), before.value("tasks", 0) + 1);
    ASSERT_EQ(after["answers"].size(), before["answers"].size() + 1);
    const json& answer = after["answers"].back();
    EXPECT_EQ(answer.value("text", ""), "the release branch");
    EXPECT_EQ(answer.value("question", ""), "which branch should I review?");
    std::string first = read_file(first_attempt(r).value("log", ""));
    EXPECT_NE(first.find(R"({"a2a":"task","id":")" + answer.value("taskId", "") + "\""),
              std::string::npos)
        << first;
  }
}

// Rejecting the question fails the task, and cancelling the run at it cancels the task;
// either way the remote task that waited for the answer is cancelled, whether `baton
// run` is waiting or not running.
TEST(A2aTest, RejectingOrCancellingTheQuestionCancelsTheRemoteTask) {
  A2aServer server;
  for (const std::string path : {"v1-stream", "v03-poll"}) {
    SCOPED_TRACE(path);
    ScratchDir dir;
    make_a2a_repo(dir, "asker", server.url(path), "SCENARIO:input");
    int cancels = server.stats().value("cancels", 0);
    BatonProcess live({"run", "flow.yaml", "--plain"}, dir.path());
    ASSERT_EQ(task_of(await_waiting(dir), "t")["status"], "waiting");
    Outcome o = run_baton({"approve", "last", "t", "--reject", "--reason", "not now"}, dir.path());
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    Outcome ended = live.wait(60);
    EXPECT_NE(ended.exit_code, 0);
    json r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["status"], "failed");
    EXPECT_EQ(task_of(r, "t")["reason"], "rejected: not now");
    EXPECT_EQ(server.stats().value("cancels", 0), cancels + 1);
  }
  {
    SCOPED_TRACE("offline reject, then resume");
    ScratchDir dir;
    make_a2a_repo(dir, "asker", server.url("v1-poll"), "SCENARIO:input");
    int cancels = server.stats().value("cancels", 0);
    ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path()).exit_code, 5);
    ASSERT_EQ(run_baton({"approve", "last", "t", "--reject"}, dir.path()).exit_code, 0);
    run_baton({"resume", "last", "--plain"}, dir.path());
    EXPECT_EQ(server.stats().value("cancels", 0), cancels + 1);
  }
  {
    SCOPED_TRACE("baton cancel while baton run waits at the question");
    ScratchDir dir;
    make_a2a_repo(dir, "asker", server.url("v03-stream"), "SCENARIO:input");
    int cancels = server.stats().value("cancels", 0);
    BatonProcess live({"run", "flow.yaml", "--plain"}, dir.path());
    ASSERT_EQ(task_of(await_waiting(dir), "t")["status"], "waiting");
    Outcome o = run_baton({"cancel", "last"}, dir.path());
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
    live.wait(60);
    EXPECT_EQ(task_of(last_run(dir), "t")["status"], "cancelled");
    EXPECT_EQ(server.stats().value("cancels", 0), cancels + 1);
  }
  {
    SCOPED_TRACE("baton cancel of a run stopped at the question (--no-wait)");
    ScratchDir dir;
    make_a2a_repo(dir, "asker", server.url("v1-stream"), "SCENARIO:input");
    int cancels = server.stats().value("cancels", 0);
    ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path()).exit_code, 5);
    Outcome o = run_baton({"cancel", "last"}, dir.path());
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
    EXPECT_NE(o.out.find("CancelTask of remote task"), std::string::npos) << o.out;
    EXPECT_EQ(server.stats().value("cancels", 0), cancels + 1);
  }
}

// POSTs BODY to URL (http://HOST:PORT/PATH) with the notification TOKEN; the status.
int post_notification(const std::string& url, const std::string& token, const json& body) {
  size_t slash = url.find('/', 7);
  httplib::Client c(url.substr(0, slash));
  auto res = c.Post(url.substr(slash), {{"X-A2A-Notification-Token", token}}, body.dump(),
                    "application/json");
  return res ? res->status : -1;
}

// A status update of TASK_ID in STATE with TEXT, as VERSION's push sender sends it.
json status_notification(const std::string& version, const std::string& task_id,
                         const std::string& state, const std::string& text) {
  if (version == "1.0") {
    return {{"statusUpdate",
             {{"taskId", task_id},
              {"contextId", "c"},
              {"status",
               {{"state", "TASK_STATE_" + state},
                {"message",
                 {{"messageId", "m-" + text},
                  {"role", "ROLE_AGENT"},
                  {"parts", {{{"text", text}}}}}}}}}}};
  }
  std::string lower = state;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
  return {{"kind", "status-update"},
          {"taskId", task_id},
          {"contextId", "c"},
          {"final", false},
          {"status",
           {{"state", lower},
            {"message",
             {{"kind", "message"},
              {"messageId", "m-" + text},
              {"role", "agent"},
              {"parts", {{{"kind", "text"}, {"text", text}}}}}}}}};
}

// With `baton serve` running for the project and a card offering push notifications,
// the client registers serve's callback endpoint for the attempt (a random secret) and
// follows the task by what the sdk's push sender delivers there, without polling. A
// duplicate delivery and one about another task are ignored, a wrong secret is refused
// (401), and one that arrives after the attempt ended is recorded in its inbox, never
// applied.
TEST(A2aTest, PushNotificationsThroughBatonServeReplacePolling) {
  A2aServer server;
  for (const std::string version : {"1.0", "0.3"}) {
    SCOPED_TRACE(version);
    const std::string path = version == "1.0" ? "v1-push" : "v03-push";
    const std::string get = version == "1.0" ? "GetTask" : "tasks/get";
    ScratchDir dir;
    make_a2a_repo(dir, "pushed", server.url(path), "SCENARIO:slowdone review main.c");
    BatonProcess serve({"serve", "--listen", "127.0.0.1:0"}, dir.path());
    ASSERT_TRUE(eventually([&] { return !dir.read(".baton/serve/url").empty(); }));
    const int gets = server.calls(get);
    const size_t pushes = server.stats()["push"].size();
    BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
    ASSERT_TRUE(eventually([&] { return server.stats()["push"].size() > pushes; }));
    json config = server.stats()["push"].back();
    const std::string url = config.value("url", ""), token = config.value("token", "");
    const std::string task_id = config.value("taskId", "");
    EXPECT_NE(url.find("/v1/callbacks/"), std::string::npos) << url;
    EXPECT_EQ(token.size(), 64u);
    json dup = status_notification(version, task_id, "WORKING", "twice");
    EXPECT_EQ(post_notification(url, token, dup), 200);
    EXPECT_EQ(post_notification(url, token, dup), 200);
    EXPECT_EQ(post_notification(url, token, status_notification(version, "other", "WORKING", "x")),
              200);
    EXPECT_EQ(post_notification(url, "wrong", dup), 401);
    EXPECT_EQ(post_notification(url + "9", token, dup), 404);  // no such attempt
    Outcome o = run.wait(60);
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    json r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["output"], "done: review main.c");
    EXPECT_EQ(server.calls(get), gets);  // followed by notifications, not polled
    std::string log = read_file(first_attempt(r).value("log", ""));
    EXPECT_NE(log.find("following by push notifications to " + url), std::string::npos) << log;
    EXPECT_NE(log.find("duplicate notification ignored"), std::string::npos) << log;
    EXPECT_NE(log.find("notification about another task ignored"), std::string::npos) << log;
    // Late: accepted and recorded in the ended attempt's inbox, never applied.
    EXPECT_EQ(
        post_notification(url, token, status_notification(version, task_id, "FAILED", "late")),
        200);
    std::string inbox =
        dir.read(".baton/runs/" + r["id"].get<std::string>() + "/callbacks/t.1.inbox");
    EXPECT_NE(inbox.find("late"), std::string::npos) << inbox;
    r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["status"], "success");
    EXPECT_EQ(task_of(r, "t")["output"], "done: review main.c");
    serve.signal(SIGTERM);
    serve.wait();
  }
}

// An https:// agent: the client speaks TLS and checks the server's certificate against
// the system's CA store (OpenSSL's default paths; SSL_CERT_FILE points them at the
// test's throwaway CA, made here with the openssl command). Without that CA the
// certificate is refused and nothing is sent.
TEST(A2aTest, HttpsAgentIsCheckedAgainstTheSystemCaStore) {
  ScratchDir tls;
  const std::string d = tls.path();
  std::string script =
      "set -e; cd '" + d +
      "'; openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "-subj /CN=baton-test-ca 2>/dev/null; "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj /CN=127.0.0.1 2>/dev/null; "
      "printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf; "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
      "server.pem -days 2 -extfile ext.cnf 2>/dev/null";
  Outcome made = run_command({"sh", "-c", script}, d);
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  A2aServer server({"A2A_TLS_CERT=" + d + "/server.pem", "A2A_TLS_KEY=" + d + "/server.key",
                    "A2A_TEST_CA=" + d + "/ca.pem"});
  {
    ScratchDir dir;
    make_a2a_repo(dir, "secure-svc", server.url("v1-stream", "https"), "over TLS");
    Outcome o =
        run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {{"SSL_CERT_FILE", d + "/ca.pem"}});
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    EXPECT_EQ(task_of(last_run(dir), "t")["output"], "done: over TLS");
  }
  {
    ScratchDir dir;  // the system store does not know the test's CA: refused
    make_a2a_repo(dir, "secure-svc", server.url("v1-stream", "https"), "over TLS");
    int sends = server.calls("SendStreamingMessage");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_NE(o.exit_code, 0);
    json attempt = first_attempt(last_run(dir));
    EXPECT_NE(attempt.value("error", "").find("agent card: "), std::string::npos) << attempt.dump();
    EXPECT_EQ(server.calls("SendStreamingMessage"), sends);
  }
}

// Gemini CLI's own A2A server (@google/gemini-cli-a2a-server, tests/a2a/gemini/,
// installed by scripts/setup-a2a), its model the rehearsal server (src/rehearse/) through
// GOOGLE_GEMINI_BASE_URL and a session key as GEMINI_API_KEY, offline. It ends every
// turn in input-required with no message: the task waits at the gate with what gemini
// said, the scripted model's text.
TEST(A2aTest, GeminiCliA2aServerAnswersFromTheRehearsalModel) {
  std::string dir = (fs::path(BATON_BINARY).parent_path() / "a2a-gemini").string();
  std::string main = dir + "/node_modules/@google/gemini-cli-a2a-server/dist/a2a-server.mjs";
  if (!fs::exists(main)) {
    ADD_FAILURE() << "Gemini CLI's A2A server is not installed: run scripts/setup-a2a";
    return;
  }
  auto script = rehearse::parse_script("fallback:\n  - text: \"scripted answer: 42\"\n", "s.yaml");
  ASSERT_TRUE(script) << script.error().message;
  auto model = rehearse::ModelServer::start(std::move(*script));
  ASSERT_TRUE(model) << model.error().message;
  ScratchDir home, workspace;
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  std::vector<std::string> env = {
      "PATH=" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
      "HOME=" + home.path(),
      // Gemini CLI's A2A server prints "0" for CODER_AGENT_PORT=0: a port free a
      // moment ago instead.
      "CODER_AGENT_PORT=" + std::to_string(free_port()),
      "CODER_AGENT_WORKSPACE_PATH=" + workspace.path(),
      "GEMINI_API_KEY=" + rehearse::session_api_key("t", "gemini", 1),
      "GOOGLE_GEMINI_BASE_URL=" + (*model)->base_url(), "GEMINI_YOLO_MODE=true",
      "GEMINI_FOLDER_TRUST=true", "NO_COLOR=1"};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = {"node", main};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addchdir_np(&fa, workspace.path().c_str());
  pid_t pid = -1;
  ASSERT_EQ(posix_spawnp(&pid, "node", &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  struct Reap {
    pid_t pid;
    int fd;
    ~Reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::close(fd);
    }
  } reap{pid, out[0]};
  // "[CoreAgent] Agent Server started on http://localhost:PORT" (it takes ~10 s to start).
  std::string seen, url;
  const std::string marker = "Agent Server started on ";
  char buf[4096];
  while (seen.size() < (1 << 20)) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
    size_t at = seen.find(marker);
    if (at != std::string::npos && seen.find('\n', at) != std::string::npos) {
      url = seen.substr(at + marker.size(), seen.find('\n', at) - at - marker.size());
      break;
    }
  }
  ASSERT_FALSE(url.empty()) << seen;
  // Keep reading its log so that it never blocks on a full pipe.
  std::thread([fd = out[0]] {
    char b[4096];
    while (::read(fd, b, sizeof b) > 0) {
    }
  }).detach();
  ScratchDir repo;
  make_a2a_repo(repo, "gemini-svc", url + "/", "say the answer");
  Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, repo.path(), {}, 120);
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
  json r = last_run(repo);
  EXPECT_EQ(task_of(r, "t")["reason"], "input required: scripted answer: 42") << r.dump();
  std::string log = read_file(first_attempt(r).value("log", ""));
  EXPECT_NE(log.find(R"("version":"0.3")"), std::string::npos) << log;
  bool asked_model = false;
  for (const rehearse::RequestRecord& rec : (*model)->requests()) {
    asked_model |= rec.protocol == "gemini" && rec.had_tools;
  }
  EXPECT_TRUE(asked_model);
}

}  // namespace
}  // namespace baton::testing
