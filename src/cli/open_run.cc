#include "cli/open_run.h"

#include <cstdio>
#include <filesystem>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/paths.h"
#include "cli/store_location.h"
#include "store/pg_connection.h"

namespace baton::cli {

namespace {

// How many candidates an ambiguous prefix lists before "...".
constexpr size_t kMaxCandidates = 10;

}  // namespace

tl::expected<store::RunRecord, int> resolve_run(store::Store& store, const std::string& arg,
                                                const std::string& db_path) {
  if (arg == "last") {
    auto runs = store.list_runs(1);
    if (!runs) {
      std::fprintf(stderr, "baton: %s\n", runs.error().message.c_str());
      return tl::unexpected(kExitInternal);
    }
    if (runs->empty()) {
      std::fprintf(stderr, "baton: no runs yet in %s\n", store::redact_pg_url(db_path).c_str());
      return tl::unexpected(kExitUsage);
    }
    return runs->front();
  }
  auto exact = store.get_run(arg);
  if (!exact) {
    std::fprintf(stderr, "baton: %s\n", exact.error().message.c_str());
    return tl::unexpected(kExitInternal);
  }
  if (*exact) return **exact;
  std::vector<store::RunRecord> matches;
  if (!arg.empty()) {
    auto runs = store.list_runs(-1);  // SQLite: a negative LIMIT is no limit
    if (!runs) {
      std::fprintf(stderr, "baton: %s\n", runs.error().message.c_str());
      return tl::unexpected(kExitInternal);
    }
    for (auto& r : *runs) {
      if (r.id.compare(0, arg.size(), arg) == 0) matches.push_back(std::move(r));
    }
  }
  if (matches.size() == 1) return std::move(matches.front());
  if (matches.empty()) {
    std::fprintf(stderr, "baton: no run '%s' in %s\n", arg.c_str(),
                 store::redact_pg_url(db_path).c_str());
    return tl::unexpected(kExitUsage);
  }
  std::string list;
  for (size_t i = 0; i < matches.size() && i < kMaxCandidates; ++i) {
    list += "\n  " + matches[i].id + "  " + matches[i].workflow_name + "  " + matches[i].status;
  }
  if (matches.size() > kMaxCandidates) list += "\n  ...";
  std::fprintf(stderr, "baton: run id prefix '%s' is ambiguous; it matches %zu runs:%s\n",
               arg.c_str(), matches.size(), list.c_str());
  return tl::unexpected(kExitUsage);
}

tl::expected<OpenedRun, int> open_run(const std::string& run_id) {
  auto db = find_state_db();
  if (!db) {
    std::fprintf(stderr, "baton: %s\n", db.error().message.c_str());
    return tl::unexpected(kExitUsage);
  }
  auto opened = open_state_store(*db);
  if (!opened) {
    std::fprintf(stderr, "baton: %s\n", opened.error().message.c_str());
    return tl::unexpected(kExitInternal);
  }
  OpenedRun out;
  out.store = std::move(*opened);
  out.db_path = *db;
  auto run = resolve_run(*out.store, run_id, *db);
  if (!run) return tl::unexpected(run.error());
  out.run = std::move(*run);
  return out;
}

std::string workflow_file(const store::RunRecord& run, const std::string& db_path) {
  namespace fs = std::filesystem;
  fs::path recorded(run.workflow_path);
  if (recorded.is_absolute()) return run.workflow_path;
  std::error_code ec;
  for (const fs::path& root :
       {fs::path(db_path).parent_path().parent_path(), fs::path(run.root_dir)}) {
    if (root.empty()) continue;
    fs::path file = root / recorded;
    if (fs::exists(file, ec)) return file.string();
  }
  return run.workflow_path;
}

}  // namespace baton::cli
