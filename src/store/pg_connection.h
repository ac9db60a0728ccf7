// A PostgreSQL connection for the PostgreSQL store (pg_store.h), over libpq (Debian's
// libpq-dev; https://www.postgresql.org/docs/15/libpq.html).
//
// Every query is sent with PQexecParams in text format: parameters are strings (or
// NULL), never spliced into the SQL, and results are read as text. A connection that
// broke (the server restarted, `pg_terminate_backend`) is reported as such
// (PgError::connection_lost) so the caller can reconnect(), which retries a bounded
// number of times.
//
// Thread safety: a PgConnection is used from one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace baton::store {

/// A query parameter in text format; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;

/// Text of a double that reads back as the same double ("%.17g").
std::string pg_double(double value);

/// S with every byte sequence that is not valid UTF-8 and every NUL replaced by U+FFFD:
/// what a PostgreSQL text column of a UTF8 database accepts.
std::string pg_text(const std::string& s);

/// "postgres://user@host:port/db" with the password (if any) replaced by "***", for
/// messages. LOCATION that is not a URL is returned as it is.
std::string redact_pg_url(const std::string& location);

/// The rows of one query. Owns its PGresult (cleared on destruction).
class PgRows {
 public:
  explicit PgRows(PGresult* result) : result_(result, &PQclear) {}
  /// Rows returned (0 for commands).
  int size() const { return PQntuples(result_.get()); }
  /// Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;
  bool is_null(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  /// Text of the cell; "" for NULL.
  std::string text(int row, int col) const;
  int64_t int64(int row, int col) const;
  int int32(int row, int col) const { return static_cast<int>(int64(row, col)); }
  double real(int row, int col) const;
  std::optional<int> optional_int(int row, int col) const;
  std::optional<double> optional_real(int row, int col) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

/// A failed query: the server's message, its SQLSTATE ("" when none came back) and
/// whether the connection itself is gone.
struct PgFailure {
  Error error;
  std::string sqlstate;
  bool connection_lost = false;
};

template <typename T>
using PgResult = tl::expected<T, PgFailure>;

/// One connection. Move-only; closes on destruction.
class PgConnection {
 public:
  /// Connects to CONNINFO (a postgres:// URL or key=value string; libpq's rules and
  /// environment variables such as PGPASSWORD apply). Errors: libpq's message.
  static Result<PgConnection> connect(const std::string& conninfo);

  PgConnection(PgConnection&&) = default;
  PgConnection& operator=(PgConnection&&) = default;

  /// Runs SQL with PARAMS ($1..$N). Errors: the server's message with its SQLSTATE;
  /// connection_lost when the connection broke (it is then unusable until reconnect()).
  PgResult<PgRows> query(const char* sql, const std::vector<PgParam>& params = {});
  /// Runs SQL that may hold several ;-separated statements and takes no parameters
  /// (PQexec: the simple query protocol), e.g. a migration. Errors: the server's.
  Result<void> exec_script(const char* sql);
  /// query() that keeps only the error (Result<void>).
  Result<void> exec(const char* sql, const std::vector<PgParam>& params = {});
  /// True when the last failure left the connection broken.
  bool broken() const;
  /// Reconnects after a broken connection: up to ATTEMPTS tries, DELAY_MS apart.
  /// Errors: the last try's message.
  Result<void> reconnect(int attempts, int delay_ms);
  /// True inside a transaction block (BEGIN .. COMMIT/ROLLBACK).
  bool in_transaction() const;
  /// The server process's pid (pg_backend_pid()), for tests that terminate it.
  int backend_pid() const { return PQbackendPID(conn_.get()); }

 private:
  explicit PgConnection(PGconn* conn, std::string conninfo)
      : conn_(conn, &PQfinish), conninfo_(std::move(conninfo)) {}

  std::unique_ptr<PGconn, void (*)(PGconn*)> conn_;
  std::string conninfo_;
};

}  // namespace baton::store
