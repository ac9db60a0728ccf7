// Helpers for integration tests: run the built `baton` binary in a scratch
// directory and look at what it printed, returned and left behind.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
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
  /// The file its stdout goes to (read it while it runs).
  const std::string& stdout_path() const { return out_path_; }
  /// Sends SIG to the process.
  void signal(int sig) const;
  /// Waits up to TIMEOUT_S seconds for the exit; on timeout kills it and fails the test.
  Outcome wait(double timeout_s = 60);

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  bool reaped_ = false;
};

/// Runs baton to completion (TIMEOUT_S limit; the test fails past it).
Outcome run_baton(const std::vector<std::string>& args, const std::string& cwd,
                  const std::map<std::string, std::string>& env = {}, double timeout_s = 60);

/// Runs ARGV (argv[0] looked up in PATH) in CWD to completion; stdout and stderr
/// are captured. For set-up steps such as `git init`.
Outcome run_command(const std::vector<std::string>& argv, const std::string& cwd);

/// `sh -c SCRIPT` in DIR with a git identity (author and committer t <t@t>) in the
/// environment; returns stdout. The test fails (not aborts) unless it exits 0.
std::string git_sh(const std::string& dir, const std::string& script);

/// A git repository in DIR on branch main holding FLOW (as flow.yaml) and a README
/// ("base"), both in one commit.
void make_flow_repo(const ScratchDir& dir, const std::string& flow);

/// The events of run RUN_ID in DIR's project, in order: `baton audit export RUN_ID`'s
/// JSON lines, parsed. The test fails (not aborts) unless the export exits 0.
std::vector<nlohmann::json> events_of(const ScratchDir& dir, const std::string& run_id);

/// How many of EVENTS have "kind" KIND.
int count_kind(const std::vector<nlohmann::json>& events, const std::string& kind);

/// Waits up to TIMEOUT_S for PATH to exist (checking every 10 ms). True if it does.
bool wait_for_file(const std::string& path, double timeout_s = 30);

/// Polls FN every 20 ms for up to TIMEOUT_S seconds; whether it became true (FN is
/// asked once more at the end).
bool eventually(const std::function<bool()>& fn, double timeout_s = 30);

/// True if a process with PID exists (and is not a zombie of ours).
bool process_alive(pid_t pid);

/// Reads a whole file; "" if missing.
std::string read_file(const std::string& path);

/// The records of the attempt whose control file is PATH (logs/TASK.N.attempt, JSON
/// Lines: src/exec/attempt_file.h), parsed, in order; torn lines are skipped. The file is
/// usually a link to its supervisor's journal, which holds every attempt it ran in that
/// directory: only this attempt's records (its "key" is TASK.N) and the journal's own
/// (no key, such as "drained") are kept. Empty when the file is missing.
std::vector<nlohmann::json> control_records(const std::string& path);

/// The last "started" record among control_records(PATH), waiting for one up to 30 s
/// (eventually()); null when none came.
nlohmann::json started_record(const std::string& path);

/// `baton status [RUN] --json` in DIR, parsed (the run list without RUN).
nlohmann::json status_json(const ScratchDir& dir, const std::string& run_id = "");

/// The newest run in DIR with its tasks and attempts (status RUN --json).
nlohmann::json last_run(const ScratchDir& dir);

/// The task ID of RUN (as last_run() gives it); an empty object when absent.
nlohmann::json task_of(const nlohmann::json& run, const std::string& id);

/// An environment whose PATH starts with the pinned agent CLIs
/// (.agents/node_modules/.bin, installed by scripts/setup-agents).
std::map<std::string, std::string> agent_path();

/// The repository's root (BATON_SOURCE_DIR).
std::string source_dir();

}  // namespace baton::testing
