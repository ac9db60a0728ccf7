#include "rehearse/tools.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "rehearse/schema.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

// A function tool whose schema has PARAMS (a trailing '?' marks an optional one).
ToolSpec tool(const std::string& name, std::vector<std::string> params) {
  ToolSpec spec;
  spec.name = name;
  json props = json::object();
  json required = json::array();
  for (std::string p : params) {
    bool optional = !p.empty() && p.back() == '?';
    if (optional) p.pop_back();
    props[p] = {{"type", "string"}};
    if (!optional) required.push_back(p);
  }
  spec.parameters = {{"type", "object"}, {"properties", props}, {"required", required}};
  return spec;
}

ToolSpec custom(const std::string& name) {
  ToolSpec spec;
  spec.name = name;
  spec.kind = ToolKind::kCustom;
  return spec;
}

// The tools of each CLI (docs/rehearsal.md ("The tools each CLI offers")), abridged.
std::vector<ToolSpec> claude_tools() {
  return {tool("Bash", {"command", "timeout?", "description?"}),
          tool("Edit", {"file_path", "old_string", "new_string", "replace_all?"}),
          tool("Read", {"file_path", "offset?"}), tool("Write", {"file_path", "content"})};
}
std::vector<ToolSpec> codex_tools() {
  return {tool("exec_command", {"cmd", "justification?", "workdir?"}),
          tool("write_stdin", {"session_id", "chars?"}), custom("apply_patch"),
          tool("view_image", {"path"})};
}
std::vector<ToolSpec> gemini_tools() {
  return {tool("read_file", {"file_path"}),
          tool("replace", {"file_path", "instruction", "old_string", "new_string"}),
          tool("write_file", {"file_path", "content"}),
          tool("run_shell_command", {"command", "description?", "dir_path?"})};
}
std::vector<ToolSpec> opencode_tools() {
  return {tool("bash", {"command", "timeout?", "workdir?"}),
          tool("edit", {"filePath", "oldString", "newString"}), tool("read", {"filePath"}),
          tool("write", {"content", "filePath"})};
}
std::vector<ToolSpec> copilot_tools() {
  return {tool("bash", {"command", "description", "shellId?"}), tool("view", {"path"}),
          tool("create", {"path", "file_text"}), tool("edit", {"path", "old_str?", "new_str?"})};
}

Step write_step(const std::string& path, const std::string& content) {
  Step step;
  step.write_file = WriteFile{path, content};
  return step;
}

Step run_step(const std::string& command) {
  Step step;
  step.run = command;
  return step;
}

Step edit_step(const std::string& path, const std::string& old_text, const std::string& new_text) {
  Step step;
  step.edit_file = EditFile{path, old_text, new_text};
  return step;
}

ToolCall plan(const Step& step, const std::vector<ToolSpec>& tools, const std::string& wd = "/w") {
  Result<ToolCall> call = plan_tool_call(step, tools, wd);
  EXPECT_TRUE(call) << call.error().message;
  return call ? *call : ToolCall{};
}

TEST(ToolsTest, WriteFileUsesEachCliOwnTool) {
  Step step = write_step("hello.txt", "hi from mock");
  ToolCall c = plan(step, claude_tools());
  EXPECT_EQ(c.name, "Write");
  EXPECT_EQ(c.arguments, (json{{"file_path", "/w/hello.txt"}, {"content", "hi from mock"}}));

  c = plan(step, gemini_tools());
  EXPECT_EQ(c.name, "write_file");
  EXPECT_EQ(c.arguments, (json{{"file_path", "/w/hello.txt"}, {"content", "hi from mock"}}));

  c = plan(step, opencode_tools());
  EXPECT_EQ(c.name, "write");
  EXPECT_EQ(c.arguments, (json{{"filePath", "/w/hello.txt"}, {"content", "hi from mock"}}));

  c = plan(step, copilot_tools());
  EXPECT_EQ(c.name, "create");
  EXPECT_EQ(c.arguments, (json{{"path", "/w/hello.txt"}, {"file_text", "hi from mock"}}));

  c = plan(step, codex_tools());
  EXPECT_EQ(c.name, "apply_patch");
  EXPECT_EQ(c.kind, ToolKind::kCustom);
  EXPECT_EQ(c.input, "*** Begin Patch\n*** Add File: hello.txt\n+hi from mock\n*** End Patch\n");
}

TEST(ToolsTest, ClaudeCodeAcpToolsOfItsMcpServerAreClaudesOwn) {
  std::vector<ToolSpec> offered = {
      tool("Glob", {"pattern"}), tool("mcp__acp__Read", {"file_path"}),
      tool("mcp__acp__Write", {"file_path", "content"}),
      tool("mcp__acp__Edit", {"file_path", "old_string", "new_string"}),
      tool("mcp__acp__Bash", {"command", "description?"})};
  ToolCall c = plan(write_step("hello.txt", "hi"), offered);
  EXPECT_EQ(c.name, "mcp__acp__Write");
  EXPECT_EQ(c.arguments, (json{{"file_path", "/w/hello.txt"}, {"content", "hi"}}));
  EXPECT_EQ(plan(run_step("make"), offered).name, "mcp__acp__Bash");
  // Only the adapter's server: another MCP server's "Write" is not Claude's.
  Result<ToolCall> other = plan_tool_call(
      write_step("a", "x"), {tool("mcp__other__Write", {"file_path", "content"})}, "/w");
  EXPECT_FALSE(other.has_value());
}

TEST(ToolsTest, AbsolutePathsAndUnknownWorkdirStayAsGiven) {
  EXPECT_EQ(plan(write_step("/abs/a", "x"), claude_tools()).arguments["file_path"], "/abs/a");
  EXPECT_EQ(plan(write_step("./a", "x"), claude_tools()).arguments["file_path"], "/w/a");
  EXPECT_EQ(plan(write_step("a", "x"), claude_tools(), "").arguments["file_path"], "a");
}

TEST(ToolsTest, RunUsesEachCliShellTool) {
  Step step = run_step("make test");
  EXPECT_EQ(plan(step, claude_tools()).arguments, (json{{"command", "make test"}}));
  EXPECT_EQ(plan(step, claude_tools()).name, "Bash");
  EXPECT_EQ(plan(step, codex_tools()).arguments, (json{{"cmd", "make test"}}));
  EXPECT_EQ(plan(step, gemini_tools()).name, "run_shell_command");
  // Copilot's bash requires a description: it gets one.
  ToolCall c = plan(step, copilot_tools());
  EXPECT_EQ(c.arguments, (json{{"command", "make test"}, {"description", "rehearsal step"}}));
}

TEST(ToolsTest, ARequiredTimeoutGetsItsLargestValueNotZero) {
  // Claude Code's ACP Bash (@zed-industries/claude-code-acp 0.16): `timeout` required,
  // in milliseconds. A 0 there makes the adapter release (kill) the command at once.
  ToolSpec bash;
  bash.name = "mcp__acp__Bash";
  bash.parameters = {
      {"type", "object"},
      {"properties",
       {{"command", {{"type", "string"}}},
        {"timeout",
         {{"type", "number"}, {"description", "Optional timeout in milliseconds (max 120000)"}}}}},
      {"required", {"command", "timeout"}}};
  EXPECT_EQ(plan(run_step("make"), {bash}).arguments,
            (json{{"command", "make"}, {"timeout", 120000}}));
  // A maximum in the schema wins; a name in milliseconds; otherwise seconds.
  bash.parameters["properties"]["timeout"] = {{"type", "integer"}, {"maximum", 600}};
  EXPECT_EQ(plan(run_step("make"), {bash}).arguments["timeout"], 600);
  bash.parameters["properties"] = {{"command", {{"type", "string"}}},
                                   {"timeout_ms", {{"type", "integer"}}}};
  bash.parameters["required"] = {"command", "timeout_ms"};
  EXPECT_EQ(plan(run_step("make"), {bash}).arguments["timeout_ms"], 120000);
  bash.parameters["properties"] = {{"command", {{"type", "string"}}},
                                   {"timeout", {{"type", "integer"}, {"description", 7}}}};
  bash.parameters["required"] = {"command", "timeout"};
  EXPECT_EQ(plan(run_step("make"), {bash}).arguments["timeout"], 120);
}

TEST(ToolsTest, ArrayCommandGetsAnArgv) {
  ToolSpec shell;
  shell.name = "shell";
  shell.parameters = {
      {"type", "object"},
      {"properties", {{"command", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
      {"required", {"command"}}};
  EXPECT_EQ(plan(run_step("ls"), {shell}).arguments["command"], (json{"bash", "-lc", "ls"}));
}

TEST(ToolsTest, EditUsesEachCliEditTool) {
  Step step = edit_step("a.txt", "old", "new");
  EXPECT_EQ(plan(step, claude_tools()).arguments,
            (json{{"file_path", "/w/a.txt"}, {"old_string", "old"}, {"new_string", "new"}}));
  ToolCall g = plan(step, gemini_tools());
  EXPECT_EQ(g.name, "replace");
  EXPECT_EQ(g.arguments["instruction"], "rehearsal step");
  EXPECT_EQ(plan(step, opencode_tools()).arguments,
            (json{{"filePath", "/w/a.txt"}, {"oldString", "old"}, {"newString", "new"}}));
  EXPECT_EQ(plan(step, copilot_tools()).arguments,
            (json{{"path", "/w/a.txt"}, {"old_str", "old"}, {"new_str", "new"}}));
  ToolCall x = plan(step, codex_tools());
  EXPECT_EQ(x.input, "*** Begin Patch\n*** Update File: a.txt\n@@\n-old\n+new\n*** End Patch\n");
}

TEST(ToolsTest, AnthropicTextEditorToolGetsItsSubcommand) {
  ToolSpec editor;
  editor.name = "str_replace_based_edit_tool";
  ToolCall c = plan(write_step("a.txt", "x"), {editor});
  EXPECT_EQ(c.arguments, (json{{"command", "create"}, {"path", "/w/a.txt"}, {"file_text", "x"}}));
}

TEST(ToolsTest, PreferredToolWins) {
  Step step = write_step("dir/a b.txt", "it's\n");
  step.tool = "exec_command";
  ToolCall c = plan(step, codex_tools());
  EXPECT_EQ(c.name, "exec_command");
  EXPECT_EQ(c.arguments["cmd"], "mkdir -p 'dir' && printf '%s' 'it'\\''s\n' > 'dir/a b.txt'");
  step.tool = "NotOffered";
  EXPECT_EQ(plan(step, codex_tools()).name, "apply_patch");
}

TEST(ToolsTest, WriteFallsBackToTheShell) {
  ToolCall c = plan(write_step("a.txt", "x"), {tool("Bash", {"command"})});
  EXPECT_EQ(c.name, "Bash");
  EXPECT_EQ(c.arguments["command"], "printf '%s' 'x' > 'a.txt'");
}

TEST(ToolsTest, WriteFileCommandWritesExactBytes) {
  char dir[] = "/tmp/rehearse-tools-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/sub/dir/f.txt";
  std::string content = "a 'quoted' line\n%s $HOME `x` \\n\nno newline at end";
  std::string command = write_file_command(path, content);
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  std::ifstream in(path);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), content);
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
}

TEST(ToolsTest, NoFittingToolIsAnError) {
  Result<ToolCall> c = plan_tool_call(run_step("ls"), {tool("Read", {"file_path"})}, "/w");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "no offered tool can run a command (offered: Read)");
  c = plan_tool_call(write_step("a", "b"), {}, "/w");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "no offered tool can write_file (offered: none)");
}

TEST(ToolsTest, CallPassesArgumentsThrough) {
  Step step;
  step.call = ToolUse{"Read", {{"file_path", "/etc/hostname"}}};
  ToolCall c = plan(step, claude_tools());
  EXPECT_EQ(c.name, "Read");
  EXPECT_EQ(c.arguments, (json{{"file_path", "/etc/hostname"}}));
  step.call = ToolUse{"apply_patch", "*** Begin Patch\n*** End Patch\n"};
  c = plan(step, codex_tools());
  EXPECT_EQ(c.kind, ToolKind::kCustom);
  EXPECT_EQ(c.input, "*** Begin Patch\n*** End Patch\n");
}

TEST(ToolsTest, PatchesForMultiLineContent) {
  EXPECT_EQ(add_file_patch("a", "one\ntwo\n"),
            "*** Begin Patch\n*** Add File: a\n+one\n+two\n*** End Patch\n");
  EXPECT_EQ(add_file_patch("a", "one\n\nthree"),
            "*** Begin Patch\n*** Add File: a\n+one\n+\n+three\n*** End Patch\n");
  EXPECT_EQ(update_file_patch("a", "x\ny", "z"),
            "*** Begin Patch\n*** Update File: a\n@@\n-x\n-y\n+z\n*** End Patch\n");
}

TEST(ToolsTest, FindsTheWorkdirEachCliStates) {
  // Codex: environment context in the input.
  EXPECT_EQ(
      find_workdir(
          {{"input",
            {{{"role", "user"}, {"content", "<environment_context>\n  <cwd>/tmp/repo</cwd>\n"}}}}}),
      "/tmp/repo");
  // Claude Code, opencode: "Working directory: ..." in the system prompt.
  EXPECT_EQ(
      find_workdir(
          {{"system",
            {{{"type", "text"}, {"text", "<env>\nWorking directory: /work/x\nIs git: yes"}}}}}),
      "/work/x");
  // Gemini CLI, Qwen Code.
  EXPECT_EQ(find_workdir({{"contents",
                           {{{"parts",
                              {{{"text",
                                 "I'm currently working in the "
                                 "directory: /home/u/p\nMore"}}}}}}}}),
            "/home/u/p");
  EXPECT_EQ(find_workdir({{"messages", {{{"content", "Current working directory: `/a/b`."}}}}}),
            "/a/b");
  // Prose about a working directory is not one (Qwen Code's memory instructions).
  EXPECT_EQ(find_workdir({{"messages",
                           {{{"content",
                              "within this working directory.</description>\n"
                              "I'm currently working in the directory: /q/repo\n"}}}}}),
            "/q/repo");
  EXPECT_EQ(find_workdir({{"system", "**Working Directory**: `/m/d`"}}), "/m/d");
  // Tool descriptions are not the agent's context.
  EXPECT_EQ(find_workdir({{"tools", {{{"description", "working directory: /not/this"}}}}}), "");
  EXPECT_EQ(find_workdir({{"messages", {{{"content", "no directory here"}}}}}), "");
}

TEST(SchemaTest, MinimalInstances) {
  // Gemini CLI's next-speaker check.
  json next_speaker = {{"type", "OBJECT"},
                       {"properties",
                        {{"reasoning", {{"type", "STRING"}}},
                         {"next_speaker", {{"type", "STRING"}, {"enum", {"user", "model"}}}}}},
                       {"required", {"reasoning", "next_speaker"}}};
  EXPECT_EQ(minimal_instance(next_speaker), (json{{"reasoning", ""}, {"next_speaker", "user"}}));
  EXPECT_EQ(minimal_instance({{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}}),
            json::object());
  EXPECT_EQ(minimal_instance({{"type", {"null", "integer"}}, {"minimum", 3}}), 3);
  EXPECT_EQ(
      minimal_instance({{"type", "array"}, {"minItems", 2}, {"items", {{"type", "boolean"}}}}),
      (json{false, false}));
  EXPECT_EQ(minimal_instance({{"type", "string"}, {"minLength", 3}}), "xxx");
  EXPECT_EQ(minimal_instance({{"const", 7}}), 7);
  EXPECT_EQ(minimal_instance({{"anyOf", {{{"type", "number"}}, {{"type", "string"}}}}}), 0);
  json with_ref = {{"$defs",
                    {{"Item",
                      {{"type", "object"},
                       {"properties", {{"id", {{"type", "integer"}}}}},
                       {"required", {"id"}}}}}},
                   {"type", "object"},
                   {"properties", {{"item", {{"$ref", "#/$defs/Item"}}}}},
                   {"required", {"item"}}};
  EXPECT_EQ(minimal_instance(with_ref), (json{{"item", {{"id", 0}}}}));
  json loop = {{"$ref", "#"}};
  EXPECT_EQ(minimal_instance(loop), json::object());
}

}  // namespace
}  // namespace baton::rehearse
