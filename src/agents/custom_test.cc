// Custom agents: registration, and their commands run for real (sh, cat, printf).
#include "agents/custom.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "exec/loop.h"
#include "exec/process.h"

namespace baton::agents {
namespace {

// Runs the command INVOKER builds for PROMPT as a real process; parses its output.
AgentResult run_for_real(const Invoker& invoker, const std::string& prompt) {
  Invocation inv;
  inv.prompt = prompt;
  Command cmd = invoker.build_command(inv);
  auto loop = exec::Loop::create();
  EXPECT_TRUE(loop.has_value());
  exec::ProcessSpec spec;
  spec.argv = cmd.argv;
  spec.env = cmd.env;
  spec.stdin_data = cmd.stdin_data;
  spec.timeout_s = 60;
  exec::ProcessResult result;
  int calls = 0;
  auto process = exec::Process::start((*loop)->get(), spec, [&](const exec::ProcessResult& r) {
    result = r;
    ++calls;
  });
  EXPECT_TRUE(process.has_value());
  (*loop)->run();
  EXPECT_EQ(calls, 1);
  return invoker.parse(result);
}

std::unique_ptr<Invoker> make(const std::string& name, const CustomAgentSpec& spec) {
  auto invoker = make_custom_invoker(name, spec);
  EXPECT_TRUE(invoker.has_value()) << (invoker ? "" : invoker.error().message);
  return invoker ? std::move(*invoker) : nullptr;
}

TEST(CustomAgentTest, PromptOnStdinAnswerByRegex) {
  CustomAgentSpec spec;
  spec.command = {"sh", "-c", "echo thinking...; echo \"ANSWER: $(cat | tr a-z A-Z)\"; echo bye"};
  spec.answer_regex = "ANSWER: (.*)";
  auto invoker = make("shouter", spec);
  ASSERT_TRUE(invoker);
  AgentResult r = run_for_real(*invoker, "make it loud");
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "MAKE IT LOUD");
  EXPECT_EQ(r.error_class, ErrorClass::kNone);
}

TEST(CustomAgentTest, PromptAsArgumentReplacesThePlaceholder) {
  CustomAgentSpec spec;
  spec.command = {"printf", "%s|%s", "<{prompt}>", "{prompt}"};
  spec.prompt = PromptVia::kArg;
  auto invoker = make("printer", spec);
  Invocation inv;
  inv.prompt = "p {prompt} q";
  Command c = invoker->build_command(inv);
  EXPECT_FALSE(c.stdin_data.has_value());
  // The prompt's own "{prompt}" is not expanded again.
  EXPECT_EQ(c.argv[2], "<p {prompt} q>");
  AgentResult r = run_for_real(*invoker, "hi");
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "<hi>|hi");
}

TEST(CustomAgentTest, PromptAsArgumentWithoutPlaceholderIsAppended) {
  CustomAgentSpec spec;
  spec.command = {"echo", "said:"};
  spec.prompt = PromptVia::kArg;
  auto invoker = make("sayer", spec);
  AgentResult r = run_for_real(*invoker, "hello there");
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "said: hello there");  // the whole stdout, trimmed
}

TEST(CustomAgentTest, APromptStartingWithADashIsNoOptionOfTheCommand) {
  // Run for real: echo would take a bare "-n" as its option and print nothing.
  CustomAgentSpec spec;
  spec.command = {"echo", "said"};
  spec.prompt = PromptVia::kArg;
  AgentResult r = run_for_real(*make("appended", spec), "-n");
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "said  -n");
  spec.command = {"echo", "{prompt}"};
  r = run_for_real(*make("placed", spec), "-n");
  EXPECT_EQ(r.text, "-n");  // " -n", trimmed
  // Inside a longer argument the prompt cannot be an option: kept byte for byte.
  spec.command = {"echo", "<{prompt}>"};
  r = run_for_real(*make("inside", spec), "-n");
  EXPECT_EQ(r.text, "<-n>");
}

TEST(CustomAgentTest, AnswerByJsonPathInJsonLines) {
  CustomAgentSpec spec;
  spec.command = {"sh", "-c",
                  "read p; echo '{\"type\":\"progress\"}'; "
                  "printf '{\"result\":{\"items\":[{\"text\":\"%s\"}]}}\\n' \"$p\""};
  spec.answer_json_path = "result.items.0.text";
  auto invoker = make("jsoner", spec);
  AgentResult r = run_for_real(*invoker, "from json\n");
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "from json");
}

TEST(CustomAgentTest, MissingAnswerIsAPermanentFailure) {
  CustomAgentSpec spec;
  spec.command = {"sh", "-c", "cat >/dev/null; echo nothing useful"};
  spec.answer_regex = "ANSWER: (.*)";
  AgentResult r = run_for_real(*make("quiet", spec), "x");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
  EXPECT_EQ(r.error, "quiet: the answer regex did not match the output");

  spec.answer_regex.clear();
  spec.answer_json_path = "a.b";
  r = run_for_real(*make("quiet", spec), "x");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error, "quiet: the output has no JSON value at 'a.b'");
}

TEST(CustomAgentTest, NonZeroExitIsClassifiedFromStderr) {
  CustomAgentSpec spec;
  spec.command = {"sh", "-c", "echo 'error: 429 Too Many Requests' >&2; exit 3"};
  AgentResult r = run_for_real(*make("limited", spec), "x");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_class, ErrorClass::kRateLimit) << r.error;
  EXPECT_EQ(r.error, "exited 3: error: 429 Too Many Requests");

  spec.command = {"sh", "-c", "exit 1"};
  r = run_for_real(*make("plain", spec), "x");
  EXPECT_EQ(r.error_class, ErrorClass::kPermanent);
}

TEST(CustomAgentTest, EnvIsPassed) {
  CustomAgentSpec spec;
  spec.command = {"sh", "-c", "echo \"$GREETING\""};
  spec.env = {{"GREETING", "from env"}};
  AgentResult r = run_for_real(*make("envy", spec), "");
  EXPECT_EQ(r.text, "from env");
}

TEST(CustomAgentTest, BadSpecsAreRefused) {
  CustomAgentSpec spec;
  auto empty = make_custom_invoker("x", spec);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "custom agent 'x': command is empty");
  spec.command = {"cat"};
  spec.answer_regex = "(unclosed";
  auto bad_regex = make_custom_invoker("x", spec);
  ASSERT_FALSE(bad_regex);
  EXPECT_NE(bad_regex.error().message.find("invalid answer regex '(unclosed'"), std::string::npos);
  spec.answer_regex = "a";
  spec.answer_json_path = "b";
  EXPECT_FALSE(make_custom_invoker("x", spec));
  spec.answer_regex.clear();
  spec.answer_json_path = "a..b";
  EXPECT_FALSE(make_custom_invoker("x", spec));
}

TEST(CustomAgentTest, PromptInsideInterpretedCodeIsRefused) {
  CustomAgentSpec spec;
  spec.prompt = PromptVia::kArg;
  for (auto command :
       std::vector<std::vector<std::string>>{{"sh", "-c", "echo {prompt}"},
                                             {"/bin/bash", "-lc", "tool '{prompt}'"},
                                             {"python3", "-c", "print('''{prompt}''')"},
                                             {"node", "-e", "console.log(`{prompt}`)"},
                                             {"perl", "-e", "print q({prompt})"}}) {
    spec.command = command;
    auto made = make_custom_invoker("x", spec);
    ASSERT_FALSE(made) << command[0];
    EXPECT_NE(made.error().message.find("custom agent 'x': command[2] puts {prompt} inside the "
                                        "code that '" +
                                        command[0] + " " + command[1] + "' runs"),
              std::string::npos)
        << made.error().message;
  }
  // On stdin the same command is fine: the prompt is never part of the script.
  spec.prompt = PromptVia::kStdin;
  spec.command = {"sh", "-c", "echo {prompt}"};
  EXPECT_TRUE(make_custom_invoker("x", spec));
}

TEST(CustomAgentTest, PromptAsAnArgumentOfAShellScriptStaysData) {
  CustomAgentSpec spec;
  spec.prompt = PromptVia::kArg;
  spec.command = {"sh", "-c", "printf 'ANSWER: %s' \"$1\"", "sh", "{prompt}"};
  spec.answer_regex = "ANSWER: ([\\s\\S]*)";
  const std::string hostile = "x'; touch /tmp/baton-pwned-custom; echo '$(id)`id`";
  AgentResult r = run_for_real(*make("quoted", spec), hostile);
  EXPECT_EQ(r.text, hostile);
  EXPECT_FALSE(std::filesystem::exists("/tmp/baton-pwned-custom"));
}

TEST(CustomAgentTest, RegistrationMakesTheNameKnown) {
  CustomAgentSpec spec;
  spec.command = {"cat"};
  ASSERT_TRUE(register_custom_agent("zz-echo", spec));
  const Invoker* inv = find_invoker("zz-echo");
  ASSERT_NE(inv, nullptr);
  EXPECT_EQ(inv->name(), "zz-echo");
  EXPECT_EQ(inv->executable(), "cat");
  EXPECT_TRUE(is_custom_agent("zz-echo"));
  const auto& names = known_agent_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_NE(std::find(names.begin(), names.end(), "zz-echo"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "claude"), names.end());

  // Registering again replaces the spec; the earlier invoker stays usable.
  spec.command = {"tac"};
  ASSERT_TRUE(register_custom_agent("zz-echo", spec));
  EXPECT_EQ(find_invoker("zz-echo")->executable(), "tac");
  EXPECT_EQ(inv->executable(), "cat");
  EXPECT_EQ(std::count(names.begin(), names.end(), "zz-echo"), 1);
}

TEST(CustomAgentTest, RegistrationRefusesBuiltinAndBadNames) {
  CustomAgentSpec spec;
  spec.command = {"cat"};
  auto builtin = register_custom_agent("claude", spec);
  ASSERT_FALSE(builtin);
  EXPECT_EQ(builtin.error().message, "custom agent 'claude': the name of a built-in agent");
  EXPECT_FALSE(register_custom_agent("9lives", spec));
  EXPECT_FALSE(register_custom_agent("has space", spec));
  EXPECT_FALSE(is_custom_agent("has space"));
  EXPECT_EQ(find_invoker("claude")->executable(), "claude");
}

TEST(FindExecutableTest, LooksUpWithoutRunning) {
  EXPECT_EQ(find_executable("sh").empty(), false);
  EXPECT_EQ(find_executable("/bin/sh"), "/bin/sh");
  EXPECT_EQ(find_executable("no-such-executable-anywhere"), "");
}

}  // namespace
}  // namespace baton::agents
