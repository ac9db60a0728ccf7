// Output parsers of Gemini CLI, Qwen Code, opencode, Kilo, Copilot, Auggie and
// Cursor against real recorded output (../shared/agent-samples), their traps, and
// their command lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "agents/invoker.h"
#include "agents/output_parsing.h"
#include "agents/test_util.h"

namespace baton::agents {
namespace {

using testing::exited;
using testing::get;
using testing::sample;

exec::ProcessResult timed_out(std::string out) {
  exec::ProcessResult r = exited(0, std::move(out));
  r.status.kind = exec::ExitStatus::Kind::kTimedOut;
  r.status.signal = 15;
  r.status.timeout_s = 30;
  return r;
}

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

// The value after FLAG in ARGV, or "".
std::string after(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

Invocation invocation(std::string prompt = "write hello.txt") {
  Invocation inv;
  inv.prompt = std::move(prompt);
  inv.workdir = "/work/repo";
  return inv;
}

// --- Gemini CLI -----------------------------------------------------------------

TEST(GeminiTest, JsonSuccessCountsEveryModelsTokens) {
  AgentResult r = get("gemini").parse(exited(0, sample("gemini_json_success.json")));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "455bdf7a-ac3d-4c57-b33c-b761cb8e99a6");
  EXPECT_EQ(r.usage.input_tokens, 300);  // the router's request is billed too
  EXPECT_EQ(r.usage.output_tokens, 60);
  EXPECT_EQ(r.usage.cached_tokens, 0);
  EXPECT_EQ(r.num_turns, 2);  // the main role's requests, not the router's
  EXPECT_FALSE(r.cost_usd.has_value());
  EXPECT_EQ(r.error_class, ErrorClass::kNone);
}

TEST(GeminiTest, StreamJsonSuccess) {
  AgentResult r = get("gemini").parse(exited(0, sample("gemini_stream_json_success.jsonl")));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "309acb53-5622-49b0-8199-36a38d45736b");
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_EQ(r.num_turns, 2);
}

TEST(GeminiTest, ServerErrorOnStderrWithExit244IsTransient) {
  AgentResult r = get("gemini").parse(exited(244, "", sample("gemini_json_500_stderr.txt")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_EQ(r.error, "gemini: API error 500: mock injected 500");
  EXPECT_EQ(r.session_id, "c4fda423-01ac-44ab-a75a-7232203cc7a0");
}

TEST(GeminiTest, ExitCodeIsTheHttpStatusModulo256) {
  // 429 -> 173 with nothing parseable on stderr: the exit code alone decides.
  AgentResult r = get("gemini").parse(exited(173, "", "Attempt 10 failed. Max attempts\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit) << r.error;
  EXPECT_NE(r.error.find("API error 429"), std::string::npos) << r.error;
  // 401 -> 145.
  r = get("gemini").parse(exited(145, ""));
  EXPECT_EQ(r.error_class, ErrorClass::kAuth) << r.error;
}

TEST(GeminiTest, RateLimitReportOnStderr) {
  std::string err =
      "Attempt 1 failed with status 429.\n{\n  \"session_id\": \"s9\",\n  \"error\": {\n"
      "    \"type\": \"Error\",\n    \"message\": \"{\\\"error\\\":{\\\"code\\\":429,"
      "\\\"message\\\":\\\"slow down\\\",\\\"status\\\":\\\"RESOURCE_EXHAUSTED\\\"}}\",\n"
      "    \"code\": 429\n  }\n}\n";
  AgentResult r = get("gemini").parse(exited(173, "", err));
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit) << r.error;
  EXPECT_EQ(r.error, "gemini: API error 429: slow down");
  EXPECT_EQ(r.session_id, "s9");
}

TEST(GeminiTest, UntrustedFolderExit55IsPermanentAndSaysWhy) {
  AgentResult r = get("gemini").parse(exited(55, "", sample("gemini_untrusted_dir_stderr.txt")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
  EXPECT_NE(r.error.find("not trusted"), std::string::npos) << r.error;
}

TEST(GeminiTest, AuthenticationExit41) {
  AgentResult r = get("gemini").parse(exited(41, "", "Please set an Auth method\n"));
  EXPECT_EQ(r.error_class, ErrorClass::kAuth) << r.error;
}

TEST(GeminiTest, TimedOutWithPartialOutput) {
  AgentResult r = get("gemini").parse(timed_out("{\"type\":\"init\",\"session_id\":\"x\"}\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTimeout);
}

TEST(GeminiTest, CommandReadsThePromptFromStdinAndSkipsTrust) {
  Invocation inv = invocation();
  inv.model = "gemini-x";
  Command c = get("gemini").build_command(inv);
  std::vector<std::string> want = {"gemini", "--output-format", "json", "--yolo", "--skip-trust",
                                   "-m",     "gemini-x"};
  EXPECT_EQ(c.argv, want);
  EXPECT_EQ(c.stdin_data, std::optional<std::string>("write hello.txt"));
  inv.resume_session_id = "abc";
  EXPECT_EQ(after(get("gemini").build_command(inv).argv, "--resume"), "abc");
}

// --- Qwen Code ------------------------------------------------------------------

TEST(QwenTest, JsonArraySuccess) {
  AgentResult r = get("qwen").parse(exited(0, sample("qwen_json_success_array.json")));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "6122605a-1aef-4c4d-918f-4ddcb1efac59");
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_EQ(r.num_turns, 2);
  EXPECT_FALSE(r.cost_usd.has_value());
}

TEST(QwenTest, StreamJsonSuccess) {
  AgentResult r = get("qwen").parse(exited(0, sample("qwen_stream_json_success.jsonl")));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "4ede3697-a641-4bea-a74c-f85420b4bcd5");
  EXPECT_EQ(r.usage.output_tokens, 40);
}

TEST(QwenTest, ApiErrorReportedAsSuccessWithExitZeroIsATransientFailure) {
  AgentResult r = get("qwen").parse(exited(0, sample("qwen_json_500_reported_as_success.json")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_EQ(r.error, "[API Error: 500 mock injected 500]");
  EXPECT_EQ(r.session_id, "86b13e3d-03bd-40d4-8611-49a4570fbb70");
}

TEST(QwenTest, ApiError429IsARateLimit) {
  std::string out =
      "[{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"session_id\":\"q\","
      "\"result\":\"[API Error: 429 Too many requests, please slow down]\"}]";
  AgentResult r = get("qwen").parse(exited(0, out));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit) << r.error;
}

TEST(QwenTest, PermissionDenialIsAFailure) {
  std::string out =
      "[{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"ok\","
      "\"permission_denials\":[{\"tool_name\":\"write_file\"}]}]";
  AgentResult r = get("qwen").parse(exited(0, out));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error, "permission denied for write_file");
}

TEST(QwenTest, NothingOnStdoutNamesStderr) {
  AgentResult r = get("qwen").parse(exited(1, "", "Error: 401 Incorrect API key provided\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kAuth) << r.error;
}

TEST(QwenTest, CommandReadsThePromptFromStdin) {
  Invocation inv = invocation();
  inv.max_turns = 7;
  Command c = get("qwen").build_command(inv);
  EXPECT_EQ(c.argv[0], "qwen");
  EXPECT_EQ(after(c.argv, "--output-format"), "json");
  EXPECT_TRUE(has(c.argv, "--yolo"));
  EXPECT_EQ(after(c.argv, "--max-session-turns"), "7");
  EXPECT_FALSE(has(c.argv, "write hello.txt"));
  EXPECT_EQ(c.stdin_data, std::optional<std::string>("write hello.txt"));
}

// --- opencode and Kilo ----------------------------------------------------------

TEST(OpencodeTest, WriteSuccessSumsStepsAndTakesTheLastText) {
  AgentResult r = get("opencode").parse(exited(0, sample("opencode_write.jsonl")));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "ses_df58c722bffeTwBPbi5JFZd1aQ");
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_EQ(r.num_turns, 2);
  ASSERT_TRUE(r.cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*r.cost_usd, 0.0);
}

TEST(OpencodeTest, ApiErrorLineIsATransientFailure) {
  AgentResult r = get("opencode").parse(exited(1, sample("opencode_fail500.jsonl")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_EQ(r.error, "opencode: APIError: mock injected 500");
  EXPECT_EQ(r.session_id, "ses_df58c5042ffee1jwHnCNbOzEV0");
}

TEST(OpencodeTest, PermissionRejectedWithExitZeroIsAFailure) {
  AgentResult r = get("opencode").parse(exited(0, sample("opencode_external_dir_rejected.jsonl")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
  EXPECT_EQ(r.error, "permission rejected for write");
}

TEST(OpencodeTest, ExitZeroWithoutEventsIsAFailure) {
  AgentResult r = get("opencode").parse(exited(0, "", "some log line\n"));
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("printed no events"), std::string::npos) << r.error;
}

TEST(OpencodeTest, CommandPassesThePromptAfterDoubleDash) {
  Invocation inv = invocation("-starts with a dash");
  inv.model = "rehearse/m";
  inv.resume_session_id = "ses_1";
  Command c = get("opencode").build_command(inv);
  std::vector<std::string> want = {"opencode", "run", "--format",           "json",
                                   "--auto",   "-m",  "rehearse/m",         "-s",
                                   "ses_1",    "--",  "-starts with a dash"};
  EXPECT_EQ(c.argv, want);
  EXPECT_FALSE(c.stdin_data.has_value());
}

TEST(KiloTest, WriteSuccess) {
  AgentResult r = get("kilocode").parse(exited(0, sample("kilo_write.jsonl")));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "ses_df589aeffffew1iUBYsvm49LTd");
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.num_turns, 2);
}

TEST(KiloTest, ServerErrorIsTransient) {
  AgentResult r = get("kilocode").parse(exited(1, sample("kilo_fail500.jsonl")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
}

TEST(KiloTest, BashRejectedWithoutAutoIsAPermanentFailure) {
  AgentResult r = get("kilocode").parse(exited(1, sample("kilo_bash_noperm_rejected.jsonl")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent) << r.error;
  EXPECT_NE(r.error.find("pass --auto"), std::string::npos) << r.error;
}

TEST(KiloTest, RunsTheKiloExecutableWithAuto) {
  EXPECT_EQ(get("kilocode").executable(), "kilo");
  Command c = get("kilocode").build_command(invocation());
  EXPECT_EQ(c.argv[0], "kilo");
  EXPECT_EQ(c.argv[1], "run");
  EXPECT_TRUE(has(c.argv, "--auto"));
  EXPECT_EQ(c.argv.back(), "write hello.txt");
}

// --- GitHub Copilot CLI ---------------------------------------------------------

TEST(CopilotTest, CreateSuccess) {
  AgentResult r = get("copilot").parse(exited(0, sample("copilot_create.jsonl")));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "7b7f191f-0176-4ab0-9ad9-b138e3ecc272");
  EXPECT_EQ(r.num_turns, 2);
  EXPECT_FALSE(r.cost_usd.has_value());
}

TEST(CopilotTest, SessionErrorAfterRetriesIsTransient) {
  AgentResult r = get("copilot").parse(exited(1, sample("copilot_fail500.jsonl")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_NE(r.error.find("Last error: 500 mock injected 500"), std::string::npos) << r.error;
  EXPECT_EQ(r.session_id, "eff87cbd-3d87-4f81-9336-0eca245fd5da");
}

TEST(CopilotTest, DeniedToolWithExitZeroIsAFailure) {
  AgentResult r =
      get("copilot").parse(exited(0, sample("copilot_no_allow_all_tools_denied.jsonl")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
  EXPECT_EQ(r.error, "permission denied for create");
}

TEST(CopilotTest, TextModeOutputIsNotAResult) {
  AgentResult r = get("copilot").parse(exited(0, sample("copilot_text_silent.stdout")));
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("no result event"), std::string::npos) << r.error;
}

TEST(CopilotTest, CommandAllowsAllToolsAndJoinsThePromptToItsOption) {
  Command c = get("copilot").build_command(invocation("- a list item first"));
  EXPECT_EQ(c.argv[0], "copilot");
  EXPECT_TRUE(has(c.argv, "--allow-all-tools"));
  EXPECT_TRUE(has(c.argv, "--no-ask-user"));
  EXPECT_EQ(after(c.argv, "--output-format"), "json");
  EXPECT_EQ(c.argv.back(), "--prompt=- a list item first");
  EXPECT_FALSE(c.stdin_data.has_value());
}

// --- Auggie and Cursor: documented formats only --------------------------------

TEST(AuggieTest, NoAuthIsAnAuthFailure) {
  AgentResult r = get("auggie").parse(exited(1, "", sample("auggie_noauth.stderr")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kAuth) << r.error;
}

TEST(AuggieTest, JsonResultWithCostInUsd) {
  std::string out =
      "{\"type\":\"result\",\"result\":\"done\",\"is_error\":false,\"subtype\":\"success\","
      "\"session_id\":\"a1\",\"num_turns\":2,\"request_id\":\"r\",\"billing\":{\"usage_unit\":"
      "\"usd\",\"total_cost\":0.25,\"parent_cost\":0.25,\"sub_agent_cost\":null}}\n";
  AgentResult r = get("auggie").parse(exited(0, out));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "a1");
  EXPECT_EQ(r.num_turns, 2);
  ASSERT_TRUE(r.cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*r.cost_usd, 0.25);
}

TEST(AuggieTest, CreditsAreNotDollarsAndIsErrorFails) {
  std::string out =
      "{\"type\":\"result\",\"result\":\"Rate limit exceeded\",\"is_error\":true,"
      "\"billing\":{\"usage_unit\":\"credits\",\"total_cost\":3}}";
  AgentResult r = get("auggie").parse(exited(1, out));
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(r.cost_usd.has_value());
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit) << r.error;
}

TEST(AuggieTest, CommandPrintsJsonInTheWorkdir) {
  Invocation inv = invocation();
  inv.max_turns = 3;
  Command c = get("auggie").build_command(inv);
  EXPECT_EQ(c.argv[0], "auggie");
  EXPECT_TRUE(has(c.argv, "--print"));
  EXPECT_EQ(after(c.argv, "--output-format"), "json");
  EXPECT_EQ(after(c.argv, "-w"), "/work/repo");
  EXPECT_EQ(after(c.argv, "--max-turns"), "3");
  EXPECT_EQ(after(c.argv, "-i"), "write hello.txt");
}

TEST(CursorTest, DocumentedJsonResult) {
  std::string out =
      "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"duration_ms\":1234,"
      "\"duration_api_ms\":1234,\"result\":\"done\",\"session_id\":\"c-1\",\"request_id\":\"r\"}"
      "\n";
  AgentResult r = get("cursor").parse(exited(0, out));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, "c-1");
}

TEST(CursorTest, FailureHasOnlyStderr) {
  AgentResult r = get("cursor").parse(exited(1, "", "Error: Too Many Requests\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit) << r.error;
}

TEST(CursorTest, CommandRunsCursorAgent) {
  EXPECT_EQ(get("cursor").executable(), "cursor-agent");
  Command c = get("cursor").build_command(invocation());
  std::vector<std::string> want = {"cursor-agent", "-p",      "--output-format",
                                   "json",         "--force", "write hello.txt"};
  EXPECT_EQ(c.argv, want);
}

// --- Shared helpers and the registry --------------------------------------------

TEST(OutputParsingTest, HttpStatusInMessages) {
  EXPECT_EQ(http_status_in("[API Error: 500 mock injected 500]"), 500);
  EXPECT_EQ(http_status_in("retried 5 times. Last error: 429 Too Many"), 429);
  EXPECT_EQ(http_status_in("failed with status 503."), 503);
  EXPECT_EQ(http_status_in("Error: 2000 things"), 0);
  EXPECT_EQ(http_status_in("no status here"), 0);
}

TEST(OutputParsingTest, TrailingJsonObjectAfterStackTraces) {
  auto j = trailing_json_object("log {not json}\n  at x {\n}\n{\n  \"a\": {\"b\": 1}\n}\n");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ((*j)["a"]["b"], 1);
  EXPECT_FALSE(trailing_json_object("no object\n").has_value());
}

TEST(OutputParsingTest, JsonDocumentAfterNoise) {
  auto j = parse_json_document("Loaded cached credentials.\n[1, 2]\n");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->size(), 2u);
  EXPECT_FALSE(parse_json_document("just text").has_value());
}

TEST(RegistryTest, EveryKnownBuiltinAgentHasAnInvoker) {
  for (const char* n : {"claude", "codex", "gemini", "copilot", "qwen", "opencode", "kilocode",
                        "auggie", "cursor"}) {
    const Invoker* inv = find_invoker(n);
    ASSERT_NE(inv, nullptr) << n;
    EXPECT_EQ(inv->name(), n);
    Command c = inv->build_command(invocation());
    ASSERT_FALSE(c.argv.empty());
    EXPECT_EQ(c.argv[0], inv->executable());
    // The prompt reaches the CLI one way or the other.
    EXPECT_TRUE(c.stdin_data == std::optional<std::string>("write hello.txt") ||
                has(c.argv, "write hello.txt") || has(c.argv, "--prompt=write hello.txt"))
        << n;
  }
}

}  // namespace
}  // namespace baton::agents
