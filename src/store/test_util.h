// Helpers shared by the store's unit tests (audit_test.cc, run_lock_test.cc):
// scratch directories and records. Test code only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite.h"
#include "store/store.h"

namespace baton::store::testing {

/// A scratch directory from mkdtemp, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "baton-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// A running run ID created at CREATED_AT.
inline RunRecord make_run(const std::string& id, double created_at = 1) {
  RunRecord r;
  r.id = id;
  r.workflow_name = "build";
  r.workflow_path = "/repo/build.baton.yaml";
  r.workflow_sha256 = "ab12";
  r.status = "running";
  r.root_dir = "/repo";
  r.run_dir = "/repo/.baton/runs/" + id;
  r.created_at = created_at;
  r.orchestrator_pid = 4242;
  return r;
}

/// An event of RUN_ID of KIND at TIME with DATA.
inline Event make_event(const std::string& run_id, const std::string& kind, double time = 100.5,
                        nlohmann::json data = nlohmann::json::object(),
                        const std::string& task_id = "") {
  Event e;
  e.run_id = run_id;
  e.kind = kind;
  e.time = time;
  e.data = std::move(data);
  e.task_id = task_id;
  return e;
}

/// Opens the store at PATH; aborts the test binary if that fails.
inline std::unique_ptr<Store> open_or_die(const std::string& path) {
  auto store = open_sqlite_store(path);
  EXPECT_TRUE(store.has_value()) << store.error().message;
  if (!store) std::abort();
  return std::move(*store);
}

/// A raw connection for editing the file behind the store's back.
inline Db raw_db(const std::string& path) {
  auto db = Db::open(path);
  if (!db) std::abort();
  return std::move(*db);
}

}  // namespace baton::store::testing
