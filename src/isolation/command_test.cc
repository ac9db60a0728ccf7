// run_command against real processes.
#include "isolation/command.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>

#include "isolation/test_util.h"

namespace baton::isolation {
namespace {

TEST(CommandTest, CapturesOutputAndExitCode) {
  auto out = run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_EQ(out->out, "out\n");
  EXPECT_EQ(out->err, "err\n");
}

TEST(CommandTest, RunsInCwdWithEnvironmentChanges) {
  testing::Scratch dir;
  setenv("BATON_TEST_DROPPED", "1", 1);
  CommandOptions options;
  options.cwd = dir.path();
  options.env = {{"BATON_TEST_SET", "yes"}};
  options.unset_env = {"BATON_TEST_DROPPED"};
  auto out = run_command(
      {"/bin/sh", "-c", "pwd; echo \"$BATON_TEST_SET\"; echo \"${BATON_TEST_DROPPED-unset}\""},
      options);
  unsetenv("BATON_TEST_DROPPED");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->out, dir.path() + "\nyes\nunset\n");
}

TEST(CommandTest, DropsVariablesByPrefixButKeepsThoseItSets) {
  setenv("BATON_TEST_PREFIX_A", "1", 1);
  setenv("BATON_TEST_PREFIX_B", "1", 1);
  CommandOptions options;
  options.env = {{"BATON_TEST_PREFIX_B", "set"}};
  options.unset_env_prefixes = {"BATON_TEST_PREFIX_"};
  auto out = run_command(
      {"/bin/sh", "-c", "echo \"${BATON_TEST_PREFIX_A-unset}\" \"$BATON_TEST_PREFIX_B\""}, options);
  unsetenv("BATON_TEST_PREFIX_A");
  unsetenv("BATON_TEST_PREFIX_B");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->out, "unset set\n");
}

TEST(CommandTest, StdinIsEmpty) {
  auto out = run_command({"cat"});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->exit_code, 0);
  EXPECT_EQ(out->out, "");
}

TEST(CommandTest, MissingProgramIsAnError) {
  auto out = run_command({"baton-no-such-program"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ENOENT);
  EXPECT_EQ(out.error().message, "cannot run 'baton-no-such-program': No such file or directory");
}

TEST(CommandTest, KilledBySignalIs128PlusSignal) {
  auto out = run_command({"/bin/sh", "-c", "kill -KILL $$"});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->exit_code, 128 + SIGKILL);
}

TEST(CommandTest, TimeoutKillsTheWholeGroup) {
  testing::Scratch dir;
  CommandOptions options;
  options.timeout_s = 0.3;
  // The background child keeps stdout open: the call can return only once the
  // whole group is killed.
  auto out = run_command({"/bin/sh", "-c", "sleep 30 & sleep 30"}, options);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message, "'/bin/sh -c' timed out after 0.3s");
}

TEST(CommandTest, TimeoutHoldsAfterTheOutputIsClosed) {
  CommandOptions options;
  options.timeout_s = 0.3;
  auto out = run_command({"/bin/sh", "-c", "exec >&- 2>&-; sleep 30"}, options);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message, "'/bin/sh -c' timed out after 0.3s");
}

TEST(CommandTest, InheritedOutputIsNotCaptured) {
  CommandOptions options;
  options.inherit_output = true;
  auto out = run_command({"/bin/sh", "-c", "exit 5"}, options);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->exit_code, 5);
  EXPECT_EQ(out->out, "");
}

TEST(CommandTest, OutputBeyondTheLimitIsDropped) {
  CommandOptions options;
  options.max_output_bytes = 10;
  auto out = run_command({"/bin/sh", "-c", "printf '0123456789abcdef'"}, options);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->out, "0123456789");
}

}  // namespace
}  // namespace baton::isolation
