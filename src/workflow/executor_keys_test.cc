// settings.executor, settings.slurm and a task's `executor:` (docs/slurm.md, "Options"),
// and their diagnostics.
#include <gtest/gtest.h>

#include "workflow/loader.h"

namespace baton::workflow {
namespace {

LoadResult load(const std::string& text) {
  return load_workflow_text(text, "flow.yaml", LoadOptions{});
}

TEST(ExecutorKeysTest, SettingsAndTaskOverrideAreRead) {
  LoadResult r = load(R"(name: w
settings:
  executor: slurm
  slurm:
    partition: gpu
    account: team-a
    time: 2h
    cpus: 4
    mem: 8GiB
    extra: ["--qos=low", "--exclusive"]
    lost_after: 1m
    poll: 500ms
tasks:
  - {id: a, run: 'true'}
  - {id: b, run: 'true', executor: local}
)");
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  const Settings& s = r.workflow->settings;
  EXPECT_EQ(s.executor, ExecutorKind::kSlurm);
  EXPECT_EQ(s.slurm.partition, "gpu");
  EXPECT_EQ(s.slurm.account, "team-a");
  EXPECT_EQ(*s.slurm.time_s, 7200);
  EXPECT_EQ(*s.slurm.cpus, 4);
  EXPECT_EQ(*s.slurm.mem_bytes, int64_t{8} << 30);
  EXPECT_EQ(s.slurm.extra, (std::vector<std::string>{"--qos=low", "--exclusive"}));
  EXPECT_EQ(s.slurm.lost_after_s, 60);
  EXPECT_EQ(s.slurm.poll_s, 0.5);
  EXPECT_EQ(r.workflow->tasks[0].executor(), std::nullopt);
  EXPECT_EQ(r.workflow->tasks[1].executor(), ExecutorKind::kLocal);
}

TEST(ExecutorKeysTest, DefaultIsLocal) {
  LoadResult r = load("name: w\ntasks:\n  - {id: a, run: 'true'}\n");
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  EXPECT_EQ(r.workflow->settings.executor, ExecutorKind::kLocal);
}

TEST(ExecutorKeysTest, BadValuesAreErrorsWithTheirPlace) {
  LoadResult r = load(R"(name: w
settings:
  executor: kubernetes
  slurm:
    partition: -p
    cpus: 0
    mem: lots
    extra: ["--requeue", "--wrap=rm -rf /", "-Jname", "--requ", "plain", "--qos=low"]
    nodes: 3
tasks:
  - {id: a, run: 'true', executor: slurmm}
hooks:
  on_start:
    - {run: 'true', executor: slurm}
)");
  std::string all = format_all(r.diagnostics);
  for (const char* want : {
           "flow.yaml:3:13: error: invalid value 'kubernetes' for 'executor' in settings: "
           "expected local or slurm",
           "flow.yaml:5:16: error: invalid value '-p' for 'partition' in settings.slurm: "
           "expected a Slurm name (not empty, no control characters, not starting with '-')",
           "flow.yaml:6:11: error: 'cpus' in settings.slurm must be at least 1",
           "flow.yaml:7:10: error: invalid size for 'mem' in settings.slurm",
           "flow.yaml:8:13: error: sbatch option '--requeue' in 'extra' in settings.slurm is set "
           "by baton",
           "flow.yaml:8:26: error: sbatch option '--wrap' in 'extra'",
           "flow.yaml:8:45: error: sbatch option '-Jname' in 'extra'",
           "flow.yaml:8:55: error: sbatch option '--requ' in 'extra'",
           "flow.yaml:8:65: error: invalid sbatch option 'plain' in 'extra' in settings.slurm",
           "flow.yaml:9:5: error: unknown key 'nodes' in settings.slurm",
           "flow.yaml:11:36: error: invalid value 'slurmm' for 'executor' in task 'a': expected "
           "local or slurm; did you mean 'slurm'?",
           "error: hooks have no 'executor'; they run on this machine",
       }) {
    EXPECT_NE(all.find(want), std::string::npos) << want << "\n" << all;
  }
  EXPECT_EQ(all.find("'--qos=low' in"), std::string::npos) << all;
}

}  // namespace
}  // namespace baton::workflow
