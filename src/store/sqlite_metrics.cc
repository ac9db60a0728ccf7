#include "store/sqlite_metrics.h"

#include <fmt/format.h>

#include <string>

namespace baton::store {
namespace {

// ", TOTAL(EXPR <= 1), TOTAL(EXPR <= 5), ...": one cumulative bucket per bound.
// TOTAL of a NULL (a row without a duration) adds nothing.
std::string bucket_columns(const std::string& expr) {
  std::string columns;
  for (double bound : kDurationBucketsSeconds) {
    columns += fmt::format(", TOTAL({} <= {})", expr, bound);
  }
  return columns;
}

// Columns FIRST.. of S: the count, the sum, then the buckets of a histogram.
DurationHistogram read_histogram(const Statement& s, int first) {
  DurationHistogram h;
  h.count = s.int64_at(first);
  h.sum = s.double_at(first + 1);
  for (size_t i = 0; i < h.buckets.size(); ++i) {
    h.buckets[i] = static_cast<int64_t>(s.double_at(first + 2 + static_cast<int>(i)));
  }
  return h;
}

// Runs by status; the durations of the runs that ended. A negative duration (a clock
// set back) counts as 0.
Result<void> read_runs(Db& db, MetricsSnapshot& out) {
  const std::string d =
      "(CASE WHEN ended_at > 0 AND status IN ('success', 'failed', 'cancelled') "
      "THEN MAX(ended_at - created_at, 0) END)";
  auto s = db.prepare("SELECT status, COUNT(*), COUNT(" + d + "), TOTAL(" + d + ")" +
                      bucket_columns(d) + " FROM runs GROUP BY status");
  if (!s) return tl::unexpected(s.error());
  for (;;) {
    auto row = s->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return ok();
    const std::string status = s->text_at(0);
    out.runs_by_status[status] = s->int64_at(1);
    if (s->int64_at(2) > 0) out.run_durations[status] = read_histogram(*s, 2);
  }
}

// Tasks by status; the durations of the tasks that started and ended.
Result<void> read_tasks(Db& db, MetricsSnapshot& out) {
  const std::string d =
      "(CASE WHEN started_at > 0 AND ended_at > 0 AND status IN ('success', 'failed', "
      "'cancelled') THEN MAX(ended_at - started_at, 0) END)";
  auto s = db.prepare("SELECT status, COUNT(*), COUNT(" + d + "), TOTAL(" + d + ")" +
                      bucket_columns(d) + " FROM tasks GROUP BY status");
  if (!s) return tl::unexpected(s.error());
  for (;;) {
    auto row = s->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return ok();
    const std::string status = s->text_at(0);
    out.tasks_by_status[status] = s->int64_at(1);
    if (s->int64_at(2) > 0) out.task_durations[status] = read_histogram(*s, 2);
  }
}

Result<void> read_attempts(Db& db, MetricsSnapshot& out) {
  auto s = db.prepare(
      "SELECT COUNT(*), TOTAL(number > 1), TOTAL(input_tokens), TOTAL(output_tokens), "
      "TOTAL(cached_tokens), TOTAL(cost_usd) FROM attempts");
  if (!s) return tl::unexpected(s.error());
  auto row = s->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return ok();
  out.attempts = s->int64_at(0);
  out.retries = static_cast<int64_t>(s->double_at(1));
  out.input_tokens = s->double_at(2);
  out.output_tokens = s->double_at(3);
  out.cached_tokens = s->double_at(4);
  out.cost_usd = s->double_at(5);
  return ok();
}

Result<void> read_last_successes(Db& db, MetricsSnapshot& out) {
  auto s = db.prepare(
      "SELECT workflow_name, MAX(ended_at) FROM runs WHERE status = 'success' AND ended_at > 0 "
      "GROUP BY workflow_name");
  if (!s) return tl::unexpected(s.error());
  for (;;) {
    auto row = s->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return ok();
    out.last_success_by_workflow[s->text_at(0)] = s->double_at(1);
  }
}

Result<MetricsSnapshot> read_all(Db& db) {
  MetricsSnapshot out;
  if (auto r = read_runs(db, out); !r) return tl::unexpected(r.error());
  if (auto r = read_tasks(db, out); !r) return tl::unexpected(r.error());
  if (auto r = read_attempts(db, out); !r) return tl::unexpected(r.error());
  if (auto r = read_last_successes(db, out); !r) return tl::unexpected(r.error());
  return out;
}

}  // namespace

Result<MetricsSnapshot> read_metrics_snapshot(Db& db) {
  // One read transaction (WAL: a consistent snapshot that never blocks the writer).
  if (auto r = db.exec("BEGIN DEFERRED"); !r) return tl::unexpected(r.error());
  auto snapshot = read_all(db);
  // The statements are finalized by now (each lived in its read_ function).
  Result<void> ended = snapshot ? db.exec("COMMIT") : ok();
  if (!snapshot || !ended) {
    Error failure = !snapshot ? snapshot.error() : ended.error();
    if (db.in_transaction()) (void)db.exec("ROLLBACK");
    return tl::unexpected(std::move(failure));
  }
  return snapshot;
}

}  // namespace baton::store
