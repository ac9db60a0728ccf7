// Helpers for integration tests: run the built `baton` binary in a scratch
// directory and look at what it printed, returned and left behind.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace baton::testing {

/// What a finished `baton` process left.
struct Outcome {
  int exit_code = -1;  ///< exit code, or 128+signal when killed
  std::string out;     ///< stdout
  std::string err;     ///< stderr
};

/// A scratch directory (mkdtemp under $TMPDIR or /tmp), removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  /// Writes CONTENT to path()/NAME (creating parent directories); returns the full path.
  std::string write(const std::string& name, const std::string& content) const;
  /// Reads path()/NAME; "" if missing.
  std::string read(const std::string& name) const;
  bool exists(const std::string& name) const;

 private:
  std::string path_;
};

/// A `baton` process started in the background.
class BatonProcess {
 public:
  /// Starts BATON_BINARY with ARGS in CWD; stdout/stderr go to files in CWD/.out/.
  BatonProcess(const std::vector<std::string>& args, const std::string& cwd,
               const std::map<std::string, std::string>& env = {});
  ~BatonProcess();
  pid_t pid() const { return pid_; }
  /// Sends SIG to the process.
  void signal(int sig) const;
  /// Waits up to TIMEOUT_S seconds for the exit; on timeout kills it and fails the test.
  Outcome wait(double timeout_s = 60);

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  bool reaped_ = false;
};

/// Runs baton to completion (60 s limit).
Outcome run_baton(const std::vector<std::string>& args, const std::string& cwd,
                  const std::map<std::string, std::string>& env = {});

/// Waits up to TIMEOUT_S for PATH to exist (checking every 10 ms). True if it does.
bool wait_for_file(const std::string& path, double timeout_s = 30);

/// True if a process with PID exists (and is not a zombie of ours).
bool process_alive(pid_t pid);

/// Reads a whole file; "" if missing.
std::string read_file(const std::string& path);

/// The repository's root (BATON_SOURCE_DIR).
std::string source_dir();

}  // namespace baton::testing
