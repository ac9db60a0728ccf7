// Integration tests: `baton run`, `status`, `logs` on real workflows with real
// processes, driven through the built binary.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

TEST(RunTest, VersionPrintsTheVersion) {
  ScratchDir dir;
  Outcome o = run_baton({"--version"}, dir.path());
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out, std::string("baton ") + BATON_VERSION_FOR_TESTS + "\n");
}

TEST(RunTest, UnknownCommandIsAUsageError) {
  ScratchDir dir;
  Outcome o = run_baton({"frobnicate"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
}

TEST(RunTest, SuccessfulRunPassesOutputsAndRecordsState) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
tasks:
  - id: a
    run: echo alpha
  - id: b
    run: [sh, -c, "echo beta-$0", "${a.output}"]
    dependencies: [a]
  - id: c
    dependencies: [a, b]
    run: echo "${a.output}+${b.output}" > joined.txt
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("joined.txt"), "alpha+beta-alpha\n");
  EXPECT_NE(o.out.find("3 tasks: 3 success"), std::string::npos) << o.out;
  json run = last_run(dir);
  EXPECT_EQ(run["status"], "success");
  EXPECT_EQ(task_of(run, "b")["output"], "beta-alpha");
  EXPECT_EQ(task_of(run, "b")["exit_code"], 0);
}

TEST(RunTest, PlainOutputHasOneLinePerTransition) {
  ScratchDir dir;
  dir.write("flow.yaml", "name: demo\ntasks:\n  - id: only\n    run: 'true'\n");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("only  running    attempt 1"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("only  success"), std::string::npos) << o.out;
}

TEST(RunTest, FailureExitsOneAndNamesReasonAndLog) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
tasks:
  - id: bad
    run: echo "something broke" >&2; exit 3
  - id: after
    dependencies: [bad]
    run: touch after.txt
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_FALSE(dir.exists("after.txt"));
  EXPECT_NE(o.out.find("failures:\n  bad: exited 3\n    log: "), std::string::npos) << o.out;
  json run = last_run(dir);
  EXPECT_EQ(run["status"], "failed");
  EXPECT_EQ(task_of(run, "after")["status"], "cancelled");
  std::string log = run["attempts"][0]["log"];
  EXPECT_EQ(read_file(log), "something broke\n");
}

TEST(RunTest, RetriedTaskSucceedsOnSecondAttempt) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
tasks:
  - id: flaky
    run: test "$BATON_ATTEMPT" -ge 2
    retry: {max_attempts: 3, delay: 0.05}
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "flaky")["attempts"], 2);
  ASSERT_EQ(run["attempts"].size(), 2u);
  EXPECT_EQ(run["attempts"][0]["exit_status"], "exited 1");
  EXPECT_EQ(run["attempts"][1]["status"], "success");
}

TEST(RunTest, ConditionSkipsAndDependantsSeeTheStatus) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
inputs: {mode: {default: quick}}
tasks:
  - id: release
    condition: "${mode == 'release'}"
    run: touch released
  - id: note
    dependencies: [release]
    run: echo "release was ${release.status}"
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "release")["status"], "skipped");
  EXPECT_EQ(task_of(run, "note")["output"], "release was skipped");
  EXPECT_FALSE(dir.exists("released"));

  o = run_baton({"run", "flow.yaml", "-i", "mode=release"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_TRUE(dir.exists("released"));
}

TEST(RunTest, ContinueRunsIndependentBranches) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
settings: {on_failure: continue, max_parallel: 1}
tasks:
  - id: bad
    run: exit 1
  - id: good
    run: touch good.txt
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(dir.exists("good.txt"));
}

TEST(RunTest, TimeoutKillsTheTaskAndEveryGrandchild) {
  ScratchDir dir;
  // The task leaves a grandchild that ignores SIGTERM, then hangs.
  dir.write("flow.yaml", R"(name: demo
settings: {kill_grace: 0.3s}
tasks:
  - id: hang
    timeout: 0.5s
    run: |
      sh -c 'trap "" TERM; echo $$ > grandchild.pid; while :; do sleep 1; done' &
      sleep 300
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("hang: timed out"), std::string::npos) << o.out;
  std::string pid = dir.read("grandchild.pid");
  ASSERT_FALSE(pid.empty());
  EXPECT_FALSE(process_alive(std::stoi(pid))) << "grandchild " << pid << " survived";
}

TEST(RunTest, BackgroundGrandchildOfAFinishedTaskIsReaped) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
settings: {kill_grace: 0.2s}
tasks:
  - id: leaky
    run: |
      sh -c 'trap "" TERM; echo $$ > grandchild.pid; exec sleep 300' > /dev/null 2>&1 &
      while [ ! -s grandchild.pid ]; do sleep 0.01; done
      echo done
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string pid = dir.read("grandchild.pid");
  ASSERT_FALSE(pid.empty());
  EXPECT_FALSE(process_alive(std::stoi(pid)));
}

TEST(RunTest, CtrlCCancelsRunningTasksAndExits130) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
settings: {kill_grace: 0.5s}
tasks:
  - id: long
    run: echo $$ > long.pid; sleep 300
  - id: never
    dependencies: [long]
    run: touch never.txt
)");
  BatonProcess p({"run", "flow.yaml"}, dir.path());
  // The whole line: the shell creates long.pid before it writes the pid, and a Ctrl-C
  // in between left it empty (CI: std::stoi("") threw).
  ASSERT_TRUE(eventually([&] { return dir.read("long.pid").find('\n') != std::string::npos; }));
  p.signal(SIGINT);
  Outcome o = p.wait(30);
  EXPECT_EQ(o.exit_code, 130) << o.out << o.err;
  EXPECT_FALSE(dir.exists("never.txt"));
  EXPECT_FALSE(process_alive(std::stoi(dir.read("long.pid"))));
  json run = last_run(dir);
  EXPECT_EQ(run["status"], "cancelled");
  EXPECT_EQ(task_of(run, "long")["status"], "cancelled");
  EXPECT_EQ(task_of(run, "never")["status"], "cancelled");
}

TEST(RunTest, HooksRunAtTheirMomentsAndFailuresAreReported) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
tasks:
  - id: work
    run: test -f started
hooks:
  on_start: [{run: touch started}]
  on_success: [{run: 'echo "ok ${run.status}" > success.txt'}]
  on_failure: [{run: touch failure.txt}]
  on_complete:
    - {id: notify, run: "exit 4"}
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("success.txt"), "ok success\n");
  EXPECT_FALSE(dir.exists("failure.txt"));
  EXPECT_NE(o.out.find("hook failed: hook:on_complete:notify: exited 4"), std::string::npos)
      << o.out;
}

TEST(RunTest, FailingStartHookRunsNoTask) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
tasks:
  - {id: work, run: touch work.txt}
hooks:
  on_start: [{run: exit 1}]
  on_failure: [{run: touch failure.txt}]
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_FALSE(dir.exists("work.txt"));
  EXPECT_TRUE(dir.exists("failure.txt"));
}

TEST(RunTest, LogsPrintsATasksOutput) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
tasks:
  - {id: talk, run: "echo out; echo err >&2"}
  - {id: other, run: "echo second"}
)");
  ASSERT_EQ(run_baton({"run", "flow.yaml"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"logs", "last", "talk"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "out\nerr\n");
  o = run_baton({"logs", "last"}, dir.path());
  EXPECT_EQ(o.out, "[talk] out\n[talk] err\n[other] second\n");
  o = run_baton({"logs", "last", "nosuch"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
}

TEST(RunTest, StatusListsRuns) {
  ScratchDir dir;
  dir.write("flow.yaml", "name: listed\ntasks:\n  - {id: a, run: 'true'}\n");
  ASSERT_EQ(run_baton({"run", "flow.yaml"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"status"}, dir.path());
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("listed"), std::string::npos);
  EXPECT_NE(o.out.find("success"), std::string::npos);
  EXPECT_EQ(run_baton({"status", "nope"}, dir.path()).exit_code, 2);
}

TEST(RunTest, MaxParallelIsRespectedByRealProcesses) {
  ScratchDir dir;
  // Each task records how many siblings run beside it via a lock-free counter dir.
  std::string yaml = "name: par\nsettings: {max_parallel: 2}\ntasks:\n";
  for (int i = 0; i < 6; ++i) {
    yaml += "  - id: t" + std::to_string(i) +
            "\n    run: mkdir -p live; touch live/$BATON_TASK_ID; ls live | wc -l >> counts; "
            "sleep 0.1; rm live/$BATON_TASK_ID\n";
  }
  dir.write("flow.yaml", yaml);
  ASSERT_EQ(run_baton({"run", "flow.yaml"}, dir.path()).exit_code, 0);
  std::string counts = dir.read("counts");
  EXPECT_EQ(counts.find('3'), std::string::npos) << counts;
  EXPECT_NE(counts.find('2'), std::string::npos) << counts;
}

TEST(RunTest, MissingRequiredInputIsRefusedBeforeAnythingRuns) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
inputs: {feature_name: {required: true}}
tasks:
  - {id: a, run: "touch ran"}
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("missing required input 'feature_name'"), std::string::npos) << o.err;
  EXPECT_FALSE(dir.exists("ran"));
  EXPECT_FALSE(dir.exists(".baton/state.db"));
}

}  // namespace
}  // namespace baton::testing
