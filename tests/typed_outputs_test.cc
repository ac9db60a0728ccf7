// Integration tests of typed outputs (docs/workflow.md, "Typed outputs"): command tasks
// whose stdout ends with a fenced ```json block, dependants conditioned on a number and
// a boolean, hostile values that stay data in `run:` strings, a mistyped output failing
// its attempts (class bad_output) with the exact reason, typed values seen by a dependant
// after `baton retry`, and a real agent CLI against the
// scripted model server (`--rehearse`) answering with a ```json block and writing a file.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

TEST(TypedOutputsTest, CommandOutputsFlowWithTheirTypes) {
  ScratchDir dir;
  dir.write("answer.txt",
            "Counted.\n```json\n{\"count\": 1, \"ok\": true, \"summary\": \"old\"}\n```\n"
            "Recounted:\n```json\n{\"count\": 10, \"limit\": 9, \"ok\": false, "
            "\"summary\": \"$(touch pwned); `touch pwned2` 'x'\"}\n```\n");
  dir.write("flow.yaml", R"(name: typed
tasks:
  - id: a
    run: cat answer.txt
    outputs:
      count: {type: number}
      limit: {type: number}
      ok: {type: boolean}
      summary: {type: string, description: hostile on purpose}
  - id: many
    dependencies: [a]
    condition: "${a.outputs.count > a.outputs.limit}"
    run: echo many
  - id: few
    dependencies: [a]
    condition: "${a.outputs.count < 9}"
    run: echo few
  - id: not_ok
    dependencies: [a]
    condition: "${a.outputs.ok == false}"
    run: echo not ok
  - id: is_ok
    dependencies: [a]
    condition: "${a.outputs.ok}"
    run: echo ok
  - id: echo
    dependencies: [a]
    run: printf '%s' ${a.outputs.summary}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  // 10 > 9 as numbers (as two strings, "10" < "9"); false is the boolean.
  EXPECT_EQ(task_of(run, "many")["status"], "success");
  EXPECT_EQ(task_of(run, "few")["status"], "skipped");
  EXPECT_EQ(task_of(run, "not_ok")["status"], "success");
  EXPECT_EQ(task_of(run, "is_ok")["status"], "skipped");
  // The hostile value is data: printed as it is, nothing run.
  EXPECT_EQ(task_of(run, "echo")["output"], "$(touch pwned); `touch pwned2` 'x'");
  EXPECT_EQ(read_file(dir.path() + "/pwned"), "");
  EXPECT_FALSE(std::ifstream(dir.path() + "/pwned").good());
  EXPECT_FALSE(std::ifstream(dir.path() + "/pwned2").good());
}

TEST(TypedOutputsTest, AMistypedOutputFailsTheAttemptWithTheReason) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: mistyped
tasks:
  - id: a
    run: "printf '```json\n{\"count\": \"12\"}\n```\n'"
    retry: {max_attempts: 2, delay: 0}
    outputs:
      count: {type: number}
  - id: after
    dependencies: [a]
    run: echo ${a.outputs.count}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_NE(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  json a = task_of(run, "a");
  EXPECT_EQ(a["status"], "failed");
  EXPECT_EQ(a["attempts"], 2);  // retried by policy
  EXPECT_EQ(a["reason"], "output 'count': expected a number, found the string \"12\"");
  EXPECT_NE(task_of(run, "after")["status"], "success");
  int classified = 0;
  for (const json& at : run["attempts"]) {
    if (at.value("task", "") == "a" && at.value("error_class", "") == "bad_output") {
      ++classified;
    }
  }
  EXPECT_EQ(classified, 2) << run["attempts"].dump();
}

TEST(TypedOutputsTest, AMissingFileOutputFailsTheTask) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: nofile
tasks:
  - id: a
    run: echo done
    outputs:
      report: {type: file, path: out/report.md}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_NE(o.exit_code, 0) << o.out << o.err;
  json a = task_of(last_run(dir), "a");
  EXPECT_EQ(a["status"], "failed");
  EXPECT_EQ(a["reason"],
            "output 'report' (file out/report.md): no such file (the task did not write it)");
}

TEST(TypedOutputsTest, ARetriedDependantSeesTheTypedValuesAfterTheRunEnded) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: retried
tasks:
  - id: a
    run: "printf 'Counted.\n```json\n{\"count\": 3}\n```\n'"
    outputs:
      count: {type: number}
  - id: b
    dependencies: [a]
    run: test -f go && echo ${a.outputs.count} ${a.outputs.count == 3}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_NE(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  ASSERT_EQ(task_of(run, "b")["status"], "failed");
  dir.write("go", "");
  const std::string id = run["id"];
  o = run_baton({"retry", id, "b", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(task_of(last_run(dir), "b")["output"], "3 true");  // still the number 3
}

// A file output is read again from the directory its task ran in when a later baton
// (retry, resume) starts a dependant: the project root, or the task's worktree.
TEST(TypedOutputsTest, ARetriedDependantSeesAFileOutputFromTheRootOrTheWorktree) {
  for (const std::string isolation : {"none", "worktree"}) {
    SCOPED_TRACE(isolation);
    ScratchDir dir;
    // b fails until the file GO exists, then is retried.
    make_flow_repo(dir, "name: file-retried\nsettings: {isolation: " + isolation +
                            ", integrate: none}\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    run: mkdir -p out && printf 'from a $(touch pwned)' > "
                            "out/report.txt\n"
                            "    outputs:\n"
                            "      report: {type: file, path: out/report.txt}\n"
                            "  - id: b\n"
                            "    dependencies: [a]\n"
                            "    env: {GO: " +
                            dir.path() +
                            "/go}\n"
                            "    run: test -f \"$GO\" && printf '%s' ${a.outputs.report}\n");
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    ASSERT_NE(o.exit_code, 0) << o.out << o.err;
    json run = last_run(dir);
    ASSERT_EQ(task_of(run, "a")["status"], "success");
    ASSERT_EQ(task_of(run, "b")["status"], "failed");
    dir.write("go", "");
    const std::string id = run["id"];
    o = run_baton({"retry", id, "b", "--plain"}, dir.path());
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    EXPECT_EQ(task_of(last_run(dir), "b")["output"], "from a $(touch pwned)");
    EXPECT_FALSE(dir.exists("pwned"));
  }
}

TEST(RehearsedTypedOutputsTest, ClaudeAnswersWithAJsonBlockAndWritesAFile) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: typed-agent
tasks:
  - id: impl
    agent: claude
    parameters: {task: "Count the files"}
    timeout: 2m
    outputs:
      files: {type: number}
      clean: {type: boolean}
      report: {type: file, path: report.md}
  - id: after
    dependencies: [impl]
    condition: "${impl.outputs.files >= 3 && impl.outputs.clean}"
    run: printf '%s|%s' ${impl.outputs.files} ${impl.outputs.report}
)");
  dir.write("script.yaml",
            "agents:\n"
            "  claude: [{write_file: {path: report.md, content: \"all $(good)\"}}, {text: "
            "\"Done.\\n```json\\n{\\\"files\\\": 12, \\\"clean\\\": true}\\n```\"}]\n");
  ASSERT_EQ(run_command({"git", "init", "-q"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "impl")["status"], "success");
  EXPECT_EQ(task_of(run, "after")["output"], "12|all $(good)");
  // The agent was told which keys to give and which file to write (its prompt, in
  // the CLI's own session transcript).
  const std::string id = run["id"];
  const std::string home = dir.path() + "/.baton/runs/" + id + "/rehearse";
  for (const char* said :
       {"Required outputs:", "a JSON number", "a JSON boolean", "report.md (output 'report')"}) {
    EXPECT_EQ(run_command({"grep", "-rqF", said, home}, dir.path()).exit_code, 0) << said;
  }
}

}  // namespace
}  // namespace baton::testing
