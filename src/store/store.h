// Store: durable state of runs, tasks, attempts and events.
//
// One interface, two back ends: SQLite (sqlite_store.cc) and PostgreSQL (pg_store.h),
// chosen by open_store() (open_store.h). The schema is
// versioned and documented in store/SCHEMA.md and ARCHITECTURE.md. Every
// apply() is one transaction: either all of a Batch is durable, or none of it.
// Times are Unix seconds (double). Thread safety: a Store is used from one thread at a
// time (a run writes its deferred transactions on a thread of its own meanwhile:
// engine/commit_thread.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/metrics_snapshot.h"
#include "util/error.h"

namespace baton::store {

/// One execution of a workflow.
struct RunRecord {
  std::string id;  ///< e.g. "20261124-014512-3fa9" (sortable by start)
  std::string workflow_name;
  /// the workflow file: relative to the project root (root_dir) when inside it, else
  /// absolute (engine::stored_workflow_path); runs before issue 18 recorded it as given
  std::string workflow_path;
  std::string workflow_sha256;
  /// running | success | failed | cancelled; paused (`baton pause`) | waiting (only
  /// tasks waiting for `baton approve` are left): both continue with `baton resume`
  std::string status;
  nlohmann::json inputs = nlohmann::json::object();
  std::string root_dir;  ///< directory tasks run in (the repository)
  std::string run_dir;   ///< .baton/runs/<id>: logs live here
  double created_at = 0;
  double ended_at = 0;  ///< 0 while running
  int orchestrator_pid = 0;
  /// The orchestrator's start time: field 22 of /proc/PID/stat (clock ticks since
  /// boot). With orchestrator_pid it identifies the process even after its pid is
  /// reused (store/process_identity.h). 0 = unknown (runs recorded by schema v1).
  int64_t orchestrator_start_time = 0;
};

/// The current state of one task in a run.
struct TaskRecord {
  std::string run_id;
  std::string task_id;
  int position = 0;  ///< declaration order
  /// pending | ready | running | success | failed | skipped | cancelled | waiting
  std::string status;
  int attempts = 0;              ///< attempts started so far
  std::string agent;             ///< agent of the last attempt ("" for command tasks)
  std::string output;            ///< final output (stdout trimmed, or agent answer)
  std::optional<int> exit_code;  ///< exit code of the last attempt, when it exited
  std::string reason;            ///< why it failed / was skipped / cancelled
  double started_at = 0;         ///< first attempt's start, 0 if never started
  double ended_at = 0;
  /// Hex SHA-256 of the task's spec when the run started (workflow::TaskSpec::spec_sha256);
  /// "" for hooks and runs recorded before schema v3.
  std::string spec_sha256;
  /// Gate state: "" | "approved" (its gate was approved: its work may run) |
  /// "escalated" (waiting because it failed under on_failure: escalate).
  std::string gate;
  /// The ids of the tasks it depends on, as the run started (its DAG's edges); nullopt
  /// when unknown (rows written before schema v5). An upsert with nullopt keeps what the
  /// row has.
  std::optional<std::vector<std::string>> dependencies;
};

/// Whether T is one of its run's hooks: their task ids are "hook:GROUP:NAME"
/// (engine/run.cc), and the back ends' queries count and filter them by that prefix too.
inline bool is_hook(const TaskRecord& t) { return t.task_id.rfind("hook:", 0) == 0; }

/// One attempt of a task.
struct AttemptRecord {
  std::string run_id;
  std::string task_id;
  int number = 0;           ///< 1-based
  std::string agent;        ///< "" for command tasks
  std::string status;       ///< running | success | failed | cancelled
  std::string exit_status;  ///< ExitStatus::to_string(), "" while running
  std::optional<int> exit_code;
  std::string
      error_class;    ///< "" | auth | rate_limit | timeout | transient | permanent | cancelled
  std::string error;  ///< short reason text
  std::string log_path;
  std::string output;
  std::string session_id;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_tokens = 0;
  std::optional<double> cost_usd;
  int pid = 0;
  double started_at = 0;
  double ended_at = 0;
};

/// One state change, appended to the run's event log.
struct Event {
  int64_t seq = 0;  ///< assigned by the store, 1-based per run
  double time = 0;
  std::string run_id;
  std::string task_id;  ///< "" for run-level events
  std::string kind;     ///< run.created, task.ready, attempt.started, task.success, ...
  nlohmann::json data = nlohmann::json::object();
  /// The audit chain (store/audit.h), assigned by the store like seq and ignored in
  /// a Batch: the hash of the run's previous event (64 zeros for the first), and
  /// this event's hash, both lowercase hex SHA-256.
  std::string prev_hash;
  std::string hash;
};

/// An event exactly as stored, for verifying the audit chain: DATA_JSON is the
/// `data` column's text, unparsed; event.data is its parsed value, or JSON null when
/// the text is not valid JSON. prev_hash and hash are "" when the column is NULL.
struct StoredEvent {
  Event event;
  std::string data_json;
};

/// An event with its place in the order of every run's events (`baton serve`'s feed).
struct FeedEvent {
  /// Global, increasing in commit order (SQLite: the events row's rowid; PostgreSQL:
  /// events.id, taken under an advisory lock held to the commit, docs/postgres.md). An id can be
  /// reused only after the newest events were deleted (`baton clean` of the newest run).
  int64_t id = 0;
  Event event;
};

/// Which runs Store::list_runs_page() returns: filters and a keyset cursor.
struct RunPageQuery {
  std::string status;    ///< "" = any status
  std::string workflow;  ///< RunRecord::workflow_name; "" = any workflow
  /// The cursor: the last run of the previous page (its created_at and id); only runs
  /// after it in newest-first order are returned. after_id "" = from the newest run.
  double after_created_at = 0;
  std::string after_id;
  int limit = 50;  ///< 1..1000
};

/// A run's totals for its summary (Store::run_totals()).
struct RunTotals {
  int tasks_total = 0;
  std::map<std::string, int> tasks_by_status;  ///< status -> number of tasks
  /// Of those, the run's hooks (task ids "hook:NAME"): status -> number.
  std::map<std::string, int> hooks_by_status;
  size_t widest_task_id = 0;  ///< the longest task id, hooks included, in bytes
  int64_t input_tokens = 0;   ///< summed over every attempt
  int64_t output_tokens = 0;
  int64_t cached_tokens = 0;
  std::optional<double> cost_usd;  ///< USD over the attempts that know it; nullopt if none does
  /// Attempts that name an agent, report a token or know their cost: the only ones
  /// the summary reads one by one (plain commands have none).
  int64_t attempts_with_usage = 0;
};

/// What acquire_run_lock() found.
struct RunLockResult {
  bool acquired = false;  ///< true: the run now names the caller as its orchestrator
  /// When not acquired: the live orchestrator that holds the run.
  int holder_pid = 0;
  int64_t holder_start_time = 0;
};

/// Changes that become durable together.
struct Batch {
  std::optional<RunRecord> run;         ///< upserted
  std::vector<TaskRecord> tasks;        ///< upserted by (run_id, task_id)
  std::vector<AttemptRecord> attempts;  ///< upserted by (run_id, task_id, number)
  std::vector<Event> events;            ///< appended; seq assigned
  bool empty() const { return !run && tasks.empty() && attempts.empty() && events.empty(); }
};

/// Durable state. Errors name the database file and the failed operation.
class Store {
 public:
  virtual ~Store() = default;

  /// Applies a batch in one transaction (all or nothing).
  virtual Result<void> apply(const Batch& batch) = 0;

  /// Applies FIRST, then each part NEXT writes into an empty Batch until NEXT returns
  /// false (a false call's batch is not applied), all in ONE transaction: all or
  /// nothing, like apply(). For changes too large to hold at once (the first
  /// transaction of a 100,000-task run): one part is in memory at a time. This default
  /// gathers every part into one Batch and calls apply(); back ends override it.
  virtual Result<void> apply_parts(const Batch& first, const std::function<bool(Batch&)>& next) {
    Batch all = first;
    for (Batch part; next(part); part = Batch{}) {
      if (part.run) all.run = std::move(part.run);
      for (auto& t : part.tasks) all.tasks.push_back(std::move(t));
      for (auto& a : part.attempts) all.attempts.push_back(std::move(a));
      for (auto& e : part.events) all.events.push_back(std::move(e));
    }
    return apply(all);
  }

  virtual Result<std::optional<RunRecord>> get_run(const std::string& run_id) = 0;
  /// Runs, newest first, at most LIMIT.
  virtual Result<std::vector<RunRecord>> list_runs(int limit) = 0;
  /// A run's tasks in declaration order.
  virtual Result<std::vector<TaskRecord>> list_tasks(const std::string& run_id) = 0;
  /// A run's attempts ordered by task position then number; TASK_ID "" = all tasks.
  virtual Result<std::vector<AttemptRecord>> list_attempts(const std::string& run_id,
                                                           const std::string& task_id) = 0;
  /// Calls VISIT with each of a run's tasks in declaration order, one at a time, as
  /// list_tasks() would return them, without holding them all: a run of 100,000 tasks
  /// costs one record (bench/RESULTS.md, memory). The record lives only during the call.
  /// VISIT must not read tasks from this store itself. Errors: the read failed (VISIT
  /// may have seen some tasks). This default reads list_tasks(); back ends override it.
  virtual Result<void> for_each_task(const std::string& run_id,
                                     const std::function<void(const TaskRecord&)>& visit) {
    auto tasks = list_tasks(run_id);
    if (!tasks) return tl::unexpected(tasks.error());
    for (const TaskRecord& t : *tasks) visit(t);
    return {};
  }
  /// As for_each_task(), but only the tasks whose status is not EXCEPT_STATUS, and the
  /// run's hooks (task ids "hook:NAME") whatever theirs: the rows a long run's summary
  /// lists (cli::write_summary), without reading the others ("" leaves out none). This
  /// default filters for_each_task(); SQLite and PostgreSQL filter in their queries.
  virtual Result<void> for_each_task_except(const std::string& run_id,
                                            const std::string& except_status,
                                            const std::function<void(const TaskRecord&)>& visit) {
    return for_each_task(run_id, [&](const TaskRecord& t) {
      if (t.status != except_status || is_hook(t)) visit(t);
    });
  }
  /// As list_attempts(RUN_ID, TASK_ID), one attempt at a time, as for_each_task().
  /// VISIT must not read attempts from this store itself.
  virtual Result<void> for_each_attempt(const std::string& run_id, const std::string& task_id,
                                        const std::function<void(const AttemptRecord&)>& visit) {
    auto attempts = list_attempts(run_id, task_id);
    if (!attempts) return tl::unexpected(attempts.error());
    for (const AttemptRecord& a : *attempts) visit(a);
    return {};
  }
  /// A run's events with seq > AFTER_SEQ, in order.
  virtual Result<std::vector<Event>> list_events(const std::string& run_id, int64_t after_seq) = 0;
  /// As list_events(), one event at a time, as for_each_task() (an orchestrator that
  /// looks for requests among the 200,000 events of a large run holds one). VISIT must
  /// not read events from this store itself. Errors: the read failed, or an event's data
  /// is not JSON (VISIT has seen the events before it).
  virtual Result<void> for_each_event(const std::string& run_id, int64_t after_seq,
                                      const std::function<void(const Event&)>& visit) {
    auto events = list_events(run_id, after_seq);
    if (!events) return tl::unexpected(events.error());
    for (const Event& e : *events) visit(e);
    return {};
  }
  /// One task of a run; nullopt when the run has no task TASK_ID (or no such run).
  virtual Result<std::optional<TaskRecord>> get_task(const std::string& run_id,
                                                     const std::string& task_id) = 0;

  /// A run's events in seq order exactly as stored (for store/audit.h). Rows whose
  /// data is not valid JSON are returned, not refused. Errors: the read failed.
  virtual Result<std::vector<StoredEvent>> list_stored_events(const std::string& run_id) = 0;

  // ---- Reads for `baton serve` (issue 13) ----

  /// Runs newest first (created_at, then id, descending) that match QUERY's filters
  /// and come after its cursor, at most QUERY.limit (1..1000) of them. Errors: the read
  /// failed.
  virtual Result<std::vector<RunRecord>> list_runs_page(const RunPageQuery& query) = 0;
  /// A run's task counts by status (and its hooks'), its longest task id and its
  /// attempts' token and cost sums, counted in the back end (zeros and no cost for an
  /// unknown run). Errors: the read failed.
  virtual Result<RunTotals> run_totals(const std::string& run_id) = 0;
  /// Events of every run (of RUN_ID only when it is not "") whose global id is greater
  /// than AFTER_ID, in id order, at most LIMIT. Errors: the read failed, or an event's
  /// data is not JSON.
  virtual Result<std::vector<FeedEvent>> list_feed(int64_t after_id, const std::string& run_id,
                                                   int limit) = 0;
  /// The greatest global event id (0 when the store has no event). Errors: the read failed.
  virtual Result<int64_t> last_feed_id() = 0;
  /// True when an event with global id ID exists. Errors: the read failed.
  virtual Result<bool> feed_event_exists(int64_t id) = 0;
  /// Tasks that wait for `baton approve` (status waiting) in runs that are not over
  /// (running, waiting or paused), newest run first, at most LIMIT. Errors: the read failed.
  virtual Result<std::vector<TaskRecord>> list_waiting_tasks(int limit) = 0;

  /// The run lock: one orchestrator per run. In one write transaction, claims RUN_ID
  /// for the orchestrator (PID, START_TIME) (START_TIME as in
  /// RunRecord::orchestrator_start_time) and records it on the run row, when the
  /// orchestrator recorded there is the caller itself or is no longer running (pid
  /// gone, a zombie, or its start time differs: the pid was reused), so a crashed
  /// holder never keeps the lock. When that orchestrator is alive, nothing changes
  /// and the result names it (acquired = false). A run with no row yet is acquired
  /// without a write: the caller's first batch creates the row with its identity
  /// (run ids are fresh, see engine::new_run_id). Errors: store failures only.
  virtual Result<RunLockResult> acquire_run_lock(const std::string& run_id, int pid,
                                                 int64_t start_time) = 0;

  /// Aggregates over the whole database for `baton serve`'s GET /metrics
  /// (store/metrics_snapshot.h): runs and tasks by status with duration histograms,
  /// attempt, retry, token and cost totals, each workflow's last success. Counted in
  /// the back end in a few queries, never row by row: its memory does not grow with
  /// the database (a scan of the tasks and attempts tables per call). Errors: the read
  /// failed (the message names the database).
  virtual Result<MetricsSnapshot> metrics_snapshot() = 0;
};

/// Opens (creating if needed, migrating if older) the SQLite store at PATH, in WAL
/// mode with synchronous=FULL; waits up to 5 s for a lock held by another process.
/// Errors: cannot create the directory or file, not a baton database, a schema
/// newer than this binary.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);

/// Tuning for open_sqlite_store(PATH, OPTIONS); the defaults are what baton uses.
struct StoreOptions {
  /// How long a statement waits for a lock held by another connection before failing
  /// with "database is locked" (milliseconds).
  int busy_timeout_ms = 5000;
};

/// As open_sqlite_store(PATH), with OPTIONS (tests shorten the busy timeout).
/// The schema and its migrations are documented in store/SCHEMA.md.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const StoreOptions& options);

}  // namespace baton::store
