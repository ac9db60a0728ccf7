#include "slurm/slurm_cluster.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "harness_util.h"
#include "util/held_port.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

std::string short_hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  std::string h = buf;
  return h.substr(0, h.find('.'));
}

template <class Fn>
bool wait_until(Fn fn, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fn();
}

}  // namespace

pid_t SlurmCluster::start(const std::vector<std::string>& argv, const std::string& log) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setsid();
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (pid > 0) daemons_.push_back(pid);
  return pid;
}

SlurmCluster::SlurmCluster() {
  if (::geteuid() != 0) {
    error_ = "the Slurm tests run as root (SlurmUser=root)";
    return;
  }
  for (const char* program : {"munged", "slurmctld", "slurmd", "sbatch", "squeue"}) {
    if (run_command({"sh", "-c", std::string("command -v ") + program}, "/").exit_code != 0) {
      error_ = std::string(program) + " is not installed: run scripts/setup-slurm";
      return;
    }
  }
  std::string tmpl = "/tmp/baton-slurm-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  for (const char* sub : {"munge", "state", "spool", "log"})
    fs::create_directories(dir_ + "/" + sub);
  ::chmod((dir_ + "/munge").c_str(), 0700);
  {
    std::ifstream random("/dev/urandom", std::ios::binary);
    std::string key(1024, '\0');
    random.read(key.data(), key.size());
    std::ofstream(dir_ + "/munge/key", std::ios::binary) << key;
    ::chmod((dir_ + "/munge/key").c_str(), 0400);
  }
  const std::string host = short_hostname();
  conf_ = dir_ + "/slurm.conf";
  std::ofstream conf(conf_);
  conf << "ClusterName=batontest\n"
       << "SlurmctldHost=" << host << "\n"
       << "SlurmUser=root\n"
       << "SlurmctldPort=" << free_port(INADDR_ANY) << "\n"
       << "SlurmdPort=" << free_port(INADDR_ANY) << "\n"
       << "AuthType=auth/munge\n"
       << "AuthInfo=socket=" << dir_ << "/munge/sock\n"
       << "CredType=cred/munge\n"
       << "StateSaveLocation=" << dir_ << "/state\n"
       << "SlurmdSpoolDir=" << dir_ << "/spool\n"
       << "SlurmctldPidFile=" << dir_ << "/slurmctld.pid\n"
       << "SlurmdPidFile=" << dir_ << "/slurmd.pid\n"
       << "SlurmctldLogFile=" << dir_ << "/log/slurmctld.log\n"
       << "SlurmdLogFile=" << dir_ << "/log/slurmd.log\n"
       << "ProctrackType=proctrack/linuxproc\n"
       << "TaskPlugin=task/none\n"
       << "JobAcctGatherType=jobacct_gather/none\n"
       << "AccountingStorageType=accounting_storage/none\n"
       << "JobCompType=jobcomp/none\n"
       << "SelectType=select/cons_tres\n"
       << "SelectTypeParameters=CR_Core\n"
       << "SlurmdParameters=config_overrides\n"
       << "MpiDefault=none\n"
       << "ReturnToService=2\n"
       << "KillWait=5\n"
       << "SlurmdTimeout=10\n"
       << "NodeName=" << host << " CPUs=4 RealMemory=1000\n"
       << "PartitionName=debug Nodes=" << host << " Default=YES MaxTime=INFINITE State=UP\n";
  conf.close();
  ::setenv("SLURM_CONF", conf_.c_str(), 1);

  start({"munged", "-F", "-f", "--key-file=" + dir_ + "/munge/key",
         "--socket=" + dir_ + "/munge/sock", "--pid-file=" + dir_ + "/munge/pid",
         "--log-file=" + dir_ + "/munge/log", "--seed-file=" + dir_ + "/munge/seed"},
        dir_ + "/log/munged.out");
  if (!wait_until([&] { return fs::exists(dir_ + "/munge/sock"); }, 10)) {
    error_ = "munged did not start";
    stop();
    return;
  }
  start({"slurmctld", "-D", "-f", conf_}, dir_ + "/log/slurmctld.out");
  host_ = host;
  slurmd_ = start({"slurmd", "-D", "-f", conf_, "-N", host}, dir_ + "/log/slurmd.out");
  bool idle = wait_until(
      [&] {
        return run_command({"sinfo", "-h", "-o", "%t"}, "/").out == "idle\n";
      },
      30);
  if (!idle) {
    error_ = "the node did not become idle:\n" + logs();
    stop();
  }
}

std::string SlurmCluster::logs() const {
  std::string out;
  for (const char* name : {"slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out"}) {
    out += std::string("== ") + name + "\n" + read_file(dir_ + "/log/" + name);
  }
  return out;
}

void SlurmCluster::kill_slurmd() {
  if (slurmd_ <= 0) return;
  ::kill(slurmd_, SIGKILL);
  ::waitpid(slurmd_, nullptr, 0);
  daemons_.erase(std::remove(daemons_.begin(), daemons_.end(), slurmd_), daemons_.end());
  slurmd_ = -1;
}

void SlurmCluster::restart_slurmd() {
  if (slurmd_ > 0) return;
  slurmd_ = start({"slurmd", "-D", "-f", conf_, "-N", host_}, dir_ + "/log/slurmd.out");
}

void SlurmCluster::stop() {
  if (!daemons_.empty() && error_.empty()) {
    (void)run_command({"scancel", "--user=root"}, "/");
    wait_until(
        [&] {
          Outcome q =
              run_command({"squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING,CONFIGURING"}, "/");
          return q.exit_code == 0 && q.out.empty();
        },
        20);
  }
  for (pid_t pid : daemons_) ::kill(pid, SIGKILL);
  for (pid_t pid : daemons_) ::waitpid(pid, nullptr, 0);
  daemons_.clear();
}

SlurmCluster::~SlurmCluster() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

namespace {

std::unique_ptr<SlurmCluster> g_cluster;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_cluster = std::make_unique<SlurmCluster>();
    ASSERT_TRUE(g_cluster->ok()) << g_cluster->error();
  }
  void TearDown() override { g_cluster.reset(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

}  // namespace

SlurmCluster& slurm_cluster() { return *g_cluster; }

}  // namespace baton::testing
