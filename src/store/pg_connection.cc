#include "store/pg_connection.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/libpq_loader.h"

namespace baton::store {

std::string pg_double(double value) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return buf;
}

std::string pg_text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  constexpr const char* kReplacement = "\xEF\xBF\xBD";
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    size_t len = 0;
    uint32_t min = 0;
    if (c == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      min = 0x10000;
    }
    bool valid = len > 0 && i + len <= n;
    uint32_t cp = len > 0 ? (c & (0xFF >> (len + 1))) : 0;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (valid && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) valid = false;
    if (!valid) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(s, i, len);
    i += len;
  }
  return out;
}

std::string redact_pg_url(const std::string& location) {
  const size_t scheme = location.find("://");
  if (scheme == std::string::npos) return location;
  const size_t at = location.find('@', scheme + 3);
  const size_t slash = location.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return location;
  const size_t colon = location.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return location;
  return location.substr(0, colon + 1) + "***" + location.substr(at);
}

int64_t PgRows::affected() const {
  const char* n = PQcmdTuples(result_.get());
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

std::string PgRows::text(int row, int col) const {
  if (is_null(row, col)) return "";
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

int64_t PgRows::int64(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::strtoll(PQgetvalue(result_.get(), row, col), nullptr, 10);
}

double PgRows::real(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::strtod(PQgetvalue(result_.get(), row, col), nullptr);
}

std::optional<int> PgRows::optional_int(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int32(row, col);
}

std::optional<double> PgRows::optional_real(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return real(row, col);
}

Result<PgConnection> PgConnection::connect(const std::string& conninfo) {
  if (auto loaded = load_libpq(); !loaded) return fail("cannot connect: " + loaded.error().message);
  PGconn* raw = PQconnectdb(conninfo.c_str());
  PgConnection conn(raw, conninfo);
  if (raw == nullptr) return fail("cannot connect: out of memory");
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string message = PQerrorMessage(raw);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    return fail("cannot connect: " + message);
  }
  // Quiet NOTICEs (IF NOT EXISTS and friends) instead of printing them on stderr.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  return conn;
}

PgResult<PgRows> PgConnection::query(const char* sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* raw = PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  PgRows rows(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  PgFailure failure;
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  failure.sqlstate = state ? state : "";
  // The primary message only (one line); DETAIL and HINT name values, not the cause.
  const char* primary = raw ? PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : PQerrorMessage(conn_.get());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  if (message.rfind("FATAL:  ", 0) == 0) message = message.substr(8);
  // Class 08 is "connection exception"; 57P01..57P03: the server is shutting down or
  // terminated this backend (pg_terminate_backend).
  failure.connection_lost = PQstatus(conn_.get()) == CONNECTION_BAD ||
                            failure.sqlstate.rfind("08", 0) == 0 ||
                            failure.sqlstate.rfind("57P0", 0) == 0;
  failure.error = Error(message.empty() ? "query failed" : message);
  return tl::unexpected(std::move(failure));
}

Result<void> PgConnection::exec(const char* sql, const std::vector<PgParam>& params) {
  auto rows = query(sql, params);
  if (!rows) return tl::unexpected(rows.error().error);
  return ok();
}

Result<void> PgConnection::exec_script(const char* sql) {
  PGresult* raw = PQexec(conn_.get(), sql);
  PgRows rows(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return ok();
  }
  std::string message = raw ? PQresultErrorMessage(raw) : "";
  if (message.empty()) message = PQerrorMessage(conn_.get());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  if (message.rfind("ERROR:  ", 0) == 0) message = message.substr(8);
  return fail(message.empty() ? "script failed" : message);
}

bool PgConnection::broken() const { return PQstatus(conn_.get()) == CONNECTION_BAD; }

bool PgConnection::in_transaction() const {
  const PGTransactionStatusType s = PQtransactionStatus(conn_.get());
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

Result<void> PgConnection::reconnect(int attempts, int delay_ms) {
  std::string last = "no attempt";
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) usleep(static_cast<useconds_t>(delay_ms) * 1000);
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) == CONNECTION_OK) {
      PQsetNoticeProcessor(
          conn_.get(), [](void*, const char*) {}, nullptr);
      return ok();
    }
    last = PQerrorMessage(conn_.get());
    while (!last.empty() && (last.back() == '\n' || last.back() == ' ')) last.pop_back();
  }
  return fail("cannot reconnect after " + std::to_string(attempts) + " tries: " + last);
}

}  // namespace baton::store
