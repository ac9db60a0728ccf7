// The audit chain of a run's events: every event carries the SHA-256 of its own
// canonical form, which includes the hash of the event before it, so editing,
// deleting, inserting or renumbering an event breaks the chain from there on.
//
// The store computes the hashes inside apply() (every writer chains the same way);
// this file defines the canonical form (documented in store/SCHEMA.md, "The audit
// chain"), verifies a run's chain and exports a run as JSON Lines (docs/audit.md).
//
// What it proves: that the events are as they were appended, unless whoever edited
// them also recomputed every later hash (the algorithm is public). Keeping the head
// hash that `baton audit verify` prints, or an export, somewhere else pins the chain.
// Thread safety: free functions; the Store passed in is used from one thread.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "util/error.h"

namespace baton::store {

/// The prev_hash of a run's first event: 64 zeros.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an event's hash covers, in order.
struct ChainFields {
  std::string_view run_id;
  int64_t seq = 0;
  double time = 0;  ///< Unix seconds, written as printf("%.17g")
  std::string_view task_id;
  std::string_view kind;
  std::string_view data_json;  ///< the data column's text (compact JSON, keys sorted)
  std::string_view prev_hash;  ///< lowercase hex
};

/// The canonical form: each field in ChainFields order as a netstring,
/// `<byte length in decimal>:<bytes>,`; seq in decimal, time as "%.17g".
/// Example: `2:r1,1:1,5:100.5,0:,11:run.created,2:{},64:000...000,`.
std::string canonical_event(const ChainFields& fields);

/// Lowercase hex SHA-256 of canonical_event(FIELDS) (64 characters).
std::string event_hash(const ChainFields& fields);

/// Lowercase hex SHA-256 of BYTES.
std::string sha256_hex(std::string_view bytes);

/// The key of an event's data under which Store::apply records the SHA-256 (lowercase
/// hex) of the task row's `output` written in the same batch, when that output is not
/// empty. Only status events (status_of_event() not empty) carry it.
inline constexpr std::string_view kOutputDigestKey = "output_sha256";

/// The task status an event of kind KIND records, "" when it records none:
/// `task.<status>` for the task statuses (pending, ready, running, success, failed,
/// skipped, cancelled, waiting), `task.retried` (pending, `baton retry`), and
/// `hook.<status>` for a hook's end (success, failed, cancelled). Other kinds
/// (task.committed, task.approved, hook.started, ...) record no status.
std::string_view status_of_event(std::string_view kind);

/// What verifying one run's chain found.
struct ChainReport {
  int64_t events = 0;  ///< events read
  /// Hash of the last event read; kGenesisHash when there is none.
  std::string head_hash = std::string(kGenesisHash);
  int64_t broken_at = 0;  ///< seq of the first broken event; 0 when intact
  /// The first problem, e.g. "event 12: hash mismatch (edited?)", "event 13 missing
  /// (deleted?)", "event 14: prev_hash does not match event 13"; "" when intact.
  std::string problem;
  /// The chain is intact but a row of `runs` or `tasks` says something its events do
  /// not (problem names the row and the field).
  bool row_mismatch = false;
  bool ok() const { return problem.empty(); }
};

/// Recomputes the chain of EVENTS, one run's rows in seq order (as
/// Store::list_stored_events gives them). Checks, per event and in this order: seqs
/// run 1, 2, 3, ... without a gap; the stored hash equals event_hash() of the row;
/// prev_hash equals the previous event's hash (kGenesisHash for event 1). A run whose
/// RUN_STATUS is not "running" must end with a run.finished event, so deleting the
/// tail of an ended run is detected too. Reports the first problem only.
ChainReport verify_chain(const std::vector<StoredEvent>& events, const std::string& run_status);

/// Checks that the rows of RUN and its TASKS are what EVENTS (the run's chain, in seq
/// order) imply, fields:
/// - runs.status: the last of run.created and run.resumed (running), run.paused
///   (paused), run.waiting (waiting), run.finished (its data's `status`);
/// - tasks.status: the status of the task's last status event (status_of_event());
///   pending when it has none (the rows written at the run's start);
/// - tasks.output: its SHA-256 equals kOutputDigestKey of that event; the output is
///   empty when the event has no digest (or there is no event).
/// Reports the first mismatch in REPORT (problem such as "tasks row 'b', field status:
/// 'success', but event 9 (task.failed) says 'failed'", broken_at the event's seq or 1,
/// row_mismatch true); leaves REPORT as it is when every row matches.
void verify_rows(const std::vector<StoredEvent>& events, const RunRecord& run,
                 const std::vector<TaskRecord>& tasks, ChainReport* report);

/// verify_chain() over run RUN_ID of STORE, then verify_rows() when the chain is intact. Errors: no
/// such run ("no run 'ID'"), the store could not be read.
Result<ChainReport> verify_run(Store& store, const std::string& run_id);

/// Writes run RUN_ID of STORE to OUT as JSON Lines (schema: docs/audit.md): a header
/// object (type "run": format, EXPORTED_AT (Unix seconds), the run record, the chain's
/// verification), then one object per event (type "event") in seq order. Returns the
/// chain report (the export is written whether or not the chain is intact). Errors:
/// no such run, the store could not be read, writing to OUT failed.
Result<ChainReport> export_run(Store& store, const std::string& run_id, std::ostream& out,
                               double exported_at);

}  // namespace baton::store
