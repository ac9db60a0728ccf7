// The PostgreSQL implementation of Store (docs/postgres.md), for several baton
// processes on several machines sharing one database.
//
// Same contract as the SQLite store (store.h), with these differences:
// - The run lock is a LEASE (table run_leases): holder (host, boot id, pid, start
//   time), a fencing token from a sequence (it only grows) and an expiry in database
//   time. acquire_run_lock() takes a free, expired or own lease, or one whose holder
//   ran on this host and is gone; a thread of the store renews every lease it holds
//   each lease_seconds / 3 on a connection of its own. A lease that could not be
//   renewed (taken over, expired) is lost: PgStoreOptions::on_lease_lost is called
//   (baton's CLI prints why and exits 7, as a crashed orchestrator would be), and every
//   later write of that run by this store is refused.
// - Fencing: every apply() that writes a run this store took the lease of first reads
//   the lease row (FOR SHARE) in its transaction and refuses the whole batch when the
//   token is no longer this store's or the lease expired, so a process that was paused
//   past its lease writes nothing after waking. The refusal calls on_lease_lost first
//   (baton exits there); otherwise apply() fails with Error::code ESTALE.
// - The feed's global order: events.id, assigned while the transaction holds a
//   transaction-level advisory lock taken before its first event and held to its
//   commit (kPgFeedLockKey), so ids grow in commit order and a reader never sees a
//   later id before an earlier commit. Seqs and hashes are read under that lock too.
// - Connection loss: a query that fails because the connection broke reconnects (up
//   to reconnect_attempts, reconnect_delay_ms apart), re-checks the leases and runs
//   once more; a batch is written again only when its commit was not made (checked by
//   the runs' chain heads), so nothing is written twice. apply_parts() whose NEXT
//   already made parts cannot replay them: it fails ("nothing of the batch was
//   stored") when the connection broke before COMMIT.
// - Text is stored as valid UTF-8 without NUL bytes (pg_text(): U+FFFD instead).
//
// Thread safety: the Store is used from one thread; the lease thread shares only the
// lease table (guarded by a mutex).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace baton::store {

/// Tuning of open_pg_store().
struct PgStoreOptions {
  /// Length of a run lease (seconds); renewed every third of it. BATON_LEASE_SECONDS
  /// sets it for baton's commands (tests use 1-2 s).
  double lease_seconds = 30;
  /// Called on the lease thread when the lease of RUN_ID is lost, with a sentence that
  /// says why. Null: the loss is only recorded (writes of that run are refused).
  std::function<void(const std::string& run_id, const std::string& why)> on_lease_lost;
  /// Reconnection after a lost connection: tries and the pause between them.
  int reconnect_attempts = 10;
  int reconnect_delay_ms = 300;
};

/// True when LOCATION names a PostgreSQL database (postgres:// or postgresql://).
bool is_postgres_url(const std::string& location);

/// Connects to the database at URL (libpq's URL or key=value syntax; a password is
/// better given by PGPASSWORD or ~/.pgpass than in the URL), creates or migrates its
/// schema (pg_schema.h) and returns the store. Errors name the URL without its
/// password: cannot connect, not a baton database, a newer schema.
Result<std::unique_ptr<Store>> open_pg_store(const std::string& url,
                                             const PgStoreOptions& options = {});

}  // namespace baton::store
