#include "httpjob/invoker.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <thread>

namespace baton::httpjob {
namespace {

TEST(HttpJobInvokerTest, CurrentStepIsTheLastStatus) {
  std::string log =
      "{\"httpjob\":\"start\",\"pid\":1,\"profile\":\"crewai\",\"url\":\"http://h\"}\n"
      "{\"detail\":\"\",\"httpjob\":\"status\",\"state\":\"pending\",\"status\":\"queued\"}\n"
      "{\"detail\":\"research_task\",\"httpjob\":\"status\",\"state\":\"running\","
      "\"status\":\"running\"}\n";
  EXPECT_EQ(current_step(log), "running: research_task");
  EXPECT_EQ(current_step(log.substr(log.size() - 40)), "");  // a cut line is not guessed
  EXPECT_EQ(current_step("{\"httpjob\":\"start\"}\n"), "");
  EXPECT_EQ(current_step("{\"detail\":\"" + std::string(300, 'x') +
                         "\",\"httpjob\":\"status\",\"status\":\"running\"}"),
            "running: " + std::string(108, 'x') + "...");
}

TEST(HttpJobInvokerTest, BadDeclarationsAreRefused) {
  EXPECT_EQ(make_http_job_invoker("g", {"langgraph", "http://h", "", "", "", ""}).error().message,
            "custom agent 'g': http_job.assistant_id is required by the langgraph profile");
  EXPECT_EQ(make_http_job_invoker("c", {"crewai", "https://h", "", "", "", ""}).error().message,
            "custom agent 'c': http_job.url must be an http:// URL, not 'https://h'");
  auto crew = make_http_job_invoker("c", {"crewai", "http://h", "", "topic", "", "CREW_TOKEN"});
  ASSERT_TRUE(crew);
  agents::Invocation inv;
  inv.prompt = "research $(rm -rf /)";
  agents::Command cmd = (*crew)->build_command(inv);
  // The prompt goes on stdin, never into argv.
  EXPECT_EQ(cmd.stdin_data, "research $(rm -rf /)");
  std::vector<std::string> tail(cmd.argv.begin() + 1, cmd.argv.end());
  EXPECT_EQ(tail,
            (std::vector<std::string>{"__http-job", "--profile", "crewai", "--url", "http://h",
                                      "--input-key", "topic", "--auth-env", "CREW_TOKEN"}));
}

TEST(HttpJobInvokerTest, TheIdempotencyKeyIsPassedOn) {
  auto graph = make_http_job_invoker("g", {"langgraph", "http://h", "echo", "", "", ""});
  ASSERT_TRUE(graph);
  agents::Invocation inv;
  inv.idempotency_key = "baton-r1-t-2";
  agents::Command cmd = (*graph)->build_command(inv);
  ASSERT_GE(cmd.argv.size(), 2u);
  EXPECT_EQ(cmd.argv[cmd.argv.size() - 2], "--key");
  EXPECT_EQ(cmd.argv.back(), "baton-r1-t-2");
}

// A CrewAI-shaped server on 127.0.0.1: GET /inputs answers 200 with the bearer token
// crew-token, else 401.
class CrewHealthServer {
 public:
  CrewHealthServer() {
    server_.Get("/inputs", [](const httplib::Request& req, httplib::Response& res) {
      bool ok = req.get_header_value("Authorization") == "Bearer crew-token";
      res.status = ok ? 200 : 401;
      res.set_content(ok ? R"({"inputs":["prompt"]})" : "{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib has no "listening" event (stop() is a no-op before it runs); the socket
    // already listens, so this only waits for the accept loop, bounded.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
  }
  ~CrewHealthServer() { stop(); }
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST(HttpJobInvokerTest, HealthIsTheProfilesHealthCall) {
  CrewHealthServer server;
  auto crew = make_http_job_invoker("c", {"crewai", server.url(), "", "", "", "BATON_T_CREW"});
  ASSERT_TRUE(crew);
  ::unsetenv("BATON_T_CREW");
  agents::Health unset = (*crew)->health(2);
  EXPECT_FALSE(unset.healthy);
  EXPECT_EQ(unset.detail, "the environment variable BATON_T_CREW (auth.env) is not set");
  ::setenv("BATON_T_CREW", "wrong", 1);
  agents::Health refused = (*crew)->health(2);
  EXPECT_FALSE(refused.healthy);
  EXPECT_EQ(refused.detail, "GET /inputs: HTTP 401");
  ::setenv("BATON_T_CREW", "crew-token", 1);
  agents::Health up = (*crew)->health(2);
  EXPECT_TRUE(up.healthy) << up.detail;
  EXPECT_EQ(up.detail, "GET /inputs: HTTP 200");
  // Stopped: nothing listens on the port any more.
  server.stop();
  agents::Health down = (*crew)->health(2);
  EXPECT_FALSE(down.healthy);
  EXPECT_EQ(down.detail.rfind("GET /inputs failed: ", 0), 0u) << down.detail;
  ::unsetenv("BATON_T_CREW");
}

TEST(HttpJobInvokerTest, HealthOfAStoppedLangGraphServerIsUnhealthy) {
  std::string url;
  {
    CrewHealthServer gone;  // a port that was free, now closed
    url = gone.url();
  }
  auto graph = make_http_job_invoker("g", {"langgraph", url, "echo", "", "", ""});
  ASSERT_TRUE(graph);
  agents::Health down = (*graph)->health(2);
  EXPECT_FALSE(down.healthy);
  EXPECT_EQ(down.detail.rfind("GET /ok failed: ", 0), 0u) << down.detail;
}

}  // namespace
}  // namespace baton::httpjob
