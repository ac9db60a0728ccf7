// A throwaway single-node Slurm cluster for the Slurm executor's tests (docs/slurm.md,
// "Testing"), from Debian's slurm-wlm and munge (scripts/setup-slurm): munged,
// slurmctld and slurmd in the foreground as children of the test binary (each with
// PR_SET_PDEATHSIG = SIGKILL, so they die with it even when it is killed), with a
// slurm.conf, a munge key and every state, spool, pid and log file in one mkdtemp
// directory, on free ports. Started once per test binary (a gtest Environment);
// SLURM_CONF is set in the test's environment so that baton's sbatch, squeue, scontrol
// and scancel reach it. Needs root (SlurmUser=root).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace baton::testing {

/// The cluster.
class SlurmCluster {
 public:
  /// Starts the daemons and waits (bounded, 30 s) until the node is idle. On failure
  /// error() says why and the daemons that started are stopped.
  SlurmCluster();
  /// Cancels every job, waits (bounded) for the queue to empty, then KILLs the daemons
  /// and removes the directory.
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  const std::string& conf() const { return conf_; }
  /// The daemons' logs, for a failing test's message.
  std::string logs() const;
  /// SIGKILLs slurmd (its jobs' slurmstepd and processes run on); slurmctld marks the
  /// node down after SlurmdTimeout (10 s here) and ends its jobs NODE_FAIL.
  void kill_slurmd();
  /// Starts slurmd again; the node returns to service when it registers.
  void restart_slurmd();

 private:
  pid_t start(const std::vector<std::string>& argv, const std::string& log);
  void stop();

  std::string dir_, conf_;
  std::vector<pid_t> daemons_;
  pid_t slurmd_ = -1;
  std::string host_;
  std::string error_;
};

/// The cluster of this test binary (started by the environment in slurm_cluster.cc).
SlurmCluster& slurm_cluster();

}  // namespace baton::testing
