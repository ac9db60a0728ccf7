// One attempt inside the run supervisor (supervisor.h): its child, its output streams,
// its deadlines and its records. The supervisor's loop owns the descriptors' polling
// and the reaping and calls in here; nothing here blocks except the fsyncs at the end.
// Linked only into `baton-supervise`; libc, libstdc++ and header-only nlohmann-json.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exec/attempt_file.h"
#include "exec/child_spawn.h"
#include "exec/log_file.h"
#include "exec/redactor.h"
#include "exec/spawn.h"

namespace baton::exec {

/// Who the supervisor is, for the "started" records.
struct SupervisorIdentity {
  int pid = 0;
  int64_t start_ticks = 0;  ///< field 22 of /proc/PID/stat
  /// Limits the supervisor raised for itself, as they were: every child gets them back.
  std::vector<std::pair<int, rlimit>> restore;
};

/// One attempt from its kStart message to its kEnded message.
class SupervisedAttempt {
 public:
  /// ID: the attempt's id; CONTROL: its control file (locked; closed when the attempt is
  /// done, which releases the lock), or invalid when its records go to JOURNAL (the
  /// supervisor's journal for the attempt's directory, opened O_APPEND and locked for
  /// the supervisor's life; not owned; the records carry SPEC.key); SPEC: what to run.
  SupervisedAttempt(uint64_t id, Fd control, int journal, SupervisorSpec spec);

  /// Prepares stdin (a memfd of stdin_data, else DEV_NULL) and starts the child
  /// (launch_child, programs resolved through PROGRAMS) with BASE_ENV (the spec's base
  /// environment, or empty when it has none) under the spec's own entries. BASE_ENV is
  /// only read during the call. The log is opened for appending
  /// (created when missing) with the first byte of output: an attempt that prints
  /// nothing costs no file. False when the child could not be started: the "exit"
  /// record (kFailedToStart) is written already and done() is true.
  bool start(const SupervisorIdentity& self, ProgramCache& programs, int dev_null,
             const std::vector<std::string>& base_env);

  /// Records that the attempt could not even be handed over (a spec that does not
  /// decode): a kFailedToStart "exit" record with ERROR; done() is true after.
  void fail_before_start(const std::string& error) { record_failure(error); }

  uint64_t id() const { return id_; }
  /// The child's pid (its process group); 0 when it did not start.
  int pid() const { return pid_; }
  /// The read ends of the child's stdout and stderr while open (-1 after EOF).
  int stdout_fd() const { return out_.get(); }
  int stderr_fd() const { return err_.get(); }

  /// The stream is readable (or at EOF): reads until EAGAIN (it is watched
  /// edge-triggered), records the data (redacted) in the log and the captures; at EOF
  /// closes the stream. True when the stream was closed.
  bool on_output(bool is_stdout);
  /// The leader was reaped with wait STATUS.
  void on_reaped(int status);
  /// baton asked to stop it: with grace (TERM, grace, KILL; kCancelled) or AT_ONCE.
  void cancel(bool at_once);
  /// A plain SIGNO from SENDER reached the supervisor: the attempt ends as killed by it.
  void killed_from_outside(int signo, int sender);
  /// When the loop must wake for this attempt next (CLOCK_MONOTONIC seconds), if ever.
  std::optional<double> next_wake() const;
  /// Acts on deadlines that have passed at NOW (timeout, grace, group polling).
  void check_deadlines(double now);

  /// True once the child was reaped and both streams reached EOF (the end can be
  /// recorded), and not yet recorded.
  bool ready_to_record() const { return !recorded_ && reaped_ && !out_.valid() && !err_.valid(); }
  /// Fsyncs what was written (log, stdout file), appends the "exit" record, fsyncs the
  /// control file when ORCHESTRATOR_GONE.
  void record_end(bool orchestrator_gone);
  /// True when recorded and nothing of its group is left to kill: the attempt is over.
  bool done() const { return recorded_ && !killing_; }
  /// The recorded "exit" record (for kEnded: encode_exit).
  const ExitRecord& exit_record() const { return exit_record_; }
  /// Closes the control file of its own (releasing its lock); a journal stays open.
  void close_control() { control_.reset(); }

 private:
  enum class StopReason { kNone, kTimeout, kCancel, kExternal };
  void record_output(bool is_stdout, std::string_view raw);
  void kill_group_with_grace(bool stop_signals);
  void send_to_group(int signo, bool stop_signal);
  void note_output_error(const std::string& error);
  void record_failure(const std::string& error);
  void append_record(ExitRecord record, bool sync);

  /// Where its records go: its own control file, else the journal.
  int record_fd() const { return control_.valid() ? control_.get() : journal_; }

  uint64_t id_;
  Fd control_;
  int journal_ = -1;
  SupervisorSpec spec_;
  Redactor stdout_redactor_;
  Redactor stderr_redactor_;
  LogFile log_;
  bool log_failed_ = false;
  size_t log_bytes_ = 0;
  Fd stdout_file_;
  size_t stdout_bytes_ = 0;
  bool stdout_failed_ = false;
  bool stdout_truncated_ = false;
  std::string output_error_;
  std::string stderr_tail_;
  Fd out_;
  Fd err_;

  int pid_ = 0;
  double started_at_ = 0;
  double ended_at_ = 0;
  bool reaped_ = false;
  int wait_status_ = 0;
  StopReason stop_reason_ = StopReason::kNone;
  int last_stop_signal_ = 0;
  int external_signal_ = 0;
  int external_sender_ = 0;
  std::optional<double> timeout_deadline_;
  bool killing_ = false;
  double kill_deadline_ = 0;
  double next_group_poll_ = 0;
  double group_poll_interval_ = 0;
  bool recorded_ = false;
  ExitRecord exit_record_;
};

}  // namespace baton::exec
