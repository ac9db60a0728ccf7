#include "rehearse/script.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>

namespace baton::rehearse {
namespace {

Script parse_ok(const std::string& text) {
  Result<Script> script = parse_script(text, "s.yaml");
  EXPECT_TRUE(script) << script.error().message;
  return script ? *script : Script{};
}

std::string parse_error(const std::string& text) {
  Result<Script> script = parse_script(text, "s.yaml");
  EXPECT_FALSE(script);
  return script ? "" : script.error().message;
}

TEST(ScriptTest, ReadsEveryKindOfStep) {
  Script s = parse_ok(R"(usage: {input_tokens: 300, output_tokens: 7, cached_tokens: 50}
tasks:
  build:
    - write_file: {path: src/a.txt, content: "hi\n"}
    - edit_file: {path: a.txt, old: hi, new: bye}
    - run: make test
    - call: {name: Read, arguments: {file_path: /x, limit: 3}}
    - fault: {status: 429, retry_after_s: 1.5, times: 2, message: slow down}
    - {text: all done, usage: {input_tokens: 1, output_tokens: 2}}
    - just text
)");
  ASSERT_EQ(s.tasks.count("build"), 1u);
  const std::vector<Step>& steps = s.tasks["build"];
  ASSERT_EQ(steps.size(), 7u);
  ASSERT_TRUE(steps[0].write_file);
  EXPECT_EQ(steps[0].write_file->path, "src/a.txt");
  EXPECT_EQ(steps[0].write_file->content, "hi\n");
  EXPECT_EQ(steps[0].line, 4);
  ASSERT_TRUE(steps[1].edit_file);
  EXPECT_EQ(steps[1].edit_file->old_text, "hi");
  EXPECT_EQ(steps[1].edit_file->new_text, "bye");
  ASSERT_TRUE(steps[2].run);
  EXPECT_EQ(*steps[2].run, "make test");
  ASSERT_TRUE(steps[3].call);
  EXPECT_EQ(steps[3].call->name, "Read");
  EXPECT_EQ(steps[3].call->arguments, (nlohmann::json{{"file_path", "/x"}, {"limit", 3}}));
  ASSERT_TRUE(steps[4].fault);
  EXPECT_EQ(steps[4].fault->kind, FaultKind::kHttp);
  EXPECT_EQ(steps[4].fault->status, 429);
  EXPECT_DOUBLE_EQ(steps[4].fault->retry_after_s, 1.5);
  EXPECT_EQ(steps[4].fault->times, 2);
  EXPECT_EQ(steps[4].fault->message, "slow down");
  EXPECT_TRUE(steps[5].is_text());
  EXPECT_EQ(steps[5].text, "all done");
  ASSERT_TRUE(steps[5].usage);
  EXPECT_EQ(steps[5].usage->input_tokens, 1);
  EXPECT_EQ(steps[5].usage->output_tokens, 2);
  EXPECT_EQ(steps[6].text, "just text");
  EXPECT_EQ(s.usage.input_tokens, 300);
  EXPECT_EQ(s.usage.output_tokens, 7);
  EXPECT_EQ(s.usage.cached_tokens, 50);
}

TEST(ScriptTest, FaultShorthands) {
  Script s = parse_ok(R"(fallback:
  - fault: 529
  - fault: hang
  - fault: drop
  - fault: {kind: stall, times: forever}
)");
  ASSERT_EQ(s.fallback.size(), 4u);
  EXPECT_EQ(s.fallback[0].fault->status, 529);
  EXPECT_EQ(s.fallback[1].fault->kind, FaultKind::kHang);
  EXPECT_EQ(s.fallback[2].fault->kind, FaultKind::kDrop);
  EXPECT_EQ(s.fallback[3].fault->kind, FaultKind::kStall);
  EXPECT_EQ(s.fallback[3].fault->times, INT_MAX);
}

TEST(ScriptTest, EmptyScriptAnswersDone) {
  Script s = parse_ok("");
  const std::vector<Step>& steps = s.steps_for("t", "claude", "1");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].text, "done");
}

TEST(ScriptTest, LookupGoesFromTheMostSpecificKey) {
  Script s = parse_ok(R"(tasks:
  "build:claude:2": [attempt two]
  "build:claude": [claude on build]
  build: [build]
agents:
  codex: [codex anywhere]
fallback: [fallback]
)");
  EXPECT_EQ(s.steps_for("build", "claude", "2")[0].text, "attempt two");
  EXPECT_EQ(s.steps_for("build", "claude", "1")[0].text, "claude on build");
  EXPECT_EQ(s.steps_for("build", "codex", "1")[0].text, "build");
  EXPECT_EQ(s.steps_for("test", "codex", "1")[0].text, "codex anywhere");
  EXPECT_EQ(s.steps_for("test", "gemini", "1")[0].text, "fallback");
  EXPECT_EQ(s.steps_for("", "", "")[0].text, "fallback");
}

TEST(ScriptTest, UnknownKeyNamesThePlace) {
  EXPECT_EQ(parse_error("tasks:\n  build:\n    - wirte_file: {path: a}\n"),
            "s.yaml:3:7: error: unknown key 'wirte_file' in step (expected text, write_file, "
            "edit_file, run, call, fault, tool, usage)\n"
            "    - wirte_file: {path: a}\n"
            "      ^");
}

TEST(ScriptTest, StepWithTwoActionsIsAnError) {
  EXPECT_EQ(parse_error("fallback:\n  - {text: a, run: ls}\n"),
            "s.yaml:2:5: error: a step needs exactly one of text, write_file, edit_file, run, "
            "call, fault (has 2)\n"
            "  - {text: a, run: ls}\n"
            "    ^");
}

TEST(ScriptTest, BadFaultValues) {
  EXPECT_EQ(parse_error("fallback:\n  - fault: {status: 700}\n"),
            "s.yaml:2:12: error: fault status must be an HTTP status (100..599), not 700\n"
            "  - fault: {status: 700}\n"
            "           ^");
  EXPECT_EQ(parse_error("fallback:\n  - fault: {times: 0}\n"),
            "s.yaml:2:20: error: times must be >= 1 (or forever)\n"
            "  - fault: {times: 0}\n"
            "                   ^");
  EXPECT_EQ(parse_error("fallback:\n  - fault: {kind: boom}\n"),
            "s.yaml:2:19: error: unknown fault kind 'boom' (expected http, drop, hang, stall)\n"
            "  - fault: {kind: boom}\n"
            "                  ^");
}

TEST(ScriptTest, WrongShapes) {
  EXPECT_EQ(parse_error("tasks: [a, b]\n"),
            "s.yaml:1:8: error: tasks must be a map of names to step lists\n"
            "tasks: [a, b]\n"
            "       ^");
  EXPECT_EQ(parse_error("fallback:\n  - write_file: {content: x}\n"),
            "s.yaml:2:17: error: write_file needs a path\n"
            "  - write_file: {content: x}\n"
            "                ^");
  EXPECT_EQ(parse_error("fallback: []\n"),
            "s.yaml:1:11: error: fallback must not be empty\n"
            "fallback: []\n"
            "          ^");
}

TEST(ScriptTest, YamlSyntaxErrorNamesThePlace) {
  std::string message = parse_error("tasks:\n  build: [a, b\n");
  EXPECT_EQ(message.rfind("s.yaml:", 0), 0u) << message;
  EXPECT_NE(message.find(": error: "), std::string::npos) << message;
}

TEST(ScriptTest, LoadsAFile) {
  char dir[] = "/tmp/rehearse-script-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/script.yaml";
  std::ofstream(path) << "agents:\n  claude:\n    - text: hello\n";
  Result<Script> s = load_script(path);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->path, path);
  EXPECT_EQ(s->steps_for("x", "claude", "1")[0].text, "hello");
  std::ofstream(path) << "agents:\n  claude: 3\n";
  Result<Script> bad = load_script(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind(path + ":2:11: error: a step list must be a sequence", 0), 0u)
      << bad.error().message;
  std::remove(path.c_str());
  rmdir(dir);
}

TEST(ScriptTest, MissingFileIsAnError) {
  Result<Script> s = load_script("/nonexistent/script.yaml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "/nonexistent/script.yaml: error: cannot read: No such file or directory");
}

}  // namespace
}  // namespace baton::rehearse
