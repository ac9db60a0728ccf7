// The files of an attempt on Slurm, beside its log BASE.log and its control file
// BASE.attempt (exec/attempt_file.h, written by the job as on this machine):
//
//   BASE.slurm       the executor's record, JSON Lines, appended and fsync'd by the
//                    orchestrator (the durable identity of the job):
//     {"record":"submitting","token":T,"kill_grace_s":G,"at":UNIX_S}  before sbatch
//         runs: T is the job's `--comment attempt=T`, so a job whose id was never
//         recorded is found; G the attempt's grace (absent in older records: 10)
//     {"record":"submitted","job_id":"123","at":UNIX_S}  sbatch's answer
//     {"record":"cancel_requested","at":UNIX_S}  before the stop (the end is kCancelled)
//     {"record":"lost","reason":"..","at":UNIX_S}  the orchestrator gave the attempt up:
//         an exit record that appears later is never taken
//   BASE.slurm-spec  what the job runs (format below), 0600; read and removed by
//                    `baton __slurm-attempt` when the job starts
//   BASE.sbatch      the batch script (executor/slurm_command.h, batch_script())
//   BASE.slurm-out   the batch script's own stdout and stderr (`baton __slurm-attempt`'s
//                    errors; the attempt's output is in BASE.log)
//
// The spec: CBOR (RFC 8949) of one object, nlohmann::json::to_cbor, so argv, env and
// stdin need not be UTF-8: {"argv":[..],"cwd":"..","env":{K:V} (set on top of the
// job's environment),"stdin": string or absent,"log_path":"..","timeout_s": number or
// absent,"kill_grace_s":N,"max_capture_bytes":N,"redact":[..],"rlimits":[[R,V],..],
// "umask":N,"token":T}.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "exec/process.h"
#include "util/error.h"

namespace baton::executor {

/// BASE.slurm, BASE.slurm-spec, BASE.sbatch, BASE.slurm-out for CONTROL_PATH = BASE.attempt.
std::string slurm_record_path(const std::string& control_path);
std::string slurm_spec_path(const std::string& control_path);
std::string slurm_script_path(const std::string& control_path);
std::string slurm_output_path(const std::string& control_path);

/// What BASE.slurm holds.
struct SlurmRecord {
  std::string token;         ///< "" when the file has no "submitting" record
  std::string job_id;        ///< "" until sbatch answered
  double kill_grace_s = 10;  ///< the attempt's grace, seconds (ProcessSpec::kill_grace_s)
  bool cancel_requested = false;
  std::optional<std::string> lost;  ///< the reason, once given up
};

/// True when CONTROL_PATH's attempt was handed to Slurm (BASE.slurm exists).
bool is_slurm_attempt(const std::string& control_path);

/// Reads BASE.slurm (a torn last line is ignored). Errors: missing or unreadable file,
/// a malformed line ("PATH: line N: ...").
Result<SlurmRecord> read_slurm_record(const std::string& record_path);

/// Appends one record (RECORD is a JSON object with "record"), then fsyncs. CREATE:
/// the file must not exist yet (O_EXCL). Errors: the file cannot be written.
Result<void> append_slurm_record(const std::string& record_path, const std::string& line,
                                 bool create);

/// One line of each record, with its '\n'.
std::string submitting_line(const std::string& token, double kill_grace_s, double at);
std::string submitted_line(const std::string& job_id, double at);
std::string cancel_requested_line(double at);
std::string lost_line(const std::string& reason, double at);

/// What a job runs: the attempt's process and its token.
struct SlurmAttemptSpec {
  exec::ProcessSpec process;
  std::string token;
};

/// Encodes and decodes the spec (format above). Errors: "bad slurm attempt spec: ...".
std::string encode_slurm_spec(const SlurmAttemptSpec& spec);
Result<SlurmAttemptSpec> decode_slurm_spec(std::string_view bytes);

}  // namespace baton::executor
