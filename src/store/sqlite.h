// A small RAII wrapper over the SQLite C API: Db owns a sqlite3*, Statement owns a
// sqlite3_stmt*. Both are move-only. Every call that can fail returns a Result whose
// message is SQLite's own text (sqlite3_errmsg), e.g. "database is locked"; callers
// add the database path and the operation. Nothing here throws.
//
// Thread safety: a Db and its Statements are used from one thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::store {

/// One prepared statement. Owns its sqlite3_stmt* (finalized on destruction).
/// Bind indexes are 1-based, column indexes 0-based (as in the C API).
class Statement {
 public:
  Statement() = default;
  /// Takes ownership of STMT, prepared on DB (which must outlive it).
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Binds a value to parameter INDEX (1-based). Text is copied (SQLITE_TRANSIENT), so
  /// the argument need not outlive the call. Errors: index out of range, misuse.
  Result<void> bind(int index, int value);
  Result<void> bind(int index, int64_t value);
  Result<void> bind(int index, double value);
  Result<void> bind(int index, std::string_view value);
  Result<void> bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Result<void> bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  /// Binds SQL NULL.
  Result<void> bind_null(int index);
  /// Binds the value, or NULL when VALUE is empty.
  template <typename T>
  Result<void> bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  /// Binds VALUES to parameters 1..N in order; stops at the first error.
  template <typename... Args>
  Result<void> bind_all(const Args&... values) {
    int index = 0;
    Result<void> result;
    ((result ? void(result = bind(++index, values)) : void()), ...);
    return result;
  }

  /// Advances: true when a row is available, false when the statement is done.
  /// Errors: SQLite's message (constraint violations, "database is locked", ...).
  Result<bool> step();
  /// Steps a statement that returns no rows (INSERT, UPDATE, ...) to completion.
  Result<void> run();
  /// Resets the statement and clears its bindings so it can be run again; ends the
  /// statement's implicit read transaction. Safe on an empty Statement.
  void reset();

  /// Column accessors for the current row (after step() returned true).
  bool is_null(int column) const;
  int64_t int64_at(int column) const;
  int int_at(int column) const { return static_cast<int>(int64_at(column)); }
  double double_at(int column) const;
  /// Text of the column; "" for NULL. Embedded NUL bytes are kept.
  std::string text_at(int column) const;
  /// NULL → nullopt, else the value.
  std::optional<int> optional_int_at(int column) const;
  std::optional<double> optional_double_at(int column) const;

  sqlite3_stmt* handle() const { return stmt_; }

 private:
  Result<void> check_bind(int rc);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when it goes out of scope, so a half-read query never keeps
/// a read transaction (and the WAL) pinned.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

/// An open database connection. Owns its sqlite3* (closed on destruction with
/// sqlite3_close_v2, so statements still alive do not leak the connection).
class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /// Opens PATH read-write, creating the file if missing (not its directory). SQLite
  /// opens lazily: a file that is not a database is detected by the first query
  /// (error code SQLITE_NOTADB). Errors: SQLite's message ("unable to open database
  /// file").
  static Result<Db> open(const std::string& path);

  /// Runs one or more ;-separated statements that return no rows of interest.
  Result<void> exec(const char* sql);
  /// Prepares one statement. Errors: SQLite's message (syntax, missing table, ...).
  Result<Statement> prepare(std::string_view sql);
  /// Runs a one-row, one-column query (e.g. "PRAGMA user_version") and returns it.
  /// Errors: SQLite's message; "no row" when the query returned nothing.
  Result<int64_t> query_int(const char* sql);
  Result<std::string> query_text(const char* sql);

  /// Extended result code of the last failed call on this connection.
  int last_error_code() const;
  /// True while an explicit transaction is open (BEGIN without COMMIT/ROLLBACK yet).
  bool in_transaction() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  std::string message() const;

  sqlite3* db_ = nullptr;
};

}  // namespace baton::store
