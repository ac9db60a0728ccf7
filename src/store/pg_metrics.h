// The SQL behind Store::metrics_snapshot() for the PostgreSQL store (pg_store.cc):
// the same figures as sqlite_metrics.h, counted and bucketed by the server.
#pragma once

#include "store/metrics_snapshot.h"
#include "store/pg_connection.h"

namespace baton::store {

/// Reads the aggregates of MetricsSnapshot from CONN in six queries in one REPEATABLE
/// READ read-only transaction (one snapshot, so the figures agree). CONN must not be
/// in a transaction. Errors: the server's message (connection_lost when it broke).
PgResult<MetricsSnapshot> read_pg_metrics_snapshot(PgConnection& conn);

}  // namespace baton::store
