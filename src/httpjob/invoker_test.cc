#include "httpjob/invoker.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace baton::httpjob
