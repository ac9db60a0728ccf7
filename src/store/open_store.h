// The one place that chooses a Store back end from where the state lives.
#pragma once

#include <memory>
#include <string>

#include "store/pg_store.h"
#include "store/store.h"

namespace baton::store {

/// Opens the store at LOCATION: a postgres:// or postgresql:// URL is a PostgreSQL
/// store (open_pg_store with PG), anything else the path of a SQLite database
/// (open_sqlite_store). Errors: those of the chosen back end.
Result<std::unique_ptr<Store>> open_store(const std::string& location,
                                          const PgStoreOptions& pg = {});

}  // namespace baton::store
