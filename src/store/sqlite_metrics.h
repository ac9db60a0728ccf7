// The SQL behind Store::metrics_snapshot() for the SQLite store (sqlite_store.cc).
#pragma once

#include "store/metrics_snapshot.h"
#include "store/sqlite.h"
#include "util/error.h"

namespace baton::store {

/// Reads the aggregates of MetricsSnapshot from DB in four queries (runs, tasks,
/// attempts, last successes), each a single scan that counts and buckets in SQL, all
/// in one read transaction so the figures agree with each other. DB must not be in a
/// transaction. Errors: SQLite's message (without the database's path; the caller
/// adds it).
Result<MetricsSnapshot> read_metrics_snapshot(Db& db);

}  // namespace baton::store
