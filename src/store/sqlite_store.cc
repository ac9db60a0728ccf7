// The SQLite implementation of Store. The schema, its migrations and the pragmas
// are documented in store/SCHEMA.md; kMigrations below is the source of truth.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/audit.h"
#include "store/process_identity.h"
#include "store/sqlite.h"
#include "store/sqlite_metrics.h"
#include "store/store.h"
#include "store/webhook_outbox.h"

namespace baton::store {

namespace {

// Migration N (1-based) takes the schema from user_version N-1 to N. Append only:
// a released step is never edited; each runs in the same transaction as the
// user_version bump, so a database is always at exactly one known version.
constexpr const char* kMigrations[] = {
    // 1: runs, tasks, attempts, events.
    R"sql(
CREATE TABLE runs (
  id               TEXT    NOT NULL PRIMARY KEY,
  workflow_name    TEXT    NOT NULL,
  workflow_path    TEXT    NOT NULL,
  workflow_sha256  TEXT    NOT NULL,
  status           TEXT    NOT NULL,
  inputs           TEXT    NOT NULL,
  root_dir         TEXT    NOT NULL,
  run_dir          TEXT    NOT NULL,
  created_at       REAL    NOT NULL,
  ended_at         REAL    NOT NULL,
  orchestrator_pid INTEGER NOT NULL
);
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);

CREATE TABLE tasks (
  run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  task_id    TEXT    NOT NULL,
  position   INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  attempts   INTEGER NOT NULL,
  agent      TEXT    NOT NULL,
  output     TEXT    NOT NULL,
  exit_code  INTEGER,
  reason     TEXT    NOT NULL,
  started_at REAL    NOT NULL,
  ended_at   REAL    NOT NULL,
  PRIMARY KEY (run_id, task_id)
);
CREATE INDEX tasks_by_position ON tasks (run_id, position);

CREATE TABLE attempts (
  run_id        TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  task_id       TEXT    NOT NULL,
  number        INTEGER NOT NULL,
  agent         TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  exit_status   TEXT    NOT NULL,
  exit_code     INTEGER,
  error_class   TEXT    NOT NULL,
  error         TEXT    NOT NULL,
  log_path      TEXT    NOT NULL,
  output        TEXT    NOT NULL,
  session_id    TEXT    NOT NULL,
  input_tokens  INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  cost_usd      REAL,
  pid           INTEGER NOT NULL,
  started_at    REAL    NOT NULL,
  ended_at      REAL    NOT NULL,
  PRIMARY KEY (run_id, task_id, number)
);

CREATE TABLE events (
  run_id  TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  time    REAL    NOT NULL,
  task_id TEXT    NOT NULL,
  kind    TEXT    NOT NULL,
  data    TEXT    NOT NULL,
  PRIMARY KEY (run_id, seq)
);
)sql",
    // 2: the audit chain (store/audit.h) and the orchestrator's start time (the run
    // lock). Events already stored are chained by backfill_event_hashes() in the
    // same transaction.
    R"sql(
ALTER TABLE runs ADD COLUMN orchestrator_start_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
)sql",
    // 3: resume and gates: each task's spec hash (the input check of `baton resume`)
    // and its gate state.
    R"sql(
ALTER TABLE tasks ADD COLUMN spec_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN gate TEXT NOT NULL DEFAULT '';
)sql",
    // 4: webhooks (issue 13): the endpoints senders registered from the config, and the
    // outbox of deliveries apply() writes with their events (store/webhook_outbox.h).
    R"sql(
CREATE TABLE webhook_endpoints (
  id         TEXT NOT NULL PRIMARY KEY,
  url        TEXT NOT NULL,
  events     TEXT NOT NULL,
  secret_ref TEXT NOT NULL,
  status     TEXT NOT NULL,
  reason     TEXT NOT NULL,
  updated_at REAL NOT NULL
);

CREATE TABLE webhook_deliveries (
  id               INTEGER PRIMARY KEY,
  webhook_id       TEXT    NOT NULL UNIQUE,
  endpoint_id      TEXT    NOT NULL REFERENCES webhook_endpoints (id),
  run_id           TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  event_seq        INTEGER NOT NULL,
  type             TEXT    NOT NULL,
  body             TEXT    NOT NULL,
  status           TEXT    NOT NULL,
  attempts         INTEGER NOT NULL,
  created_at       REAL    NOT NULL,
  next_attempt_at  REAL    NOT NULL,
  last_attempt_at  REAL    NOT NULL DEFAULT 0,
  last_status_code INTEGER,
  last_error       TEXT    NOT NULL DEFAULT '',
  lease_owner      TEXT    NOT NULL DEFAULT '',
  lease_until      REAL    NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_run ON webhook_deliveries (run_id);
)sql",
    // 5: each task's dependencies as the run started (a JSON array of task ids), so a
    // run's DAG is its own even after the workflow file changes. NULL: written before.
    R"sql(
ALTER TABLE tasks ADD COLUMN dependencies TEXT;
)sql",
};

constexpr int64_t kSchemaVersion = std::size(kMigrations);

// ---- SQL ----

constexpr const char* kUpsertRun = R"sql(
INSERT INTO runs (id, workflow_name, workflow_path, workflow_sha256, status, inputs, root_dir,
                  run_dir, created_at, ended_at, orchestrator_pid, orchestrator_start_time)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (id) DO UPDATE SET
  workflow_name = excluded.workflow_name, workflow_path = excluded.workflow_path,
  workflow_sha256 = excluded.workflow_sha256, status = excluded.status,
  inputs = excluded.inputs, root_dir = excluded.root_dir, run_dir = excluded.run_dir,
  created_at = excluded.created_at, ended_at = excluded.ended_at,
  orchestrator_pid = excluded.orchestrator_pid,
  orchestrator_start_time = excluded.orchestrator_start_time)sql";

constexpr const char* kUpsertTask = R"sql(
INSERT INTO tasks (run_id, task_id, position, status, attempts, agent, output, exit_code, reason,
                   started_at, ended_at, spec_sha256, gate, dependencies)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (run_id, task_id) DO UPDATE SET
  status = excluded.status, attempts = excluded.attempts,
  agent = excluded.agent, output = excluded.output, exit_code = excluded.exit_code,
  reason = excluded.reason, started_at = excluded.started_at, ended_at = excluded.ended_at,
  spec_sha256 = excluded.spec_sha256, gate = excluded.gate,
  dependencies = coalesce(excluded.dependencies, tasks.dependencies))sql";

// kUpsertTask leaves position alone: a column in an UPDATE's SET list makes SQLite
// rewrite the entries of every index on it (tasks_by_position) even when the value is
// the same, a WAL page more per task row per transaction. A position does change
// (a workflow edited before resume, a hook's row): this sets it then, and only then.
// Only after an upsert that updated a row: one that inserted it (every row of a new
// run) gave it its position (write_batch tells them apart by the last insert rowid).
constexpr const char* kMoveTask =
    "UPDATE tasks SET position = ?3 WHERE run_id = ?1 AND task_id = ?2 AND position <> ?3";

constexpr const char* kUpsertAttempt = R"sql(
INSERT INTO attempts (run_id, task_id, number, agent, status, exit_status, exit_code, error_class,
                      error, log_path, output, session_id, input_tokens, output_tokens,
                      cached_tokens, cost_usd, pid, started_at, ended_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
ON CONFLICT (run_id, task_id, number) DO UPDATE SET
  agent = excluded.agent, status = excluded.status, exit_status = excluded.exit_status,
  exit_code = excluded.exit_code, error_class = excluded.error_class, error = excluded.error,
  log_path = excluded.log_path, output = excluded.output, session_id = excluded.session_id,
  input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
  cached_tokens = excluded.cached_tokens, cost_usd = excluded.cost_usd, pid = excluded.pid,
  started_at = excluded.started_at, ended_at = excluded.ended_at)sql";

constexpr const char* kInsertEvent = R"sql(
INSERT INTO events (run_id, seq, time, task_id, kind, data, prev_hash, hash)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8))sql";

constexpr const char* kDataVersion = "PRAGMA data_version";

// The last event of a run: its seq and hash, the head the next event chains from.
constexpr const char* kChainHead =
    "SELECT seq, hash FROM events WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1";

constexpr const char* kGetOrchestrator =
    "SELECT orchestrator_pid, orchestrator_start_time FROM runs WHERE id = ?1";
constexpr const char* kSetOrchestrator =
    "UPDATE runs SET orchestrator_pid = ?2, orchestrator_start_time = ?3 WHERE id = ?1";

#define BATON_RUN_COLUMNS                                                                  \
  "id, workflow_name, workflow_path, workflow_sha256, status, inputs, root_dir, run_dir, " \
  "created_at, ended_at, orchestrator_pid, orchestrator_start_time"
#define BATON_TASK_COLUMNS                                                          \
  "run_id, task_id, position, status, attempts, agent, output, exit_code, reason, " \
  "started_at, ended_at, spec_sha256, gate, dependencies"
#define BATON_ATTEMPT_COLUMNS                                                      \
  "a.run_id, a.task_id, a.number, a.agent, a.status, a.exit_status, a.exit_code, " \
  "a.error_class, a.error, a.log_path, a.output, a.session_id, a.input_tokens, "   \
  "a.output_tokens, a.cached_tokens, a.cost_usd, a.pid, a.started_at, a.ended_at"

constexpr const char* kGetRun = "SELECT " BATON_RUN_COLUMNS " FROM runs WHERE id = ?1";
constexpr const char* kListRuns =
    "SELECT " BATON_RUN_COLUMNS " FROM runs ORDER BY created_at DESC, id DESC LIMIT ?1";
constexpr const char* kGetTask =
    "SELECT " BATON_TASK_COLUMNS " FROM tasks WHERE run_id = ?1 AND task_id = ?2";
constexpr const char* kListTasks =
    "SELECT " BATON_TASK_COLUMNS " FROM tasks WHERE run_id = ?1 ORDER BY position, task_id";
// for_each_task_except(): the run's tasks not in status ?2, and its hooks.
constexpr const char* kListTasksExcept =
    "SELECT " BATON_TASK_COLUMNS
    " FROM tasks WHERE run_id = ?1 AND (status <> ?2 OR substr(task_id, 1, 5) = 'hook:')"
    " ORDER BY position, task_id";
// The row counts list_tasks() and list_attempts() reserve before they read.
constexpr const char* kCountTasks = "SELECT count(*) FROM tasks WHERE run_id = ?1";
constexpr const char* kCountAttempts =
    "SELECT count(*) FROM attempts WHERE run_id = ?1 AND (?2 = '' OR task_id = ?2)";
// Attempts whose task has no row sort after all others (position IS NULL is 1).
constexpr const char* kListAttempts =
    "SELECT " BATON_ATTEMPT_COLUMNS
    " FROM attempts a LEFT JOIN tasks t ON t.run_id = a.run_id AND t.task_id = a.task_id"
    " WHERE a.run_id = ?1 AND (?2 = '' OR a.task_id = ?2)"
    " ORDER BY t.position IS NULL, t.position, a.task_id, a.number";
constexpr const char* kListEvents =
    "SELECT seq, time, run_id, task_id, kind, data, prev_hash, hash FROM events"
    " WHERE run_id = ?1 AND seq > ?2 ORDER BY seq";

// `baton serve`'s reads (issue 13).
constexpr const char* kListRunsPage =
    "SELECT " BATON_RUN_COLUMNS
    " FROM runs"
    " WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR workflow_name = ?2)"
    " AND (?4 = '' OR created_at < ?3 OR (created_at = ?3 AND id < ?4))"
    " ORDER BY created_at DESC, id DESC LIMIT ?5";
// A hook's task id is "hook:NAME" (engine/run.cc); lengths in bytes, as C++ counts them.
constexpr const char* kTaskCounts =
    "SELECT status, count(*), count(*) FILTER (WHERE substr(task_id, 1, 5) = 'hook:'),"
    " max(length(CAST(task_id AS BLOB))) FROM tasks WHERE run_id = ?1 GROUP BY status";
constexpr const char* kAttemptSums =
    "SELECT total(input_tokens), total(output_tokens), total(cached_tokens), total(cost_usd),"
    " count(cost_usd), count(*) FILTER (WHERE agent <> '' OR input_tokens <> 0 OR"
    " output_tokens <> 0 OR cached_tokens <> 0 OR cost_usd IS NOT NULL)"
    " FROM attempts WHERE run_id = ?1";
constexpr const char* kListFeed =
    "SELECT seq, time, run_id, task_id, kind, data, prev_hash, hash, rowid FROM events"
    " WHERE rowid > ?1 AND (?2 = '' OR run_id = ?2) ORDER BY rowid LIMIT ?3";
constexpr const char* kLastFeedId = "SELECT coalesce(max(rowid), 0) FROM events";
constexpr const char* kFeedEventExists = "SELECT count(*) FROM events WHERE rowid = ?1";
constexpr const char* kListWaitingTasks =
    "SELECT " BATON_TASK_COLUMNS
    " FROM tasks"
    " WHERE status = 'waiting'"
    " AND run_id IN (SELECT id FROM runs WHERE status IN ('running', 'waiting', 'paused'))"
    " ORDER BY (SELECT created_at FROM runs WHERE runs.id = tasks.run_id) DESC, run_id DESC,"
    " position LIMIT ?1";

#undef BATON_RUN_COLUMNS
#undef BATON_TASK_COLUMNS
#undef BATON_ATTEMPT_COLUMNS

// ---- JSON columns ----

// Never throws: invalid UTF-8 in strings is replaced with U+FFFD instead of raising.
std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> parse_json(const std::string& text, const std::string& what) {
  auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return fail(what + " is not valid JSON");
  return value;
}

// ---- Rows ----

Result<RunRecord> read_run(const Statement& s) {
  RunRecord r;
  r.id = s.text_at(0);
  r.workflow_name = s.text_at(1);
  r.workflow_path = s.text_at(2);
  r.workflow_sha256 = s.text_at(3);
  r.status = s.text_at(4);
  auto inputs = parse_json(s.text_at(5), "inputs of run " + r.id);
  if (!inputs) return tl::unexpected(inputs.error());
  r.inputs = std::move(*inputs);
  r.root_dir = s.text_at(6);
  r.run_dir = s.text_at(7);
  r.created_at = s.double_at(8);
  r.ended_at = s.double_at(9);
  r.orchestrator_pid = s.int_at(10);
  r.orchestrator_start_time = s.int64_at(11);
  return r;
}

TaskRecord read_task(const Statement& s) {
  TaskRecord t;
  t.run_id = s.text_at(0);
  t.task_id = s.text_at(1);
  t.position = s.int_at(2);
  t.status = s.text_at(3);
  t.attempts = s.int_at(4);
  t.agent = s.text_at(5);
  t.output = s.text_at(6);
  t.exit_code = s.optional_int_at(7);
  t.reason = s.text_at(8);
  t.started_at = s.double_at(9);
  t.ended_at = s.double_at(10);
  t.spec_sha256 = s.text_at(11);
  t.gate = s.text_at(12);
  if (!s.is_null(13)) {
    // Written by write_batch() from a list of strings; anything else reads as unknown.
    auto deps = nlohmann::json::parse(s.text_at(13), nullptr, false);
    if (deps.is_array() && std::all_of(deps.begin(), deps.end(),
                                       [](const nlohmann::json& d) { return d.is_string(); })) {
      t.dependencies = deps.get<std::vector<std::string>>();
    }
  }
  return t;
}

AttemptRecord read_attempt(const Statement& s) {
  AttemptRecord a;
  a.run_id = s.text_at(0);
  a.task_id = s.text_at(1);
  a.number = s.int_at(2);
  a.agent = s.text_at(3);
  a.status = s.text_at(4);
  a.exit_status = s.text_at(5);
  a.exit_code = s.optional_int_at(6);
  a.error_class = s.text_at(7);
  a.error = s.text_at(8);
  a.log_path = s.text_at(9);
  a.output = s.text_at(10);
  a.session_id = s.text_at(11);
  a.input_tokens = s.int64_at(12);
  a.output_tokens = s.int64_at(13);
  a.cached_tokens = s.int64_at(14);
  a.cost_usd = s.optional_double_at(15);
  a.pid = s.int_at(16);
  a.started_at = s.double_at(17);
  a.ended_at = s.double_at(18);
  return a;
}

// A row of kListEvents; data stays unparsed in the result's data_json.
StoredEvent read_stored_event(const Statement& s) {
  StoredEvent row;
  Event& e = row.event;
  e.seq = s.int64_at(0);
  e.time = s.double_at(1);
  e.run_id = s.text_at(2);
  e.task_id = s.text_at(3);
  e.kind = s.text_at(4);
  row.data_json = s.text_at(5);
  e.prev_hash = s.text_at(6);
  e.hash = s.text_at(7);
  return row;
}

Result<Event> read_event(const Statement& s) {
  StoredEvent row = read_stored_event(s);
  auto data = parse_json(row.data_json, "data of event " + std::to_string(row.event.seq));
  if (!data) return tl::unexpected(data.error());
  row.event.data = std::move(*data);
  return std::move(row.event);
}

// ---- The store ----

// Where a run's audit chain ends: the next event gets seq + 1 and chains from hash.
struct ChainHead {
  int64_t seq = 0;
  std::string hash = std::string(kGenesisHash);
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, Db db) : path_(std::move(path)), db_(std::move(db)) {}

  Result<void> apply(const Batch& batch) override;
  Result<void> apply_parts(const Batch& first, const std::function<bool(Batch&)>& next) override;
  Result<std::optional<RunRecord>> get_run(const std::string& run_id) override;
  Result<std::vector<RunRecord>> list_runs(int limit) override;
  Result<std::vector<TaskRecord>> list_tasks(const std::string& run_id) override;
  Result<void> for_each_event(const std::string& run_id, int64_t after_seq,
                              const std::function<void(const Event&)>& visit) override;
  Result<void> for_each_task(const std::string& run_id,
                             const std::function<void(const TaskRecord&)>& visit) override;
  Result<void> for_each_task_except(const std::string& run_id, const std::string& except_status,
                                    const std::function<void(const TaskRecord&)>& visit) override;
  Result<void> for_each_attempt(const std::string& run_id, const std::string& task_id,
                                const std::function<void(const AttemptRecord&)>& visit) override;
  Result<std::vector<AttemptRecord>> list_attempts(const std::string& run_id,
                                                   const std::string& task_id) override;
  Result<std::vector<Event>> list_events(const std::string& run_id, int64_t after_seq) override;
  Result<std::optional<TaskRecord>> get_task(const std::string& run_id,
                                             const std::string& task_id) override;
  Result<std::vector<StoredEvent>> list_stored_events(const std::string& run_id) override;
  Result<RunLockResult> acquire_run_lock(const std::string& run_id, int pid,
                                         int64_t start_time) override;
  Result<MetricsSnapshot> metrics_snapshot() override;
  Result<std::vector<RunRecord>> list_runs_page(const RunPageQuery& query) override;
  Result<RunTotals> run_totals(const std::string& run_id) override;
  Result<std::vector<FeedEvent>> list_feed(int64_t after_id, const std::string& run_id,
                                           int limit) override;
  Result<int64_t> last_feed_id() override;
  Result<bool> feed_event_exists(int64_t id) override;
  Result<std::vector<TaskRecord>> list_waiting_tasks(int limit) override;

 private:
  // The run's tasks (kListTasks), or without those in EXCEPT_STATUS that are not hooks
  // when it is not "" (kListTasksExcept), calling VISIT with each.
  Result<void> visit_tasks(const std::string& run_id, const std::string& except_status,
                           const std::function<void(const TaskRecord&)>& visit);
  // Writes every part of BATCH; called inside BEGIN IMMEDIATE. Seqs and hashes given
  // to events go into HEADS (run id → chain head) and reach heads_ only after COMMIT.
  Result<void> write_batch(const Batch& batch, std::map<std::string, ChainHead>& heads);
  // The chain head of RUN_ID: from the cache, else from the database.
  Result<ChainHead> chain_head(const std::string& run_id);
  // acquire_run_lock's work inside its BEGIN IMMEDIATE.
  Result<RunLockResult> claim_run(const std::string& run_id, int pid, int64_t start_time);
  // Drops heads_ when another connection committed since we last looked, as it may
  // have appended events to our runs (PRAGMA data_version ignores our own commits).
  Result<void> check_data_version();
  // Every row S (a bound query of BATON_RUN_COLUMNS) gives; errors say WHAT.
  Result<std::vector<RunRecord>> read_runs(Statement& s, const std::string& what);
  // The prepared statement for SQL, prepared on first use and kept; reset, no bindings.
  Result<Statement*> statement(const char* sql);
  // The number a count query answers, SQL's parameters bound to ARGS in order:
  // kCountTasks (run id) or kCountAttempts (run id, task id; "" = every task).
  // Errors: SQLite's, without the path.
  template <typename... Args>
  Result<size_t> count_rows(const char* sql, const Args&... args);
  // "PATH: WHAT: MESSAGE".
  Error error(const std::string& what, const Error& cause) const {
    return Error(path_ + ": " + what + ": " + cause.message, cause.code);
  }

  std::string path_;
  Db db_;
  // Keyed by the SQL text's address: every statement is a constant above. Declared
  // after db_ so statements are finalized before the connection closes.
  std::unordered_map<const char*, Statement> statements_;
  std::unordered_map<std::string, ChainHead> heads_;
  std::optional<int64_t> data_version_;
};

Result<Statement*> SqliteStore::statement(const char* sql) {
  auto found = statements_.find(sql);
  if (found != statements_.end()) {
    found->second.reset();
    return &found->second;
  }
  auto prepared = db_.prepare(sql);
  if (!prepared) return tl::unexpected(prepared.error());
  return &statements_.emplace(sql, std::move(*prepared)).first->second;
}

template <typename... Args>
Result<size_t> SqliteStore::count_rows(const char* sql, const Args&... args) {
  auto s = statement(sql);
  if (!s) return tl::unexpected(s.error());
  ResetOnExit done(**s);
  auto bound = (*s)->bind_all(args...);
  if (!bound) return tl::unexpected(bound.error());
  auto row = (*s)->step();
  if (!row) return tl::unexpected(row.error());
  return *row ? static_cast<size_t>((*s)->int64_at(0)) : size_t{0};
}

Result<void> SqliteStore::check_data_version() {
  auto s = statement(kDataVersion);
  if (!s) return tl::unexpected(s.error());
  ResetOnExit done(**s);
  auto row = (*s)->step();
  if (!row) return tl::unexpected(row.error());
  const int64_t version = *row ? (*s)->int64_at(0) : 0;
  if (data_version_ != version) heads_.clear();
  data_version_ = version;
  return ok();
}

Result<ChainHead> SqliteStore::chain_head(const std::string& run_id) {
  if (auto cached = heads_.find(run_id); cached != heads_.end()) return cached->second;
  auto s = statement(kChainHead);
  if (!s) return tl::unexpected(s.error());
  ResetOnExit done(**s);
  if (auto r = (*s)->bind(1, run_id); !r) return tl::unexpected(r.error());
  auto row = (*s)->step();
  if (!row) return tl::unexpected(row.error());
  ChainHead head;
  if (*row) {
    head.seq = (*s)->int64_at(0);
    head.hash = (*s)->text_at(1);  // "" if NULL: the chain is already broken there
  }
  return head;
}

// Appends " (ITEM)" to a failed step's message so the user knows which part failed.
Error with_item(Error e, const std::string& item) {
  e.message += " (" + item + ")";
  return e;
}

Result<void> SqliteStore::write_batch(const Batch& batch, std::map<std::string, ChainHead>& heads) {
  if (auto r = check_data_version(); !r) return r;
  if (batch.run) {
    const RunRecord& run = *batch.run;
    auto s = statement(kUpsertRun);
    if (!s) return tl::unexpected(s.error());
    ResetOnExit done(**s);
    auto r =
        (*s)->bind_all(run.id, run.workflow_name, run.workflow_path, run.workflow_sha256,
                       run.status, dump_json(run.inputs), run.root_dir, run.run_dir, run.created_at,
                       run.ended_at, run.orchestrator_pid, run.orchestrator_start_time);
    if (r) r = (*s)->run();
    if (!r) return tl::unexpected(with_item(r.error(), "run " + run.id));
  }
  for (const TaskRecord& t : batch.tasks) {
    auto s = statement(kUpsertTask);
    if (!s) return tl::unexpected(s.error());
    ResetOnExit done(**s);
    std::optional<std::string> deps;
    if (t.dependencies) deps = dump_json(nlohmann::json(*t.dependencies));
    auto r = (*s)->bind_all(t.run_id, t.task_id, t.position, t.status, t.attempts, t.agent,
                            t.output, t.exit_code, t.reason, t.started_at, t.ended_at,
                            t.spec_sha256, t.gate, deps);
    // An upsert that updates the row is no successful INSERT: the last insert rowid
    // stays 0 then (sqlite3_last_insert_rowid; a new row's rowid is positive).
    sqlite3_set_last_insert_rowid(db_.handle(), 0);
    if (r) r = (*s)->run();
    if (r && sqlite3_last_insert_rowid(db_.handle()) == 0) {
      auto move = statement(kMoveTask);
      if (!move) return tl::unexpected(move.error());
      ResetOnExit moved(**move);
      r = (*move)->bind_all(t.run_id, t.task_id, t.position);
      if (r) r = (*move)->run();
    }
    if (!r) return tl::unexpected(with_item(r.error(), "task " + t.run_id + "/" + t.task_id));
  }
  for (const AttemptRecord& a : batch.attempts) {
    auto s = statement(kUpsertAttempt);
    if (!s) return tl::unexpected(s.error());
    ResetOnExit done(**s);
    auto r = (*s)->bind_all(a.run_id, a.task_id, a.number, a.agent, a.status, a.exit_status,
                            a.exit_code, a.error_class, a.error, a.log_path, a.output, a.session_id,
                            a.input_tokens, a.output_tokens, a.cached_tokens, a.cost_usd, a.pid,
                            a.started_at, a.ended_at);
    if (r) r = (*s)->run();
    if (!r) {
      return tl::unexpected(with_item(
          r.error(), "attempt " + a.run_id + "/" + a.task_id + "#" + std::to_string(a.number)));
    }
  }
  // A status event carries the digest of its task's row written in the same batch, so
  // that the chain vouches for the row (audit.h, verify_rows()). The last row of a task
  // in the batch is the one the table keeps.
  std::map<std::pair<std::string_view, std::string_view>, const TaskRecord*> rows;
  for (const TaskRecord& t : batch.tasks) rows[{t.run_id, t.task_id}] = &t;
  for (const Event& e : batch.events) {
    std::string data = dump_json(e.data);
    if (auto row = rows.find({e.run_id, e.task_id});
        row != rows.end() && !row->second->output.empty() && !status_of_event(e.kind).empty() &&
        (e.data.is_object() || e.data.is_null())) {
      nlohmann::json with_digest = e.data.is_null() ? nlohmann::json::object() : e.data;
      with_digest[std::string(kOutputDigestKey)] = sha256_hex(row->second->output);
      data = dump_json(with_digest);
    }
    auto found = heads.find(e.run_id);
    if (found == heads.end()) {
      auto head = chain_head(e.run_id);
      if (!head) return tl::unexpected(head.error());
      found = heads.emplace(e.run_id, std::move(*head)).first;
    }
    ChainHead& head = found->second;
    const int64_t seq = head.seq + 1;
    std::string hash = event_hash({e.run_id, seq, e.time, e.task_id, e.kind, data, head.hash});
    auto s = statement(kInsertEvent);
    if (!s) return tl::unexpected(s.error());
    ResetOnExit done(**s);
    auto r = (*s)->bind_all(e.run_id, seq, e.time, e.task_id, e.kind, data, head.hash, hash);
    if (r) r = (*s)->run();
    if (!r) return tl::unexpected(with_item(r.error(), "event " + e.kind + " of run " + e.run_id));
    head.seq = seq;
    head.hash = std::move(hash);
    if (auto type = webhook_type_of(e)) {  // the outbox: same transaction as the event
      auto w = statement(kEnqueueDeliveries);
      if (!w) return tl::unexpected(w.error());
      ResetOnExit enqueued(**w);
      auto q = (*w)->bind_all(e.run_id, seq, *type, webhook_body(*type, e, seq), e.time);
      if (q) q = (*w)->run();
      if (!q) return tl::unexpected(with_item(q.error(), "webhooks of event " + e.kind));
    }
  }
  return ok();
}

Result<void> SqliteStore::apply(const Batch& batch) {
  if (batch.empty()) return ok();
  return apply_parts(batch, [](Batch&) { return false; });
}

Result<void> SqliteStore::apply_parts(const Batch& first, const std::function<bool(Batch&)>& next) {
  if (auto begun = db_.exec("BEGIN IMMEDIATE"); !begun) {
    return tl::unexpected(error("cannot apply batch", begun.error()));
  }
  std::map<std::string, ChainHead> heads;
  auto result = write_batch(first, heads);
  // One part at a time: each is written, then dropped before the next is made.
  for (Batch part; result && next(part); part = Batch{}) result = write_batch(part, heads);
  if (result) result = db_.exec("COMMIT");
  if (!result) {
    Error failure = error("cannot apply batch", result.error());
    // Some errors (SQLITE_FULL, IOERR, NOMEM) roll back on their own.
    if (db_.in_transaction()) (void)db_.exec("ROLLBACK");
    return tl::unexpected(std::move(failure));
  }
  for (auto& [run_id, head] : heads) heads_[run_id] = std::move(head);
  return ok();
}

Result<std::optional<RunRecord>> SqliteStore::get_run(const std::string& run_id) {
  const std::string what = "cannot read run " + run_id;
  auto s = statement(kGetRun);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind(1, run_id); !r) return tl::unexpected(error(what, r.error()));
  auto row = (*s)->step();
  if (!row) return tl::unexpected(error(what, row.error()));
  if (!*row) return std::optional<RunRecord>();
  auto run = read_run(**s);
  if (!run) return tl::unexpected(error(what, run.error()));
  return std::optional<RunRecord>(std::move(*run));
}

Result<std::vector<RunRecord>> SqliteStore::list_runs(int limit) {
  const std::string what = "cannot list runs";
  auto s = statement(kListRuns);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind(1, limit); !r) return tl::unexpected(error(what, r.error()));
  return read_runs(**s, what);
}

Result<std::vector<RunRecord>> SqliteStore::read_runs(Statement& s, const std::string& what) {
  std::vector<RunRecord> runs;
  for (;;) {
    auto row = s.step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) break;
    auto run = read_run(s);
    if (!run) return tl::unexpected(error(what, run.error()));
    runs.push_back(std::move(*run));
  }
  return runs;
}

Result<std::vector<TaskRecord>> SqliteStore::list_tasks(const std::string& run_id) {
  const std::string what = "cannot list tasks of run " + run_id;
  auto s = statement(kListTasks);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind(1, run_id); !r) return tl::unexpected(error(what, r.error()));
  std::vector<TaskRecord> tasks;
  // Reserved (a hint: rows written in between only cost a reallocation). Grown by
  // doubling, the 100,000 attempts of a run took 52 MB of capacity while the 26 MB
  // before them were copied, against 40 MB reserved (bench/RESULTS.md, (7)).
  auto count = count_rows(kCountTasks, run_id);
  if (!count) return tl::unexpected(error(what, count.error()));
  tasks.reserve(*count);
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) break;
    tasks.push_back(read_task(**s));
  }
  return tasks;
}

Result<void> SqliteStore::for_each_task(const std::string& run_id,
                                        const std::function<void(const TaskRecord&)>& visit) {
  return visit_tasks(run_id, "", visit);
}

Result<void> SqliteStore::for_each_task_except(
    const std::string& run_id, const std::string& except_status,
    const std::function<void(const TaskRecord&)>& visit) {
  return visit_tasks(run_id, except_status, visit);
}

Result<void> SqliteStore::visit_tasks(const std::string& run_id, const std::string& except_status,
                                      const std::function<void(const TaskRecord&)>& visit) {
  const std::string what = "cannot list tasks of run " + run_id;
  auto s = statement(except_status.empty() ? kListTasks : kListTasksExcept);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind(1, run_id); !r) return tl::unexpected(error(what, r.error()));
  if (!except_status.empty()) {
    if (auto r = (*s)->bind(2, except_status); !r) return tl::unexpected(error(what, r.error()));
  }
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) return {};
    visit(read_task(**s));
  }
}

Result<void> SqliteStore::for_each_attempt(const std::string& run_id, const std::string& task_id,
                                           const std::function<void(const AttemptRecord&)>& visit) {
  const std::string what = "cannot list attempts of run " + run_id;
  auto s = statement(kListAttempts);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind_all(run_id, task_id); !r) return tl::unexpected(error(what, r.error()));
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) return {};
    visit(read_attempt(**s));
  }
}

Result<std::optional<TaskRecord>> SqliteStore::get_task(const std::string& run_id,
                                                        const std::string& task_id) {
  const std::string what = "cannot read task " + run_id + "/" + task_id;
  auto s = statement(kGetTask);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind_all(run_id, task_id); !r) return tl::unexpected(error(what, r.error()));
  auto row = (*s)->step();
  if (!row) return tl::unexpected(error(what, row.error()));
  if (!*row) return std::optional<TaskRecord>();
  return std::optional<TaskRecord>(read_task(**s));
}

Result<std::vector<AttemptRecord>> SqliteStore::list_attempts(const std::string& run_id,
                                                              const std::string& task_id) {
  const std::string what = "cannot list attempts of run " + run_id;
  auto s = statement(kListAttempts);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind_all(run_id, task_id); !r) return tl::unexpected(error(what, r.error()));
  std::vector<AttemptRecord> attempts;
  auto count = count_rows(kCountAttempts, run_id, task_id);  // reserved as in list_tasks()
  if (!count) return tl::unexpected(error(what, count.error()));
  attempts.reserve(*count);
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) break;
    attempts.push_back(read_attempt(**s));
  }
  return attempts;
}

Result<std::vector<Event>> SqliteStore::list_events(const std::string& run_id, int64_t after_seq) {
  std::vector<Event> events;
  auto visited =
      for_each_event(run_id, after_seq, [&events](const Event& e) { events.push_back(e); });
  if (!visited) return tl::unexpected(visited.error());
  return events;
}

Result<void> SqliteStore::for_each_event(const std::string& run_id, int64_t after_seq,
                                         const std::function<void(const Event&)>& visit) {
  const std::string what = "cannot list events of run " + run_id;
  auto s = statement(kListEvents);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind_all(run_id, after_seq); !r) {
    return tl::unexpected(error(what, r.error()));
  }
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) return {};
    auto event = read_event(**s);
    if (!event) return tl::unexpected(error(what, event.error()));
    visit(*event);
  }
}

Result<std::vector<StoredEvent>> SqliteStore::list_stored_events(const std::string& run_id) {
  const std::string what = "cannot list events of run " + run_id;
  auto s = statement(kListEvents);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind_all(run_id, int64_t{0}); !r) {
    return tl::unexpected(error(what, r.error()));
  }
  std::vector<StoredEvent> events;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) break;
    StoredEvent event = read_stored_event(**s);
    auto data = nlohmann::json::parse(event.data_json, nullptr, /*allow_exceptions=*/false);
    if (!data.is_discarded())
      event.event.data = std::move(data);
    else
      event.event.data = nullptr;
    events.push_back(std::move(event));
  }
  return events;
}

Result<RunLockResult> SqliteStore::claim_run(const std::string& run_id, int pid,
                                             int64_t start_time) {
  RunLockResult result;
  {
    auto s = statement(kGetOrchestrator);
    if (!s) return tl::unexpected(s.error());
    ResetOnExit done(**s);
    if (auto r = (*s)->bind(1, run_id); !r) return tl::unexpected(r.error());
    auto row = (*s)->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) {  // no row yet: the caller's first batch records its identity
      result.acquired = true;
      return result;
    }
    const int holder_pid = (*s)->int_at(0);
    const int64_t holder_start = (*s)->int64_at(1);
    const bool is_caller = holder_pid == pid && holder_start == start_time;
    if (!is_caller && process_is_running(holder_pid, holder_start)) {
      result.holder_pid = holder_pid;
      result.holder_start_time = holder_start;
      return result;
    }
  }
  auto s = statement(kSetOrchestrator);
  if (!s) return tl::unexpected(s.error());
  ResetOnExit done(**s);
  auto r = (*s)->bind_all(run_id, pid, start_time);
  if (r) r = (*s)->run();
  if (!r) return tl::unexpected(r.error());
  result.acquired = true;
  return result;
}

Result<RunLockResult> SqliteStore::acquire_run_lock(const std::string& run_id, int pid,
                                                    int64_t start_time) {
  const std::string what = "cannot lock run " + run_id;
  // BEGIN IMMEDIATE: two orchestrators checking the holder at once are serialised.
  if (auto begun = db_.exec("BEGIN IMMEDIATE"); !begun) {
    return tl::unexpected(error(what, begun.error()));
  }
  auto result = claim_run(run_id, pid, start_time);
  Result<void> ended = result ? db_.exec("COMMIT") : ok();
  if (!result || !ended) {
    Error failure = error(what, !result ? result.error() : ended.error());
    if (db_.in_transaction()) (void)db_.exec("ROLLBACK");
    return tl::unexpected(std::move(failure));
  }
  return result;
}

Result<MetricsSnapshot> SqliteStore::metrics_snapshot() {
  auto snapshot = read_metrics_snapshot(db_);  // sqlite_metrics.cc
  if (!snapshot) return tl::unexpected(error("cannot read metrics", snapshot.error()));
  return snapshot;
}

// ---- Opening and migrating ----

// Migration 2: chains the events stored before the chain existed, run by run in seq
// order, as apply() would have. This makes later tampering detectable; it cannot
// vouch for what happened to those events before the upgrade.
// ---- `baton serve`'s reads ----

Result<std::vector<RunRecord>> SqliteStore::list_runs_page(const RunPageQuery& query) {
  const std::string what = "cannot list runs";
  auto s = statement(kListRunsPage);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  const int limit = std::clamp(query.limit, 1, 1000);
  if (auto r = (*s)->bind_all(query.status, query.workflow, query.after_created_at, query.after_id,
                              limit);
      !r) {
    return tl::unexpected(error(what, r.error()));
  }
  return read_runs(**s, what);
}

Result<RunTotals> SqliteStore::run_totals(const std::string& run_id) {
  const std::string what = "cannot read the totals of run " + run_id;
  RunTotals totals;
  {
    auto s = statement(kTaskCounts);
    if (!s) return tl::unexpected(error(what, s.error()));
    ResetOnExit done(**s);
    if (auto r = (*s)->bind(1, run_id); !r) return tl::unexpected(error(what, r.error()));
    for (;;) {
      auto row = (*s)->step();
      if (!row) return tl::unexpected(error(what, row.error()));
      if (!*row) break;
      const int n = (*s)->int_at(1);
      const int hooks = (*s)->int_at(2);
      totals.tasks_by_status[(*s)->text_at(0)] = n;
      if (hooks > 0) totals.hooks_by_status[(*s)->text_at(0)] = hooks;
      totals.tasks_total += n;
      totals.widest_task_id =
          std::max(totals.widest_task_id, static_cast<size_t>((*s)->int64_at(3)));
    }
  }
  auto s = statement(kAttemptSums);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind(1, run_id); !r) return tl::unexpected(error(what, r.error()));
  auto row = (*s)->step();
  if (!row) return tl::unexpected(error(what, row.error()));
  if (*row) {
    totals.input_tokens = static_cast<int64_t>((*s)->double_at(0));
    totals.output_tokens = static_cast<int64_t>((*s)->double_at(1));
    totals.cached_tokens = static_cast<int64_t>((*s)->double_at(2));
    if ((*s)->int64_at(4) > 0) totals.cost_usd = (*s)->double_at(3);
    totals.attempts_with_usage = (*s)->int64_at(5);
  }
  return totals;
}

Result<std::vector<FeedEvent>> SqliteStore::list_feed(int64_t after_id, const std::string& run_id,
                                                      int limit) {
  const std::string what = "cannot read the event feed";
  auto s = statement(kListFeed);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind_all(after_id, run_id, std::max(limit, 1)); !r) {
    return tl::unexpected(error(what, r.error()));
  }
  std::vector<FeedEvent> events;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) return events;
    auto event = read_event(**s);
    if (!event) return tl::unexpected(error(what, event.error()));
    events.push_back(FeedEvent{(*s)->int64_at(8), std::move(*event)});
  }
}

Result<int64_t> SqliteStore::last_feed_id() {
  const std::string what = "cannot read the event feed";
  auto s = statement(kLastFeedId);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  auto row = (*s)->step();
  if (!row) return tl::unexpected(error(what, row.error()));
  return *row ? (*s)->int64_at(0) : 0;
}

Result<bool> SqliteStore::feed_event_exists(int64_t id) {
  auto n = count_rows(kFeedEventExists, id);
  if (!n) return tl::unexpected(error("cannot read the event feed", n.error()));
  return *n > 0;
}

Result<std::vector<TaskRecord>> SqliteStore::list_waiting_tasks(int limit) {
  const std::string what = "cannot list waiting tasks";
  auto s = statement(kListWaitingTasks);
  if (!s) return tl::unexpected(error(what, s.error()));
  ResetOnExit done(**s);
  if (auto r = (*s)->bind(1, std::max(limit, 1)); !r) return tl::unexpected(error(what, r.error()));
  std::vector<TaskRecord> tasks;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) return tasks;
    tasks.push_back(read_task(**s));
  }
}

Result<void> backfill_event_hashes(Db& db) {
  struct Row {
    std::string run_id, task_id, kind, data;
    int64_t seq = 0;
    double time = 0;
  };
  // Read everything first: the rows are not updated under an open scan of them.
  std::vector<Row> rows;
  {
    auto select = db.prepare(
        "SELECT run_id, seq, time, task_id, kind, data FROM events ORDER BY run_id, seq");
    if (!select) return tl::unexpected(select.error());
    for (;;) {
      auto row = select->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      rows.push_back({select->text_at(0), select->text_at(3), select->text_at(4),
                      select->text_at(5), select->int64_at(1), select->double_at(2)});
    }
  }
  auto update =
      db.prepare("UPDATE events SET prev_hash = ?3, hash = ?4 WHERE run_id = ?1 AND seq = ?2");
  if (!update) return tl::unexpected(update.error());
  std::string prev;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    if (i == 0 || rows[i - 1].run_id != r.run_id) prev = std::string(kGenesisHash);
    std::string hash = event_hash({r.run_id, r.seq, r.time, r.task_id, r.kind, r.data, prev});
    update->reset();
    auto done = update->bind_all(r.run_id, r.seq, prev, hash);
    if (done) done = update->run();
    if (!done) return done;
    prev = std::move(hash);
  }
  return ok();
}

// Work to do in C++ after migration N's SQL (index N-1), in the same transaction.
using MigrationStep = Result<void> (*)(Db&);
constexpr MigrationStep kAfterMigration[] = {nullptr, backfill_event_hashes, nullptr, nullptr,
                                             nullptr};
static_assert(std::size(kAfterMigration) == std::size(kMigrations));

// True when the database holds any table, index, view or trigger of its own.
Result<bool> has_schema_objects(Db& db) {
  auto count = db.query_int("SELECT COUNT(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'");
  if (!count) return tl::unexpected(count.error());
  return *count > 0;
}

// Checks VERSION against what this binary knows and that a version-0 file is empty.
Result<void> check_version(Db& db, const std::string& path, int64_t version) {
  if (version > kSchemaVersion) {
    return fail(path + ": schema version " + std::to_string(version) +
                " is newer than this baton supports (" + std::to_string(kSchemaVersion) + ")");
  }
  if (version == 0) {
    // baton creates its tables and sets user_version in one transaction, so a
    // version-0 file with tables belongs to someone else.
    auto objects = has_schema_objects(db);
    if (!objects) return fail(path + ": cannot read schema: " + objects.error().message);
    if (*objects) return fail(path + ": not a baton state database");
  }
  return ok();
}

Result<void> migrate(Db& db, const std::string& path) {
  auto failed = [&](const Error& e) {
    Error out(path + ": cannot migrate schema to version " + std::to_string(kSchemaVersion) + ": " +
              e.message);
    if (db.in_transaction()) (void)db.exec("ROLLBACK");
    return tl::unexpected(std::move(out));
  };
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return failed(r.error());
  // Another process may have migrated while we waited for the write lock.
  auto version = db.query_int("PRAGMA user_version");
  if (!version) return failed(version.error());
  if (auto r = check_version(db, path, *version); !r) {
    (void)db.exec("ROLLBACK");
    return r;
  }
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    if (auto r = db.exec(kMigrations[v]); !r) return failed(r.error());
    if (kAfterMigration[v]) {
      if (auto r = kAfterMigration[v](db); !r) return failed(r.error());
    }
  }
  // PRAGMA takes no bound parameters; the value is our own integer.
  const std::string bump = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  if (auto r = db.exec(bump.c_str()); !r) return failed(r.error());
  if (auto r = db.exec("COMMIT"); !r) return failed(r.error());
  return ok();
}

// Sets up the connection DB to the state database at PATH: the busy timeout, the
// schema version check, WAL, synchronous FULL (OFF when not DURABLE: a private file the
// caller makes durable whole, create_whole()), foreign keys, and the migration to
// kSchemaVersion. Errors name PATH ("not a baton state database", ...).
Result<void> prepare_db(Db& db, const std::string& path, const StoreOptions& options,
                        bool durable = true) {
  if (!durable) {
    if (auto r = db.exec("PRAGMA synchronous = OFF"); !r) {
      return fail(path + ": cannot open database: " + r.error().message);
    }
  }
  // Before anything touches the file, so every later step waits for other writers.
  const std::string timeout = "PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms);
  if (auto r = db.exec(timeout.c_str()); !r) {
    return fail(path + ": cannot open database: " + r.error().message);
  }
  // The first read of the file: garbage fails here with SQLITE_NOTADB.
  auto version = db.query_int("PRAGMA user_version");
  if (!version) {
    if ((db.last_error_code() & 0xff) == SQLITE_NOTADB) {
      return fail(path + ": not a baton state database");
    }
    return fail(path + ": cannot open database: " + version.error().message);
  }
  if (auto r = check_version(db, path, *version); !r) return tl::unexpected(r.error());

  auto mode = db.query_text("PRAGMA journal_mode = WAL");
  if (!mode) return fail(path + ": cannot enable WAL journal mode: " + mode.error().message);
  if (*mode != "wal") {
    return fail(path + ": cannot enable WAL journal mode (the file system gave '" + *mode + "')");
  }
  if (auto r = db.exec(durable ? "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"
                               : "PRAGMA foreign_keys = ON");
      !r) {
    return fail(path + ": cannot open database: " + r.error().message);
  }
  if (*version < kSchemaVersion) {
    if (auto r = migrate(db, path); !r) return tl::unexpected(r.error());
  }
  return ok();
}

// Creates the state database PATH whole, unless it exists by then: the schema is made
// in a private file beside it (PATH.new-PID-N), closed (SQLite then checkpoints the WAL
// into the file and removes it) and hard-linked to PATH, so that no other process ever
// opens PATH half made. (SQLite may answer SQLITE_NOTADB to a process that opens a
// database file while another one is creating it: `baton status` polling for the run a
// starting `baton run` records.) Another process that linked PATH first wins; its file
// is as good. Errors name PATH and the failing step.
Result<void> create_whole(const std::string& path, const StoreOptions& options) {
  static std::atomic<int> counter{0};
  const std::string tmp =
      path + ".new-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto remove_tmp = [&] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      ::unlink((tmp + suffix).c_str());
    }
  };
  remove_tmp();  // left by a process of this pid that died creating it
  {
    auto db = Db::open(tmp);
    if (!db) {
      remove_tmp();
      return fail(path + ": cannot create database: " + db.error().message);
    }
    // Nobody else sees this file until it is linked: no fsync per step of the schema
    // (synchronous OFF, about ten fewer), one of the whole file below instead.
    if (auto r = prepare_db(*db, tmp, options, /*durable=*/false); !r) {
      remove_tmp();
      return fail(path + ": cannot create database: " + r.error().message);
    }
  }  // closed: the file now holds the whole schema (the WAL checkpointed into it)
  // Durable before it gets its name, so that PATH never names a file half on disk.
  if (int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd < 0 || ::fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    remove_tmp();
    return fail(path + ": cannot create database: fsync " + tmp + ": " + std::strerror(error),
                error);
  } else {
    ::close(fd);
  }
  if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    const int error = errno;
    remove_tmp();
    return fail(path + ": cannot create database: link " + tmp + ": " + std::strerror(error),
                error);
  }
  remove_tmp();
  // The new directory entry survives a crash as the data does (synchronous = FULL).
  const std::string parent = std::filesystem::path(path).parent_path().string();
  if (int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
  return ok();
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const StoreOptions& options) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return fail(path + ": cannot create directory " + parent.string() + ": " + ec.message(),
                  ec.value());
    }
  }
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error) && !exists_error) {
    if (auto r = create_whole(path, options); !r) return tl::unexpected(r.error());
  }
  auto db = Db::open(path);
  if (!db) return fail(path + ": cannot open database: " + db.error().message);
  if (auto r = prepare_db(*db, path, options); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(path, std::move(*db)));
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  return open_sqlite_store(path, StoreOptions{});
}

}  // namespace baton::store
