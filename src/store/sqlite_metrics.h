// The SQL behind Store::metrics_snapshot() for the SQLite store (sqlite_store.cc).
#pragma once

#include "store/metrics_snapshot.h"
#include "store/sqlite.h"
#include "util/error.h"

namespace baton::store {

/// Reads the aggregates of MetricsSnapshot from DB in six queries (runs by status,
/// their durations, tasks by status, their durations, attempts, last successes), each
/// one scan of a table that counts and buckets in SQL, all in one read transaction so
/// the figures agree with each other. A database of 1,000,000 tasks and attempts
/// takes about a second (no index serves these scans). DB must not be in a
/// transaction. Errors: SQLite's message (without the database's path; the caller
/// adds it).
Result<MetricsSnapshot> read_metrics_snapshot(Db& db);

}  // namespace baton::store
