// Where baton keeps its state: the project's .baton/state.db (SQLite, the default) or
// a PostgreSQL database named by the global `--store postgres://...` option or the
// BATON_STORE environment variable (docs/postgres.md). The one place commands open
// their store from.
#pragma once

#include <memory>
#include <string>

#include "store/pg_store.h"
#include "store/store.h"

namespace baton::cli {

/// The global --store option's value as parsed (cli.cc); "" when not given.
std::string& store_option();

/// --store, else $BATON_STORE, else "" (the project's .baton/state.db).
std::string configured_store();

/// True when the configured store is a PostgreSQL database.
bool shared_store();

/// The store of a project whose .baton directory is STATE_DIR: configured_store(), or
/// STATE_DIR/state.db when none is configured.
std::string store_location(const std::string& state_dir);

/// How baton's commands use a PostgreSQL store: leases of $BATON_LEASE_SECONDS
/// (default 30, at least 0.3); a lost lease prints "baton: WHY; stopping: another baton
/// runs the run now" and ends the process at once with exit 7 (kExitBusy), as a crashed
/// orchestrator: its attempts carry on under their supervisors for the new holder.
store::PgStoreOptions command_pg_options();

/// Opens the store at LOCATION (a file path or a postgres:// URL) with
/// command_pg_options(). Errors: the back end's.
Result<std::unique_ptr<store::Store>> open_state_store(const std::string& location);

}  // namespace baton::cli
