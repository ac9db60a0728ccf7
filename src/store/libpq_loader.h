// libpq (the PostgreSQL client library, Debian's libpq5), loaded with dlopen(3) when
// the first PostgreSQL connection is made rather than linked: a baton that uses its
// SQLite store (every command without a postgres:// --store) does not load libpq and
// the ~20 libraries it pulls in (Kerberos, LDAP, GnuTLS, ...), which cost every baton
// process about 2.3 ms to map, relocate and initialize on this project's machine kind
// (an empty program linked with -lpq starts in 3.0 ms, without it 0.7 ms), and a
// machine without libpq5 can still run baton on SQLite.
//
// libpq_loader.cc defines the libpq functions baton calls (pg_connection.cc), with the
// signatures of <libpq-fe.h>, each forwarding to the library's own once loaded.
#pragma once

#include "util/error.h"

namespace baton::store {

/// Loads libpq once per process (thread-safe; later calls return the first answer):
/// the library named by the environment variable BATON_LIBPQ when set (a path or a
/// soname, for a libpq outside the linker's search path), else "libpq.so.5".
/// Errors: "cannot load libpq (NAME): <dlerror>; install Debian's libpq5 (or set
/// BATON_LIBPQ)", or "... has no PQxxx" when a function is missing. The libpq
/// functions may be called only after this succeeded.
Result<void> load_libpq();

}  // namespace baton::store
