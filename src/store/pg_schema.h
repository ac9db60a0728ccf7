// The PostgreSQL store's schema and its migrations (docs/postgres.md, "Schema").
//
// The logical schema is SQLite's version 5 (store/SCHEMA.md: runs, tasks, attempts,
// events with the audit chain, webhook endpoints and deliveries) plus what sharing one
// database between machines needs: events.id, the global commit-ordered feed id, and
// run_leases, the run lock as a lease with a fencing token. The version is the row of
// table schema_version; each migration runs in one transaction with its bump, under a
// transaction-level advisory lock, so two processes opening a new database at once
// migrate it once.
#pragma once

#include <cstdint>

#include "store/pg_connection.h"
#include "util/error.h"

namespace baton::store {

/// The schema version this binary writes (the number of PostgreSQL migrations).
int64_t pg_schema_version();

/// Brings the database of CONN to pg_schema_version(): each missing migration and the
/// version bump in one transaction. Errors ("WHERE: ..."): a database with tables named
/// like baton's but no schema_version (someone else's), a version newer than this
/// binary, a failed statement (the transaction is rolled back).
Result<void> pg_migrate(PgConnection& conn, const std::string& where);

/// The advisory lock key (pg_advisory_xact_lock) of the events' global order: a
/// transaction takes it before it appends its first event and holds it to its commit,
/// so event ids grow in commit order (pg_store.cc).
inline constexpr int64_t kPgFeedLockKey = 0x6261746f6e01;  // "baton" 01
/// The advisory lock key that serialises migrations.
inline constexpr int64_t kPgMigrationLockKey = 0x6261746f6e02;

}  // namespace baton::store
