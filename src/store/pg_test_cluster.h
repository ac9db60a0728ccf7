// A throwaway PostgreSQL 15 cluster for tests (test code only; docs/postgres.md,
// "Tests"). Started once per test binary, on first use: initdb in a mkdtemp
// directory as an unprivileged user (`nobody` when running as root, via runuser),
// listening on 127.0.0.1 on a free port with its unix socket in that directory;
// stopped (pg_ctl stop -m immediate) and removed at exit, by the gtest Environment's
// TearDown or an atexit handler, whichever comes first. Binaries from Debian's
// postgresql-15 (scripts/setup-postgres). Every test gets a database of its own.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "store/pg_connection.h"
#include "util/held_port.h"

namespace baton::store::testing {

/// Where Debian's postgresql-15 puts initdb and pg_ctl.
inline constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

/// The cluster of this test binary.
class PgTestCluster {
 public:
  /// The cluster, started on the first call. Check ok() (and error()) before use.
  static PgTestCluster& get() {
    static PgTestCluster* cluster = [] {
      auto* c = new PgTestCluster();
      c->start();
      instance() = c;
      std::atexit([] { get().stop(); });
      return c;
    }();
    return *cluster;
  }

  /// The cluster if get() started one, else nullptr (never starts one).
  static std::atomic<PgTestCluster*>& instance() {
    static std::atomic<PgTestCluster*> started{nullptr};
    return started;
  }

  bool ok() const { return error_.empty(); }
  /// Why the cluster could not start ("" when it runs).
  const std::string& error() const { return error_; }
  int port() const { return port_; }

  /// postgres://baton@127.0.0.1:PORT/DB
  std::string url(const std::string& db) const {
    return "postgres://baton@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  /// A new empty database ("t1", "t2", ...); its URL. Aborts the binary on failure.
  std::string create_database() {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string name = "t" + std::to_string(++databases_);
    auto admin = PgConnection::connect(url("postgres"));
    if (!admin) std::abort();
    const std::string sql = "CREATE DATABASE " + name;
    if (!admin->exec(sql.c_str())) std::abort();
    return url(name);
  }

  /// Stops the cluster and removes its directory (idempotent).
  void stop() {
    if (dir_.empty()) return;
    if (started_) {
      run({kPgBinDir + std::string("/pg_ctl"), "-D", dir_ + "/data", "-m", "immediate", "-w",
           "stop"});
      started_ = false;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

 private:
  PgTestCluster() = default;

  // Runs ARGV as the cluster's user (runuser as root), output to the cluster's log.
  // True when it exits 0.
  bool run(std::vector<std::string> argv) {
    if (geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "nobody", "--"});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string log = dir_ + "/setup.log";
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      int null = open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, 0);
      execvp(args[0], args.data());
      _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  void start() {
    if (access((kPgBinDir + std::string("/initdb")).c_str(), X_OK) != 0) {
      error_ = std::string(kPgBinDir) + "/initdb not found: run scripts/setup-postgres";
      return;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "baton-pg-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = pattern;
    chmod(dir_.c_str(), 0755);  // the cluster's user reaches its data and socket
    for (const char* sub : {"/data", "/sock"}) {
      const std::string path = dir_ + sub;
      mkdir(path.c_str(), 0700);
      if (geteuid() == 0) {
        const passwd* nobody = getpwnam("nobody");
        if (nobody == nullptr || chown(path.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
          error_ = "cannot give " + path + " to user nobody";
          return;
        }
      }
    }
    if (!run({kPgBinDir + std::string("/initdb"), "-D", dir_ + "/data", "-U", "baton", "-A",
              "trust", "-E", "UTF8", "--locale=C", "--no-sync"})) {
      error_ = "initdb failed (see " + dir_ + "/setup.log)";
      return;
    }
    port_ = free_port();
    const std::string options = "-p " + std::to_string(port_) + " -k " + dir_ +
                                "/sock -c listen_addresses=127.0.0.1 -c fsync=off"
                                " -c max_connections=200";
    if (!run({kPgBinDir + std::string("/pg_ctl"), "-D", dir_ + "/data", "-l",
              dir_ + "/sock/server.log", "-w", "-t", "60", "-o", options, "start"})) {
      error_ = "pg_ctl start failed (see " + dir_ + "/setup.log)";
      return;
    }
    started_ = true;
  }

  std::mutex mu_;
  std::string dir_;
  std::string error_;
  int port_ = 0;
  int databases_ = 0;
  bool started_ = false;
};

/// Stops the cluster at the end of the test program (register with
/// ::testing::AddGlobalTestEnvironment); the atexit handler covers other exits.
class PgClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (PgTestCluster* cluster = PgTestCluster::instance()) cluster->stop();
  }
};

}  // namespace baton::store::testing
