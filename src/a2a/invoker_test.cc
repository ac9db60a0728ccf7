#include "a2a/invoker.h"

#include <gtest/gtest.h>

namespace baton::a2a {
namespace {

TEST(A2aInvokerTest, CommandNamesTheSecretByVariableOnly) {
  auto inv = make_a2a_invoker("svc", {"http://127.0.0.1:1/", "TOKEN_VAR", "", ""});
  ASSERT_TRUE(inv);
  agents::Invocation in;
  in.prompt = "review";
  in.workdir = "/w";
  agents::Command cmd = (*inv)->build_command(in);
  std::vector<std::string> tail(cmd.argv.begin() + 1, cmd.argv.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"__a2a-client", "--url", "http://127.0.0.1:1/", "--cwd",
                                            "/w", "--bearer-env", "TOKEN_VAR"}));
  EXPECT_EQ(cmd.stdin_data, "review");
  EXPECT_FALSE(make_a2a_invoker("svc", {"ftp://x/", "", "", ""}));
  EXPECT_FALSE(make_a2a_invoker("svc", {"http://x/", "", "X-Key", ""}));
}

TEST(A2aInvokerTest, TheIdempotencyKeyIsTheMessageId) {
  auto inv = make_a2a_invoker("svc", {"http://127.0.0.1:1/", "", "", ""});
  ASSERT_TRUE(inv);
  agents::Invocation in;
  in.idempotency_key = "baton-r1-t-2";
  agents::Command cmd = (*inv)->build_command(in);
  std::vector<std::string> tail(cmd.argv.end() - 2, cmd.argv.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"--message-id", "baton-r1-t-2"}));
}

TEST(A2aInvokerTest, HealthOfAnAgentNobodyServesIsUnhealthyWithTheReason) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  auto inv = make_a2a_invoker("svc", {"http://127.0.0.1:1/", "", "", ""});
  ASSERT_TRUE(inv);
  agents::Health h = (*inv)->health(2);
  EXPECT_FALSE(h.healthy);
  EXPECT_NE(h.detail.find("agent card: "), std::string::npos) << h.detail;
  auto keyed = make_a2a_invoker("svc", {"http://127.0.0.1:1/", "A2A_UNSET_HEALTH_TOKEN", "", ""});
  ASSERT_TRUE(keyed);
  h = (*keyed)->health(2);
  EXPECT_FALSE(h.healthy);
  EXPECT_NE(h.detail.find("A2A_UNSET_HEALTH_TOKEN"), std::string::npos) << h.detail;
}

TEST(A2aInvokerTest, ParseReadsTheFinalLine) {
  auto inv = make_a2a_invoker("svc", {"http://127.0.0.1:1/", "", "", ""});
  ASSERT_TRUE(inv);
  exec::ProcessResult p;
  p.stdout_text =
      "{\"a2a\":\"start\"}\n{\"a2a\":\"task\",\"id\":\"T\"}\n"
      "{\"a2a\":\"result\",\"success\":true,\"text\":\"looks good\"}\n";
  agents::AgentResult r = (*inv)->parse(p);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.text, "looks good");
  p.stdout_text =
      "{\"a2a\":\"result\",\"success\":false,\"error_class\":\"auth\",\"error\":\"HTTP 401\"}\n";
  p.status.kind = exec::ExitStatus::Kind::kExited;
  p.status.code = 1;
  r = (*inv)->parse(p);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, agents::ErrorClass::kAuth);
  EXPECT_EQ(r.error, "HTTP 401");
  // baton's cancel (a SIGTERM, like a timeout): the supervisor tells which it was.
  p.stdout_text =
      "{\"a2a\":\"result\",\"success\":false,\"error_class\":\"permanent\","
      "\"error\":\"the remote task ended canceled\"}\n";
  p.status.kind = exec::ExitStatus::Kind::kCancelled;
  r = (*inv)->parse(p);
  EXPECT_EQ(r.error_class, agents::ErrorClass::kCancelled);
  p.status.kind = exec::ExitStatus::Kind::kTimedOut;
  r = (*inv)->parse(p);
  EXPECT_EQ(r.error_class, agents::ErrorClass::kTimeout);
  // Killed before its end: transient, so that a retry re-attaches.
  p.stdout_text = "{\"a2a\":\"start\"}\n{\"a2a\":\"task\",\"id\":\"T\"}\n";
  p.status.kind = exec::ExitStatus::Kind::kSignaled;
  p.status.signal = 9;
  r = (*inv)->parse(p);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, agents::ErrorClass::kTransient);
}

TEST(A2aInvokerTest, CurrentStepIsTheLastStateLogged) {
  EXPECT_EQ(current_step(""), "");
  EXPECT_EQ(current_step("al\"}\n{\"a2a\":\"task\",\"id\":\"T\"}\n"), "");
  EXPECT_EQ(
      current_step("{\"a2a\":\"status\",\"state\":\"submitted\",\"text\":\"\"}\n"
                   "{\"a2a\":\"status\",\"state\":\"working\",\"text\":\"reading\\nmain.c\"}\n"
                   "{\"a2a\":\"artifact\",\"id\":\"a\",\"parts\":1}\n"),
      "working: reading main.c");
  EXPECT_EQ(current_step("{\"a2a\":\"status\",\"state\":"), "");  // cut mid-line
}

}  // namespace
}  // namespace baton::a2a
