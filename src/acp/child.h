// Child processes of the ACP bridge: the agent (its stdin and stdout piped to the
// bridge, its stderr the bridge's) and the terminals the agent asks for (stdout and
// stderr into one pipe). Each child leads a process group of its own, so that it and
// everything it started can be signalled at once.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "exec/spawn.h"
#include "util/error.h"

namespace baton::acp {

/// How to start a child.
struct ChildSpec {
  std::vector<std::string> argv;                         ///< argv[0] is looked up in PATH (execvp)
  std::string cwd;                                       ///< "" = the bridge's
  std::vector<std::pair<std::string, std::string>> env;  ///< set over the bridge's environment
  bool pipe_stdin = false;                               ///< else /dev/null
  bool merge_stderr = false;  ///< stderr into the stdout pipe; else the bridge's stderr
};

/// A started child. Move-only; the destructor kills the child's process group
/// (SIGKILL) if it was not reaped and reaps it, so nothing is left running.
class Child {
 public:
  Child() = default;
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Starts SPEC. Errors: "cannot start ARGV0: <strerror>" (pipe/fork failure, or the
  /// exec failure reported back through a close-on-exec pipe).
  static Result<Child> start(const ChildSpec& spec);

  int pid() const { return pid_; }
  /// The write end of the child's stdin (pipe_stdin), else invalid.
  exec::Fd& stdin_fd() { return stdin_; }
  /// The read end of the child's stdout (non-blocking, close-on-exec).
  exec::Fd& stdout_fd() { return stdout_; }
  const exec::Fd& stdout_fd() const { return stdout_; }
  /// A pidfd of the child: readable once it has exited.
  int pidfd() const { return pidfd_.get(); }
  /// Sends SIGNO to the child's process group (no-op once reaped).
  void signal_group(int signo);
  /// Reaps the child if it has exited (BLOCK: waits). True once reaped; the wait
  /// status is then in status().
  bool reap(bool block);
  bool reaped() const { return reaped_; }
  /// The wait(2) status, valid once reaped().
  int status() const { return status_; }

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  exec::Fd stdin_, stdout_, pidfd_;
};

}  // namespace baton::acp
