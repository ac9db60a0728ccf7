// `baton serve` (issue 13) driven over HTTP on 127.0.0.1 with the built binary: auth,
// Host and Origin checks, bad input, the API's runs and actions, the SSE stream's
// replay and reset, its bounds, and runs that outlive the server.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "harness_util.h"
#include "serve/router.h"
#include "webhooks/test_receiver.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// `baton serve` on a free port of 127.0.0.1 in a project directory.
class Served {
 public:
  explicit Served(const ScratchDir& dir, std::vector<std::string> extra = {},
                  const std::map<std::string, std::string>& env = {})
      : dir_(dir) {
    std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<BatonProcess>(args, dir.path(), env);
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 3000 && port_ == 0; ++i) {  // at most 30 s
      std::smatch m;
      const std::string out = read_file(process_->stdout_path());
      if (std::regex_search(out, m, listening)) {
        port_ = std::stoi(m[1]);
        output_ = out;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_NE(port_, 0) << "baton serve did not start";
    token_ = dir.read(".baton/serve/token");
    while (!token_.empty() && token_.back() == '\n') token_.pop_back();
  }
  ~Served() {
    if (process_) {
      process_->signal(SIGTERM);
      process_->wait(30);
    }
  }
  void kill() {
    process_->signal(SIGKILL);
    process_->wait(30);
    process_.reset();
  }
  int port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& output() const { return output_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // A client with the bearer token (AUTH false: none).
  std::unique_ptr<httplib::Client> client(bool auth = true) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(60, 0);
    c->set_connection_timeout(10, 0);
    if (auth) c->set_bearer_token_auth(token_.c_str());
    return c;
  }

 private:
  const ScratchDir& dir_;
  std::unique_ptr<BatonProcess> process_;
  int port_ = 0;
  std::string token_;
  std::string output_;
};

json body_of(const httplib::Result& r) {
  if (!r) return json();
  return json::parse(r->body, nullptr, false);
}

// The run RUN_ID through the API, until PRED holds (at most 60 s; polled, as a client would).
template <typename Pred>
json wait_run(const Served& s, const std::string& run_id, Pred pred) {
  json run;
  for (int i = 0; i < 3000; ++i) {
    auto r = s.client()->Get("/api/v1/runs/" + run_id);
    run = body_of(r);
    if (r && r->status == 200 && pred(run)) return run;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "run " << run_id << " never reached the state: " << run.dump();
  return run;
}

// Reads the SSE stream at PATH (with LAST_EVENT_ID when not "") until STOP(events) holds
// or the stream ends; returns the messages as {id, event, data}.
std::vector<json> read_stream(const Served& s, const std::string& path,
                              const std::string& last_event_id,
                              const std::function<bool(const std::vector<json>&)>& stop,
                              std::atomic<bool>* opened = nullptr) {
  auto c = s.client();
  c->set_read_timeout(30, 0);
  httplib::Headers headers;
  if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
  std::string buffer;
  std::vector<json> messages;
  c->Get(path, headers, [&](const char* data, size_t n) {
    if (opened) *opened = true;  // the server sends `retry:` once it has subscribed
    buffer.append(data, n);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      std::string block = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      json m = {{"id", ""}, {"event", ""}, {"data", ""}};
      std::istringstream lines(block);
      std::string line;
      bool any = false;
      while (std::getline(lines, line)) {
        for (const char* field : {"id", "event", "data"}) {
          std::string prefix = std::string(field) + ": ";
          if (line.rfind(prefix, 0) == 0) {
            m[field] = line.substr(prefix.size());
            any = true;
          }
        }
      }
      if (any && (m["data"] != "" || m["event"] != "")) messages.push_back(m);
    }
    return !stop(messages);
  });
  return messages;
}

const char* kGateFlow = R"(name: gated
tasks:
  - id: build
    run: "printf 'line one\nline two\n'"
  - id: ship
    dependencies: [build]
    gate: {message: "ship it?"}
    run: "echo shipped"
)";

TEST(ServeTest, EveryRouteButHealthzTheDashboardAndTheSessionNeedsTheToken) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  Served s(dir);
  auto anonymous = s.client(false);
  for (const serve::RouteSpec& route : serve::routes()) {
    std::string path = route.path;
    for (const char* name : {"{run}", "{task}", "{attempt}", "{delivery}", "{name}"}) {
      const size_t at = path.find(name);
      if (at != std::string::npos) path.replace(at, std::strlen(name), "x1");
    }
    if (!route.actions.empty()) path.replace(path.find("{action}"), 8, route.actions[0]);
    auto r = std::string(route.method) == "GET" ? anonymous->Get(path)
                                                : anonymous->Post(path, "{}", "application/json");
    ASSERT_TRUE(r) << path;
    if (route.needs_auth) {
      EXPECT_EQ(r->status, 401) << path;
      EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json") << path;
      EXPECT_EQ(body_of(r)["status"], 401) << path;
    } else {
      EXPECT_NE(r->status, 401) << path;
    }
  }
  auto wrong = s.client(false);
  wrong->set_bearer_token_auth("not-the-token-at-all");
  EXPECT_EQ(wrong->Get("/api/v1/runs")->status, 401);
  EXPECT_EQ(s.client()->Get("/api/v1/runs")->status, 200);
  EXPECT_EQ(anonymous->Get("/healthz")->status, 200);
}

TEST(ServeTest, WrongHostOrOriginIsForbiddenEvenWithTheToken) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  Served s(dir);
  // DNS rebinding: another name that resolves to 127.0.0.1.
  auto r = s.client()->Get("/api/v1/runs", {{"Host", "evil.example:" + std::to_string(s.port())}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  r = s.client()->Get("/healthz", {{"Host", "evil.example"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(
      s.client()->Get("/api/v1/runs", {{"Host", "localhost:" + std::to_string(s.port())}})->status,
      200);
  // CSRF: a page of another origin posting with the user's cookie.
  r = s.client()->Post("/api/v1/runs", {{"Origin", "http://evil.example"}}, "{}",
                       "application/json");
  EXPECT_EQ(r->status, 403);
}

TEST(ServeTest, TheSessionCookieStandsInForTheTokenButChangesNeedOurOrigin) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  Served s(dir);
  auto c = s.client(false);
  auto bad = c->Post("/api/v1/session", json{{"token", "wrong"}}.dump(), "application/json");
  EXPECT_EQ(bad->status, 401);
  EXPECT_TRUE(bad->get_header_value("Set-Cookie").empty());
  auto ok = c->Post("/api/v1/session", json{{"token", s.token()}}.dump(), "application/json");
  ASSERT_EQ(ok->status, 204);
  const std::string set_cookie = ok->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(set_cookie.find(s.token()), std::string::npos) << "the cookie must not be the token";
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  EXPECT_EQ(c->Get("/api/v1/runs", {{"Cookie", cookie}})->status, 200);
  // A change with the cookie and no Origin is refused; with our Origin it reaches the
  // handler (which finds no such run).
  auto no_origin =
      c->Post("/api/v1/runs/nope/cancel", {{"Cookie", cookie}}, "", "application/json");
  EXPECT_EQ(no_origin->status, 403);
  auto ours =
      c->Post("/api/v1/runs/nope/cancel", {{"Cookie", cookie}, {"Origin", "http://" + s.host()}},
              "", "application/json");
  EXPECT_EQ(ours->status, 404);
}

TEST(ServeTest, BadInputGetsProblemDocumentsAndNothingOutsideBatonIsRead) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path()).exit_code, 5);
  const std::string run_id = last_run(dir)["id"];
  Served s(dir);
  auto c = s.client();
  auto expect_problem = [](const httplib::Result& r, int status, const std::string& what) {
    ASSERT_TRUE(r) << what;
    SCOPED_TRACE(what);
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json") << what;
    json p = json::parse(r->body, nullptr, false);
    EXPECT_EQ(p["status"], status) << what;
    EXPECT_TRUE(p["detail"].is_string()) << what;
  };
  expect_problem(c->Get("/api/v1/runs/nope"), 404, "unknown run");
  expect_problem(c->Get("/api/v1/runs/" + run_id + "/tasks/nope"), 404, "unknown task");
  // Traversal: a path that fits no route is 404, a parameter that is no id is 400.
  expect_problem(c->Get("/api/v1/runs/..%2F..%2Fetc/graph"), 404, "encoded traversal");
  expect_problem(c->Get("/api/v1/runs/" + run_id + "/tasks/..%2F..%2Fstate.db"), 404,
                 "task traversal");
  expect_problem(c->Get("/api/v1/runs/" + run_id + "/tasks/..%2Fstate.db"), 404, "one level");
  expect_problem(c->Get("/api/v1/runs/" + run_id + "/tasks/.."), 400, "dot-dot task");
  expect_problem(c->Get("/api/v1/runs/%2Eenv"), 400, "hidden name");
  expect_problem(c->Get("/api/v1/runs/" + run_id + "/tasks/build/attempts/1/log?offset=-1"), 400,
                 "negative offset");
  expect_problem(c->Get("/api/v1/runs/" + run_id + "/tasks/build/attempts/0/log"), 400,
                 "attempt 0");
  expect_problem(c->Get("/api/v1/runs?page_size=100000"), 400, "page size");
  expect_problem(c->Get("/api/v1/runs?page_token=Li4vLi4v"), 400, "forged page token");
  expect_problem(c->Get("/api/v1/runs?status=exploded"), 400, "status");
  expect_problem(c->Post("/api/v1/runs", "{not json", "application/json"), 400, "malformed");
  expect_problem(c->Post("/api/v1/runs", "[]", "application/json"), 400, "not an object");
  expect_problem(
      c->Post("/api/v1/runs", json{{"workflow", "../../etc/passwd"}}.dump(), "application/json"),
      400, "workflow outside the project");
  expect_problem(
      c->Post("/api/v1/runs", json{{"workflow", "/etc/passwd"}}.dump(), "application/json"), 400,
      "absolute workflow");
  expect_problem(c->Post("/api/v1/runs", std::string(2u << 20, ' '), "application/json"), 413,
                 "oversized body");
  expect_problem(
      c->Post("/api/v1/runs/" + run_id + "/tasks/build/approve", "{}", "application/json"), 409,
      "approve a task that is not waiting");
  expect_problem(c->Post("/api/v1/runs/" + run_id + "/tasks/ship/retry", "{}", "application/json"),
                 409, "retry a waiting task");
  // A log path in the store that points outside .baton/ is never read.
  git_sh(dir.path(),
         "sqlite3 .baton/state.db \"UPDATE attempts SET log_path = '/etc/passwd' "
         "WHERE task_id = 'build'\"");
  auto leak = c->Get("/api/v1/runs/" + run_id + "/tasks/build/attempts/1/log");
  ASSERT_TRUE(leak);
  EXPECT_EQ(leak->status, 404);
  EXPECT_EQ(leak->body.find("root:"), std::string::npos);
}

TEST(ServeTest, ARunStartedThroughTheApiIsStreamedApprovedAndReadBack) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  Served s(dir);
  auto c = s.client();
  // Subscribe first, then start the run: the stream sees every one of its events.
  std::vector<json> live;
  std::atomic<bool> opened{false};
  std::thread reader([&] {
    live = read_stream(
        s, "/api/v1/events", "",
        [](const std::vector<json>& m) {
          for (const auto& e : m) {
            auto d = json::parse(e["data"].get<std::string>(), nullptr, false);
            if (d.is_object() && d["kind"] == "run.finished") return true;
          }
          return false;
        },
        &opened);
  });
  for (int i = 0; i < 3000 && !opened; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(opened);
  auto created = c->Post("/api/v1/runs", {{"Idempotency-Key", "key-1"}},
                         json{{"workflow", "flow.yaml"}}.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string run_id = body_of(created)["id"];
  EXPECT_EQ(created->get_header_value("Location"), "/api/v1/runs/" + run_id);
  // The same key and body: the same run, never a second one; another body: 422.
  auto again = c->Post("/api/v1/runs", {{"Idempotency-Key", "key-1"}},
                       json{{"workflow", "flow.yaml"}}.dump(), "application/json");
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(body_of(again)["id"], run_id);
  auto other = c->Post("/api/v1/runs", {{"Idempotency-Key", "key-1"}},
                       json{{"workflow", "flow.yaml"}, {"inputs", json::object()}}.dump(),
                       "application/json");
  EXPECT_EQ(other->status, 422);

  json run = wait_run(s, run_id, [](const json& r) {
    for (const auto& t : r["tasks"]) {
      if (t["id"] == "ship" && t["status"] == "waiting") return true;
    }
    return false;
  });
  auto inbox = body_of(c->Get("/api/v1/approvals"));
  ASSERT_EQ(inbox["approvals"].size(), 1u) << inbox.dump();
  EXPECT_EQ(inbox["approvals"][0]["task_id"], "ship");
  EXPECT_EQ(inbox["approvals"][0]["reason"], "ship it?");

  // The log in byte ranges.
  auto log = c->Get("/api/v1/runs/" + run_id + "/tasks/build/attempts/1/log?offset=5&limit=3");
  ASSERT_EQ(log->status, 200);
  EXPECT_EQ(log->body, "one");
  EXPECT_EQ(log->get_header_value("X-Log-Size"), "18");
  EXPECT_EQ(log->get_header_value("X-Next-Offset"), "8");

  auto approved = c->Post("/api/v1/runs/" + run_id + "/tasks/ship/approve",
                          json{{"comment", "--looks good"}}.dump(), "application/json");
  ASSERT_TRUE(approved);
  EXPECT_TRUE(approved->status == 200 || approved->status == 202) << approved->body;
  run = wait_run(s, run_id, [](const json& r) { return r["status"] == "success"; });
  auto task = body_of(c->Get("/api/v1/runs/" + run_id + "/tasks/ship"));
  EXPECT_EQ(task["status"], "success");
  ASSERT_EQ(task["attempts"].size(), 1u);
  EXPECT_EQ(task["attempts"][0]["exit_code"], 0);
  auto graph = body_of(c->Get("/api/v1/runs/" + run_id + "/graph"));
  EXPECT_EQ(graph["nodes"].size(), 2u);
  EXPECT_EQ(graph["edges"], json::parse(R"([{"from":"build","to":"ship"}])"));
  reader.join();

  // The stream carried the run's events in order, each once, with ids increasing.
  std::vector<int64_t> seqs;
  int64_t last_id = 0;
  for (const auto& m : live) {
    auto d = json::parse(m["data"].get<std::string>(), nullptr, false);
    if (!d.is_object() || d["run_id"] != run_id) continue;
    EXPECT_EQ(std::to_string(d["id"].get<int64_t>()), m["id"]);
    EXPECT_GT(d["id"].get<int64_t>(), last_id);
    last_id = d["id"];
    seqs.push_back(d["seq"]);
  }
  ASSERT_FALSE(seqs.empty());
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
  auto stored = status_json(dir, run_id);
  EXPECT_EQ(stored["status"], "success");
}

TEST(ServeTest, StreamReplaysFromLastEventIdAndResetsWhenTheIdIsGone) {
  ScratchDir dir;
  make_flow_repo(dir, "name: one\ntasks:\n  - id: a\n    run: \"true\"\n");
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain"}, dir.path()).exit_code, 0);
  Served s(dir);
  // Every event of the run, from the start (id 0 is "from the start" only by replay: ask
  // for id 1 and expect 2..N).
  auto from_one = read_stream(s, "/api/v1/events", "1", [](const std::vector<json>& m) {
    for (const auto& e : m) {
      if (json::parse(e["data"].get<std::string>())["kind"] == "run.finished") return true;
    }
    return false;
  });
  ASSERT_FALSE(from_one.empty());
  EXPECT_EQ(from_one.front()["id"], "2");
  for (size_t i = 0; i < from_one.size(); ++i) {
    EXPECT_EQ(from_one[i]["id"], std::to_string(i + 2));
  }
  // An id the store does not have: `event: reset`, then live events from now.
  auto gone = read_stream(s, "/api/v1/events", "999999",
                          [](const std::vector<json>& m) { return !m.empty(); });
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]["event"], "reset");
  // A filtered stream replays only its run.
  auto none = read_stream(s, "/api/v1/events?run=other", "1",
                          [](const std::vector<json>& m) { return true; });
  EXPECT_TRUE(none.empty());
}

TEST(ServeTest, StreamsBeyondTheLimitGet503WithRetryAfter) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  Served s(dir, {"--max-sse-clients", "1"});
  std::atomic<bool> done{false};
  std::thread holder([&] {
    read_stream(s, "/api/v1/events", "", [&](const std::vector<json>&) { return done.load(); });
  });
  int status = 0;
  std::string retry_after;
  for (int i = 0; i < 500; ++i) {  // until the holder's stream is counted
    s.client()->Get(
        "/api/v1/events",
        [&](const httplib::Response& r) {
          status = r.status;
          retry_after = r.get_header_value("Retry-After");
          return false;  // never read a stream that was granted
        },
        [](const char*, size_t) { return true; });
    if (status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 503);
  EXPECT_EQ(retry_after, "5");
  done = true;
  // The holder's stream ends at its next keep-alive turn once the server stops.
  s.kill();
  holder.join();
}

TEST(ServeTest, CancelThroughTheApiStopsARunAndKillingTheServerStopsNone) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: slow
tasks:
  - id: slow
    run: "sleep 60"
  - id: quick
    run: "sleep 1"
)");
  auto s = std::make_unique<Served>(dir);
  auto created =
      s->client()->Post("/api/v1/runs", json{{"workflow", "flow.yaml"}}.dump(), "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string run_id = body_of(created)["id"];
  EXPECT_TRUE(body_of(created)["live"].get<bool>());
  // The server dies; the run goes on, and a new server shows it.
  s->kill();
  s = std::make_unique<Served>(dir);
  json run = wait_run(*s, run_id, [](const json& r) {
    for (const auto& t : r["tasks"]) {
      if (t["id"] == "quick" && t["status"] == "success") return true;
    }
    return false;
  });
  EXPECT_EQ(run["status"], "running");
  EXPECT_TRUE(run["live"].get<bool>());
  auto cancelled = s->client()->Post("/api/v1/runs/" + run_id + "/cancel", "", "application/json");
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 202) << cancelled->body;
  run = wait_run(*s, run_id, [](const json& r) { return r["status"] == "cancelled"; });
  EXPECT_FALSE(run["live"].get<bool>());
  auto twice = s->client()->Post("/api/v1/runs/" + run_id + "/cancel", "", "application/json");
  EXPECT_EQ(twice->status, 409);
}

TEST(ServeTest, MetricsCountTheStoreAndTheRequestsByRouteTemplateNeverById) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: counted
tasks:
  - id: first
    run: [true]
  - id: second
    run: [true]
    dependencies: [first]
)");
  Served s(dir);
  auto created =
      s.client()->Post("/api/v1/runs", json{{"workflow", "flow.yaml"}}.dump(), "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string run_id = body_of(created)["id"];
  wait_run(s, run_id, [](const json& r) { return r["status"] == "success"; });
  EXPECT_EQ(s.client(false)->Get("/metrics")->status, 401);
  // A request is counted once its answer is written (cpp-httplib's logger, on the
  // connection's own thread), which the client may see first: scrape until the 401 and
  // the run's reads are in (bounded).
  const std::string refused =
      "\nbaton_http_requests_total{route=\"/metrics\",method=\"GET\",code=\"401\"} 1\n";
  const std::string read_run =
      "\nbaton_http_requests_total{route=\"/api/v1/runs/{run}\",method=\"GET\",code=\"200\"} ";
  auto counted = [&](const httplib::Result& m) {
    return m->body.find(refused) != std::string::npos &&
           m->body.find(read_run) != std::string::npos;
  };
  httplib::Result metrics = s.client()->Get("/metrics");
  for (int i = 0; i < 250 && metrics && !counted(metrics); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    metrics = s.client()->Get("/metrics");
  }
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200) << metrics->body;
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics->body;
  EXPECT_NE(text.find("\nbaton_runs_finished_total{result=\"success\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nbaton_attempts_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbaton_workflow_last_success_timestamp_seconds{workflow=\"counted\"} "),
            std::string::npos);
  EXPECT_NE(text.find("\nbaton_http_requests_total{route=\"/api/v1/runs/{run}\",method=\"GET\","
                      "code=\"200\"} "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nbaton_http_requests_total{route=\"/metrics\",method=\"GET\",code="
                      "\"401\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nbaton_webhook_deliveries{status=\"pending\"} 0\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find(run_id), std::string::npos);
}

TEST(ServeTest, RunsListIsPagedWithAnOpaqueCursorAndFiltered) {
  ScratchDir dir;
  make_flow_repo(dir, "name: one\ntasks:\n  - id: a\n    run: \"true\"\n");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain"}, dir.path()).exit_code, 0);
  }
  Served s(dir);
  std::vector<std::string> ids;
  std::vector<double> created;
  std::string token;
  for (int page = 0; page < 5; ++page) {
    auto r = body_of(s.client()->Get("/api/v1/runs?page_size=2&page_token=" + token));
    for (const auto& run : r["runs"]) {
      ids.push_back(run["id"]);
      created.push_back(run["created_at"]);
      EXPECT_EQ(run["tasks_total"], 1);
      EXPECT_EQ(run["tasks_by_status"]["success"], 1);
      EXPECT_FALSE(run.contains("tasks")) << "the list has summary fields only";
    }
    token = r["next_page_token"];
    if (token.empty()) break;
  }
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_NE(ids[0], ids[2]);
  EXPECT_GE(created[0], created[1]);  // newest first
  EXPECT_GE(created[1], created[2]);
  auto failed = body_of(s.client()->Get("/api/v1/runs?status=failed"));
  EXPECT_TRUE(failed["runs"].empty());
  auto by_name = body_of(s.client()->Get("/api/v1/runs?workflow=one"));
  EXPECT_EQ(by_name["runs"].size(), 3u);
}

TEST(ServeTest, ANonLoopbackAddressNeedsATokenFile) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  Outcome o = run_baton({"serve", "--listen", "0.0.0.0:0"}, dir.path(), {}, 30);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--token-file"), std::string::npos) << o.err;
  EXPECT_FALSE(dir.exists(".baton/serve/token"));
}

TEST(ServeTest, TheTokenIsPrintedOnceAndKept0600) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  std::string token;
  {
    Served first(dir);
    token = first.token();
    EXPECT_NE(first.output().find("#token=" + token), std::string::npos) << first.output();
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/.baton/serve/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Served second(dir);
  EXPECT_EQ(second.token(), token);
  EXPECT_EQ(second.output().find(token), std::string::npos) << second.output();
}

TEST(ServeTest, PauseResumeRetryAndRejectThroughTheApi) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: steps
tasks:
  - id: first
    run: "sleep 2"
  - id: flaky
    dependencies: [first]
    run: "test -f marker"
  - id: gate
    dependencies: [flaky]
    gate: {message: "go?"}
    run: "echo go"
)");
  Served s(dir);
  auto c = s.client();
  auto created =
      c->Post("/api/v1/runs", json{{"workflow", "flow.yaml"}}.dump(), "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string run_id = body_of(created)["id"];
  // Pause: the running task finishes, nothing new starts, the run is paused.
  auto paused = c->Post("/api/v1/runs/" + run_id + "/pause", "", "application/json");
  ASSERT_EQ(paused->status, 202) << paused->body;
  json run = wait_run(s, run_id, [](const json& r) { return r["status"] == "paused"; });
  EXPECT_TRUE(run["tasks"][1]["status"] == "pending" || run["tasks"][1]["status"] == "ready")
      << run.dump();
  EXPECT_EQ(c->Post("/api/v1/runs/" + run_id + "/pause", "", "application/json")->status, 409);
  // Resume: flaky fails (no marker), the run fails.
  auto resumed = c->Post("/api/v1/runs/" + run_id + "/resume", "", "application/json");
  ASSERT_EQ(resumed->status, 202) << resumed->body;
  run = wait_run(s, run_id, [](const json& r) { return r["status"] == "failed"; });
  EXPECT_EQ(run["tasks"][1]["status"], "failed");
  // Retry with the cause fixed: the run continues to the gate.
  dir.write("marker", "");
  auto retried = c->Post("/api/v1/runs/" + run_id + "/tasks/flaky/retry",
                         json{{"include_downstream", true}}.dump(), "application/json");
  ASSERT_EQ(retried->status, 202) << retried->body;
  run = wait_run(s, run_id, [](const json& r) { return r["tasks"][2]["status"] == "waiting"; });
  EXPECT_EQ(run["tasks"][1]["status"], "success");
  EXPECT_EQ(run["tasks"][1]["attempts"], 2);
  // Reject with a reason: the gate fails with it, the run fails.
  auto rejected = c->Post("/api/v1/runs/" + run_id + "/tasks/gate/reject",
                          json{{"comment", "not today"}}.dump(), "application/json");
  ASSERT_TRUE(rejected);
  EXPECT_TRUE(rejected->status == 200 || rejected->status == 202) << rejected->body;
  run = wait_run(s, run_id, [](const json& r) { return r["status"] == "failed"; });
  EXPECT_EQ(run["tasks"][2]["status"], "failed");
  EXPECT_NE(run["tasks"][2]["reason"].get<std::string>().find("not today"), std::string::npos)
      << run.dump();
  EXPECT_TRUE(body_of(c->Get("/api/v1/approvals"))["approvals"].empty());
}

TEST(ServeTest, AnInlineWorkflowWithInputsRunsAndAnInvalidOneIsA400WithItsErrors) {
  ScratchDir dir;
  make_flow_repo(dir, kGateFlow);
  Served s(dir);
  auto c = s.client();
  const std::string text = R"(name: inline
inputs:
  who: {required: true}
tasks:
  - id: hello
    run: ["printf", "%s", "${inputs.who}"]
)";
  auto created = c->Post(
      "/api/v1/runs", json{{"workflow_text", text}, {"inputs", {{"who", "-n; rm -rf /"}}}}.dump(),
      "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string run_id = body_of(created)["id"];
  wait_run(s, run_id, [](const json& r) { return r["status"] == "success"; });
  auto task = body_of(c->Get("/api/v1/runs/" + run_id + "/tasks/hello"));
  EXPECT_EQ(task["output"], "-n; rm -rf /");  // a value, never an option or shell code
  auto bad = c->Post("/api/v1/runs", json{{"workflow_text", "name: x\ntasks: 3\n"}}.dump(),
                     "application/json");
  ASSERT_EQ(bad->status, 400);
  EXPECT_NE(body_of(bad)["detail"].get<std::string>().find("tasks"), std::string::npos)
      << bad->body;
}

TEST(ServeTest, WebhookDeliveriesAreListedAndRedeliveredAndTheServerSendsThem) {
  ScratchDir dir;
  make_flow_repo(dir, "name: hooks\ntasks:\n  - id: broken\n    run: \"exit 3\"\n");
  std::atomic<bool> up{false};
  webhooks::testing::Receiver receiver(
      [&](const httplib::Request&, httplib::Response& res) { res.status = up ? 204 : 503; });
  const std::map<std::string, std::string> env = {
      {"BATON_TEST_HOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}};
  dir.write(".baton/config.yaml", "webhooks:\n  - url: " + receiver.url() +
                                      "\n    secret: {env: BATON_TEST_HOOK_SECRET}\n");
  // The run's own sender meets a 503 for each: they stay pending, backed off.
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain"}, dir.path(), env).exit_code, 1);
  Served s(dir, {}, env);
  auto c = s.client();
  auto pending = body_of(c->Get("/api/v1/webhooks/deliveries?status=pending"));
  ASSERT_EQ(pending["deliveries"].size(), 3u) << pending.dump();  // started, task and run failed
  for (const auto& d : pending["deliveries"]) EXPECT_EQ(d["last_status_code"], 503) << d.dump();
  EXPECT_EQ(c->Get("/api/v1/webhooks/deliveries?status=lost")->status, 400);
  EXPECT_EQ(c->Get("/api/v1/webhooks/deliveries?page_token=x")->status, 400);
  EXPECT_EQ(c->Post("/api/v1/webhooks/deliveries/999999/redeliver", "", "application/json")->status,
            404);
  // The receiver is back: Redeliver makes each due now, and the server's sender sends it.
  up = true;
  for (const auto& d : pending["deliveries"]) {
    auto r = c->Post("/api/v1/webhooks/deliveries/" + d["id"].get<std::string>() + "/redeliver", "",
                     "application/json");
    ASSERT_EQ(r->status, 202) << r->body;
    EXPECT_EQ(body_of(r)["status"], "pending");
  }
  json delivered;
  for (int i = 0; i < 3000; ++i) {
    delivered = body_of(c->Get("/api/v1/webhooks/deliveries?status=delivered"));
    if (delivered["deliveries"].size() == 3u) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(delivered["deliveries"].size(), 3u) << delivered.dump();
  EXPECT_GE(receiver.received().size(), 6u);  // 3 refused by the run, 3 sent by the server
}

TEST(ServeTest, TheGraphOfAWorkflowWithAgentsAndRolesHasItsEdges) {
  ScratchDir dir;
  make_flow_repo(dir, R"(name: agents
tasks:
  - id: plan
    agent: planner
    description: "plan it"
    condition: "${1 == 2}"
  - id: build
    run: "true"
    dependencies: [plan]
)");
  dir.write(".baton/config.yaml", "agents:\n  planner: {use: [claude]}\n");
  run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  const std::string run_id = last_run(dir)["id"];
  Served s(dir);
  auto graph = body_of(s.client()->Get("/api/v1/runs/" + run_id + "/graph"));
  EXPECT_EQ(graph["edges"], json::parse(R"([{"from":"plan","to":"build"}])")) << graph.dump();
  EXPECT_EQ(graph["note"], "");
  // The edges are the run's own, recorded as it started: the workflow file may change
  // or go.
  dir.write("flow.yaml", "name: agents\ntasks:\n  - id: build\n    run: \"true\"\n");
  graph = body_of(s.client()->Get("/api/v1/runs/" + run_id + "/graph"));
  EXPECT_EQ(graph["edges"], json::parse(R"([{"from":"plan","to":"build"}])")) << graph.dump();
  EXPECT_EQ(graph["note"], "");
  // A run recorded before dependencies were (schema v4): the file's edges, and a note
  // when the file does not load.
  git_sh(dir.path(), "sqlite3 .baton/state.db \"UPDATE tasks SET dependencies = NULL\"");
  graph = body_of(s.client()->Get("/api/v1/runs/" + run_id + "/graph"));
  EXPECT_TRUE(graph["edges"].empty());  // the rewritten file has no edge
  EXPECT_NE(graph["note"].get<std::string>().find("changed since the run started"),
            std::string::npos)
      << graph.dump();
  std::filesystem::remove(dir.path() + "/flow.yaml");
  graph = body_of(s.client()->Get("/api/v1/runs/" + run_id + "/graph"));
  EXPECT_TRUE(graph["edges"].empty());
  EXPECT_NE(graph["note"].get<std::string>().find("does not load"), std::string::npos)
      << graph.dump();
  EXPECT_EQ(graph["nodes"].size(), 2u);
}

}  // namespace
}  // namespace baton::testing
