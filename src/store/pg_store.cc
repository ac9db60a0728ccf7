// The PostgreSQL implementation of Store (pg_store.h; docs/postgres.md).
#include "store/pg_store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/audit.h"
#include "store/pg_connection.h"
#include "store/pg_metrics.h"
#include "store/pg_schema.h"
#include "store/process_identity.h"
#include "store/webhook_outbox.h"

namespace baton::store {

namespace {

// ---- SQL ----

constexpr const char* kUpsertRun = R"sql(
INSERT INTO runs (id, workflow_name, workflow_path, workflow_sha256, status, inputs, root_dir,
                  run_dir, created_at, ended_at, orchestrator_pid, orchestrator_start_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (run_id, task_id) DO UPDATE SET
  position = excluded.position, status = excluded.status, attempts = excluded.attempts,
  agent = excluded.agent, output = excluded.output, exit_code = excluded.exit_code,
  reason = excluded.reason, started_at = excluded.started_at, ended_at = excluded.ended_at,
  spec_sha256 = excluded.spec_sha256, gate = excluded.gate,
  dependencies = coalesce(excluded.dependencies, tasks.dependencies))sql";

constexpr const char* kUpsertAttempt = R"sql(
INSERT INTO attempts (run_id, task_id, number, agent, status, exit_status, exit_code, error_class,
                      error, log_path, output, session_id, input_tokens, output_tokens,
                      cached_tokens, cost_usd, pid, started_at, ended_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (run_id, task_id, number) DO UPDATE SET
  agent = excluded.agent, status = excluded.status, exit_status = excluded.exit_status,
  exit_code = excluded.exit_code, error_class = excluded.error_class, error = excluded.error,
  log_path = excluded.log_path, output = excluded.output, session_id = excluded.session_id,
  input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
  cached_tokens = excluded.cached_tokens, cost_usd = excluded.cost_usd, pid = excluded.pid,
  started_at = excluded.started_at, ended_at = excluded.ended_at)sql";

constexpr const char* kInsertEvent = R"sql(
INSERT INTO events (run_id, seq, time, task_id, kind, data, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8))sql";

// The outbox (webhook_outbox.h's kEnqueueDeliveries in PostgreSQL's dialect).
constexpr const char* kEnqueueDeliveries = R"sql(
INSERT INTO webhook_deliveries (webhook_id, endpoint_id, run_id, event_seq, type, body, status,
                                attempts, created_at, next_attempt_at)
SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), id, $1, $2, $3::text, $4,
       'pending', 0, $5, $5
FROM webhook_endpoints
WHERE status = 'active' AND (events = '*' OR strpos(events, ',' || $3::text || ',') > 0))sql";

constexpr const char* kChainHead =
    "SELECT seq, hash FROM events WHERE run_id = $1 ORDER BY seq DESC LIMIT 1";
constexpr const char* kFence =
    "SELECT token, expires_at > clock_timestamp() FROM run_leases WHERE run_id = $1 FOR SHARE";

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
#define BATON_EVENT_COLUMNS "seq, time, run_id, task_id, kind, data, prev_hash, hash"

constexpr const char* kGetRun = "SELECT " BATON_RUN_COLUMNS " FROM runs WHERE id = $1";
constexpr const char* kListRuns =
    "SELECT " BATON_RUN_COLUMNS " FROM runs ORDER BY created_at DESC, id DESC LIMIT $1";
constexpr const char* kGetTask =
    "SELECT " BATON_TASK_COLUMNS " FROM tasks WHERE run_id = $1 AND task_id = $2";
// Pages of kPageSize in (position, task_id) order after the cursor ($2, $3); when $5
// is not '', without the tasks in status $5 that are not hooks (for_each_task_except).
constexpr const char* kListTasksPage =
    "SELECT " BATON_TASK_COLUMNS
    " FROM tasks WHERE run_id = $1 AND (position, task_id) > ($2::bigint, $3::text)"
    " AND ($5::text = '' OR status <> $5::text OR left(task_id, 5) = 'hook:')"
    " ORDER BY position, task_id LIMIT $4";
constexpr const char* kListAttempts =
    "SELECT " BATON_ATTEMPT_COLUMNS
    " FROM attempts a LEFT JOIN tasks t ON t.run_id = a.run_id AND t.task_id = a.task_id"
    " WHERE a.run_id = $1 AND ($2 = '' OR a.task_id = $2)"
    " ORDER BY t.position IS NULL, t.position, a.task_id, a.number";
constexpr const char* kListEventsPage = "SELECT " BATON_EVENT_COLUMNS
                                        " FROM events WHERE run_id = $1 AND seq > $2"
                                        " ORDER BY seq LIMIT $3";
constexpr const char* kListRunsPage =
    "SELECT " BATON_RUN_COLUMNS
    " FROM runs"
    " WHERE ($1 = '' OR status = $1) AND ($2 = '' OR workflow_name = $2)"
    " AND ($4 = '' OR created_at < $3 OR (created_at = $3 AND id < $4))"
    " ORDER BY created_at DESC, id DESC LIMIT $5";
// As sqlite_store.cc's: a hook's task id is "hook:NAME"; lengths in bytes.
constexpr const char* kTaskCounts =
    "SELECT status, count(*), count(*) FILTER (WHERE left(task_id, 5) = 'hook:'),"
    " coalesce(max(octet_length(task_id)), 0) FROM tasks WHERE run_id = $1 GROUP BY status";
constexpr const char* kAttemptSums =
    "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),"
    " coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0), count(cost_usd),"
    " count(*) FILTER (WHERE agent <> '' OR input_tokens <> 0 OR output_tokens <> 0 OR"
    " cached_tokens <> 0 OR cost_usd IS NOT NULL)"
    " FROM attempts WHERE run_id = $1";
constexpr const char* kListFeed =
    "SELECT " BATON_EVENT_COLUMNS
    ", id FROM events"
    " WHERE id > $1 AND ($2 = '' OR run_id = $2) ORDER BY id LIMIT $3";
constexpr const char* kLastFeedId = "SELECT coalesce(max(id), 0) FROM events";
constexpr const char* kFeedEventExists = "SELECT count(*) FROM events WHERE id = $1";
constexpr const char* kListWaitingTasks =
    "SELECT " BATON_TASK_COLUMNS
    " FROM tasks"
    " WHERE status = 'waiting'"
    " AND run_id IN (SELECT id FROM runs WHERE status IN ('running', 'waiting', 'paused'))"
    " ORDER BY (SELECT created_at FROM runs WHERE runs.id = tasks.run_id) DESC, run_id DESC,"
    " position LIMIT $1";

#undef BATON_RUN_COLUMNS
#undef BATON_TASK_COLUMNS
#undef BATON_ATTEMPT_COLUMNS
#undef BATON_EVENT_COLUMNS

// Rows read per query by the for_each_ visitors: their memory stays bounded.
constexpr int kPageSize = 1000;

// ---- Values ----

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

PgParam num(int64_t v) { return std::to_string(v); }
PgParam real(double v) { return pg_double(v); }
PgParam txt(const std::string& s) { return pg_text(s); }
PgParam opt_num(const std::optional<int>& v) {
  return v ? PgParam(std::to_string(*v)) : std::nullopt;
}
PgParam opt_real(const std::optional<double>& v) {
  return v ? PgParam(pg_double(*v)) : std::nullopt;
}

// ---- Rows ----

Result<RunRecord> read_run(const PgRows& r, int i) {
  RunRecord run;
  run.id = r.text(i, 0);
  run.workflow_name = r.text(i, 1);
  run.workflow_path = r.text(i, 2);
  run.workflow_sha256 = r.text(i, 3);
  run.status = r.text(i, 4);
  auto inputs = nlohmann::json::parse(r.text(i, 5), nullptr, false);
  if (inputs.is_discarded()) return fail("inputs of run " + run.id + " is not valid JSON");
  run.inputs = std::move(inputs);
  run.root_dir = r.text(i, 6);
  run.run_dir = r.text(i, 7);
  run.created_at = r.real(i, 8);
  run.ended_at = r.real(i, 9);
  run.orchestrator_pid = r.int32(i, 10);
  run.orchestrator_start_time = r.int64(i, 11);
  return run;
}

TaskRecord read_task(const PgRows& r, int i) {
  TaskRecord t;
  t.run_id = r.text(i, 0);
  t.task_id = r.text(i, 1);
  t.position = r.int32(i, 2);
  t.status = r.text(i, 3);
  t.attempts = r.int32(i, 4);
  t.agent = r.text(i, 5);
  t.output = r.text(i, 6);
  t.exit_code = r.optional_int(i, 7);
  t.reason = r.text(i, 8);
  t.started_at = r.real(i, 9);
  t.ended_at = r.real(i, 10);
  t.spec_sha256 = r.text(i, 11);
  t.gate = r.text(i, 12);
  if (!r.is_null(i, 13)) {
    auto deps = nlohmann::json::parse(r.text(i, 13), nullptr, false);
    if (deps.is_array() && std::all_of(deps.begin(), deps.end(),
                                       [](const nlohmann::json& d) { return d.is_string(); })) {
      t.dependencies = deps.get<std::vector<std::string>>();
    }
  }
  return t;
}

AttemptRecord read_attempt(const PgRows& r, int i) {
  AttemptRecord a;
  a.run_id = r.text(i, 0);
  a.task_id = r.text(i, 1);
  a.number = r.int32(i, 2);
  a.agent = r.text(i, 3);
  a.status = r.text(i, 4);
  a.exit_status = r.text(i, 5);
  a.exit_code = r.optional_int(i, 6);
  a.error_class = r.text(i, 7);
  a.error = r.text(i, 8);
  a.log_path = r.text(i, 9);
  a.output = r.text(i, 10);
  a.session_id = r.text(i, 11);
  a.input_tokens = r.int64(i, 12);
  a.output_tokens = r.int64(i, 13);
  a.cached_tokens = r.int64(i, 14);
  a.cost_usd = r.optional_real(i, 15);
  a.pid = r.int32(i, 16);
  a.started_at = r.real(i, 17);
  a.ended_at = r.real(i, 18);
  return a;
}

StoredEvent read_stored_event(const PgRows& r, int i) {
  StoredEvent row;
  Event& e = row.event;
  e.seq = r.int64(i, 0);
  e.time = r.real(i, 1);
  e.run_id = r.text(i, 2);
  e.task_id = r.text(i, 3);
  e.kind = r.text(i, 4);
  row.data_json = r.text(i, 5);
  e.prev_hash = r.text(i, 6);
  e.hash = r.text(i, 7);
  return row;
}

Result<Event> read_event(const PgRows& r, int i) {
  StoredEvent row = read_stored_event(r, i);
  auto data = nlohmann::json::parse(row.data_json, nullptr, false);
  if (data.is_discarded()) {
    return fail("data of event " + std::to_string(row.event.seq) + " is not valid JSON");
  }
  row.event.data = std::move(data);
  return std::move(row.event);
}

// This machine and this boot: with a pid and start time, the holder of a lease.
struct HostIdentity {
  std::string host;
  std::string boot_id;
};

HostIdentity this_host() {
  HostIdentity id;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) id.host = name;
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::getline(boot, id.boot_id);
  return id;
}

// Where a run's audit chain ends within one transaction.
struct ChainHead {
  int64_t seq = 0;
  std::string hash = std::string(kGenesisHash);
};

// A lease this store took: its token, and whether it was lost (and why).
struct HeldLease {
  int64_t token = 0;
  bool lost = false;
  std::string why;
};

PgFailure failure(std::string message) {
  PgFailure f;
  f.error = Error(std::move(message));
  return f;
}

// Appends " (ITEM)" to a failed step's message.
PgFailure with_item(PgFailure f, const std::string& item) {
  f.error.message += " (" + item + ")";
  return f;
}

class PgStore final : public Store {
 public:
  PgStore(std::string url, PgConnection conn, PgStoreOptions options)
      : url_(std::move(url)),
        where_(redact_pg_url(url_)),
        conn_(std::move(conn)),
        options_(std::move(options)),
        host_(this_host()) {}
  ~PgStore() override;

  Result<void> apply(const Batch& batch) override;
  Result<void> apply_parts(const Batch& first, const std::function<bool(Batch&)>& next) override;
  Result<std::optional<RunRecord>> get_run(const std::string& run_id) override;
  Result<std::vector<RunRecord>> list_runs(int limit) override;
  Result<std::vector<TaskRecord>> list_tasks(const std::string& run_id) override;
  Result<void> for_each_task(const std::string& run_id,
                             const std::function<void(const TaskRecord&)>& visit) override;
  Result<void> for_each_task_except(const std::string& run_id, const std::string& except_status,
                                    const std::function<void(const TaskRecord&)>& visit) override;
  Result<std::vector<AttemptRecord>> list_attempts(const std::string& run_id,
                                                   const std::string& task_id) override;
  Result<std::vector<Event>> list_events(const std::string& run_id, int64_t after_seq) override;
  Result<void> for_each_event(const std::string& run_id, int64_t after_seq,
                              const std::function<void(const Event&)>& visit) override;
  Result<std::optional<TaskRecord>> get_task(const std::string& run_id,
                                             const std::string& task_id) override;
  Result<std::vector<StoredEvent>> list_stored_events(const std::string& run_id) override;
  Result<std::vector<RunRecord>> list_runs_page(const RunPageQuery& query) override;
  Result<RunTotals> run_totals(const std::string& run_id) override;
  Result<std::vector<FeedEvent>> list_feed(int64_t after_id, const std::string& run_id,
                                           int limit) override;
  Result<int64_t> last_feed_id() override;
  Result<bool> feed_event_exists(int64_t id) override;
  Result<std::vector<TaskRecord>> list_waiting_tasks(int limit) override;
  Result<RunLockResult> acquire_run_lock(const std::string& run_id, int pid,
                                         int64_t start_time) override;
  Result<MetricsSnapshot> metrics_snapshot() override;

 private:
  // The run's tasks page by page (kListTasksPage), without those in EXCEPT_STATUS that
  // are not hooks when it is not "".
  Result<void> visit_tasks(const std::string& run_id, const std::string& except_status,
                           const std::function<void(const TaskRecord&)>& visit);
  // Runs BODY (a PgResult<T>); when the connection broke, reconnects and runs it once
  // more. Errors: "WHERE: WHAT: message".
  template <typename T, typename F>
  Result<T> retrying(const std::string& what, F&& body);
  // Reconnects conn_ and re-checks every lease held. Errors: reconnecting failed.
  Result<void> reconnect();
  // One try of apply_parts: BEGIN, the parts, COMMIT. COMMIT_SENT tells whether a
  // lost connection may have committed; HEADS receives the chain heads written.
  PgResult<void> try_apply(const Batch& first, const std::function<bool(Batch&)>& next,
                           std::map<std::string, ChainHead>& heads, bool& commit_sent);
  // Writes one part inside the transaction.
  PgResult<void> write_part(const Batch& part, std::map<std::string, ChainHead>& heads,
                            std::set<std::string>& fenced, bool& feed_locked);
  // Refuses the transaction when RUN_ID's lease is held by this store and no longer
  // its own (the fencing token moved on, or it expired). Nothing to do for other runs.
  PgResult<void> check_fence(const std::string& run_id);
  // True when the chain heads in HEADS are what the database holds (the commit made).
  PgResult<bool> committed(const std::map<std::string, ChainHead>& heads);
  // acquire_run_lock's work inside its transaction: the result and, when acquired,
  // the lease's fencing token.
  PgResult<std::pair<RunLockResult, int64_t>> claim_run(const std::string& run_id, int pid,
                                                        int64_t start_time);
  // The lease thread: renews every held lease each lease_seconds / 3.
  void keep_leases();
  void renew_leases(PgConnection& conn);
  void lose_lease(const std::string& run_id, const std::string& why);
  Error error(const std::string& what, const Error& cause) const {
    return Error(where_ + ": " + what + ": " + cause.message, cause.code);
  }

  std::string url_;
  std::string where_;  // the URL without its password
  PgConnection conn_;
  PgStoreOptions options_;
  HostIdentity host_;

  std::mutex mu_;  // guards leases_ and stopping_
  std::map<std::string, HeldLease> leases_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread keeper_;
};

PgStore::~PgStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (keeper_.joinable()) keeper_.join();
}

template <typename T, typename F>
Result<T> PgStore::retrying(const std::string& what, F&& body) {
  PgResult<T> result = body();
  if (!result && result.error().connection_lost) {
    if (auto r = reconnect(); !r) {
      return tl::unexpected(
          error(what, Error(result.error().error.message + "; " + r.error().message)));
    }
    result = body();
  }
  if (!result) return tl::unexpected(error(what, result.error().error));
  if constexpr (std::is_void_v<T>) {
    return {};
  } else {
    return std::move(*result);
  }
}

Result<void> PgStore::reconnect() {
  if (auto r = conn_.reconnect(options_.reconnect_attempts, options_.reconnect_delay_ms); !r) {
    return r;
  }
  // The lease may have been lost while the connection was down.
  std::vector<std::pair<std::string, int64_t>> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [run_id, lease] : leases_) {
      if (!lease.lost) held.emplace_back(run_id, lease.token);
    }
  }
  for (const auto& [run_id, token] : held) {
    auto row = conn_.query(
        "SELECT token = $2 AND expires_at > clock_timestamp() FROM run_leases WHERE run_id = $1",
        {run_id, num(token)});
    if (!row) return tl::unexpected(row.error().error);
    if (row->size() == 0 || row->text(0, 0) != "t") {
      lose_lease(run_id, "the lease of run " + run_id +
                             " expired or was taken over while the connection was lost");
    }
  }
  return ok();
}

void PgStore::lose_lease(const std::string& run_id, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = leases_.find(run_id);
    if (found == leases_.end() || found->second.lost) return;
    found->second.lost = true;
    found->second.why = why;
  }
  if (options_.on_lease_lost) options_.on_lease_lost(run_id, why);
}

// ---- Writes ----

PgResult<void> PgStore::check_fence(const std::string& run_id) {
  int64_t token = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = leases_.find(run_id);
    if (found == leases_.end()) return {};
    if (found->second.lost) {
      PgFailure refused = failure("refused: " + found->second.why + "; nothing was written");
      refused.error.code = ESTALE;
      return tl::unexpected(std::move(refused));
    }
    token = found->second.token;
  }
  auto row = conn_.query(kFence, {run_id});
  if (!row) return tl::unexpected(row.error());
  std::string why;
  if (row->size() == 0 || row->int64(0, 0) != token) {
    const std::string now = row->size() == 0 ? "none" : std::to_string(row->int64(0, 0));
    why = "this baton's lease of run " + run_id + " was taken over (its fencing token " +
          std::to_string(token) + " is stale; the lease's is " + now + ")";
  } else if (row->text(0, 1) != "t") {
    why = "this baton's lease of run " + run_id + " expired (fencing token " +
          std::to_string(token) + ")";
  } else {
    return {};
  }
  // Before anything else: the holder may stop here (on_lease_lost), writing nothing.
  if (conn_.in_transaction()) (void)conn_.query("ROLLBACK");
  lose_lease(run_id, why);
  PgFailure refused = failure("refused: " + why + "; nothing was written");
  refused.error.code = ESTALE;
  return tl::unexpected(std::move(refused));
}

PgResult<void> PgStore::write_part(const Batch& part, std::map<std::string, ChainHead>& heads,
                                   std::set<std::string>& fenced, bool& feed_locked) {
  auto fence = [&](const std::string& run_id) -> PgResult<void> {
    if (!fenced.insert(run_id).second) return {};
    return check_fence(run_id);
  };
  if (part.run) {
    const RunRecord& run = *part.run;
    if (auto f = fence(run.id); !f) return f;
    auto r = conn_.query(
        kUpsertRun, {txt(run.id), txt(run.workflow_name), txt(run.workflow_path),
                     txt(run.workflow_sha256), txt(run.status), txt(dump_json(run.inputs)),
                     txt(run.root_dir), txt(run.run_dir), real(run.created_at), real(run.ended_at),
                     num(run.orchestrator_pid), num(run.orchestrator_start_time)});
    if (!r) return tl::unexpected(with_item(r.error(), "run " + run.id));
  }
  for (const TaskRecord& t : part.tasks) {
    if (auto f = fence(t.run_id); !f) return f;
    PgParam deps;
    if (t.dependencies) deps = pg_text(dump_json(nlohmann::json(*t.dependencies)));
    auto r = conn_.query(kUpsertTask, {txt(t.run_id), txt(t.task_id), num(t.position),
                                       txt(t.status), num(t.attempts), txt(t.agent), txt(t.output),
                                       opt_num(t.exit_code), txt(t.reason), real(t.started_at),
                                       real(t.ended_at), txt(t.spec_sha256), txt(t.gate), deps});
    if (!r) return tl::unexpected(with_item(r.error(), "task " + t.run_id + "/" + t.task_id));
  }
  for (const AttemptRecord& a : part.attempts) {
    if (auto f = fence(a.run_id); !f) return f;
    auto r = conn_.query(
        kUpsertAttempt, {txt(a.run_id), txt(a.task_id), num(a.number), txt(a.agent), txt(a.status),
                         txt(a.exit_status), opt_num(a.exit_code), txt(a.error_class), txt(a.error),
                         txt(a.log_path), txt(a.output), txt(a.session_id), num(a.input_tokens),
                         num(a.output_tokens), num(a.cached_tokens), opt_real(a.cost_usd),
                         num(a.pid), real(a.started_at), real(a.ended_at)});
    if (!r) {
      return tl::unexpected(with_item(
          r.error(), "attempt " + a.run_id + "/" + a.task_id + "#" + std::to_string(a.number)));
    }
  }
  // As sqlite_store.cc: a status event carries the digest of its task's row (as stored).
  std::map<std::pair<std::string_view, std::string_view>, const TaskRecord*> rows;
  for (const TaskRecord& t : part.tasks) rows[{t.run_id, t.task_id}] = &t;
  for (const Event& e : part.events) {
    if (auto f = fence(e.run_id); !f) return f;
    if (!feed_locked) {
      // Held to COMMIT: event ids (a sequence) are taken in commit order, and seqs and
      // chain heads are read with no other writer of events in between.
      auto locked = conn_.query("SELECT pg_advisory_xact_lock($1)", {num(kPgFeedLockKey)});
      if (!locked) return tl::unexpected(locked.error());
      feed_locked = true;
    }
    std::string data = pg_text(dump_json(e.data));
    if (auto row = rows.find({e.run_id, e.task_id});
        row != rows.end() && !row->second->output.empty() && !status_of_event(e.kind).empty() &&
        (e.data.is_object() || e.data.is_null())) {
      nlohmann::json with_digest = e.data.is_null() ? nlohmann::json::object() : e.data;
      with_digest[std::string(kOutputDigestKey)] = sha256_hex(pg_text(row->second->output));
      data = pg_text(dump_json(with_digest));
    }
    auto found = heads.find(e.run_id);
    if (found == heads.end()) {
      auto head_rows = conn_.query(kChainHead, {txt(e.run_id)});
      if (!head_rows) return tl::unexpected(head_rows.error());
      ChainHead head;
      if (head_rows->size() > 0) {
        head.seq = head_rows->int64(0, 0);
        head.hash = head_rows->text(0, 1);
      }
      found = heads.emplace(e.run_id, std::move(head)).first;
    }
    ChainHead& head = found->second;
    const int64_t seq = head.seq + 1;
    const std::string run_id = pg_text(e.run_id);
    const std::string task_id = pg_text(e.task_id);
    const std::string kind = pg_text(e.kind);
    std::string hash = event_hash({run_id, seq, e.time, task_id, kind, data, head.hash});
    auto r = conn_.query(kInsertEvent,
                         {run_id, num(seq), real(e.time), task_id, kind, data, head.hash, hash});
    if (!r) return tl::unexpected(with_item(r.error(), "event " + e.kind + " of run " + e.run_id));
    head.seq = seq;
    head.hash = std::move(hash);
    if (auto type = webhook_type_of(e)) {
      auto w = conn_.query(
          kEnqueueDeliveries,
          {run_id, num(seq), *type, pg_text(webhook_body(*type, e, seq)), real(e.time)});
      if (!w) return tl::unexpected(with_item(w.error(), "webhooks of event " + e.kind));
    }
  }
  return {};
}

PgResult<void> PgStore::try_apply(const Batch& first, const std::function<bool(Batch&)>& next,
                                  std::map<std::string, ChainHead>& heads, bool& commit_sent) {
  commit_sent = false;
  heads.clear();
  if (auto r = conn_.query("BEGIN"); !r) return tl::unexpected(r.error());
  std::set<std::string> fenced;
  bool feed_locked = false;
  PgResult<void> result = write_part(first, heads, fenced, feed_locked);
  for (Batch part; result && next(part); part = Batch{}) {
    result = write_part(part, heads, fenced, feed_locked);
  }
  if (result) {
    commit_sent = true;
    auto committed = conn_.query("COMMIT");
    if (!committed) result = tl::unexpected(committed.error());
  }
  if (!result && !conn_.broken() && conn_.in_transaction()) (void)conn_.query("ROLLBACK");
  return result;
}

PgResult<bool> PgStore::committed(const std::map<std::string, ChainHead>& heads) {
  for (const auto& [run_id, head] : heads) {
    auto rows = conn_.query(kChainHead, {run_id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->size() == 0 || rows->int64(0, 0) != head.seq || rows->text(0, 1) != head.hash) {
      return false;
    }
  }
  return !heads.empty();
}

Result<void> PgStore::apply(const Batch& batch) {
  if (batch.empty()) return ok();
  return apply_parts(batch, [](Batch&) { return false; });
}

Result<void> PgStore::apply_parts(const Batch& first, const std::function<bool(Batch&)>& next) {
  const std::string what = "cannot apply batch";
  std::map<std::string, ChainHead> heads;
  bool commit_sent = false;
  bool made_parts = false;  // NEXT gave a part: it cannot be made again
  bool exhausted = false;   // NEXT said there is no part (it is not asked again)
  auto counted = [&](Batch& part) {
    if (exhausted) return false;
    const bool more = next(part);
    made_parts = made_parts || more;
    exhausted = !more;
    return more;
  };
  auto result = try_apply(first, counted, heads, commit_sent);
  if (!result && result.error().connection_lost) {
    // FIRST alone is in memory: after reconnecting it is written again, unless its
    // COMMIT went through before the connection broke (its events are there). The
    // rows alone are upserts: writing them twice changes nothing. Parts NEXT made are
    // gone: such a batch fails, and says whether anything of it may be stored.
    auto reconnected = reconnect();
    if (!reconnected) {
      return tl::unexpected(
          error(what, Error(result.error().error.message + "; " + reconnected.error().message)));
    }
    if (commit_sent) {
      auto done = committed(heads);
      if (!done) return tl::unexpected(error(what, done.error().error));
      if (*done) return ok();
    }
    if (made_parts) {
      return tl::unexpected(error(
          what, Error(result.error().error.message + (commit_sent
                                                          ? "; the commit's outcome is unknown"
                                                          : "; nothing of the batch was stored"))));
    }
    // Parts not asked for yet are still to come: NEXT is asked again after FIRST.
    result = try_apply(first, counted, heads, commit_sent);
  }
  if (!result) return tl::unexpected(error(what, result.error().error));
  return ok();
}

// ---- Reads ----

Result<std::optional<RunRecord>> PgStore::get_run(const std::string& run_id) {
  return retrying<std::optional<RunRecord>>("cannot read run " + run_id,
                                            [&]() -> PgResult<std::optional<RunRecord>> {
                                              auto rows = conn_.query(kGetRun, {txt(run_id)});
                                              if (!rows) return tl::unexpected(rows.error());
                                              if (rows->size() == 0)
                                                return std::optional<RunRecord>();
                                              auto run = read_run(*rows, 0);
                                              if (!run)
                                                return tl::unexpected(failure(run.error().message));
                                              return std::optional<RunRecord>(std::move(*run));
                                            });
}

PgResult<std::vector<RunRecord>> read_runs(const PgResult<PgRows>& rows) {
  if (!rows) return tl::unexpected(rows.error());
  std::vector<RunRecord> runs;
  runs.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    auto run = read_run(*rows, i);
    if (!run) return tl::unexpected(failure(run.error().message));
    runs.push_back(std::move(*run));
  }
  return runs;
}

Result<std::vector<RunRecord>> PgStore::list_runs(int limit) {
  // A negative LIMIT is no limit (as SQLite's); LIMIT NULL is PostgreSQL's.
  const PgParam bound = limit < 0 ? std::nullopt : num(limit);
  return retrying<std::vector<RunRecord>>(
      "cannot list runs", [&] { return read_runs(conn_.query(kListRuns, {bound})); });
}

Result<std::vector<TaskRecord>> PgStore::list_tasks(const std::string& run_id) {
  std::vector<TaskRecord> tasks;
  auto r = for_each_task(run_id, [&](const TaskRecord& t) { tasks.push_back(t); });
  if (!r) return tl::unexpected(r.error());
  return tasks;
}

Result<void> PgStore::for_each_task(const std::string& run_id,
                                    const std::function<void(const TaskRecord&)>& visit) {
  return visit_tasks(run_id, "", visit);
}

Result<void> PgStore::for_each_task_except(const std::string& run_id,
                                           const std::string& except_status,
                                           const std::function<void(const TaskRecord&)>& visit) {
  return visit_tasks(run_id, except_status, visit);
}

Result<void> PgStore::visit_tasks(const std::string& run_id, const std::string& except_status,
                                  const std::function<void(const TaskRecord&)>& visit) {
  const std::string what = "cannot list tasks of run " + run_id;
  int64_t after_position = INT64_MIN;
  std::string after_task;
  for (;;) {
    auto page = retrying<std::vector<TaskRecord>>(what, [&]() -> PgResult<std::vector<TaskRecord>> {
      auto rows = conn_.query(kListTasksPage, {txt(run_id), num(after_position), after_task,
                                               num(kPageSize), txt(except_status)});
      if (!rows) return tl::unexpected(rows.error());
      std::vector<TaskRecord> out;
      out.reserve(static_cast<size_t>(rows->size()));
      for (int i = 0; i < rows->size(); ++i) out.push_back(read_task(*rows, i));
      return out;
    });
    if (!page) return tl::unexpected(page.error());
    for (const TaskRecord& t : *page) visit(t);
    if (page->size() < static_cast<size_t>(kPageSize)) return ok();
    after_position = page->back().position;
    after_task = page->back().task_id;
  }
}

Result<std::vector<AttemptRecord>> PgStore::list_attempts(const std::string& run_id,
                                                          const std::string& task_id) {
  return retrying<std::vector<AttemptRecord>>(
      "cannot list attempts of run " + run_id, [&]() -> PgResult<std::vector<AttemptRecord>> {
        auto rows = conn_.query(kListAttempts, {txt(run_id), txt(task_id)});
        if (!rows) return tl::unexpected(rows.error());
        std::vector<AttemptRecord> out;
        out.reserve(static_cast<size_t>(rows->size()));
        for (int i = 0; i < rows->size(); ++i) out.push_back(read_attempt(*rows, i));
        return out;
      });
}

Result<std::vector<Event>> PgStore::list_events(const std::string& run_id, int64_t after_seq) {
  std::vector<Event> events;
  auto r = for_each_event(run_id, after_seq, [&](const Event& e) { events.push_back(e); });
  if (!r) return tl::unexpected(r.error());
  return events;
}

Result<void> PgStore::for_each_event(const std::string& run_id, int64_t after_seq,
                                     const std::function<void(const Event&)>& visit) {
  const std::string what = "cannot list events of run " + run_id;
  for (;;) {
    auto page = retrying<std::vector<Event>>(what, [&]() -> PgResult<std::vector<Event>> {
      auto rows = conn_.query(kListEventsPage, {txt(run_id), num(after_seq), num(kPageSize)});
      if (!rows) return tl::unexpected(rows.error());
      std::vector<Event> out;
      out.reserve(static_cast<size_t>(rows->size()));
      for (int i = 0; i < rows->size(); ++i) {
        auto e = read_event(*rows, i);
        if (!e) return tl::unexpected(failure(e.error().message));
        out.push_back(std::move(*e));
      }
      return out;
    });
    if (!page) {
      // Events before the bad one are visited first, as the SQLite store does.
      return tl::unexpected(page.error());
    }
    for (const Event& e : *page) visit(e);
    if (page->size() < static_cast<size_t>(kPageSize)) return ok();
    after_seq = page->back().seq;
  }
}

Result<std::optional<TaskRecord>> PgStore::get_task(const std::string& run_id,
                                                    const std::string& task_id) {
  return retrying<std::optional<TaskRecord>>(
      "cannot read task " + run_id + "/" + task_id, [&]() -> PgResult<std::optional<TaskRecord>> {
        auto rows = conn_.query(kGetTask, {txt(run_id), txt(task_id)});
        if (!rows) return tl::unexpected(rows.error());
        if (rows->size() == 0) return std::optional<TaskRecord>();
        return std::optional<TaskRecord>(read_task(*rows, 0));
      });
}

Result<std::vector<StoredEvent>> PgStore::list_stored_events(const std::string& run_id) {
  return retrying<std::vector<StoredEvent>>(
      "cannot list events of run " + run_id, [&]() -> PgResult<std::vector<StoredEvent>> {
        auto rows = conn_.query(
            "SELECT seq, time, run_id, task_id, kind, data, prev_hash, hash FROM events"
            " WHERE run_id = $1 ORDER BY seq",
            {txt(run_id)});
        if (!rows) return tl::unexpected(rows.error());
        std::vector<StoredEvent> out;
        for (int i = 0; i < rows->size(); ++i) {
          StoredEvent e = read_stored_event(*rows, i);
          auto data = nlohmann::json::parse(e.data_json, nullptr, false);
          e.event.data = data.is_discarded() ? nlohmann::json(nullptr) : std::move(data);
          out.push_back(std::move(e));
        }
        return out;
      });
}

Result<std::vector<RunRecord>> PgStore::list_runs_page(const RunPageQuery& query) {
  const int limit = std::clamp(query.limit, 1, 1000);
  return retrying<std::vector<RunRecord>>("cannot list runs", [&] {
    return read_runs(conn_.query(
        kListRunsPage, {txt(query.status), txt(query.workflow), real(query.after_created_at),
                        txt(query.after_id), num(limit)}));
  });
}

Result<RunTotals> PgStore::run_totals(const std::string& run_id) {
  return retrying<RunTotals>(
      "cannot read the totals of run " + run_id, [&]() -> PgResult<RunTotals> {
        RunTotals totals;
        auto counts = conn_.query(kTaskCounts, {txt(run_id)});
        if (!counts) return tl::unexpected(counts.error());
        for (int i = 0; i < counts->size(); ++i) {
          const int n = counts->int32(i, 1);
          const int64_t hooks = counts->int64(i, 2);
          totals.tasks_by_status[counts->text(i, 0)] = n;
          if (hooks > 0) {
            totals.hooks_by_status[counts->text(i, 0)] = static_cast<int>(hooks);
          }
          totals.tasks_total += n;
          totals.widest_task_id =
              std::max(totals.widest_task_id, static_cast<size_t>(counts->int32(i, 3)));
        }
        auto sums = conn_.query(kAttemptSums, {txt(run_id)});
        if (!sums) return tl::unexpected(sums.error());
        if (sums->size() > 0) {
          totals.input_tokens = sums->int64(0, 0);
          totals.output_tokens = sums->int64(0, 1);
          totals.cached_tokens = sums->int64(0, 2);
          if (sums->int64(0, 4) > 0) totals.cost_usd = sums->real(0, 3);
          totals.attempts_with_usage = sums->int64(0, 5);
        }
        return totals;
      });
}

Result<std::vector<FeedEvent>> PgStore::list_feed(int64_t after_id, const std::string& run_id,
                                                  int limit) {
  return retrying<std::vector<FeedEvent>>(
      "cannot read the event feed", [&]() -> PgResult<std::vector<FeedEvent>> {
        auto rows = conn_.query(kListFeed, {num(after_id), txt(run_id), num(std::max(limit, 1))});
        if (!rows) return tl::unexpected(rows.error());
        std::vector<FeedEvent> out;
        for (int i = 0; i < rows->size(); ++i) {
          auto e = read_event(*rows, i);
          if (!e) return tl::unexpected(failure(e.error().message));
          out.push_back(FeedEvent{rows->int64(i, 8), std::move(*e)});
        }
        return out;
      });
}

Result<int64_t> PgStore::last_feed_id() {
  return retrying<int64_t>("cannot read the event feed", [&]() -> PgResult<int64_t> {
    auto rows = conn_.query(kLastFeedId);
    if (!rows) return tl::unexpected(rows.error());
    return rows->int64(0, 0);
  });
}

Result<bool> PgStore::feed_event_exists(int64_t id) {
  return retrying<bool>("cannot read the event feed", [&]() -> PgResult<bool> {
    auto rows = conn_.query(kFeedEventExists, {num(id)});
    if (!rows) return tl::unexpected(rows.error());
    return rows->int64(0, 0) > 0;
  });
}

Result<std::vector<TaskRecord>> PgStore::list_waiting_tasks(int limit) {
  return retrying<std::vector<TaskRecord>>(
      "cannot list waiting tasks", [&]() -> PgResult<std::vector<TaskRecord>> {
        auto rows = conn_.query(kListWaitingTasks, {num(std::max(limit, 1))});
        if (!rows) return tl::unexpected(rows.error());
        std::vector<TaskRecord> out;
        for (int i = 0; i < rows->size(); ++i) out.push_back(read_task(*rows, i));
        return out;
      });
}

Result<MetricsSnapshot> PgStore::metrics_snapshot() {
  return retrying<MetricsSnapshot>("cannot read metrics",
                                   [&] { return read_pg_metrics_snapshot(conn_); });
}

// ---- The run lease ----

PgResult<std::pair<RunLockResult, int64_t>> PgStore::claim_run(const std::string& run_id, int pid,
                                                               int64_t start_time) {
  RunLockResult result;
  const PgParam seconds = real(options_.lease_seconds);
  auto inserted = conn_.query(
      "INSERT INTO run_leases (run_id, holder_host, holder_boot_id, holder_pid,"
      " holder_start_time, token, expires_at)"
      " VALUES ($1, $2, $3, $4, $5, nextval('run_lease_tokens'),"
      " clock_timestamp() + make_interval(secs => $6))"
      " ON CONFLICT (run_id) DO NOTHING RETURNING token",
      {txt(run_id), txt(host_.host), txt(host_.boot_id), num(pid), num(start_time), seconds});
  if (!inserted) return tl::unexpected(inserted.error());
  int64_t token = 0;
  if (inserted->size() > 0) {
    token = inserted->int64(0, 0);
  } else {
    auto held = conn_.query(
        "SELECT holder_host, holder_boot_id, holder_pid, holder_start_time, token,"
        " expires_at <= clock_timestamp() FROM run_leases WHERE run_id = $1 FOR UPDATE",
        {txt(run_id)});
    if (!held) return tl::unexpected(held.error());
    const bool same_machine = held->text(0, 0) == host_.host && held->text(0, 1) == host_.boot_id;
    const int holder_pid = held->int32(0, 2);
    const int64_t holder_start = held->int64(0, 3);
    const bool expired = held->text(0, 5) == "t";
    if (same_machine && holder_pid == pid && holder_start == start_time) {
      token = held->int64(0, 4);  // the caller again: same token, renewed
      auto renewed = conn_.query(
          "UPDATE run_leases SET expires_at = clock_timestamp() + make_interval(secs => $2)"
          " WHERE run_id = $1",
          {txt(run_id), seconds});
      if (!renewed) return tl::unexpected(renewed.error());
    } else if (expired || (same_machine && !process_is_running(holder_pid, holder_start))) {
      auto taken = conn_.query(
          "UPDATE run_leases SET holder_host = $2, holder_boot_id = $3, holder_pid = $4,"
          " holder_start_time = $5, token = nextval('run_lease_tokens'),"
          " expires_at = clock_timestamp() + make_interval(secs => $6)"
          " WHERE run_id = $1 RETURNING token",
          {txt(run_id), txt(host_.host), txt(host_.boot_id), num(pid), num(start_time), seconds});
      if (!taken) return tl::unexpected(taken.error());
      token = taken->int64(0, 0);
    } else {
      result.holder_pid = holder_pid;
      result.holder_start_time = holder_start;
      return std::make_pair(result, int64_t{0});
    }
  }
  auto named = conn_.query(
      "UPDATE runs SET orchestrator_pid = $2, orchestrator_start_time = $3 WHERE id = $1",
      {txt(run_id), num(pid), num(start_time)});
  if (!named) return tl::unexpected(named.error());
  result.acquired = true;
  return std::make_pair(result, token);
}

Result<RunLockResult> PgStore::acquire_run_lock(const std::string& run_id, int pid,
                                                int64_t start_time) {
  auto claimed_lease = retrying<std::pair<RunLockResult, int64_t>>(
      "cannot lock run " + run_id, [&]() -> PgResult<std::pair<RunLockResult, int64_t>> {
        if (auto r = conn_.query("BEGIN"); !r) return tl::unexpected(r.error());
        auto claimed = claim_run(run_id, pid, start_time);
        if (claimed) {
          if (auto c = conn_.query("COMMIT"); !c) claimed = tl::unexpected(c.error());
        }
        if (!claimed && !conn_.broken() && conn_.in_transaction()) (void)conn_.query("ROLLBACK");
        return claimed;
      });
  if (!claimed_lease) return tl::unexpected(claimed_lease.error());
  const auto& [result, token] = *claimed_lease;
  if (!result.acquired) return result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    leases_[run_id] = HeldLease{token, false, ""};
  }
  if (!keeper_.joinable()) keeper_ = std::thread([this] { keep_leases(); });
  return result;
}

void PgStore::keep_leases() {
  auto conn = PgConnection::connect(url_);
  std::unique_lock<std::mutex> lock(mu_);
  const auto interval =
      std::chrono::milliseconds(static_cast<int64_t>(options_.lease_seconds * 1000 / 3));
  while (!stopping_) {
    wake_.wait_for(lock, interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    if (!conn) conn = PgConnection::connect(url_);
    if (conn) renew_leases(*conn);
    lock.lock();
  }
}

void PgStore::renew_leases(PgConnection& conn) {
  std::vector<std::pair<std::string, int64_t>> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [run_id, lease] : leases_) {
      if (!lease.lost) held.emplace_back(run_id, lease.token);
    }
  }
  for (const auto& [run_id, token] : held) {
    const std::vector<PgParam> params = {run_id, num(token), real(options_.lease_seconds)};
    const char* renew =
        "UPDATE run_leases SET expires_at = clock_timestamp() + make_interval(secs => $3)"
        " WHERE run_id = $1 AND token = $2 AND expires_at > clock_timestamp()";
    auto renewed = conn.query(renew, params);
    if (!renewed && renewed.error().connection_lost) {
      // Bounded: one lease period of tries at most, then the lease is gone anyway.
      const int tries = std::max(1, static_cast<int>(options_.lease_seconds * 1000 /
                                                     std::max(options_.reconnect_delay_ms, 1)));
      if (conn.reconnect(std::min(tries, options_.reconnect_attempts),
                         options_.reconnect_delay_ms)) {
        renewed = conn.query(renew, params);
      }
    }
    if (!renewed) continue;  // a failed renewal is retried at the next tick
    if (renewed->affected() == 0) {
      lose_lease(run_id, "the lease of run " + run_id + " (fencing token " + std::to_string(token) +
                             ") expired or was taken over by another baton");
    }
  }
}

}  // namespace

bool is_postgres_url(const std::string& location) {
  return location.rfind("postgres://", 0) == 0 || location.rfind("postgresql://", 0) == 0;
}

Result<std::unique_ptr<Store>> open_pg_store(const std::string& url,
                                             const PgStoreOptions& options) {
  const std::string where = redact_pg_url(url);
  auto conn = PgConnection::connect(url);
  if (!conn) return fail(where + ": " + conn.error().message);
  if (auto r = pg_migrate(*conn, where); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Store>(std::make_unique<PgStore>(url, std::move(*conn), options));
}

}  // namespace baton::store
