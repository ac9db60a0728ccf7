// Output parsers against real recorded CLI output (tests/fixtures/agents/), the
// command lines, prompts, error classes and detection.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/invoker.h"
#include "agents/output_parsing.h"
#include "agents/prompt.h"
#include "agents/test_util.h"

namespace baton::agents {
namespace {

using testing::exited;
using testing::get;
using testing::recorded;
using testing::recorded_value;

// The first "session_id" of a recording.
constexpr const char* kSessionId = R"re("session_id":"([^"]+)")re";

TEST(ClaudeTest, StreamJsonSuccess) {
  AgentResult r = get("claude").parse(recorded("claude_stream_json_success.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.session_id, recorded_value("claude_stream_json_success.jsonl", kSessionId));
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  ASSERT_TRUE(r.cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*r.cost_usd, 0.002);
  EXPECT_EQ(r.num_turns, 2);
  EXPECT_EQ(r.error_class, ErrorClass::kNone);
}

TEST(ClaudeTest, JsonOutputIsParsedToo) {
  AgentResult r = get("claude").parse(recorded("claude_json_success.json", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
}

TEST(ClaudeTest, ApiErrorWithSubtypeSuccessIsAFailure) {
  AgentResult r = get("claude").parse(recorded("claude_json_error_500.json", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient);
  EXPECT_NE(r.error.find("API Error: 500"), std::string::npos) << r.error;
}

TEST(ClaudeTest, RateLimitAfterRetries) {
  AgentResult r = get("claude").parse(recorded("claude_stream_json_429_retries.jsonl", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit);
  ASSERT_TRUE(r.retry_after_s.has_value());  // the last api_retry event's delay
  EXPECT_GE(*r.retry_after_s, 1.0);          // the server's retry-after: 1 s
  std::string delay_ms = recorded_value("claude_stream_json_429_retries.jsonl",
                                        R"re("retry_delay_ms":([0-9.]+))re", /*last=*/true);
  EXPECT_NEAR(*r.retry_after_s, std::stod(delay_ms) / 1000, 0.001);
}

TEST(ClaudeTest, ApiTimeoutIsClassified) {
  AgentResult r = get("claude").parse(recorded("claude_json_error_timeout.json", 1));
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error_class, ErrorClass::kNone);
  EXPECT_NE(r.error_class, ErrorClass::kPermanent) << r.error;
}

TEST(ClaudeTest, PermissionDenialWithExitZeroIsAFailure) {
  AgentResult r = get("claude").parse(recorded("claude_json_permission_denied.json", 0));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
  EXPECT_EQ(r.error, "permission denied for Write");
}

TEST(ClaudeTest, NoResultEventNamesStderr) {
  AgentResult r = get("claude").parse(exited(1, "", "Error: Invalid API key\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kAuth);
  EXPECT_NE(r.error.find("Invalid API key"), std::string::npos) << r.error;
}

TEST(ClaudeTest, TimedOutProcessIsATimeout) {
  exec::ProcessResult p = exited(0, "{\"type\":\"system\",\"session_id\":\"s1\"}\n");
  p.status.kind = exec::ExitStatus::Kind::kTimedOut;
  p.status.signal = 15;
  AgentResult r = get("claude").parse(p);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTimeout);
  EXPECT_EQ(r.session_id, "s1");
}

TEST(ClaudeTest, CommandReadsThePromptFromStdin) {
  Invocation inv;
  inv.prompt = "write hello.txt";
  inv.model = "claude-x";
  Command c = get("claude").build_command(inv);
  std::vector<std::string> want = {"claude",      "-p",        "--output-format",
                                   "stream-json", "--verbose", "--permission-mode",
                                   "acceptEdits", "--model",   "claude-x"};
  EXPECT_EQ(c.argv, want);
  EXPECT_EQ(c.stdin_data, std::optional<std::string>("write hello.txt"));
  EXPECT_EQ(c.env.at("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"), "1");
  EXPECT_EQ(c.env.at("DISABLE_AUTOUPDATER"), "1");
}

TEST(CodexTest, ExecCommandSuccess) {
  AgentResult r = get("codex").parse(recorded("codex_exec_json_exec_command.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.usage.input_tokens, 200);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_FALSE(r.cost_usd.has_value());
}

TEST(CodexTest, ApplyPatchSuccessHasThreadId) {
  AgentResult r = get("codex").parse(recorded("codex_exec_json_apply_patch.jsonl", 0));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.session_id,
            recorded_value("codex_exec_json_apply_patch.jsonl", R"re("thread_id":"([^"]+)")re"));
}

TEST(CodexTest, ServerErrorsAreTransient) {
  AgentResult r = get("codex").parse(recorded("codex_exec_json_500.jsonl", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTransient) << r.error;
}

TEST(CodexTest, TooManyRequestsIsARateLimit) {
  AgentResult r = get("codex").parse(recorded("codex_exec_json_429.jsonl", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit) << r.error;
}

TEST(CodexTest, StalledStreamIsATimeout) {
  AgentResult r = get("codex").parse(recorded("codex_exec_json_stall_timeout.jsonl", 1));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kTimeout) << r.error;
}

TEST(CodexTest, CommandEndsWithStdinDash) {
  Invocation inv;
  inv.prompt = "p";
  Command c = get("codex").build_command(inv);
  ASSERT_GE(c.argv.size(), 5u);
  EXPECT_EQ(c.argv[0], "codex");
  EXPECT_EQ(c.argv[1], "exec");
  EXPECT_EQ(c.argv.back(), "-");
  EXPECT_EQ(c.stdin_data, std::optional<std::string>("p"));
}

TEST(OutputParsingTest, JsonLinesSkipNoise) {
  auto lines = parse_json_lines("noise\n{\"a\":1}\n{broken\n  {\"b\":2}\r\n[1]\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["b"], 2);
}

TEST(OutputParsingTest, Classification) {
  EXPECT_EQ(classify_api_error(401, ""), ErrorClass::kAuth);
  EXPECT_EQ(classify_api_error(0, "Too Many Requests"), ErrorClass::kRateLimit);
  EXPECT_EQ(classify_api_error(503, ""), ErrorClass::kTransient);
  EXPECT_EQ(classify_api_error(0, "request timed out"), ErrorClass::kTimeout);
  EXPECT_EQ(classify_api_error(0, "invalid tool call"), ErrorClass::kPermanent);
}

TEST(OutputParsingTest, LastLine) {
  EXPECT_EQ(last_line("a\n  b  \n\n \n"), "b");
  EXPECT_EQ(last_line(""), "");
}

TEST(PromptTest, AsArgumentSpacesOnlyALeadingDash) {
  EXPECT_EQ(as_argument("-rf /"), " -rf /");
  EXPECT_EQ(as_argument("--help"), " --help");
  EXPECT_EQ(as_argument("write a-b --x"), "write a-b --x");
  EXPECT_EQ(as_argument(""), "");
}

TEST(PromptTest, Layout) {
  EXPECT_EQ(build_prompt("Be careful.", "Fix the bug", {{"issue", "#12"}, {"log", "l1\nl2"}}),
            "Be careful.\n\nFix the bug\n\nContext:\nissue: #12\nlog:\n  l1\n  l2\n");
  EXPECT_EQ(build_prompt("", "Do it", {}), "Do it\n");
}

TEST(RegistryTest, KnownNamesAreSortedAndIncludeSeedAgents) {
  const auto& names = known_agent_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* n : {"claude", "codex", "gemini", "copilot", "qwen", "opencode", "kilocode",
                        "auggie", "cursor"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  EXPECT_EQ(to_string(ErrorClass::kRateLimit), std::string("rate_limit"));
}

TEST(DetectTest, FindsAStubInPathAndReadsItsVersion) {
  auto dir = std::filesystem::temp_directory_path() / ("baton-detect-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "fakeagent") << "#!/bin/sh\necho '  fakeagent 1.2.3 (test)'\necho second\n";
  ::chmod((dir / "fakeagent").c_str(), 0755);
  std::string old = std::getenv("PATH");
  ::setenv("PATH", (dir.string() + ":" + old).c_str(), 1);
  Detection d = detect("fakeagent");
  Detection missing = detect("no-such-agent-here");
  ::setenv("PATH", old.c_str(), 1);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(d.installed);
  EXPECT_EQ(d.path, (dir / "fakeagent").string());
  EXPECT_EQ(d.version, "fakeagent 1.2.3 (test)");
  EXPECT_FALSE(missing.installed);
}

TEST(DetectTest, AHangingVersionIsCutOff) {
  auto dir = std::filesystem::temp_directory_path() / ("baton-hang-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hang") << "#!/bin/sh\nexec sleep 60\n";
  ::chmod((dir / "hang").c_str(), 0755);
  auto start = std::chrono::steady_clock::now();
  Detection d = detect((dir / "hang").string());
  auto took = std::chrono::steady_clock::now() - start;
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(d.installed);
  EXPECT_EQ(d.version, "");
  EXPECT_TRUE(d.timed_out);
  EXPECT_LT(took, std::chrono::seconds(30));  // bounded, not a timing target
}

TEST(DetectTest, AnNpmPackagesVersionIsReadWithoutRunningIt) {
  auto dir = std::filesystem::temp_directory_path() / ("baton-npm-" + std::to_string(getpid()));
  auto package = dir / "node_modules" / "@acme" / "tool";
  std::filesystem::create_directories(package / "bin");
  std::filesystem::create_directories(dir / "node_modules" / ".bin");
  std::ofstream(package / "package.json") << R"({"name": "@acme/tool", "version": "3.4.5"})";
  // It would hang if it were run.
  std::ofstream(package / "bin" / "tool.js") << "#!/bin/sh\nexec sleep 60\n";
  ::chmod((package / "bin" / "tool.js").c_str(), 0755);
  std::filesystem::create_symlink("../@acme/tool/bin/tool.js", dir / "node_modules/.bin/tool");
  Detection d = detect((dir / "node_modules/.bin/tool").string(), 30);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(d.installed);
  EXPECT_EQ(d.version, "3.4.5 (npm @acme/tool)");
  EXPECT_FALSE(d.timed_out);
}

TEST(DetectTest, DetectAllKeepsTheOrderGivenAndReportsProgress) {
  auto dir = std::filesystem::temp_directory_path() / ("baton-all-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  // The first answers last.
  std::ofstream(dir / "slow") << "#!/bin/sh\nsleep 0.5\necho slow 1\n";
  std::ofstream(dir / "fast") << "#!/bin/sh\necho fast 2\n";
  std::ofstream(dir / "hang") << "#!/bin/sh\nexec sleep 60\n";
  for (const char* f : {"slow", "fast", "hang"}) ::chmod((dir / f).c_str(), 0755);
  ProbeOptions options;
  options.timeout_s = 1;
  options.max_parallel = 3;
  std::vector<size_t> done;
  options.on_progress = [&](const ProbeProgress& p) {
    EXPECT_EQ(p.total, 4u);
    done.push_back(p.done);
  };
  std::vector<Detection> found = detect_all({(dir / "slow").string(), (dir / "fast").string(),
                                             (dir / "hang").string(), "no-such-agent-here"},
                                            options);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].version, "slow 1");
  EXPECT_EQ(found[1].version, "fast 2");
  EXPECT_TRUE(found[2].installed);
  EXPECT_TRUE(found[2].timed_out);
  EXPECT_FALSE(found[3].installed);
  EXPECT_FALSE(found[3].timed_out);
  EXPECT_EQ(done, (std::vector<size_t>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace baton::agents
