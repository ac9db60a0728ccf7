#include "store/pg_metrics.h"

#include <fmt/format.h>

#include <string>

namespace baton::store {
namespace {

// As sqlite_metrics.cc's histogram_sql: count, sum and cumulative buckets of the
// durations of TABLE's rows that ended, by status.
std::string histogram_sql(const std::string& table, const std::string& start) {
  const std::string d = "(ended_at - " + start + ")";
  std::string sql = "SELECT status, count(*), coalesce(sum(" + d + "), 0)";
  for (double bound : kDurationBucketsSeconds) {
    sql += fmt::format(", count(*) FILTER (WHERE {} <= {})", d, bound);
  }
  sql += " FROM " + table + " WHERE " + start + " > 0 AND ended_at >= " + start +
         " AND status IN ('success', 'failed', 'cancelled') GROUP BY status";
  return sql;
}

PgResult<void> read_histograms(PgConnection& conn, const std::string& sql,
                               std::map<std::string, DurationHistogram>& out) {
  auto rows = conn.query(sql.c_str());
  if (!rows) return tl::unexpected(rows.error());
  for (int i = 0; i < rows->size(); ++i) {
    DurationHistogram& h = out[rows->text(i, 0)];
    h.count = rows->int64(i, 1);
    h.sum = rows->real(i, 2);
    for (size_t b = 0; b < h.buckets.size(); ++b) {
      h.buckets[b] = rows->int64(i, 3 + static_cast<int>(b));
    }
  }
  return {};
}

PgResult<void> read_counts(PgConnection& conn, const char* sql,
                           std::map<std::string, int64_t>& out) {
  auto rows = conn.query(sql);
  if (!rows) return tl::unexpected(rows.error());
  for (int i = 0; i < rows->size(); ++i) out[rows->text(i, 0)] = rows->int64(i, 1);
  return {};
}

PgResult<MetricsSnapshot> read_all(PgConnection& conn) {
  MetricsSnapshot out;
  if (auto r = read_counts(conn, "SELECT status, count(*) FROM runs GROUP BY status",
                           out.runs_by_status);
      !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = read_histograms(conn, histogram_sql("runs", "created_at"), out.run_durations); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = read_counts(conn, "SELECT status, count(*) FROM tasks GROUP BY status",
                           out.tasks_by_status);
      !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = read_histograms(conn, histogram_sql("tasks", "started_at"), out.task_durations);
      !r) {
    return tl::unexpected(r.error());
  }
  auto attempts = conn.query(
      "SELECT count(*), count(*) FILTER (WHERE number > 1),"
      " coalesce(sum(input_tokens::double precision), 0),"
      " coalesce(sum(output_tokens::double precision), 0),"
      " coalesce(sum(cached_tokens::double precision), 0), coalesce(sum(cost_usd), 0)"
      " FROM attempts");
  if (!attempts) return tl::unexpected(attempts.error());
  out.attempts = attempts->int64(0, 0);
  out.retries = attempts->int64(0, 1);
  out.input_tokens = attempts->real(0, 2);
  out.output_tokens = attempts->real(0, 3);
  out.cached_tokens = attempts->real(0, 4);
  out.cost_usd = attempts->real(0, 5);
  auto last = conn.query(
      "SELECT workflow_name, max(ended_at) FROM runs WHERE status = 'success' AND ended_at > 0"
      " GROUP BY workflow_name");
  if (!last) return tl::unexpected(last.error());
  for (int i = 0; i < last->size(); ++i) {
    out.last_success_by_workflow[last->text(i, 0)] = last->real(i, 1);
  }
  return out;
}

}  // namespace

PgResult<MetricsSnapshot> read_pg_metrics_snapshot(PgConnection& conn) {
  if (auto r = conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r) {
    return tl::unexpected(r.error());
  }
  auto snapshot = read_all(conn);
  if (snapshot) {
    if (auto r = conn.query("COMMIT"); !r) return tl::unexpected(r.error());
  } else if (!conn.broken()) {
    (void)conn.query("ROLLBACK");
  }
  return snapshot;
}

}  // namespace baton::store
