// Integration tests: gates (`gate:`), `on_failure: escalate` and `baton approve`,
// through the built binary, with and without a live orchestrator.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

constexpr const char* kGatedFlow = R"(name: gated
tasks:
  - id: build
    run: echo v1.2
  - id: ship
    dependencies: [build]
    gate: {message: "ship ${build.output}?"}
    run: "echo shipped >> ledger; echo shipped-${build.output}"
  - id: announce
    dependencies: [ship]
    run: "echo ${ship.output} >> ledger"
)";

TEST(GateTest, NoWaitExitsFiveThenApproveAndResumeRunTheWork) {
  ScratchDir dir;
  dir.write("flow.yaml", kGatedFlow);
  Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path());
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
  json r = last_run(dir);
  const std::string id = r["id"];
  EXPECT_EQ(r["status"], "waiting");
  EXPECT_EQ(task_of(r, "ship")["status"], "waiting");
  EXPECT_EQ(task_of(r, "ship")["reason"], "ship v1.2?");
  EXPECT_NE(o.out.find("baton approve " + id + " ship"), std::string::npos) << o.out;
  EXPECT_EQ(dir.read("ledger"), "");  // the work waits for the gate

  o = run_baton({"approve", id, "ship", "--comment", "go"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("baton resume " + id), std::string::npos) << o.out;
  o = run_baton({"resume", id, "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "shipped\nshipped-v1.2\n");
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "build")["attempts"], 1);  // not run again
  EXPECT_EQ(run_baton({"audit", "verify", id}, dir.path()).exit_code, 0);
}

TEST(GateTest, RejectFailsTheGateAndCancelsItsDependants) {
  ScratchDir dir;
  dir.write("flow.yaml", kGatedFlow);
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path()).exit_code, 5);
  Outcome o =
      run_baton({"approve", "last", "ship", "--reject", "--reason", "not today"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  o = run_baton({"resume", "last", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "ship")["status"], "failed");
  EXPECT_EQ(task_of(r, "ship")["reason"], "rejected: not today");
  EXPECT_EQ(task_of(r, "announce")["status"], "cancelled");
  EXPECT_EQ(dir.read("ledger"), "");
}

TEST(GateTest, ApproveRefusesATaskThatIsNotWaiting) {
  ScratchDir dir;
  dir.write("flow.yaml", kGatedFlow);
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path()).exit_code, 5);
  Outcome o = run_baton({"approve", "last", "build"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("task 'build' of run"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("is success, not waiting for approval"), std::string::npos) << o.err;
}

TEST(GateTest, LiveOrchestratorWaitsAndContinuesWhenApproved) {
  ScratchDir dir;
  dir.write("flow.yaml", kGatedFlow);
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/.baton/state.db"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool waiting = false;
  while (!waiting && std::chrono::steady_clock::now() < deadline) {
    waiting = task_of(last_run(dir), "ship")["status"] == "waiting";
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(waiting);
  Outcome o = run_baton({"approve", "last", "ship"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  Outcome done = run.wait();
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("baton approve"), std::string::npos) << done.out;  // the live view
  EXPECT_EQ(dir.read("ledger"), "shipped\nshipped-v1.2\n");
}

TEST(GateTest, EscalatedFailureWaitsAndApprovalMarksItSucceeded) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: escalate
tasks:
  - id: fragile
    on_failure: escalate
    retry: {max_attempts: 2}
    run: "echo try >> ledger; exit 3"
  - id: after
    dependencies: [fragile]
    run: "echo '${fragile.output}' >> after"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path());
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "fragile")["status"], "waiting");
  EXPECT_EQ(task_of(r, "fragile")["reason"], "escalated: exited 3");
  EXPECT_EQ(dir.read("ledger"), "try\ntry\n");
  ASSERT_EQ(
      run_baton({"approve", "last", "fragile", "--comment", "fixed by hand"}, dir.path()).exit_code,
      0);
  o = run_baton({"resume", "last", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "try\ntry\n");  // approval re-runs nothing
  EXPECT_EQ(dir.read("after"), "fixed by hand\n");
  EXPECT_EQ(task_of(last_run(dir), "fragile")["status"], "success");
}

}  // namespace
}  // namespace baton::testing
