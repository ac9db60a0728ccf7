// The two formats of an attempt under a supervisor (supervised.h):
//
// 1. The spec hand-off: what the orchestrator passes to `baton-supervise` in a kStart
//    message (supervisor_protocol.h), or in a memfd when larger. Since issue 17 a flat
//    binary list of fields (it was CBOR through a JSON document: building and walking
//    that tree was a fifth of the supervisor's CPU per no-op task), each
//      u8 TAG, u32 LENGTH (native byte order: both ends run on one host), LENGTH bytes
//    strings as their bytes (argv, environment and stdin need not be UTF-8), numbers in
//    8 bytes (u64 / IEEE double), i32 in 4; a repeated tag appends to a list:
//      1 argv[i], 2 cwd, 3 env entry "K=V" (on top of the base environment),
//      4 stdin, 5 timeout_s (double), 6 kill_grace_s (double), 7 max_capture_bytes
//      (u64), 8 redact[i], 9 log_path, 10 stdout_path, 11 rlimit (i32 RESOURCE, u64
//      VALUE), 12 umask (i32), 13 key, 14 env_base (u64: the kEnv message whose
//      environment the entries go on top of; absent = none, the entries are all).
//    The base environment (kEnv) is the same list with tag 3 only. An unknown tag, a
//    field past the end or of the wrong size is an error: both ends are one build.
//
// 2. The control file (BASE.attempt beside BASE.log): JSON Lines, appended by the
//    supervisor, each record one object with "record" naming it. Since issue 17 it is
//    usually a hard link to the run supervisor's journal (DIR/supervisor-P-J.journal,
//    one inode for every attempt of that supervisor in DIR): each record of an attempt
//    then carries "key":"BASE-NAME" (the control file's name without ".attempt") and a
//    reader keeps only its own; records without "key" (a file of one attempt, as
//    before) all count:
//      {"record":"started","supervisor_pid":P,"supervisor_start":T,"attempt_id":I,
//       "started_at":UNIX_S,"child_pid":C,"child_start":T2}
//        written by the child itself before it execs (so a record exists for anything
//        that may have run); P + T (field 22 of /proc/P/stat) identify the run
//        supervisor, I the attempt among the attempts it runs (0 in records of
//        per-attempt supervisors of earlier versions), C is the child's pid and process
//        group; UNIX_S is when the supervisor started the child; T2 is the child's
//        start time in clock ticks since boot as the supervisor read it just before
//        creating the child (CLOCK_BOOTTIME): /proc/C/stat field 22, or one tick less.
//      {"record":"exit","kind":"exited|signaled|timed_out|cancelled|failed_to_start",
//       "code":N,"signal":S,"error":"..","timeout_s":X,"child_pid":C,"started_at":..,
//       "ended_at":..,"stdout_truncated":bool,"output_error":"..","stdout_bytes":N,
//       "stderr_tail":".."}
//        ("output_error" and "stdout_bytes" are absent in records of earlier versions:
//        read as "" and -1); "ended_at" is when the child's end was seen (reaped).
//        the end, appended and fsync'd after the log and stdout files were fsync'd.
//      {"record":"cleaned","at":UNIX_S}
//        appended by clean_up_lost_attempt to a lost attempt.
//      {"record":"drained","at":UNIX_S}
//        journal-wide (no "key"): the supervisor saw its orchestrator's socket close
//        and had started every attempt handed to it; a linked attempt without its own
//        "started" was never handed over (the orchestrator died between link and send).
//    Strings that are not valid UTF-8 (stderr_tail, error) have the bad bytes replaced
//    by U+FFFD. A last line without its newline is a torn write and is ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/process.h"
#include "util/error.h"

namespace baton::exec {

/// Everything the supervisor needs to run one attempt (format 1 above).
struct SupervisorSpec {
  std::vector<std::string> argv;  ///< argv[0] searched in the PATH of `env`
  std::string cwd;                ///< empty = the supervisor's cwd
  /// "K=V" entries on top of the base environment (env_base), or the child's complete
  /// environment when env_base is 0. An entry replaces the base's entry of its key.
  std::vector<std::string> env;
  /// The base environment: the number of the kEnv message that carried it (sent once
  /// per supervisor and whenever the orchestrator's own environment changed); 0 = none.
  uint64_t env_base = 0;
  std::optional<std::string> stdin_data;
  std::optional<double> timeout_s;  ///< seconds
  double kill_grace_s = 10;         ///< seconds
  size_t max_capture_bytes = 64u << 20;
  std::vector<std::string> redact;
  std::string log_path;
  std::string stdout_path;
  std::vector<ResourceLimit> rlimits;  ///< set in the child before exec (process.h)
  int umask = -1;                      ///< the child's umask; -1 = the supervisor's
  /// The attempt's key in its supervisor's journal (control_key_for); "" = records go
  /// to a control file of its own (handed over with the attempt).
  std::string key;
};

/// Encodes SPEC (format 1).
std::string encode_spec(const SupervisorSpec& spec);
/// Decodes format 1. Errors: "bad supervisor spec: <reason>" (a truncated field, a
/// number of the wrong size, an unknown tag, no argv).
Result<SupervisorSpec> decode_spec(std::string_view bytes);

/// Encodes a base environment ("K=V" entries) for a kEnv message (format 1, tag 3 only).
std::string encode_env(const std::vector<std::string>& env);
/// Decodes encode_env's bytes. Errors: "bad supervisor environment: <reason>".
Result<std::vector<std::string>> decode_env(std::string_view bytes);

/// The "started" record.
struct StartedRecord {
  int supervisor_pid = 0;
  int64_t supervisor_start = 0;  ///< clock ticks since boot (/proc/PID/stat field 22)
  uint64_t attempt_id = 0;  ///< the attempt among its supervisor's; 0 = one supervisor per attempt
  int child_pid = 0;
  int64_t child_start = 0;  ///< the child's start ticks (or one less, see above); 0 = unknown
  double started_at = 0;    ///< Unix time, seconds
  std::string key;          ///< the attempt's key in a journal; "" = none (own file)
};

/// The "exit" record.
struct ExitRecord {
  ExitStatus status;
  int child_pid = 0;
  double started_at = 0;  ///< Unix time, seconds
  double ended_at = 0;    ///< Unix time, seconds
  bool stdout_truncated = false;
  /// The first failed write or sync of the log or the stdout file ("" = none): the
  /// output on disk is incomplete and the attempt cannot count as a success.
  std::string output_error;
  /// Bytes in the stdout file (BASE.stdout); -1 = unknown (a record of an earlier
  /// version): read the file. 0 = there is none to read.
  int64_t stdout_bytes = -1;
  std::string stderr_tail;
  std::string key;  ///< the attempt's key in a journal; "" = none (own file)
};

/// What a control file holds for one attempt.
struct ControlRecords {
  std::optional<StartedRecord> started;
  std::optional<ExitRecord> exit;
  bool cleaned = false;
  bool drained = false;  ///< the journal's supervisor has started all it was handed
};

/// The "exit" record as kEnded carries it to the orchestrator (supervisor_protocol.h):
/// format 1's fields (u8 tag, u32 length, bytes; native byte order) with tags
///   1 kind (i32, ExitStatus::Kind), 2 code (i32), 3 signal (i32), 4 error,
///   5 timeout_s (double), 6 child_pid (i32), 7 started_at (double), 8 ended_at
///   (double), 9 stdout_truncated (u8), 10 output_error, 11 stdout_bytes (i64),
///   12 stderr_tail, 13 key,
/// so that the orchestrator reads an end without parsing JSON (the journal's line is
/// the same record, for every other reader). Strings that are not valid UTF-8 have the
/// bad bytes replaced by U+FFFD, exactly as the JSON line reads back.
std::string encode_exit(const ExitRecord& record);
/// Decodes encode_exit's bytes. Errors: "bad exit record: <reason>".
Result<ExitRecord> decode_exit(std::string_view bytes);

/// TEXT as a JSON string (quoted, escaped; ill-formed UTF-8 made U+FFFD), for records
/// written by hand (the "started" record the child writes).
std::string json_string(std::string_view text);
/// VALUE as a JSON number that parses back to the same double ("null" when not finite).
std::string json_double(double value);

/// One line (with its '\n') of each record.
std::string format_started_record(const StartedRecord& record);
std::string format_exit_record(const ExitRecord& record);
/// KEY "" = no "key" field (a control file of one attempt).
std::string format_cleaned_record(double at, const std::string& key = "");
std::string format_drained_record(double at);

/// Parses a control file's text, keeping the records of the attempt KEY (records with
/// another "key" are skipped; records without one count; KEY "" keeps every record).
/// Unknown records are skipped (later versions may add some); a line that is not JSON
/// (a record torn by a crash, the last line or, in a journal, one the clean-up ended)
/// is skipped, so one torn record never hides the others. Errors: "line N: <reason>"
/// for a JSON record of this attempt with a missing or mistyped field.
Result<ControlRecords> parse_control_records(std::string_view text, std::string_view key = {});

/// The key of the attempt whose control file is CONTROL_PATH: its file name without
/// ".attempt" ("t7.1" for .../logs/t7.1.attempt).
std::string control_key_for(const std::string& control_path);

/// BASE.stdout for the control file BASE.attempt.
std::string stdout_path_for_control(const std::string& control_path);

}  // namespace baton::exec
