// The Slurm command lines, the batch script's quoting against hostile paths, and the
// readers of squeue's and scontrol's answers (no cluster needed: tests/slurm/ has the
// tests on a real one).
#include "executor/slurm_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace baton::executor {
namespace {

namespace fs = std::filesystem;

bool has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

TEST(SbatchArgvTest, CarriesTheFixedFlagsAndEveryValueAsOneElement) {
  SbatchRequest r;
  r.run_id = "20261205-1";
  r.task_id = "build";
  r.token = "abc";
  r.timeout_s = 600;
  r.kill_grace_s = 10;
  r.options.partition = "gpu; rm -rf / $(touch x)";
  r.options.account = "team";
  r.options.cpus = 4;
  r.options.mem_bytes = (int64_t{3} << 30) + 1;
  r.options.extra = {"--qos=low", "--exclusive"};
  r.chdir = "/shared/run dir/logs";
  r.output_name = "build.1.slurm-out";
  r.script_path = "/shared/run dir/logs/build.1.sbatch";
  std::vector<std::string> argv = sbatch_argv(r);
  std::vector<std::string> head(argv.begin(), argv.begin() + 8);
  EXPECT_EQ(head, (std::vector<std::string>{"sbatch", "--parsable", "--no-requeue", "-J",
                                            "baton-20261205-1-build", "--comment", "attempt=abc",
                                            "--signal=B:TERM@40"}));
  EXPECT_TRUE(has(argv, "--time=12"));  // 600 + 40 + 60 s, rounded up to minutes
  EXPECT_TRUE(has(argv, "--partition=gpu; rm -rf / $(touch x)"));
  EXPECT_TRUE(has(argv, "--account=team"));
  EXPECT_TRUE(has(argv, "--cpus-per-task=4"));
  EXPECT_TRUE(has(argv, "--mem=3073M"));
  EXPECT_TRUE(has(argv, "--qos=low"));
  EXPECT_TRUE(has(argv, "--chdir=/shared/run dir/logs"));
  EXPECT_EQ(argv.back(), r.script_path);
  EXPECT_FALSE(has(argv, "--requeue"));
}

TEST(SbatchArgvTest, TimeComesFromTheSettingWhenGiven) {
  SbatchRequest r;
  r.timeout_s = 10;
  r.options.time_s = 3601;
  EXPECT_EQ(time_limit_minutes(r), 61);
  r.options.time_s.reset();
  EXPECT_EQ(time_limit_minutes(r), 2);  // 10 + 40 + 60 = 110 s
  r.timeout_s = 0;
  EXPECT_EQ(time_limit_minutes(r), 0);
}

// baton's cancel never signals a running job's processes one by one: only its batch
// script, and only while it runs; Slurm's own cancel only while it is queued.
TEST(ScancelArgvTest, CancelSignalsOnlyTheBatchScriptOfARunningJob) {
  using V = std::vector<std::string>;
  EXPECT_EQ(scancel_argv("12", StopScope::kQueued), (V{"scancel", "--state=PENDING", "12"}));
  EXPECT_EQ(scancel_argv("12", StopScope::kBatchScript),
            (V{"scancel", "--batch", "--signal=TERM", "--state=RUNNING", "12"}));
  EXPECT_EQ(scancel_argv("12", StopScope::kWholeJob), (V{"scancel", "12"}));
}

// The batch script run by a real /bin/sh with hostile paths: each reaches the program
// as exactly one argument, and nothing in them runs.
TEST(BatchScriptTest, HostilePathsStayOneArgumentAndNeverRun) {
  char tmpl[] = "/tmp/baton-script-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  // No '/' in the names: the $(...) and `...` would create files in the current
  // directory (DIR) if a shell ever ran them.
  const std::string baton = dir + "/it's a \"baton\" $(touch pwned1); x";
  { std::ofstream(baton) << "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n"; }
  ::chmod(baton.c_str(), 0755);
  const std::string spec = dir + "/spec `touch pwned2`; '$HOME'\n\"x\"";
  const std::string script = dir + "/job.sbatch";
  { std::ofstream(script) << batch_script(baton, spec); }
  const std::string out = dir + "/out";
  std::string cmd =
      "cd " + shell_quote(dir) + " && /bin/sh " + shell_quote(script) + " > " + shell_quote(out);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << batch_script(baton, spec);
  std::stringstream got;
  got << std::ifstream(out).rdbuf();
  EXPECT_EQ(got.str(), "[__slurm-attempt]\n[" + spec + "]\n");
  EXPECT_FALSE(fs::exists(dir + "/pwned1"));
  EXPECT_FALSE(fs::exists(dir + "/pwned2"));
  fs::remove_all(dir);
}

TEST(SbatchAnswerTest, ReadsTheJobIdWithOrWithoutACluster) {
  EXPECT_EQ(*parse_sbatch_answer("123\n"), "123");
  EXPECT_EQ(*parse_sbatch_answer("77;cluster\n"), "77");
  EXPECT_FALSE(parse_sbatch_answer("sbatch: error: bad\n"));
  EXPECT_FALSE(parse_sbatch_answer(""));
}

TEST(SqueueJsonTest, ReadsStateReasonAndCommentOfEachJob) {
  // Slurm 22.05 (openapi v0.0.38): job_state is a string; later versions: a list.
  auto jobs = parse_squeue_json(R"({"meta":{},"errors":[],"jobs":[
    {"job_id":12,"job_state":"PENDING","state_reason":"Resources","comment":"attempt=t1"},
    {"job_id":13,"job_state":["RUNNING"],"state_reason":"None","comment":""}]})");
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ(jobs->at("12").state, "PENDING");
  EXPECT_EQ(jobs->at("12").reason, "Resources");
  EXPECT_EQ(jobs->at("12").comment, "attempt=t1");
  EXPECT_EQ(jobs->at("13").state, "RUNNING");
  EXPECT_FALSE(parse_squeue_json("squeue: error: Invalid --json"));
}

TEST(ScontrolTest, ReadsOneLineOfShowJob) {
  auto info = parse_scontrol_job(
      "JobId=7 JobName=baton-r-t UserId=root(0) JobState=TIMEOUT Reason=TimeLimit "
      "Dependency=(null) Comment=attempt=tok  StdErr=/x");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, "TIMEOUT");
  EXPECT_EQ(info->reason, "TimeLimit");
  EXPECT_EQ(info->comment, "attempt=tok");
  EXPECT_FALSE(parse_scontrol_job("slurm_load_jobs error: Invalid job id specified"));
}

TEST(JobStateTest, PhasesAndErrorClasses) {
  EXPECT_EQ(phase_of("PENDING"), JobPhase::kQueued);
  EXPECT_EQ(phase_of("RUNNING"), JobPhase::kRunning);
  EXPECT_EQ(phase_of("COMPLETING"), JobPhase::kRunning);
  for (const char* s : {"COMPLETED", "FAILED", "TIMEOUT", "NODE_FAIL", "CANCELLED", ""}) {
    EXPECT_EQ(phase_of(s), JobPhase::kEnded) << s;
  }
  EXPECT_EQ(error_class_of("TIMEOUT"), "timeout");
  EXPECT_EQ(error_class_of("OUT_OF_MEMORY"), "permanent");
  EXPECT_EQ(error_class_of("NODE_FAIL"), "transient");
  EXPECT_EQ(error_class_of("PREEMPTED"), "transient");
  EXPECT_EQ(error_class_of("CANCELLED"), "cancelled");
  EXPECT_EQ(describe_state("NODE_FAIL", "NodeDown"), "NODE_FAIL: its node failed (NodeDown)");
  EXPECT_EQ(describe_state("", ""), "UNKNOWN: the scheduler no longer knows the job");
}

}  // namespace
}  // namespace baton::executor
