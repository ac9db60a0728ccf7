// The Slurm executor's files: the record, the spec, and what inspect() makes of them
// without a cluster (a given-up attempt stays lost even when its exit record arrives).
#include "executor/slurm_record.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "exec/attempt_file.h"
#include "executor/slurm.h"

namespace baton::executor {
namespace {

namespace fs = std::filesystem;

class SlurmRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/baton-slurm-record-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    control_ = dir_ + "/t.1.attempt";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, control_;
};

TEST_F(SlurmRecordTest, RecordsReadBackInOrderAndATornLineIsIgnored) {
  const std::string path = slurm_record_path(control_);
  EXPECT_EQ(path, dir_ + "/t.1.slurm");
  ASSERT_TRUE(append_slurm_record(path, submitting_line("tok", 2.5, 1), true));
  EXPECT_FALSE(append_slurm_record(path, submitting_line("tok2", 3, 1), true));  // O_EXCL
  ASSERT_TRUE(append_slurm_record(path, submitted_line("42", 2), false));
  { std::ofstream(path, std::ios::app) << "{\"record\":\"lo"; }
  auto rec = read_slurm_record(path);
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->token, "tok");
  EXPECT_EQ(rec->kill_grace_s, 2.5);
  EXPECT_EQ(rec->job_id, "42");
  EXPECT_FALSE(rec->cancel_requested);
  EXPECT_FALSE(rec->lost);
  EXPECT_TRUE(is_slurm_attempt(control_));
  EXPECT_FALSE(is_slurm_attempt(dir_ + "/other.1.attempt"));
}

// A record written before the grace was recorded reads as the default grace.
TEST_F(SlurmRecordTest, ASubmittingRecordWithoutAGraceReadsAsTenSeconds) {
  const std::string path = slurm_record_path(control_);
  { std::ofstream(path) << "{\"record\":\"submitting\",\"token\":\"t\",\"at\":1}\n"; }
  auto rec = read_slurm_record(path);
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->token, "t");
  EXPECT_EQ(rec->kill_grace_s, 10);
}

TEST_F(SlurmRecordTest, SpecRoundTripsBytesThatAreNotUtf8) {
  SlurmAttemptSpec spec;
  spec.token = "t";
  spec.process.argv = {"sh", "-c", "echo \xff\xfe"};
  spec.process.cwd = "/w";
  spec.process.env = {{"K", "v\x80"}};
  spec.process.stdin_data = std::string("in\0put", 6);
  spec.process.log_path = "/w/l.log";
  spec.process.timeout_s = 2.5;
  spec.process.redact = {"secret"};
  spec.process.rlimits = {{6, 100}};
  spec.process.umask = 2;
  auto back = decode_slurm_spec(encode_slurm_spec(spec));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->process.argv, spec.process.argv);
  EXPECT_EQ(back->process.env, spec.process.env);
  EXPECT_EQ(back->process.stdin_data, spec.process.stdin_data);
  EXPECT_EQ(*back->process.timeout_s, 2.5);
  EXPECT_EQ(back->process.rlimits[0].value, 100u);
  EXPECT_EQ(back->process.umask, 2);
  EXPECT_FALSE(decode_slurm_spec("not cbor"));
}

// A lost attempt's job may still write its exit record (a node that comes back): the
// attempt stays lost, its late end is never taken.
TEST_F(SlurmRecordTest, LateExitRecordOfAGivenUpAttemptIsRejected) {
  const std::string record = slurm_record_path(control_);
  ASSERT_TRUE(append_slurm_record(record, submitting_line("tok", 10, 1), true));
  ASSERT_TRUE(append_slurm_record(record, submitted_line("42", 2), false));
  ASSERT_TRUE(append_slurm_record(record, lost_line("slurm job 42: NODE_FAIL", 3), false));
  exec::StartedRecord started;
  started.supervisor_pid = 1;
  started.child_pid = 2;
  exec::ExitRecord exit;
  exit.status.kind = exec::ExitStatus::Kind::kExited;
  exit.stdout_bytes = 0;
  {
    std::ofstream(control_) << exec::format_started_record(started)
                            << exec::format_exit_record(exit);
  }
  auto executor = make_slurm_executor({});
  exec::AttemptState st = executor->inspect(control_);
  EXPECT_EQ(st.kind, exec::AttemptState::Kind::kLost);
  EXPECT_NE(st.detail.find("NODE_FAIL"), std::string::npos) << st.detail;
  // Without the "lost" record the same files are a finished attempt.
  fs::remove(record);
  ASSERT_TRUE(append_slurm_record(record, submitting_line("tok", 10, 1), true));
  ASSERT_TRUE(append_slurm_record(record, submitted_line("42", 2), false));
  EXPECT_EQ(executor->inspect(control_).kind, exec::AttemptState::Kind::kFinished);
}

}  // namespace
}  // namespace baton::executor
