// Transcripts rendered from small hand-made event streams, one per event format, with
// stderr lines interleaved as they are in an attempt's log.
#include "agents/transcript.h"

#include <gtest/gtest.h>

#include "agents/test_util.h"

namespace baton::agents {
namespace {

using testing::get;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(TranscriptTest, KeyArgumentPrefersTheCommandThenThePath) {
  EXPECT_EQ(key_argument({{"command", "ls -la"}, {"description", "list"}}), "ls -la");
  EXPECT_EQ(key_argument({{"cmd", {"bash", "-lc", "make"}}}), "bash -lc make");
  EXPECT_EQ(key_argument({{"file_path", "/w/a.txt"}, {"content", "x"}}), "/w/a.txt");
  EXPECT_EQ(key_argument({{"filePath", "b.txt"}}), "b.txt");
  EXPECT_EQ(key_argument({{"n", 1}}), "{\"n\":1}");
  EXPECT_EQ(key_argument(nlohmann::json::array()), "");
  EXPECT_EQ(key_argument({{"command", "echo a\n  echo b"}}), "echo a echo b");
  std::string long_command(500, 'x');
  EXPECT_EQ(key_argument({{"command", long_command}}).size(), 160u);
}

TEST(TranscriptTest, LinesThatAreNotEventsAreKeptAndMarked) {
  std::vector<std::string> events, others;
  for_each_log_event(
      "npm warn old\n{\"type\":\"a\"}\n{not json\n\n[{\"type\":\"b\"},{\"type\":\"c\"}]\n{\n  "
      "\"type\": \"d\"\n}\ntrailing",
      [&](const nlohmann::json& e) { events.push_back(e.value("type", "")); },
      [&](std::string_view line) { others.emplace_back(line); });
  EXPECT_EQ(events, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(others, (std::vector<std::string>{"npm warn old", "{not json", "trailing"}));
}

TEST(TranscriptTest, ClaudeStreamShowsMessagesToolCallsResultsAnswerAndUsage) {
  const std::string log =
      R"({"type":"system","subtype":"init","session_id":"s1","model":"m"}
{"type":"assistant","message":{"content":[{"type":"text","text":"I will write it."},{"type":"tool_use","name":"Bash","input":{"command":"echo hi > a.txt","description":"write"}}]}}
some stderr line
{"type":"user","message":{"content":[{"type":"tool_result","content":"ok\nline 2\nline 3"}]}}
{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Read","input":{"file_path":"/w/missing"}}]}}
{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":[{"type":"text","text":"File does not exist."}]}]}}
{"type":"assistant","message":{"content":[{"type":"text","text":"done"}]}}
{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s1","num_turns":3,"total_cost_usd":0.002,"usage":{"input_tokens":200,"output_tokens":40,"cache_read_input_tokens":5}}
)";
  std::string t = get("claude").transcript(log);
  EXPECT_EQ(t,
            "agent: I will write it.\n"
            "tool Bash: echo hi > a.txt\n"
            "| some stderr line\n"
            "  -> ok (+2 lines)\n"
            "tool Read: /w/missing\n"
            "  !! File does not exist.\n"
            "answer:\n"
            "  done\n"
            "usage: 200 in / 40 out / 5 cached tokens, 3 turns, $0.0020\n");
}

TEST(TranscriptTest, QwenJsonArrayIsRenderedLikeClaude) {
  const std::string log =
      R"([{"type":"assistant","message":{"content":[{"type":"tool_use","name":"write_file","input":{"file_path":"q.txt","content":"x"}}]}},{"type":"user","message":{"content":[{"type":"tool_result","content":"Successfully created q.txt"}]}},{"type":"result","subtype":"success","is_error":false,"result":"wrote it","num_turns":2,"usage":{"input_tokens":10,"output_tokens":2}}]
)";
  std::string t = get("qwen").transcript(log);
  EXPECT_TRUE(has(t, "tool write_file: q.txt\n  -> Successfully created q.txt\n")) << t;
  EXPECT_TRUE(has(t, "answer:\n  wrote it\n")) << t;
  EXPECT_TRUE(has(t, "usage: 10 in / 2 out / 0 cached tokens, 2 turns\n")) << t;
}

TEST(TranscriptTest, CodexItemsBecomeCommandsPatchesAndMessages) {
  const std::string log =
      R"({"type":"thread.started","thread_id":"t1"}
{"type":"item.started","item":{"id":"i1","type":"command_execution","command":"bash -lc ls","status":"in_progress"}}
{"type":"item.completed","item":{"id":"i1","type":"command_execution","command":"bash -lc ls","aggregated_output":"a.txt\n","exit_code":0,"status":"completed"}}
{"type":"item.completed","item":{"id":"i2","type":"command_execution","command":"bash -lc false","aggregated_output":"","exit_code":1,"status":"failed"}}
{"type":"item.completed","item":{"id":"i3","type":"file_change","changes":[{"path":"/w/b.txt","kind":"add"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"i4","type":"agent_message","text":"done"}}
{"type":"turn.completed","usage":{"input_tokens":200,"cached_input_tokens":0,"output_tokens":40}}
)";
  std::string t = get("codex").transcript(log);
  EXPECT_EQ(t,
            "tool shell: bash -lc ls\n"
            "  -> a.txt\n"
            "tool shell: bash -lc false\n"
            "  !! exit 1\n"
            "tool patch: add /w/b.txt\n"
            "answer:\n"
            "  done\n"
            "usage: 200 in / 40 out / 0 cached tokens, 1 turn\n");
}

TEST(TranscriptTest, GeminiJsonPrettyPrintedGivesTheAnswerAndUsage) {
  const std::string log =
      "Loaded cached credentials.\n{\n  \"session_id\": \"g1\",\n  \"response\": \"all good\",\n"
      "  \"stats\": {\"models\": {\"m\": {\"tokens\": {\"prompt\": 30, \"candidates\": 6, "
      "\"cached\": 0}}}}\n}\n";
  std::string t = get("gemini").transcript(log);
  EXPECT_EQ(t,
            "| Loaded cached credentials.\n"
            "answer:\n"
            "  all good\n"
            "usage: 30 in / 6 out / 0 cached tokens\n");
}

TEST(TranscriptTest, GeminiStreamJoinsDeltasAndShowsTools) {
  const std::string log =
      R"({"type":"init","session_id":"g2"}
{"type":"message","role":"user","content":"do it"}
{"type":"message","role":"assistant","content":"Let me ","delta":true}
{"type":"message","role":"assistant","content":"look.","delta":true}
{"type":"tool_use","tool_name":"run_shell_command","tool_id":"x","parameters":{"command":"ls"}}
{"type":"tool_result","tool_id":"x","status":"error","error":{"message":"denied"}}
{"type":"message","role":"assistant","content":"done","delta":true}
{"type":"result","status":"success","stats":{"input_tokens":20,"output_tokens":4,"cached":0}}
)";
  std::string t = get("gemini").transcript(log);
  EXPECT_EQ(t,
            "agent: Let me look.\n"
            "tool run_shell_command: ls\n"
            "  !! denied\n"
            "answer:\n"
            "  done\n"
            "usage: 20 in / 4 out / 0 cached tokens, 2 turns\n");
}

TEST(TranscriptTest, OpencodeToolUseAndErrors) {
  const std::string log =
      R"({"type":"step_start","sessionID":"o1","part":{}}
{"type":"tool_use","sessionID":"o1","part":{"tool":"write","state":{"status":"completed","input":{"filePath":"/w/o.txt","content":"x"},"output":"Wrote file successfully."}}}
{"type":"tool_use","sessionID":"o1","part":{"tool":"bash","state":{"status":"error","input":{"command":"rm -rf /"},"error":"The user rejected permission to use this tool"}}}
{"type":"step_finish","sessionID":"o1","part":{"tokens":{"input":100,"output":20,"cache":{"read":0}},"cost":0.01}}
{"type":"text","sessionID":"o1","part":{"text":"finished"}}
{"type":"step_finish","sessionID":"o1","part":{"tokens":{"input":100,"output":20,"cache":{"read":0}},"cost":0}}
)";
  std::string t = get("opencode").transcript(log);
  EXPECT_EQ(t,
            "tool write: /w/o.txt\n"
            "  -> Wrote file successfully.\n"
            "tool bash: rm -rf /\n"
            "  !! The user rejected permission to use this tool\n"
            "result:\n"
            "  finished\n"
            "usage: 200 in / 40 out / 0 cached tokens, 2 turns, $0.0100\n");
  EXPECT_TRUE(has(get("kilocode").transcript(log), "tool write: /w/o.txt\n"));
}

TEST(TranscriptTest, CopilotToolExecutionsAndAnswer) {
  const std::string log =
      R"({"type":"assistant.message","data":{"content":"","toolRequests":[{"name":"create"}]}}
{"type":"tool.execution_start","data":{"toolCallId":"c1","toolName":"create","arguments":{"path":"/w/c.txt","file_text":"x"}}}
{"type":"tool.execution_complete","data":{"toolCallId":"c1","success":true,"result":{"content":"Created file /w/c.txt with 1 characters"}}}
{"type":"assistant.message_delta","data":{"deltaContent":"done"}}
{"type":"assistant.message","data":{"content":"done"}}
{"type":"assistant.turn_end","data":{}}
{"type":"result","sessionId":"c","exitCode":0}
)";
  std::string t = get("copilot").transcript(log);
  EXPECT_EQ(t,
            "tool create: /w/c.txt\n"
            "  -> Created file /w/c.txt with 1 characters\n"
            "answer:\n"
            "  done\n"
            "usage: 1 turn\n");
}

TEST(TranscriptTest, TextThatIsNoStreamIsPrintedAsIs) {
  // A custom agent's invoker keeps the default: the log as it is.
  struct Plain final : Invoker {
    std::string name() const override { return "plain"; }
    std::string executable() const override { return "plain"; }
    Command build_command(const Invocation&) const override { return {}; }
    AgentResult parse(const exec::ProcessResult&) const override { return {}; }
  } plain;
  EXPECT_EQ(plain.transcript("hello\nworld\n"), "hello\nworld\n");
  // A stream-json log cut off mid-line (a killed CLI) still renders what came before.
  std::string t = get("claude").transcript(
      "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}}\n"
      "{\"type\":\"assis");
  EXPECT_EQ(t, "agent: hi\n| {\"type\":\"assis\n");
}

}  // namespace
}  // namespace baton::agents
