// The Slurm executor (docs/slurm.md) on a real single-node cluster (slurm_cluster.h):
// every attempt a batch job running `baton __slurm-attempt`, its end read from the
// exit record on the (here local) shared file system, the scheduler's state for
// queued, running and lost. Run as one CTest test (label slurm) so that the cluster
// starts once.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "harness_util.h"
#include "slurm/slurm_cluster.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Polls FN every 20 ms until it is true or TIMEOUT_S passes (cross-process waits).
template <class Fn>
bool eventually(Fn fn, double timeout_s = 60) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

// Jobs the scheduler lists in one of STATES (squeue -t), one id a line. A squeue that
// failed (slurmctld too busy to answer in time on a loaded machine) printed no jobs
// without meaning "none": it is asked again, and a lasting failure fails the test.
std::string jobs_in(const std::string& states) {
  Outcome q;
  eventually([&] {
    q = run_command({"squeue", "-h", "-o", "%i", "-t", states}, "/");
    return q.exit_code == 0;
  });
  EXPECT_EQ(q.exit_code, 0) << "squeue failed: " << q.err;
  return q.out;
}

// Jobs submitted for RUN's attempts: "submitted" records in its logs' *.slurm files.
int submitted_jobs(const json& run) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(run["run_dir"].get<std::string>() + "/logs")) {
    if (entry.path().extension() != ".slurm") continue;
    std::string text = read_file(entry.path().string());
    for (size_t at = 0; (at = text.find("\"submitted\"", at)) != std::string::npos; ++at) ++n;
  }
  return n;
}

// The settings block of a workflow on Slurm, quick to notice ends and losses.
constexpr const char* kSlurmSettings = R"(settings:
  executor: slurm
  max_parallel: 8
  slurm: {poll: 100ms, lost_after: 2s}
)";

// 30 tasks in 6 layers of 5, each depending on two of the layer before, each output
// computed from its dependencies' outputs.
std::string thirty_tasks(const std::string& settings) {
  std::string flow = "name: thirty\n" + settings + "tasks:\n";
  for (int layer = 0; layer < 6; ++layer) {
    for (int i = 0; i < 5; ++i) {
      std::string id = "t" + std::to_string(layer) + "_" + std::to_string(i);
      flow += "  - id: " + id + "\n";
      if (layer == 0) {
        flow += "    run: \"echo " + id + "\"\n";
        continue;
      }
      std::string a = "t" + std::to_string(layer - 1) + "_" + std::to_string(i);
      std::string b = "t" + std::to_string(layer - 1) + "_" + std::to_string((i + 1) % 5);
      flow += "    dependencies: [" + a + ", " + b + "]\n";
      flow += "    run: \"echo " + id + "-${" + a + ".output}-${" + b + ".output} | md5sum\"\n";
    }
  }
  return flow;
}

TEST(SlurmTest, ThirtyTasksOnSlurmEndAsTheyDoLocally) {
  ScratchDir local, slurm;
  local.write("flow.yaml", thirty_tasks("settings: {max_parallel: 8}\n"));
  slurm.write("flow.yaml", thirty_tasks(kSlurmSettings));
  Outcome l = run_baton({"run", "flow.yaml", "--plain"}, local.path());
  ASSERT_EQ(l.exit_code, 0) << l.out << l.err;
  Outcome s = run_baton({"run", "flow.yaml", "--plain"}, slurm.path(), {}, 300);
  ASSERT_EQ(s.exit_code, 0) << s.out << s.err << slurm_cluster().logs();
  json lr = last_run(local), sr = last_run(slurm);
  ASSERT_EQ(lr["tasks"].size(), 30u);
  ASSERT_EQ(sr["tasks"].size(), 30u);
  for (const json& t : lr["tasks"]) {
    json other = task_of(sr, t["id"]);
    EXPECT_EQ(other["status"], t["status"]) << t["id"];
    EXPECT_EQ(other["output"], t["output"]) << t["id"];
    EXPECT_EQ(other["attempts"], 1) << t["id"];
  }
  // One job per attempt, its id in the run's history and in the attempt's record.
  auto events = events_of(slurm, sr["id"]);
  EXPECT_EQ(count_kind(events, "attempt.submitted"), 30);
  EXPECT_EQ(submitted_jobs(sr), 30);
  EXPECT_EQ(count_kind(events_of(local, lr["id"]), "attempt.submitted"), 0);
  const std::string logs = sr["run_dir"].get<std::string>() + "/logs/";
  EXPECT_NE(read_file(logs + "t0_0.1.slurm").find("\"job_id\""), std::string::npos);
  EXPECT_FALSE(fs::exists(logs + "t0_0.1.slurm-spec"));  // read and removed by the job
  EXPECT_FALSE(fs::exists(local.path() + "/.baton/runs/" + lr["id"].get<std::string>() +
                          "/logs/t0_0.1.slurm"));
}

// settings.executor: slurm with one task's `executor: local`: that task runs here (no
// job), the other as a job, and the output crosses between them.
TEST(SlurmTest, TaskOverrideRunsThatTaskLocally) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: mixed\n") + kSlurmSettings + R"(tasks:
  - id: here
    executor: local
    run: "echo here-$SLURM_JOB_ID"
  - id: there
    dependencies: [here]
    run: "echo ${here.output} there-$SLURM_JOB_ID"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {}, 120);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  const std::string logs = r["run_dir"].get<std::string>() + "/logs/";
  EXPECT_FALSE(fs::exists(logs + "here.1.slurm"));
  const std::string job = read_file(logs + "there.1.slurm");
  ASSERT_NE(job.find("\"job_id\""), std::string::npos);
  std::string job_id = json::parse(job.substr(job.find('\n') + 1))["job_id"];
  EXPECT_EQ(task_of(r, "here")["output"], "here-");  // not in a job
  EXPECT_EQ(task_of(r, "there")["output"], "here- there-" + job_id);
}

TEST(SlurmTest, TimeoutIsBatonsAndTheJobEnds) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: slow\n") + kSlurmSettings + R"(tasks:
  - id: slow
    timeout: 1s
    run: "echo started; sleep 60; echo never"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {}, 120);
  EXPECT_NE(o.exit_code, 0);
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "slow")["status"], "failed");
  ASSERT_EQ(r["attempts"].size(), 1u);
  EXPECT_EQ(r["attempts"][0]["error_class"], "timeout");
  EXPECT_NE(r["attempts"][0]["exit_status"].get<std::string>().find("timed out after 1s"),
            std::string::npos)
      << r["attempts"][0];
  EXPECT_EQ(read_file(r["attempts"][0]["log"]), "started\n");
  EXPECT_TRUE(eventually([] { return jobs_in("PENDING,RUNNING,COMPLETING").empty(); }));
}

// Runs DIR's flow.yaml, whose task `long` writes `started`, then `ledger` unless it is
// stopped; `baton cancel` once `started` is there: the run and `long` end cancelled, no
// job is left and `ledger` was never written.
void cancel_long_and_check_it_stopped(const ScratchDir& dir) {
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started", 60)) << slurm_cluster().logs();
  Outcome c = run_baton({"cancel", "last"}, dir.path(), {}, 120);
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  Outcome o = run.wait(120);
  EXPECT_EQ(o.exit_code, 3) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "cancelled");
  EXPECT_EQ(task_of(r, "long")["status"], "cancelled");
  EXPECT_TRUE(eventually([] { return jobs_in("PENDING,RUNNING,COMPLETING").empty(); }));
  EXPECT_FALSE(dir.exists("ledger"));
}

TEST(SlurmTest, CancelScancelsTheJobAndRecordsTheTaskCancelled) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: long\n") + kSlurmSettings + R"(tasks:
  - id: long
    run: "echo started > started; sleep 120; echo done > ledger"
)");
  cancel_long_and_check_it_stopped(dir);
}

// Slurm's own cancel signals a job's processes one at a time, deepest first
// (proctrack/linuxproc): `sleep` got SIGTERM before the shell that ran it, and a shell
// scheduled in between went on to `echo done > ledger` and exited 0 (the task was
// recorded a success). Here that interleaving is made certain instead of rare: the
// shell and its `sleep` run SCHED_FIFO on one CPU with the job's slurmstepd pinned to
// it, so each process that slurmstepd signals runs before slurmstepd's next kill(2).
// baton's cancel signals only the batch script, whose supervisor stops the task's
// whole process group with one kill(2): the shell gets SIGTERM with its child.
TEST(SlurmTest, CancelStopsTheShellEvenWhenItOutrunsSlurmsSignals) {
  if (run_command({"chrt", "-f", "10", "true"}, "/").exit_code != 0 ||
      run_command({"taskset", "-p", "1"}, "/").exit_code != 0) {
    GTEST_SKIP() << "no SCHED_FIFO or taskset here (needs CAP_SYS_NICE and util-linux)";
  }
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: outrun\n") + kSlurmSettings + R"flow(tasks:
  - id: long
    run: |
      p=$$
      while [ "$(cat /proc/$p/comm)" != slurmstepd ]; do
        p=$(cut -d' ' -f4 /proc/$p/stat)
        [ "$p" -gt 1 ] || exit 97
      done
      cpu=$(cut -d' ' -f39 /proc/self/stat)
      taskset -apc "$cpu" "$p" > /dev/null || exit 98
      exec taskset -c "$cpu" chrt -f 10 sh -c 'echo started > started; sleep 120; echo done > ledger'
)flow");
  cancel_long_and_check_it_stopped(dir);
}

// `baton run` of a workflow with one task, ID, on Slurm (kSlurmSettings) with
// settings.kill_grace KILL_GRACE, running RUN (a shell command, in double quotes).
BatonProcess started_on_slurm(const ScratchDir& dir, const std::string& id,
                              const std::string& kill_grace, const std::string& run) {
  dir.write("flow.yaml", "name: " + id + "\n" + kSlurmSettings + "  kill_grace: " + kill_grace +
                             "\ntasks:\n  - id: " + id + "\n    run: \"" + run + "\"\n");
  return BatonProcess({"run", "flow.yaml", "--plain"}, dir.path());
}

// The pid of the `baton __slurm-attempt` whose spec is under DIR (the job's batch
// script), or 0.
pid_t slurm_attempt_pid(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path().string() + "/cmdline");
    if (cmdline.find("__slurm-attempt") != std::string::npos &&
        cmdline.find(dir) != std::string::npos) {
      return static_cast<pid_t>(std::stol(name));
    }
  }
  return 0;
}

// A task whose shell ignores SIGTERM keeps the first cancel waiting for its grace (ten
// minutes here): a second SIGTERM to `baton run` (kill now) reaches the job's batch
// script as a second request, and the supervisor SIGKILLs the group at once.
TEST(SlurmTest, SecondSigtermKillsTheJobsTaskAtOnce) {
  ScratchDir dir;
  BatonProcess run =
      started_on_slurm(dir, "stubborn", "10m", "trap '' TERM; echo started > started; sleep 600");
  ASSERT_TRUE(wait_for_file(dir.path() + "/started", 60)) << slurm_cluster().logs();
  run.signal(SIGTERM);
  std::string status;
  ASSERT_TRUE(eventually([&] {  // the first request went out: the task is stopping
    status = read_file(last_run(dir)["run_dir"].get<std::string>() + "/logs/stubborn.1.slurm");
    return status.find("cancel_requested") != std::string::npos;
  })) << status;
  run.signal(SIGTERM);
  Outcome o = run.wait(120);  // far less than the grace
  EXPECT_NE(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "stubborn")["status"], "cancelled");
  ASSERT_EQ(r["attempts"].size(), 1u);
  EXPECT_NE(r["attempts"][0]["exit_status"].get<std::string>().find("SIGKILL"), std::string::npos)
      << r["attempts"][0];
  EXPECT_TRUE(eventually([] { return jobs_in("PENDING,RUNNING,COMPLETING").empty(); }));
}

// The batch script stopped (SIGSTOP) cannot act on baton's SIGTERM: once the grace
// plus 30 s have passed with the job still running, the orchestrator falls back to
// Slurm's own cancel of the whole job (SIGCONT, SIGTERM, SIGKILL to every process).
TEST(SlurmTest, CancelFallsBackToSlurmsCancelWhenTheBatchScriptDoesNotStop) {
  ScratchDir dir;
  BatonProcess run = started_on_slurm(dir, "deaf", "1s", "echo started > started; sleep 600");
  ASSERT_TRUE(wait_for_file(dir.path() + "/started", 60)) << slurm_cluster().logs();
  const pid_t script = slurm_attempt_pid(dir.path());
  ASSERT_GT(script, 0);
  ASSERT_EQ(::kill(script, SIGSTOP), 0);
  Outcome c = run_baton({"cancel", "last", "--timeout", "120"}, dir.path(), {}, 150);
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  Outcome o = run.wait(120);  // the fallback comes 31 s after the cancel
  EXPECT_EQ(o.exit_code, 3) << o.out << o.err;
  if (pid_t left = slurm_attempt_pid(dir.path()); left > 0) ::kill(left, SIGCONT);  // failed
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "cancelled");
  EXPECT_EQ(task_of(r, "deaf")["status"], "cancelled");
  EXPECT_TRUE(eventually([] { return jobs_in("PENDING,RUNNING,COMPLETING").empty(); }));
}

// A job held in the queue (--hold): the task reads "queued on slurm"; `baton cancel`
// of the run whose orchestrator was killed scancels the job through its record.
TEST(SlurmTest, QueuedJobShowsInStatusAndCancelWithoutOrchestratorScancelsIt) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: held
settings:
  executor: slurm
  slurm: {poll: 100ms, lost_after: 2s, extra: ["--hold"]}
tasks:
  - id: held
    run: "touch ran"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(eventually([] { return !jobs_in("PENDING").empty(); })) << slurm_cluster().logs();
  std::string status;
  EXPECT_TRUE(eventually([&] {
    status = run_baton({"status", "last"}, dir.path()).out;
    return status.find("queued on slurm") != std::string::npos;
  })) << status;
  run.signal(SIGKILL);
  run.wait();
  EXPECT_FALSE(jobs_in("PENDING").empty());  // the job outlives its orchestrator
  Outcome c = run_baton({"cancel", "last"}, dir.path(), {}, 60);
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_TRUE(eventually([] { return jobs_in("PENDING,RUNNING,COMPLETING").empty(); }));
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "cancelled");
  EXPECT_EQ(task_of(r, "held")["status"], "cancelled");
  EXPECT_FALSE(dir.exists("ran"));
  // The spec the job never read (the task's environment) is gone too.
  EXPECT_FALSE(fs::exists(r["run_dir"].get<std::string>() + "/logs/held.1.slurm-spec"));
}

// A live `baton cancel` of a job still queued: scancel, and the attempt ends cancelled at
// once (it never ran), not after the lost bound (10 minutes here).
TEST(SlurmTest, CancelOfAQueuedJobEndsAtOnce) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: held
settings:
  executor: slurm
  slurm: {poll: 100ms, lost_after: 10m, extra: ["--hold"]}
tasks:
  - id: held
    run: "touch ran"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(eventually([] { return !jobs_in("PENDING").empty(); })) << slurm_cluster().logs();
  Outcome c = run_baton({"cancel", "last"}, dir.path(), {}, 60);
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  Outcome o = run.wait(60);
  EXPECT_EQ(o.exit_code, 3) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "held")["status"], "cancelled");
  EXPECT_TRUE(eventually([] { return jobs_in("PENDING,RUNNING,COMPLETING").empty(); }));
  EXPECT_FALSE(dir.exists("ran"));
}

// sbatch refuses the job: the attempt fails to start with sbatch's own words, and is
// not retried (nothing ran).
TEST(SlurmTest, RefusedSubmissionFailsTheTaskWithSbatchsMessage) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: refused
settings:
  executor: slurm
  slurm: {partition: no-such-partition}
tasks:
  - id: t
    retry: {max_attempts: 3, delay: 0s}
    run: "touch ran"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {}, 60);
  EXPECT_NE(o.exit_code, 0);
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "failed");
  EXPECT_EQ(task_of(r, "t")["attempts"], 1);
  EXPECT_NE(task_of(r, "t")["reason"].get<std::string>().find("sbatch failed"), std::string::npos)
      << task_of(r, "t");
  EXPECT_NE(task_of(r, "t")["reason"].get<std::string>().find("partition"), std::string::npos)
      << task_of(r, "t");
  EXPECT_FALSE(dir.exists("ran"));
  EXPECT_FALSE(fs::exists(r["run_dir"].get<std::string>() + "/logs/t.1.slurm-spec"));
}

TEST(SlurmTest, ResumeAfterSigkillAdoptsTheJobsWithoutSubmittingAgain) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: adopt\n") + kSlurmSettings + R"(tasks:
  - id: a
    run: "echo a >> started; while [ ! -f go ]; do sleep 0.05; done; echo a >> ledger; echo a-out"
  - id: b
    run: "echo b >> started; while [ ! -f go ]; do sleep 0.05; done; echo b >> ledger; echo b-out"
  - id: after
    dependencies: [a, b]
    run: "echo ${a.output} ${b.output} >> after"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(eventually([&] { return dir.read("started").size() == 4; }))
      << slurm_cluster().logs();
  run.signal(SIGKILL);
  EXPECT_EQ(run.wait().exit_code, 128 + SIGKILL);
  // The jobs run on without their orchestrator.
  EXPECT_FALSE(jobs_in("RUNNING").empty());
  dir.write("go", "");
  Outcome o = run_baton({"resume", "last", "--plain"}, dir.path(), {}, 120);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("after"), "a-out b-out\n");
  std::string ledger = dir.read("ledger");
  EXPECT_EQ(ledger.size(), 4u) << ledger;  // a and b once each
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  auto events = events_of(dir, r["id"]);
  // One sbatch per attempt: each attempt's record names one job, and there are three.
  // (The killed run's attempt.submitted events were not committed yet; the records
  // were, before sbatch returned.)
  EXPECT_EQ(submitted_jobs(r), 3);
  EXPECT_EQ(count_kind(events, "attempt.reattached") + count_kind(events, "attempt.recovered"), 2);
  EXPECT_EQ(task_of(r, "a")["attempts"], 1);
  EXPECT_EQ(task_of(r, "b")["attempts"], 1);
}

// SIGKILLs every process of the attempt's job: the task's group, the run supervisor
// on the node and `baton __slurm-attempt` (the supervisor's parent).
void kill_job_processes(const std::string& control) {
  json started = started_record(control);  // this attempt's, not the journal's others
  ASSERT_TRUE(started.is_object()) << read_file(control);
  int child = started["child_pid"], supervisor = started["supervisor_pid"];
  std::string stat = read_file("/proc/" + std::to_string(supervisor) + "/stat");
  int parent = 0;
  if (size_t close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    rest >> state >> parent;
  }
  std::string parent_cmd = read_file("/proc/" + std::to_string(parent) + "/cmdline");
  ASSERT_NE(parent_cmd.find("__slurm-attempt"), std::string::npos) << parent_cmd;
  ::kill(parent, SIGKILL);
  ::kill(supervisor, SIGKILL);
  ::kill(-child, SIGKILL);
}

TEST(SlurmTest, JobKilledMidTaskIsLostAndRetriedOnceDependantsRunOnce) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: lost\n") + kSlurmSettings + R"(tasks:
  - id: work
    retry: {max_attempts: 2, delay: 0s}
    run: "echo x >> started; if [ -f started2 ]; then echo done >> ledger; echo work-out; exit 0; fi; touch started2; sleep 120"
  - id: after
    dependencies: [work]
    run: "echo ${work.output} >> after"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started2", 60)) << slurm_cluster().logs();
  json r = last_run(dir);
  kill_job_processes(r["run_dir"].get<std::string>() + "/logs/work.1.attempt");
  Outcome o = run.wait(120);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "work")["attempts"], 2);
  ASSERT_EQ(r["attempts"].size(), 3u);  // work 1 (lost), work 2, after 1
  json first;
  for (const json& a : r["attempts"]) {
    if (a["task"] == "work" && a["number"] == 1) first = a;
  }
  EXPECT_EQ(first["status"], "failed");
  EXPECT_NE(first["error"].get<std::string>().find("slurm job"), std::string::npos) << first;
  EXPECT_EQ(dir.read("ledger"), "done\n");
  EXPECT_EQ(dir.read("after"), "work-out\n");  // the dependant ran once
  // The lost attempt is given up for good: a late exit record would not be taken.
  EXPECT_NE(read_file(r["run_dir"].get<std::string>() + "/logs/work.1.slurm").find("\"lost\""),
            std::string::npos);
}

// baton died after sbatch answered but before the job id was recorded (simulated by
// removing the "submitted" record): resume finds the job by its token, adopts it and
// records its id; nothing is submitted again.
TEST(SlurmTest, ResumeFindsAJobWhoseIdWasNeverRecordedByItsToken) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: token\n") + kSlurmSettings + R"(tasks:
  - id: a
    run: "touch started; while [ ! -f go ]; do sleep 0.05; done; echo a >> ledger; echo a-out"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started", 60)) << slurm_cluster().logs();
  run.signal(SIGKILL);
  run.wait();
  json r = last_run(dir);
  const std::string record = r["run_dir"].get<std::string>() + "/logs/a.1.slurm";
  std::string text = read_file(record);
  size_t cut = text.find("\n");
  ASSERT_NE(cut, std::string::npos);
  { std::ofstream(record, std::ios::trunc) << text.substr(0, cut + 1); }  // "submitting" only
  EXPECT_EQ(submitted_jobs(r), 0);
  // The job still waits for "go": resume must adopt it by its token and record its id.
  BatonProcess resume({"resume", "last", "--plain"}, dir.path());
  EXPECT_TRUE(eventually([&] { return submitted_jobs(r) == 1; }));
  dir.write("go", "");
  Outcome o = resume.wait(120);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "a")["output"], "a-out");
  EXPECT_EQ(task_of(r, "a")["attempts"], 1);
  EXPECT_EQ(dir.read("ledger"), "a\n");
  EXPECT_EQ(submitted_jobs(r), 1);  // the adopted job's id, written back by resume
}

// squeue --json fails (a shim first in PATH): baton asks `scontrol show job -o` instead
// and still sees a killed job end, so the attempt is lost, not stuck running.
TEST(SlurmTest, ScontrolFallbackStillSeesAKilledJobEnd) {
  ScratchDir dir;
  dir.write("bin/squeue", "#!/bin/sh\necho 'squeue: error: not today' >&2\nexit 1\n");
  fs::permissions(dir.path() + "/bin/squeue", fs::perms::owner_all);
  dir.write("flow.yaml", std::string("name: fallback\n") + kSlurmSettings + R"(tasks:
  - id: work
    retry: {max_attempts: 1}
    run: "touch started; sleep 120"
)");
  std::map<std::string, std::string> env{
      {"PATH", dir.path() + "/bin:" + std::string(std::getenv("PATH"))}};
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path(), env);
  ASSERT_TRUE(wait_for_file(dir.path() + "/started", 60)) << slurm_cluster().logs();
  json r = last_run(dir);
  kill_job_processes(r["run_dir"].get<std::string>() + "/logs/work.1.attempt");
  Outcome o = run.wait(120);
  EXPECT_NE(o.exit_code, 0);
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "work")["status"], "failed");
  EXPECT_NE(task_of(r, "work")["reason"].get<std::string>().find("slurm job"), std::string::npos)
      << task_of(r, "work");
}

// slurmd SIGKILLed while the attempt runs: the node goes down, the job ends NODE_FAIL
// with no exit record, the attempt is lost (class transient, the state in its reason)
// and exactly one new attempt runs once the node is back. The dead attempt may still
// finish on the node and write its exit record late: it is never taken.
TEST(SlurmTest, SlurmdKilledMidTaskLosesTheAttemptAndItsLateEndIsRejected) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: nodefail\n") + kSlurmSettings + R"(tasks:
  - id: work
    retry: {max_attempts: 2, delay: 0s}
    run: "echo x >> started; while [ ! -f go ]; do sleep 0.05; done; echo done >> ledger; echo work-out"
  - id: after
    dependencies: [work]
    run: "echo ${work.output} >> after"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started", 60)) << slurm_cluster().logs();
  json r = last_run(dir);
  const std::string logs = r["run_dir"].get<std::string>() + "/logs/";
  slurm_cluster().kill_slurmd();
  // Lost once the node is down and the bound passed; attempt 2 is then submitted.
  bool second = eventually([&] { return fs::exists(logs + "work.2.slurm"); }, 120);
  slurm_cluster().restart_slurmd();
  ASSERT_TRUE(second) << slurm_cluster().logs();
  dir.write("go", "");
  Outcome o = run.wait(180);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err << slurm_cluster().logs();
  r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "work")["attempts"], 2);
  EXPECT_EQ(task_of(r, "work")["output"], "work-out");
  json first;
  for (const json& a : r["attempts"]) {
    if (a["task"] == "work" && a["number"] == 1) first = a;
  }
  EXPECT_EQ(first["status"], "failed");
  EXPECT_EQ(first["error_class"], "transient") << first;
  EXPECT_NE(first["error"].get<std::string>().find("NODE_FAIL"), std::string::npos) << first;
  EXPECT_NE(read_file(logs + "work.1.slurm").find("\"lost\""), std::string::npos);
  EXPECT_EQ(dir.read("after"), "work-out\n");  // the dependant ran once
  EXPECT_TRUE(eventually([] { return jobs_in("PENDING,RUNNING,COMPLETING").empty(); }, 60));
}

TEST(SlurmTest, LostAttemptWithOneAttemptEndsFailedNotStuckRunning) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: once\n") + kSlurmSettings + R"(tasks:
  - id: work
    retry: {max_attempts: 1}
    run: "touch started; sleep 120"
  - id: after
    dependencies: [work]
    run: "echo ran >> after"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started", 60)) << slurm_cluster().logs();
  json r = last_run(dir);
  kill_job_processes(r["run_dir"].get<std::string>() + "/logs/work.1.attempt");
  Outcome o = run.wait(120);
  EXPECT_NE(o.exit_code, 0);
  r = last_run(dir);
  EXPECT_EQ(r["status"], "failed");
  EXPECT_EQ(task_of(r, "work")["status"], "failed");
  EXPECT_EQ(task_of(r, "work")["attempts"], 1);
  EXPECT_NE(task_of(r, "after")["status"], "success");
  EXPECT_FALSE(dir.exists("after"));
}

}  // namespace
}  // namespace baton::testing
