#include "store/open_store.h"

namespace baton::store {

Result<std::unique_ptr<Store>> open_store(const std::string& location, const PgStoreOptions& pg) {
  if (is_postgres_url(location)) return open_pg_store(location, pg);
  return open_sqlite_store(location);
}

}  // namespace baton::store
