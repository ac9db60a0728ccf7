// Output parsers of Gemini CLI, Qwen Code, opencode, Kilo, Copilot, Auggie and
// Cursor against real recorded output (tests/fixtures/agents/), their traps, and
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
using testing::recorded;
using testing::recorded_value;

// How each CLI names its session in a recording (the first occurrence).
constexpr const char* kSessionId = R"re("session_id":"([^"]+)")re";
constexpr const char* kSessionIdSpaced = R"re("session_id": "([^"]+)")re";  // pretty-printed
constexpr const char* kSessionID = R"re("sessionID":"([^"]+)")re";          // opencode, Kilo
constexpr const char* kCopilotSessionId = R"re("sessionId":"([^"]+)")re";

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
  AgentResult r = get("gemini").parse(recorded("gemini_json_success.json", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("gemini_json_success.json", kSessionIdSpaced));
  EXPECT_EQ(r.usage.input_tokens, 300);  // the router's request is billed too
  EXPECT_EQ(r.usage.output_tokens, 60);
  EXPECT_EQ(r.usage.cached_tokens, 0);
  EXPECT_EQ(r.num_turns, 2);  // the main role's requests, not the router's
  EXPECT_FALSE(r.cost_usd.has_value());
  EXPECT_EQ(r.error_class, ErrorClass::kNone);
}

TEST(GeminiTest, StreamJsonSuccess) {
  AgentResult r = get("gemini").parse(recorded("gemini_stream_json_success.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("gemini_stream_json_success.jsonl", kSessionId));
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_EQ(r.num_turns, 2);
}

TEST(GeminiTest, ServerErrorOnStderrWithExit244IsTransient) {
  AgentResult r = get("gemini").parse(recorded("gemini_json_500_stderr.txt", 244));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_EQ(r.error, "gemini: API error 500: HTTP 500 (injected by the rehearsal script)");
  EXPECT_EQ(r.session_id, recorded_value("gemini_json_500_stderr.txt", kSessionIdSpaced));
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
  AgentResult r = get("gemini").parse(recorded("gemini_untrusted_dir_stderr.txt", 55));
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
  AgentResult r = get("qwen").parse(recorded("qwen_json_success_array.json", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("qwen_json_success_array.json", kSessionId));
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_EQ(r.num_turns, 2);
  EXPECT_FALSE(r.cost_usd.has_value());
}

TEST(QwenTest, StreamJsonSuccess) {
  AgentResult r = get("qwen").parse(recorded("qwen_stream_json_success.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("qwen_stream_json_success.jsonl", kSessionId));
  EXPECT_EQ(r.usage.output_tokens, 40);
}

TEST(QwenTest, ApiErrorReportedAsSuccessWithExitZeroIsATransientFailure) {
  AgentResult r = get("qwen").parse(recorded("qwen_json_500_reported_as_success.json", 0));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_EQ(r.error, "[API Error: 500 HTTP 500 (injected by the rehearsal script)]");
  EXPECT_EQ(r.session_id, recorded_value("qwen_json_500_reported_as_success.json", kSessionId));
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
  AgentResult r = get("opencode").parse(recorded("opencode_write.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("opencode_write.jsonl", kSessionID));
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_EQ(r.num_turns, 2);
  ASSERT_TRUE(r.cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*r.cost_usd, 0.0);
}

TEST(OpencodeTest, ApiErrorLineIsATransientFailure) {
  AgentResult r = get("opencode").parse(recorded("opencode_fail500.jsonl", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_EQ(r.error, "opencode: APIError: HTTP 500 (injected by the rehearsal script)");
  EXPECT_EQ(r.session_id, recorded_value("opencode_fail500.jsonl", kSessionID));
}

TEST(OpencodeTest, PermissionRejectedWithExitZeroIsAFailure) {
  AgentResult r = get("opencode").parse(recorded("opencode_external_dir_rejected.jsonl", 0));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
  EXPECT_EQ(r.error, "permission rejected for write");
}

TEST(OpencodeTest, ToolRefusedByADenyRuleWithExitZeroIsAFailure) {
  AgentResult r = get("opencode").parse(recorded("opencode_external_dir_denied_by_rule.jsonl", 0));
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
  AgentResult r = get("kilocode").parse(recorded("kilo_write.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("kilo_write.jsonl", kSessionID));
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.num_turns, 2);
}

TEST(KiloTest, ServerErrorIsTransient) {
  AgentResult r = get("kilocode").parse(recorded("kilo_fail500.jsonl", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
}

TEST(KiloTest, BashRejectedWithoutAutoIsAPermanentFailure) {
  AgentResult r = get("kilocode").parse(recorded("kilo_bash_noperm_rejected.jsonl", 1));
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
  AgentResult r = get("copilot").parse(recorded("copilot_create.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("copilot_create.jsonl", kCopilotSessionId));
  EXPECT_EQ(r.num_turns, 2);
  EXPECT_FALSE(r.cost_usd.has_value());
}

TEST(CopilotTest, SessionErrorAfterRetriesIsTransient) {
  AgentResult r = get("copilot").parse(recorded("copilot_fail500.jsonl", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
  EXPECT_NE(r.error.find("Last error: 500 HTTP 500 (injected by the rehearsal script)"),
            std::string::npos)
      << r.error;
  EXPECT_EQ(r.session_id, recorded_value("copilot_fail500.jsonl", kCopilotSessionId));
}

TEST(CopilotTest, DeniedToolWithExitZeroIsAFailure) {
  AgentResult r = get("copilot").parse(recorded("copilot_no_allow_all_tools_denied.jsonl", 0));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
  EXPECT_EQ(r.error, "permission denied for create");
}

TEST(CopilotTest, TextModeOutputIsNotAResult) {
  AgentResult r = get("copilot").parse(recorded("copilot_text_silent.stdout", 0));
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
  AgentResult r = get("auggie").parse(recorded("auggie_noauth.stderr", 1));
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

TEST(CursorTest, APromptStartingWithADashIsNoOption) {
  // Another task's output can make a prompt start with "--": cursor-agent would read
  // it as a flag. It gets a leading space instead (as_argument()).
  Command c = get("cursor").build_command(invocation("--model evil do it"));
  EXPECT_EQ(c.argv.back(), " --model evil do it");
  EXPECT_EQ(std::count(c.argv.begin(), c.argv.end(), "--model"), 0);
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
