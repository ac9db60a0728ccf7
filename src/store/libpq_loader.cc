#include "store/libpq_loader.h"

#include <dlfcn.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

namespace baton::store {
namespace {

// The functions baton calls, as found in the loaded library.
struct Libpq {
  decltype(&::PQconnectdb) PQconnectdb = nullptr;
  decltype(&::PQfinish) PQfinish = nullptr;
  decltype(&::PQreset) PQreset = nullptr;
  decltype(&::PQstatus) PQstatus = nullptr;
  decltype(&::PQtransactionStatus) PQtransactionStatus = nullptr;
  decltype(&::PQerrorMessage) PQerrorMessage = nullptr;
  decltype(&::PQbackendPID) PQbackendPID = nullptr;
  decltype(&::PQsetNoticeProcessor) PQsetNoticeProcessor = nullptr;
  decltype(&::PQexec) PQexec = nullptr;
  decltype(&::PQexecParams) PQexecParams = nullptr;
  decltype(&::PQresultStatus) PQresultStatus = nullptr;
  decltype(&::PQresultErrorMessage) PQresultErrorMessage = nullptr;
  decltype(&::PQresultErrorField) PQresultErrorField = nullptr;
  decltype(&::PQntuples) PQntuples = nullptr;
  decltype(&::PQcmdTuples) PQcmdTuples = nullptr;
  decltype(&::PQgetvalue) PQgetvalue = nullptr;
  decltype(&::PQgetlength) PQgetlength = nullptr;
  decltype(&::PQgetisnull) PQgetisnull = nullptr;
  decltype(&::PQclear) PQclear = nullptr;
};

Libpq libpq;  // filled once by load_libpq(), read-only after

Result<void> load_once() {
  const char* named = std::getenv("BATON_LIBPQ");
  const std::string name = named != nullptr && *named != '\0' ? named : "libpq.so.5";
  const std::string hint = "; install Debian's libpq5 (or set BATON_LIBPQ)";
  // RTLD_LOCAL: its symbols serve only the lookups below; RTLD_NOW: a broken library
  // fails here, not at the first call. Never unloaded.
  void* handle = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return fail("cannot load libpq (" + name + "): " + (why ? why : "unknown error") + hint);
  }
  Libpq found;
  const char* missing = nullptr;
  auto resolve = [&](auto& slot, const char* symbol) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(::dlsym(handle, symbol));
    if (slot == nullptr && missing == nullptr) missing = symbol;
  };
  resolve(found.PQconnectdb, "PQconnectdb");
  resolve(found.PQfinish, "PQfinish");
  resolve(found.PQreset, "PQreset");
  resolve(found.PQstatus, "PQstatus");
  resolve(found.PQtransactionStatus, "PQtransactionStatus");
  resolve(found.PQerrorMessage, "PQerrorMessage");
  resolve(found.PQbackendPID, "PQbackendPID");
  resolve(found.PQsetNoticeProcessor, "PQsetNoticeProcessor");
  resolve(found.PQexec, "PQexec");
  resolve(found.PQexecParams, "PQexecParams");
  resolve(found.PQresultStatus, "PQresultStatus");
  resolve(found.PQresultErrorMessage, "PQresultErrorMessage");
  resolve(found.PQresultErrorField, "PQresultErrorField");
  resolve(found.PQntuples, "PQntuples");
  resolve(found.PQcmdTuples, "PQcmdTuples");
  resolve(found.PQgetvalue, "PQgetvalue");
  resolve(found.PQgetlength, "PQgetlength");
  resolve(found.PQgetisnull, "PQgetisnull");
  resolve(found.PQclear, "PQclear");
  if (missing != nullptr) {
    return fail("cannot load libpq (" + name + "): it has no " + missing + hint);
  }
  libpq = found;
  return ok();
}

}  // namespace

Result<void> load_libpq() {
  static std::once_flag once;
  static Result<void> loaded = ok();
  std::call_once(once, [] { loaded = load_once(); });
  return loaded;
}

}  // namespace baton::store

// The libpq functions baton calls (<libpq-fe.h> declares them), each the loaded
// library's own. Only called after load_libpq() succeeded (PgConnection::connect()).
extern "C" {
PGconn* PQconnectdb(const char* conninfo) { return baton::store::libpq.PQconnectdb(conninfo); }
void PQfinish(PGconn* conn) { baton::store::libpq.PQfinish(conn); }
void PQreset(PGconn* conn) { baton::store::libpq.PQreset(conn); }
ConnStatusType PQstatus(const PGconn* conn) { return baton::store::libpq.PQstatus(conn); }
PGTransactionStatusType PQtransactionStatus(const PGconn* conn) {
  return baton::store::libpq.PQtransactionStatus(conn);
}
char* PQerrorMessage(const PGconn* conn) { return baton::store::libpq.PQerrorMessage(conn); }
int PQbackendPID(const PGconn* conn) { return baton::store::libpq.PQbackendPID(conn); }
PQnoticeProcessor PQsetNoticeProcessor(PGconn* conn, PQnoticeProcessor proc, void* arg) {
  return baton::store::libpq.PQsetNoticeProcessor(conn, proc, arg);
}
PGresult* PQexec(PGconn* conn, const char* query) {
  return baton::store::libpq.PQexec(conn, query);
}
PGresult* PQexecParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                       const char* const* paramValues, const int* paramLengths,
                       const int* paramFormats, int resultFormat) {
  return baton::store::libpq.PQexecParams(conn, command, nParams, paramTypes, paramValues,
                                          paramLengths, paramFormats, resultFormat);
}
ExecStatusType PQresultStatus(const PGresult* res) {
  return baton::store::libpq.PQresultStatus(res);
}
char* PQresultErrorMessage(const PGresult* res) {
  return baton::store::libpq.PQresultErrorMessage(res);
}
char* PQresultErrorField(const PGresult* res, int fieldcode) {
  return baton::store::libpq.PQresultErrorField(res, fieldcode);
}
int PQntuples(const PGresult* res) { return baton::store::libpq.PQntuples(res); }
char* PQcmdTuples(PGresult* res) { return baton::store::libpq.PQcmdTuples(res); }
char* PQgetvalue(const PGresult* res, int tup_num, int field_num) {
  return baton::store::libpq.PQgetvalue(res, tup_num, field_num);
}
int PQgetlength(const PGresult* res, int tup_num, int field_num) {
  return baton::store::libpq.PQgetlength(res, tup_num, field_num);
}
int PQgetisnull(const PGresult* res, int tup_num, int field_num) {
  return baton::store::libpq.PQgetisnull(res, tup_num, field_num);
}
void PQclear(PGresult* res) { baton::store::libpq.PQclear(res); }
}  // extern "C"
