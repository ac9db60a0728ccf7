// Secrets of a run (docs/secrets.md): their values, read once at the run's start;
// what each task's process gets; and the redaction of the values ("***") from
// everything baton writes or shows.
//
// - `context.secrets.NAME: {env: VAR}` reads baton's environment variable VAR;
//   `{file: PATH}` reads the file PATH (relative paths from the project root).
// - A task (or hook) that lists NAME in `secrets:` gets, in its process's
//   environment, NAME=VALUE for an env secret and BATON_SECRET_FILE_NAME=PATH (the
//   absolute path) for a file secret; a sandboxed task has that file bound
//   read-only at the same path (workspaces.cc).
// - No other process baton starts sees an env secret: load() removes every VAR from
//   baton's own environment (unsetenv), so tasks, hooks, git, bwrap and the
//   supervisors that inherit it lack them.
// - Values shorter than kMinSecretLength characters are not redacted (they would
//   mask ordinary text); a task that lists such a secret fails, as for a missing
//   variable or an unreadable file. The error names the secret, never the value.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/scheduler.h"
#include "exec/process.h"
#include "store/store.h"
#include "util/error.h"
#include "workflow/model.h"

namespace baton::engine {

/// What a secret's value is replaced by.
inline constexpr std::string_view kRedactedMask = "***";

/// Secret values shorter than this many bytes are refused (see the file comment).
inline constexpr size_t kMinSecretLength = 4;

/// Replaces every occurrence of a set of values in a text by kRedactedMask.
/// Occurrences that overlap (two values sharing characters, or one value inside
/// another) are masked together as one "***", so no part of either survives;
/// adjacent occurrences are masked one by one. Values are matched byte for byte.
/// Thread safety: const methods may be called from any thread.
class Redactor {
 public:
  Redactor() = default;
  /// VALUES: the texts to mask; empty strings are ignored, duplicates dropped.
  explicit Redactor(std::vector<std::string> values);

  /// Adds VALUE (ignored when empty or already present).
  void add(std::string value);
  /// The values, longest first (ties in byte order).
  const std::vector<std::string>& values() const { return values_; }
  bool empty() const { return values_.empty(); }

  /// TEXT with every occurrence masked.
  std::string redact(std::string_view text) const;
  /// Masks every string in VALUE in place: string leaves and object keys.
  void redact(nlohmann::json& value) const;
  /// True when some value occurs in TEXT.
  bool contains_secret(std::string_view text) const;

 private:
  std::vector<std::string> values_;
};

/// Where a file secret is read: SPEC.file, relative paths from ROOT_DIR, normalized.
/// A sandboxed task that lists the secret has this path bound read-only.
std::string secret_file_path(const workflow::SecretSpec& spec, const std::string& root_dir);

/// The secrets of one run.
class RunSecrets {
 public:
  RunSecrets() = default;

  /// Reads every secret of WF (env variables from baton's environment, files
  /// relative to ROOT_DIR) and then removes each env secret's variable from baton's
  /// environment. Never fails: a secret that cannot be read is remembered with the
  /// reason and fails only the tasks that list it (see apply()).
  /// REQUIRES: no other thread reads or changes the environment meanwhile.
  static RunSecrets load(const workflow::Workflow& wf, const std::string& root_dir);

  /// Gives PROCESS, built for SPEC (a task or hook), the secrets SPEC lists (see
  /// the file comment) and the values to redact from its log (ProcessSpec::redact).
  /// Errors, naming the secret and never its value: "secret 'API_TOKEN': the
  /// environment variable API_TOKEN is not set", "secret 'KEY': cannot read
  /// /path/key: No such file or directory", "secret 'PIN': its value is shorter
  /// than 4 characters, too short to redact; use a longer one".
  Result<void> apply(const workflow::TaskSpec& spec, exec::ProcessSpec& process) const;

  const Redactor& redactor() const { return redactor_; }

  /// Masks the values in the text an attempt's outcome carries (output, outputs,
  /// reason), before the scheduler, templates of later tasks or any display see it.
  void redact(AttemptOutcome& outcome) const;
  /// Masks the values in every text field of BATCH (run inputs, task outputs and
  /// reasons, attempt outputs and errors, event data): the last step before a write
  /// to the state database.
  void redact(store::Batch& batch) const;

 private:
  struct Loaded {
    std::string value;  ///< as read; "" when `error` is set
    std::string path;   ///< file secrets: the absolute path
    std::string error;  ///< why the secret cannot be given to a task; "" when fine
  };
  std::map<std::string, Loaded> loaded_;  ///< by secret name
  Redactor redactor_;
};

}  // namespace baton::engine
