// Integration tests: `baton resume`, `pause`, `retry` and `cancel` of a killed run,
// through the built binary with real processes, supervisors and SQLite files (and on
// PostgreSQL: tests/postgres/resume_postgres_test.cc). The attempts of a SIGKILLed
// `baton run` keep running under their supervisors.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// Each test: a plain TEST of suite ResumeTest on SQLite (each run's .baton/state.db
// beside its workflow; tests/cli_test.cc has a TEST in this suite too).
// tests/postgres/resume_postgres_test.cc defines BATON_RESUME_TEST as a TEST_F of its
// own ResumeTest fixture, which points BATON_STORE at a PostgreSQL database per test.
#ifndef BATON_RESUME_TEST
#define BATON_RESUME_TEST(name) TEST(ResumeTest, name)
#endif

constexpr const char* kSlowFlow = R"(name: slow
tasks:
  - id: slow
    run: "echo started >> started; sleep 2; echo done >> ledger; echo slow-output"
  - id: after
    dependencies: [slow]
    run: "echo ${slow.output} >> after"
)";

BATON_RESUME_TEST(KilledRunReattachesToTheRunningAttemptAndRunsItOnce) {
  ScratchDir dir;
  dir.write("flow.yaml", kSlowFlow);
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  run.signal(SIGKILL);
  EXPECT_EQ(run.wait().exit_code, 128 + SIGKILL);
  ASSERT_EQ(dir.read("ledger"), "");  // still running under its supervisor

  Outcome o = run_baton({"resume", "last", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "done\n");  // not run twice
  EXPECT_EQ(dir.read("started"), "started\n");
  EXPECT_EQ(dir.read("after"), "slow-output\n");  // its output reached the dependant
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "slow")["attempts"], 1);
  auto events = events_of(dir, r["id"]);
  EXPECT_EQ(count_kind(events, "run.resumed"), 1);
  EXPECT_EQ(count_kind(events, "attempt.reattached"), 1);
  EXPECT_EQ(run_baton({"audit", "verify", r["id"]}, dir.path()).exit_code, 0);
}

BATON_RESUME_TEST(AttemptThatFinishedWhileBatonWasDownIsRecordedNotRerun) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: quick
tasks:
  - id: quick
    run: "echo started >> started; while [ ! -f go ]; do sleep 0.02; done; echo done >> ledger; echo quick-output"
  - id: after
    dependencies: [quick]
    run: "echo ${quick.output} >> after"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  run.signal(SIGKILL);
  run.wait();
  json r = last_run(dir);
  const std::string control = r["run_dir"].get<std::string>() + "/logs/quick.1.attempt";
  dir.write("go", "");
  // The supervisor records the end in the control file.
  ASSERT_TRUE(eventually([&] { return read_file(control).find("\"exit\"") != std::string::npos; }));

  Outcome o = run_baton({"resume", r["id"], "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "done\n");
  EXPECT_EQ(dir.read("after"), "quick-output\n");
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "quick")["output"], "quick-output");
  EXPECT_EQ(count_kind(events_of(dir, r["id"]), "attempt.recovered"), 1);
}

BATON_RESUME_TEST(KilledSupervisorLosesTheAttemptsItRanAndEachIsRetriedByPolicy) {
  ScratchDir dir;
  // One run supervisor runs both attempts (exec/supervisor.h): its death loses both.
  // The first attempts hang; later ones succeed at once.
  dir.write("flow.yaml", R"(name: lost
tasks:
  - id: victim
    retry: {max_attempts: 2}
    run: "echo x >> ledger; if [ $(wc -l < ledger) -ge 2 ]; then exit 0; fi; sleep 60"
  - id: bystander
    retry: {max_attempts: 2}
    run: "echo started >> bystander; while [ ! -f go ]; do sleep 0.02; done; echo done >> bystander"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/bystander"));
  ASSERT_TRUE(wait_for_file(dir.path() + "/ledger"));
  json r = last_run(dir);
  const std::string control = r["run_dir"].get<std::string>() + "/logs/victim.1.attempt";
  const std::string other = r["run_dir"].get<std::string>() + "/logs/bystander.1.attempt";
  ASSERT_TRUE(
      eventually([&] { return read_file(control).find("supervisor_pid") != std::string::npos; }));
  run.signal(SIGKILL);
  run.wait();
  json started = json::parse(read_file(control).substr(0, read_file(control).find('\n')));
  json started_other = json::parse(read_file(other).substr(0, read_file(other).find('\n')));
  pid_t supervisor = started["supervisor_pid"];
  EXPECT_EQ(started_other["supervisor_pid"], supervisor);
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !process_alive(supervisor); }));
  dir.write("go", "");

  Outcome o = run_baton({"resume", r["id"], "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "victim")["attempts"], 2);
  EXPECT_EQ(task_of(r, "bystander")["attempts"], 2);
  EXPECT_EQ(dir.read("bystander"), "started\nstarted\ndone\n");
  EXPECT_EQ(dir.read("ledger"), "x\nx\n");
  int named = 0;
  for (const json& a : r["attempts"]) {
    if (a["number"] == 1 && a.value("error", "").find("supervisor died") != std::string::npos) {
      ++named;
    }
  }
  EXPECT_EQ(named, 2) << r.dump(2);
  auto events = events_of(dir, r["id"]);
  EXPECT_EQ(count_kind(events, "attempt.lost"), 2);
  EXPECT_EQ(count_kind(events, "attempt.reattached"), 0);
}

BATON_RESUME_TEST(ChangedWorkflowIsRefusedWithoutForceAndNamesTheTask) {
  ScratchDir dir;
  const std::string flow = R"(name: gated
tasks:
  - id: review
    gate: {message: "ok?"}
  - id: after
    dependencies: [review]
    run: "echo v1 >> ledger"
)";
  dir.write("flow.yaml", flow);
  Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path());
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
  std::string changed = flow;
  changed.replace(changed.find("v1"), 2, "v2");
  dir.write("flow.yaml", "# edited\n" + changed);
  ASSERT_EQ(run_baton({"approve", "last", "review"}, dir.path()).exit_code, 0);

  o = run_baton({"resume", "last", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("tasks changed: after (changed)"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("--force"), std::string::npos) << o.err;
  EXPECT_EQ(dir.read("ledger"), "");

  o = run_baton({"resume", "last", "--plain", "--force"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "v2\n");
}

BATON_RESUME_TEST(PauseLetsTheRunningTaskFinishThenResumeContinues) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: pausable
settings: {max_parallel: 1}
tasks:
  - id: a
    run: "echo started >> started; while [ ! -f go ]; do sleep 0.02; done; echo a >> ledger"
  - id: b
    run: "echo b >> ledger"
  - id: c
    dependencies: [b]
    run: "echo c >> ledger"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  Outcome p = run_baton({"pause", "last"}, dir.path());
  EXPECT_EQ(p.exit_code, 0) << p.err;
  json r = last_run(dir);
  ASSERT_TRUE(eventually([&] {
    for (const json& e : events_of(dir, r["id"])) {
      if (e["kind"] == "run.pausing") return true;
    }
    return false;
  }));
  dir.write("go", "");
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 6) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "a\n");  // a finished; nothing new started
  r = last_run(dir);
  EXPECT_EQ(r["status"], "paused");

  o = run_baton({"resume", "last", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "a\nb\nc\n");
  EXPECT_EQ(last_run(dir)["status"], "success");
}

BATON_RESUME_TEST(SecondOrchestratorIsRefused) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: busy
tasks:
  - id: a
    run: "echo started >> started; while [ ! -f go ]; do sleep 0.02; done"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  Outcome o = run_baton({"resume", "last"}, dir.path());
  EXPECT_EQ(o.exit_code, 7);
  EXPECT_NE(o.err.find("is being run by another baton (pid " + std::to_string(run.pid())),
            std::string::npos)
      << o.err;
  dir.write("go", "");
  EXPECT_EQ(run.wait().exit_code, 0);
}

BATON_RESUME_TEST(CancelOfAKilledRunStopsTheAttemptsItLeftRunning) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: orphan
tasks:
  - id: long
    run: "echo $$ > pid; sleep 60"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(eventually([&] { return dir.read("pid").find('\n') != std::string::npos; }));
  pid_t child = std::stoi(dir.read("pid"));
  run.signal(SIGKILL);
  run.wait();
  ASSERT_TRUE(process_alive(child));  // its supervisor keeps it
  Outcome o = run_baton({"cancel", last_run(dir)["id"]}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_TRUE(eventually([&] { return !process_alive(child); }));
  EXPECT_EQ(last_run(dir)["status"], "cancelled");
}

BATON_RESUME_TEST(RetryRerunsTheFailedTaskAndItsDependantsOnly) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: retry
settings: {on_failure: continue}
tasks:
  - id: a
    run: "echo a >> ledger"
  - id: b
    dependencies: [a]
    run: "echo b >> ledger; test -f fixed"
  - id: c
    dependencies: [b]
    run: "echo c >> ledger"
  - id: d
    run: "echo d >> ledger"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "c")["status"], "cancelled");
  dir.write("fixed", "");
  o = run_baton({"retry", r["id"], "b", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("retrying 2 tasks of run"), std::string::npos) << o.out;
  std::string ledger = dir.read("ledger");
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), 'a'), 1) << ledger;
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), 'b'), 2) << ledger;
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), 'c'), 1) << ledger;
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), 'd'), 1) << ledger;
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "b")["attempts"], 2);
  EXPECT_EQ(count_kind(events_of(dir, r["id"]), "task.retried"), 1);
}

// A repository holding FLOW as flow.yaml, committed; returns the commit.
std::string make_repo(const ScratchDir& dir, const std::string& flow) {
  dir.write("flow.yaml", flow);
  git_sh(dir.path(), "git init -q -b main && git add flow.yaml && git commit -q -m init");
  std::string head = git_sh(dir.path(), "git rev-parse HEAD");
  return head.substr(0, head.find('\n'));
}

// The number of commits in git's RANGE ("a..b").
int commits_in(const ScratchDir& dir, const std::string& range) {
  return std::stoi(git_sh(dir.path(), "git rev-list --count " + range));
}

BATON_RESUME_TEST(WorktreeTasksOfAKilledRunAreCommittedOnceAndIntegrated) {
  ScratchDir dir;
  const std::string root = dir.path();
  std::string base = make_repo(
      dir, R"(name: wt
settings: {isolation: worktree}
tasks:
  - id: a
    run: "sh -c 'sleep 1; echo a > a.txt; echo a >> )" +
               root + R"(/ledger'"
  - id: b
    dependencies: [a]
    run: "sh -c 'echo b > )" +
               root + R"(/started; cat a.txt > seen.txt; sleep 2; echo b > b.txt; echo b >> )" +
               root + R"(/ledger'"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, root);
  ASSERT_TRUE(wait_for_file(root + "/started"));  // a is committed; b runs in its worktree
  run.signal(SIGKILL);
  EXPECT_EQ(run.wait().exit_code, 128 + SIGKILL);

  Outcome o = run_baton({"resume", "last", "--plain"}, root);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  const std::string id = r["id"];
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(dir.read("ledger"), "a\nb\n");  // each ran exactly once
  // The run's branch holds both results; b saw a's.
  EXPECT_EQ(git_sh(root, "git show baton/" + id + ":a.txt"), "a\n");
  EXPECT_EQ(git_sh(root, "git show baton/" + id + ":b.txt"), "b\n");
  EXPECT_EQ(git_sh(root, "git show baton/" + id + ":seen.txt"), "a\n");
  // Each task committed exactly once, on its own branch.
  const std::string branch_a = "baton/tasks/" + id + "/a", branch_b = "baton/tasks/" + id + "/b";
  EXPECT_EQ(commits_in(dir, base + ".." + branch_a), 1);
  EXPECT_EQ(commits_in(dir, branch_a + ".." + branch_b), 1);
  std::string log = git_sh(root, "git log --format=%B baton/" + id);
  for (const char* task : {"a", "b"}) {
    std::string trailer = std::string("Baton-Task: ") + task + "\n";
    size_t n = 0;
    for (size_t at = log.find(trailer); at != std::string::npos; at = log.find(trailer, at + 1)) {
      ++n;
    }
    EXPECT_EQ(n, 1u) << task << "\n" << log;
  }
  auto events = events_of(dir, id);
  EXPECT_EQ(count_kind(events, "task.committed"), 2);
  EXPECT_EQ(count_kind(events, "run.integrated"), 1);
  EXPECT_EQ(count_kind(events, "attempt.reattached") + count_kind(events, "attempt.recovered"), 1);
}

BATON_RESUME_TEST(LostWorktreeAttemptIsRetriedInItsWorktreeResetToItsStart) {
  ScratchDir dir;
  const std::string root = dir.path();
  // The first attempt leaves junk in its worktree and hangs; the second succeeds.
  std::string base = make_repo(
      dir,
      R"(name: wt-lost
settings: {isolation: worktree}
tasks:
  - id: a
    retry: {max_attempts: 2}
    run: "sh -c 'echo x >> )" +
          root + R"(/ledger; if [ $(wc -l < )" + root +
          R"(/ledger) -ge 2 ]; then echo a > a.txt; exit 0; fi; echo junk > junk.txt; echo $$ > )" +
          root + R"(/started; sleep 60'"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, root);
  ASSERT_TRUE(wait_for_file(root + "/started"));
  json r = last_run(dir);
  const std::string id = r["id"];
  const std::string control = r["run_dir"].get<std::string>() + "/logs/a.1.attempt";
  ASSERT_TRUE(
      eventually([&] { return read_file(control).find("supervisor_pid") != std::string::npos; }));
  run.signal(SIGKILL);
  run.wait();
  json started = json::parse(read_file(control).substr(0, read_file(control).find('\n')));
  pid_t supervisor = started["supervisor_pid"];
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !process_alive(supervisor); }));
  const std::string worktree = root + "/.baton/worktrees/" + id + "/a";
  ASSERT_EQ(read_file(worktree + "/junk.txt"), "junk\n");

  Outcome o = run_baton({"resume", id, "--plain"}, root);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "a")["attempts"], 2);
  // Same worktree and branch, the lost attempt's files gone; one commit.
  EXPECT_EQ(read_file(worktree + "/a.txt"), "a\n");
  EXPECT_FALSE(std::filesystem::exists(worktree + "/junk.txt"));
  const std::string branch = "baton/tasks/" + id + "/a";
  EXPECT_EQ(commits_in(dir, base + ".." + branch), 1);
  EXPECT_EQ(git_sh(root, "git ls-tree --name-only " + branch), "a.txt\nflow.yaml\n");
  EXPECT_EQ(git_sh(root, "git show baton/" + id + ":a.txt"), "a\n");
}

}  // namespace
}  // namespace baton::testing
