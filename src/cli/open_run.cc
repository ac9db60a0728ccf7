#include "cli/open_run.h"

#include <cstdio>

#include "cli/exit_codes.h"
#include "cli/paths.h"

namespace baton::cli {

tl::expected<OpenedRun, int> open_run(const std::string& run_id) {
  auto db = find_state_db();
  if (!db) {
    std::fprintf(stderr, "baton: %s\n", db.error().message.c_str());
    return tl::unexpected(kExitUsage);
  }
  auto opened = store::open_sqlite_store(*db);
  if (!opened) {
    std::fprintf(stderr, "baton: %s\n", opened.error().message.c_str());
    return tl::unexpected(kExitInternal);
  }
  OpenedRun out;
  out.store = std::move(*opened);
  out.db_path = *db;
  std::string id = run_id;
  if (id == "last") {
    auto runs = out.store->list_runs(1);
    if (!runs || runs->empty()) {
      std::fprintf(stderr, "baton: no runs yet\n");
      return tl::unexpected(kExitUsage);
    }
    id = runs->front().id;
  }
  auto run = out.store->get_run(id);
  if (!run || !*run) {
    std::fprintf(stderr, "baton: no run '%s' in %s\n", id.c_str(), db->c_str());
    return tl::unexpected(kExitUsage);
  }
  out.run = **run;
  return out;
}

}  // namespace baton::cli
