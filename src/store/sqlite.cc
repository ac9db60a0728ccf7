#include "store/sqlite.h"

#include <utility>

namespace baton::store {

namespace {

std::string message_of(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

}  // namespace

// ---- Statement ----

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Result<void> Statement::check_bind(int rc) {
  if (rc == SQLITE_OK) return ok();
  // sqlite3_bind_* does not always record its error on the connection.
  return fail(sqlite3_errstr(rc));
}

Result<void> Statement::bind(int index, int value) {
  return check_bind(sqlite3_bind_int(stmt_, index, value));
}

Result<void> Statement::bind(int index, int64_t value) {
  return check_bind(sqlite3_bind_int64(stmt_, index, value));
}

Result<void> Statement::bind(int index, double value) {
  return check_bind(sqlite3_bind_double(stmt_, index, value));
}

Result<void> Statement::bind(int index, std::string_view value) {
  // A zero-length text must not be bound from a null pointer (that would be NULL).
  static const char kEmpty[] = "";
  const char* data = value.empty() ? kEmpty : value.data();
  return check_bind(
      sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

Result<void> Statement::bind_null(int index) { return check_bind(sqlite3_bind_null(stmt_, index)); }

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(message_of(db_));
}

Result<void> Statement::run() {
  auto stepped = step();
  if (!stepped) return tl::unexpected(stepped.error());
  return ok();
}

void Statement::reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::int64_at(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::double_at(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::text_at(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!text) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<int> Statement::optional_int_at(int column) const {
  if (is_null(column)) return std::nullopt;
  return int_at(column);
}

std::optional<double> Statement::optional_double_at(int column) const {
  if (is_null(column)) return std::nullopt;
  return double_at(column);
}

// ---- Db ----

Db::~Db() { sqlite3_close_v2(db_); }

Db::Db(Db&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Result<Db> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);  // owns the handle even when the open failed
  if (rc != SQLITE_OK) return fail(message_of(raw));
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

std::string Db::message() const { return message_of(db_); }

Result<void> Db::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return fail(message());
  return ok();
}

Result<Statement> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return fail(message());
  }
  return Statement(db_, stmt);
}

Result<int64_t> Db::query_int(const char* sql) {
  auto stmt = prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail("no row");
  return stmt->int64_at(0);
}

Result<std::string> Db::query_text(const char* sql) {
  auto stmt = prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail("no row");
  return stmt->text_at(0);
}

int Db::last_error_code() const { return sqlite3_extended_errcode(db_); }

bool Db::in_transaction() const { return db_ && sqlite3_get_autocommit(db_) == 0; }

}  // namespace baton::store
