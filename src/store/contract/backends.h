// The back ends every contract test runs against (typed tests: TYPED_TEST_SUITE(T,
// Backends, BackendNames)): SQLite, a file in a scratch directory, and PostgreSQL, a
// database of its own per test in the throwaway cluster of store/pg_test_cluster.h.
// Test code only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "store/pg_connection.h"
#include "store/pg_test_cluster.h"
#include "store/test_util.h"

namespace baton::store::contract {

/// The SQLite back end: state.db in a scratch directory.
struct SqliteBackend {
  testing::TempDir dir;
  std::string location() const { return dir.file("state.db"); }
  std::string where() const { return location(); }
  /// Text as this back end gives it back.
  static std::string stored_text(const std::string& s) { return s; }
  /// How a row of an unknown run is refused.
  static std::string foreign_key_message() { return "FOREIGN KEY constraint failed"; }
};

/// The PostgreSQL back end: a fresh database in the test binary's cluster.
struct PgBackend {
  std::string url = testing::PgTestCluster::get().ok()
                        ? testing::PgTestCluster::get().create_database()
                        : std::string();
  std::string location() const { return url; }
  std::string where() const { return redact_pg_url(url); }
  /// PostgreSQL text holds no NUL and only valid UTF-8 (pg_text()).
  static std::string stored_text(const std::string& s) { return pg_text(s); }
  static std::string foreign_key_message() { return "violates foreign key constraint"; }
};

/// Both back ends, for TYPED_TEST_SUITE.
using Backends = ::testing::Types<SqliteBackend, PgBackend>;

/// Test names: Postgres or Sqlite.
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, PgBackend> ? "Postgres" : "Sqlite";
  }
};

/// True for the PostgreSQL back end.
template <typename Backend>
inline constexpr bool kIsPostgres = std::is_same_v<Backend, PgBackend>;

}  // namespace baton::store::contract
