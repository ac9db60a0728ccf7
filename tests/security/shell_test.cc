// Security suite, issue 12 part 6 and 7: values that become code.
//
// An input value (`-i`), an upstream task's output (an agent's answer is text from a
// model) or any other interpolated value must never be parsed as shell syntax when a
// `run:` string (tasks and hooks) is handed to /bin/sh, and a `workdir` must stay
// inside the task's root. Each test drives the built `baton` the way a hostile input,
// upstream output or workflow would, and checks both the value that arrived and that
// no side effect happened.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The side effect every hostile value below tries to cause.
constexpr const char* kPwned = "PWNED";

TEST(ShellInjection, InputInUnquotedRunIsOneWord) {
  ScratchDir dir;
  dir.write("flow.yaml", "name: t\ntasks:\n  - id: a\n    run: echo ${msg} > out.txt\n");
  Outcome o = run_baton({"run", "flow.yaml", "-i", "msg=x; touch PWNED"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  EXPECT_EQ(dir.read("out.txt"), "x; touch PWNED\n");
}

TEST(ShellInjection, CommandSubstitutionInAValueDoesNotRun) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    run: echo "${msg}" > dq.txt; echo ${msg} > unq.txt
)");
  Outcome o = run_baton({"run", "flow.yaml", "-i", "msg=$(touch PWNED)`touch PWNED`"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  EXPECT_EQ(dir.read("dq.txt"), "$(touch PWNED)`touch PWNED`\n");
  EXPECT_EQ(dir.read("unq.txt"), "$(touch PWNED)`touch PWNED`\n");
}

TEST(ShellInjection, SingleQuotesInTheTemplateCannotBeClosedByTheValue) {
  ScratchDir dir;
  dir.write("flow.yaml", "name: t\ntasks:\n  - id: a\n    run: echo '${msg}' > out.txt\n");
  Outcome o = run_baton({"run", "flow.yaml", "-i", "msg=x'; touch PWNED; echo '"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  EXPECT_EQ(dir.read("out.txt"), "x'; touch PWNED; echo '\n");
}

// An agent's answer is text from a model: here a command task stands in for it and
// prints a multi-line hostile answer; the dependant must receive it as text.
TEST(ShellInjection, UpstreamOutputCannotInjectIntoADependant) {
  ScratchDir dir;
  const std::string answer =
      "Sure! Here is the plan:\n$(touch PWNED)\n`touch PWNED`\n'; touch PWNED; '\n"
      "\"; touch PWNED; \"\n; touch PWNED #\nEOF\ndone";
  dir.write("answer.txt", answer);
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: model
    run: [cat, answer.txt]
  - id: unq
    dependencies: [model]
    run: printf '%s' ${model.output} > unq.txt
  - id: dq
    dependencies: [model]
    run: printf '%s' "${model.output}" > dq.txt
  - id: sq
    dependencies: [model]
    run: |
      printf '%s' '${model.output}' > sq.txt
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  EXPECT_EQ(dir.read("unq.txt"), answer);
  EXPECT_EQ(dir.read("dq.txt"), answer);
  EXPECT_EQ(dir.read("sq.txt"), answer);
}

TEST(ShellInjection, HookRunStringsAreEscapedToo) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    run: "true"
hooks:
  on_start: [{run: 'echo ${msg} > start.txt'}]
  on_success: [{run: 'echo "${msg}" > success.txt'}]
  on_complete: [{run: "echo '${msg}' > complete.txt"}]
)");
  const std::string msg = "x'\"; touch PWNED; $(touch PWNED) '";
  Outcome o = run_baton({"run", "flow.yaml", "-i", "msg=" + msg}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  EXPECT_EQ(dir.read("start.txt"), msg + "\n");
  EXPECT_EQ(dir.read("success.txt"), msg + "\n");
  EXPECT_EQ(dir.read("complete.txt"), msg + "\n");
}

// The strongest test: every quoting context a value can land in, times hostile values
// (every ASCII metacharacter, both quotes, backslashes, `$(`, backquotes, newlines,
// quote-closing payloads, non-UTF-8 bytes), run by the real /bin/sh through baton;
// what the shell printed must be the value, byte for byte, and nothing else ran.
TEST(ShellInjection, HostileValuesRoundTripInEveryContext) {
  const std::vector<std::string> values = {
      "x; touch PWNED",
      "$(touch PWNED)",
      "`touch PWNED`",
      "x'; touch PWNED; echo '",
      "'; touch PWNED; '",
      "x\"; touch PWNED; echo \"",
      "\\",
      "a\\",
      "\\'",
      "\\\"",
      "a\\\nb",
      "line1\nline2\n; touch PWNED\n",
      " | & ; < > ( ) $ ` \\ \" ' * ? [ ] # ~ = % { } ! ^ , : @ + - . / \t end",
      "$HOME ${HOME} $$ $? $0 $1 $# $* $@",
      "''",
      "\"\"",
      "*",
      "~root",
      "#not a comment",
      "\t leading tab, trailing space ",
      "\r\nCRLF\r\n",
      "\xff\xfe non-UTF-8 \x80\xc3",
      "EOF\nEOF",
      "-n",
      "",
  };
  struct Context {
    const char* name;
    const char* run;  // V stands for the ${...} reference
    std::string prefix, suffix;
  };
  const std::vector<Context> contexts = {
      {"unquoted", "printf '%s' V", "", ""},
      {"double", "printf '%s' \"V\"", "", ""},
      {"single", "printf '%s' 'V'", "", ""},
      {"glued", "printf '%s' a\"b\"V'c'd", "ab", "cd"},
      {"double-glued", "printf '%s' \"<V>\"", "<", ">"},
      {"single-glued", "printf '%s' '<V>'", "<", ">"},
      {"assignment", "x=V; printf '%s' \"$x\"", "", ""},
      {"substitution", "x=$(printf '%s' V; echo .); printf '%s' \"$${x%.}\"", "", ""},
      {"double-in-substitution", "x=\"$(printf '%s' \"V\"; echo .)\"; printf '%s' \"$${x%.}\"", "",
       ""},
      {"single-in-substitution", "x=$(printf '%s' 'V'; echo .); printf '%s' \"$${x%.}\"", "", ""},
  };
  ScratchDir dir;
  fs::create_directories(dir.path() + "/out");
  std::string flow = "name: t\nsettings: {max_parallel: 8}\ntasks:\n";
  std::vector<std::string> args = {"run", "flow.yaml"};
  for (size_t v = 0; v < values.size(); ++v) {
    args.push_back("-i");
    args.push_back("v" + std::to_string(v) + "=" + values[v]);
  }
  for (size_t c = 0; c < contexts.size(); ++c) {
    for (size_t v = 0; v < values.size(); ++v) {
      std::string run = contexts[c].run;
      run.replace(run.find('V'), 1, "${v" + std::to_string(v) + "}");
      std::string id = "c" + std::to_string(c) + "-v" + std::to_string(v);
      // JSON text is a YAML double-quoted scalar: the run string exactly.
      flow += "  - id: " + id + "\n    run: " + json(run + " > out/" + id).dump() + "\n";
    }
  }
  dir.write("flow.yaml", flow);
  Outcome o = run_baton(args, dir.path(), {}, 300);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  for (size_t c = 0; c < contexts.size(); ++c) {
    for (size_t v = 0; v < values.size(); ++v) {
      std::string id = "c" + std::to_string(c) + "-v" + std::to_string(v);
      EXPECT_EQ(dir.read("out/" + id), contexts[c].prefix + values[v] + contexts[c].suffix)
          << "context " << contexts[c].name << ", value "
          << json(values[v]).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
}

// A NUL byte cannot be in a command line: the dependant fails with the reason, and
// nothing after the NUL is lost silently.
TEST(ShellInjection, NulInAValueFailsTheTaskWithAReason) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    run: printf 'safe\000; touch PWNED'
  - id: b
    dependencies: [a]
    run: echo ${a.output} > out.txt
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  EXPECT_FALSE(dir.exists("out.txt"));
  json run = last_run(dir);
  json b = task_of(run, "b");
  EXPECT_EQ(b["status"], "failed") << run.dump(2);
  EXPECT_NE(run.dump().find("NUL"), std::string::npos) << run.dump(2);
}

// An agent that takes its prompt as an argument (opencode, copilot, a custom agent with
// `prompt: arg`) would get it cut short at a NUL from an upstream output: the attempt
// fails instead, and the agent never runs.
TEST(ShellInjection, NulInAPromptPassedAsAnArgumentFailsTheAttempt) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", R"(custom_agents:
  echoer:
    command: [sh, -c, 'printf "%s" "$1" > got.txt', sh, '{prompt}']
    prompt: arg
)");
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    run: printf 'head\000tail'
  - id: b
    agent: echoer
    dependencies: [a]
    parameters: {task: "${a.output}"}
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_FALSE(dir.exists("got.txt"));
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "b")["status"], "failed") << run.dump(2);
  EXPECT_NE(run.dump().find("the prompt contains a NUL byte"), std::string::npos) << run.dump(2);
}

// The argv form and env: pass values verbatim, but a NUL byte would cut an argument
// short (`${x}/build` with x = "/\0" would become "/"): the task fails instead.
TEST(ShellInjection, NulInAnArgvOrEnvValueFailsTheTask) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    run: printf '/\000x'
  - id: argv
    dependencies: [a]
    run: [sh, -c, 'printf "%s" "$0" > argv.txt', "${a.output}/build"]
  - id: by-env
    dependencies: [a]
    run: [sh, -c, 'printf "%s" "$X" > env.txt']
    env: {X: "${a.output}/build"}
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_FALSE(dir.exists("argv.txt")) << dir.read("argv.txt");
  EXPECT_FALSE(dir.exists("env.txt")) << dir.read("env.txt");
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "argv")["status"], "failed") << run.dump(2);
  EXPECT_EQ(task_of(run, "by-env")["status"], "failed") << run.dump(2);
  EXPECT_NE(run.dump().find("run[3]: the value contains a NUL byte"), std::string::npos)
      << run.dump(2);
  EXPECT_NE(run.dump().find("env.X: the value contains a NUL byte"), std::string::npos)
      << run.dump(2);
}

// The explicit raw form: the value is shell text on purpose; validate warns where.
TEST(ShellInjection, RawFormIsVerbatimAndValidateWarns) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    run: echo ${fn:raw(flags)} > out.txt
)");
  Outcome v = run_baton({"validate", "flow.yaml", "-i", "flags=-n one two"}, dir.path());
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.err.find("flow.yaml:4:15: warning: fn:raw"), std::string::npos) << v.err;
  Outcome o = run_baton({"run", "flow.yaml", "-i", "flags=-n one   two"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("out.txt"), "one two");
}

// Places where no quoting can make a value safe are refused before anything runs.
TEST(ShellInjection, UnplaceableInterpolationIsRefusedAtValidation) {
  struct Case {
    const char* run;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"echo `echo ${msg}`", "backquotes"},
      {"echo hi # ${msg}", "comment"},
      {"cat <<EOF\\n${msg}\\nEOF", "here-document"},
      {"echo $(( ${msg} + 1 ))", "arithmetic"},
      {"echo \\\\${msg}", "backslash"},
      {"echo $${HOME:-${msg}}", "parameter expansion"},
  };
  for (const Case& c : cases) {
    ScratchDir dir;
    dir.write("flow.yaml",
              std::string("name: t\ntasks:\n  - id: a\n    run: \"") + c.run + " > out.txt\"\n");
    Outcome o = run_baton({"validate", "flow.yaml", "-i", "msg=1"}, dir.path());
    EXPECT_EQ(o.exit_code, 2) << c.run << "\n" << o.err;
    EXPECT_NE(o.err.find("flow.yaml:4:"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find(c.message), std::string::npos) << c.run << "\n" << o.err;
    Outcome r = run_baton({"run", "flow.yaml", "-i", "msg=1"}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << c.run << "\n" << r.err;
    EXPECT_FALSE(dir.exists("out.txt")) << c.run;
  }
}

// The argv form and env values stay verbatim (no shell parses them).
TEST(ShellInjection, ArgvAndEnvStayVerbatim) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    run: [sh, -c, 'printf "%s" "$0" > argv.txt; printf "%s" "$MSG" > env.txt', "${msg}"]
    env: {MSG: "${msg}"}
)");
  const std::string msg = "a 'b' \"c\" $(d)";
  Outcome o = run_baton({"run", "flow.yaml", "-i", "msg=" + msg}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("argv.txt"), msg);
  EXPECT_EQ(dir.read("env.txt"), msg);
}

// `baton init`'s example passes an upstream output into a `run:` string; a hostile
// output must arrive as text.
TEST(ShellInjection, InitExampleIsSafeWithAHostileUpstreamOutput) {
  ScratchDir dir;
  Outcome init = run_baton({"init"}, dir.path());
  ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  std::string hello = read_file(dir.path() + "/.baton/hello.yaml");
  const std::string count = "run: ls | wc -l";
  ASSERT_NE(hello.find(count), std::string::npos) << hello;
  hello.replace(hello.find(count), count.size(), "run: echo '\"; touch PWNED; \"'");
  dir.write(".baton/hello.yaml", hello);
  Outcome o = run_baton({"run", ".baton/hello.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_FALSE(dir.exists(kPwned));
  EXPECT_EQ(task_of(last_run(dir), "report")["output"],
            "hello from hello; \"; touch PWNED; \" entries here");
}

// --- workdir ---------------------------------------------------------------------

TEST(Workdir, LiteralEscapesAreRefusedAtValidation) {
  for (const char* workdir : {"../../..", "/etc", "sub/../../x", ".."}) {
    ScratchDir dir;
    dir.write("flow.yaml", std::string("name: t\ntasks:\n  - id: a\n    workdir: ") + workdir +
                               "\n    run: pwd > \"$BATON_RUN_ID.pwd\"\n");
    Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
    EXPECT_EQ(o.exit_code, 2) << workdir << "\n" << o.err;
    EXPECT_NE(o.err.find("flow.yaml:4:14: error: workdir"), std::string::npos) << o.err;
    Outcome r = run_baton({"run", "flow.yaml"}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << workdir << "\n" << r.err;
  }
}

TEST(Workdir, InsideTheProjectStillWorks) {
  ScratchDir dir;
  fs::create_directories(dir.path() + "/sub/deeper");
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    workdir: sub/./deeper/..
    run: pwd
  - id: b
    workdir: ${where}
    run: pwd
)");
  Outcome o = run_baton({"run", "flow.yaml", "-i", "where=sub/deeper"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  std::string root = fs::canonical(dir.path()).string();
  EXPECT_EQ(task_of(run, "a")["output"], root + "/sub");
  EXPECT_EQ(task_of(run, "b")["output"], root + "/sub/deeper");
}

TEST(Workdir, TemplatedEscapeFailsTheTask) {
  for (const char* where : {"../../..", "/etc", "sub/../.."}) {
    ScratchDir dir;
    fs::create_directories(dir.path() + "/sub");
    dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    workdir: ${where}
    run: pwd
)");
    Outcome o = run_baton({"run", "flow.yaml", "-i", std::string("where=") + where}, dir.path());
    EXPECT_EQ(o.exit_code, 1) << where << "\n" << o.out << o.err;
    json a = task_of(last_run(dir), "a");
    EXPECT_EQ(a["status"], "failed") << where;
    EXPECT_NE(last_run(dir).dump().find("outside"), std::string::npos) << where << "\n"
                                                                       << last_run(dir).dump(2);
  }
}

// A task plants a symlink to / in the project; a later task's workdir goes through it.
TEST(Workdir, SymlinkPlantedByAnEarlierTaskIsNotFollowedOut) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: plant
    run: ln -s / escape
  - id: victim
    dependencies: [plant]
    workdir: escape/tmp
    run: pwd -P
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "victim")["status"], "failed") << run.dump(2);
  EXPECT_NE(run.dump().find("outside"), std::string::npos) << run.dump(2);
}

// With isolation: worktree the task's root is its worktree, not the project.
TEST(Workdir, WorktreeTaskCannotLeaveItsWorktree) {
  ScratchDir dir;
  ASSERT_EQ(run_command({"git", "init", "-q", "-b", "main"}, dir.path()).exit_code, 0);
  dir.write("README", "x\n");
  ASSERT_EQ(
      run_command({"git", "-c", "user.name=t", "-c", "user.email=t@t", "add", "."}, dir.path())
          .exit_code,
      0);
  ASSERT_EQ(
      run_command({"git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"},
                  dir.path())
          .exit_code,
      0);
  dir.write("flow.yaml", R"(name: t
tasks:
  - id: a
    isolation: worktree
    workdir: ${where}
    run: pwd
)");
  Outcome o = run_baton({"run", "flow.yaml", "-i", "where=../.."}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "a")["status"], "failed") << run.dump(2);
  EXPECT_NE(run.dump().find("outside"), std::string::npos) << run.dump(2);
}

}  // namespace
}  // namespace baton::testing
