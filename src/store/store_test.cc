// Tests of the SQLite store against real database files in scratch directories.
#include "store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "store/audit.h"
#include "store/sqlite.h"

namespace baton::store {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace fs = std::filesystem;

/// A scratch directory from mkdtemp, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "baton-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

RunRecord make_run(const std::string& id, double created_at) {
  RunRecord r;
  r.id = id;
  r.workflow_name = "build";
  r.workflow_path = "/repo/build.baton.yaml";
  r.workflow_sha256 = "ab12";
  r.status = "running";
  r.inputs = {{"n", 3}};
  r.root_dir = "/repo";
  r.run_dir = "/repo/.baton/runs/" + id;
  r.created_at = created_at;
  r.orchestrator_pid = 4242;
  return r;
}

TaskRecord make_task(const std::string& run_id, const std::string& task_id, int position) {
  TaskRecord t;
  t.run_id = run_id;
  t.task_id = task_id;
  t.position = position;
  t.status = "pending";
  return t;
}

AttemptRecord make_attempt(const std::string& run_id, const std::string& task_id, int number) {
  AttemptRecord a;
  a.run_id = run_id;
  a.task_id = task_id;
  a.number = number;
  a.status = "running";
  return a;
}

Event make_event(const std::string& run_id, const std::string& kind) {
  Event e;
  e.run_id = run_id;
  e.kind = kind;
  e.time = 100.5;
  return e;
}

std::unique_ptr<Store> open_or_die(const std::string& path, StoreOptions options = {}) {
  auto store = open_sqlite_store(path, options);
  EXPECT_TRUE(store.has_value()) << store.error().message;
  if (!store) std::abort();
  return std::move(*store);
}

/// A raw connection for poking at the file behind the store's back.
Db raw_db(const std::string& path) {
  auto db = Db::open(path);
  if (!db) std::abort();
  return std::move(*db);
}

/// Applies BATCH and fails the test (with the message) if it did not succeed.
void apply_ok(Store& store, const Batch& batch) {
  auto r = store.apply(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

std::vector<int64_t> seqs(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

TEST(SqliteStoreTest, NullsAreStoredAsSqlNull) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Batch batch;
  batch.run = make_run("r1", 1);
  batch.tasks = {make_task("r1", "a", 0)};
  batch.attempts = {make_attempt("r1", "a", 1)};
  apply_ok(*store, batch);

  Db db = raw_db(path);
  auto nulls = db.query_int(
      "SELECT (SELECT COUNT(*) FROM tasks WHERE exit_code IS NULL) +"
      " (SELECT COUNT(*) FROM attempts WHERE exit_code IS NULL AND cost_usd IS NULL)");
  ASSERT_TRUE(nulls.has_value()) << nulls.error().message;
  EXPECT_EQ(*nulls, 2);
  auto inputs = db.query_text("SELECT inputs FROM runs");
  ASSERT_TRUE(inputs.has_value()) << inputs.error().message;
  EXPECT_EQ(*inputs, R"({"n":3})");
}

TEST(SqliteStoreTest, ReopeningKeepsEverythingAndSchemaVersionIsThree) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    Batch batch;
    batch.run = make_run("r1", 1);
    batch.tasks = {make_task("r1", "a", 0)};
    batch.attempts = {make_attempt("r1", "a", 1)};
    batch.events = {make_event("r1", "run.created")};
    apply_ok(*store, batch);
  }
  for (int i = 0; i < 2; ++i) {  // opening an up-to-date file migrates nothing
    auto store = open_or_die(path);
    auto runs = store->list_runs(10);
    ASSERT_TRUE(runs.has_value());
    ASSERT_EQ(runs->size(), 1u);
    EXPECT_EQ((*runs)[0].id, "r1");
    EXPECT_EQ(store->list_tasks("r1")->size(), 1u);
    EXPECT_EQ(store->list_attempts("r1", "")->size(), 1u);
    EXPECT_EQ(store->list_events("r1", 0)->size(), 1u);
  }
  Db db = raw_db(path);
  auto version = db.query_int("PRAGMA user_version");
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(*version, 5);
}

TEST(SqliteStoreTest, SchemaTwoDatabaseGainsTaskSpecHashAndGate) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    Batch batch;
    batch.run = make_run("r1", 1);
    batch.tasks = {make_task("r1", "a", 0)};
    apply_ok(*store, batch);
  }
  {  // what schema version 2 wrote
    Db db = raw_db(path);
    ASSERT_TRUE(
        db.exec("ALTER TABLE tasks DROP COLUMN spec_sha256;"
                " ALTER TABLE tasks DROP COLUMN gate; ALTER TABLE tasks DROP COLUMN dependencies;"
                " DROP TABLE webhook_deliveries;"
                " DROP TABLE webhook_endpoints; PRAGMA user_version = 2")
            .has_value());
  }
  auto store = open_or_die(path);
  auto task = store->get_task("r1", "a");
  ASSERT_TRUE(task.has_value() && task->has_value());
  EXPECT_EQ((*task)->spec_sha256, "");
  EXPECT_EQ((*task)->gate, "");
  EXPECT_FALSE((*task)->dependencies.has_value());  // unknown for rows written before v5
  TaskRecord approved = **task;
  approved.status = "waiting";
  approved.spec_sha256 = std::string(64, 'a');
  approved.gate = "approved";
  Batch batch;
  batch.tasks = {approved};
  apply_ok(*store, batch);
  auto again = store->get_task("r1", "a");
  ASSERT_TRUE(again.has_value() && again->has_value());
  EXPECT_EQ((*again)->status, "waiting");
  EXPECT_EQ((*again)->spec_sha256, std::string(64, 'a'));
  EXPECT_EQ((*again)->gate, "approved");
}

TEST(SqliteStoreTest, EmptyExistingFileBecomesAStore) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  std::ofstream(path).close();  // zero bytes: a valid, empty SQLite database
  auto store = open_or_die(path);
  Batch batch;
  batch.run = make_run("r1", 1);
  apply_ok(*store, batch);
  EXPECT_GT(fs::file_size(path), 0u);
}

TEST(SqliteStoreTest, WalModeIsOn) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Db db = raw_db(path);  // journal_mode=WAL is persistent: visible to every connection
  auto mode = db.query_text("PRAGMA journal_mode");
  ASSERT_TRUE(mode.has_value()) << mode.error().message;
  EXPECT_EQ(*mode, "wal");
}

TEST(SqliteStoreTest, CreatesMissingParentDirectories) {
  TempDir dir;
  const std::string path = dir.file("deep/er/state.db");
  auto store = open_sqlite_store(path);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_TRUE(fs::exists(path));
}

TEST(SqliteStoreTest, ParentThatIsAFileIsAnError) {
  TempDir dir;
  std::ofstream(dir.file("plain")) << "x";
  const std::string path = dir.file("plain/state.db");
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error().message,
              StartsWith(path + ": cannot create directory " + dir.file("plain") + ": "));
}

TEST(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { open_or_die(path); }
  {
    Db db = raw_db(path);
    ASSERT_TRUE(db.exec("PRAGMA user_version = 99").has_value());
  }
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message,
            path + ": schema version 99 is newer than this baton supports (5)");
}

TEST(SqliteStoreTest, GarbageFileIsNotABatonDatabase) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 512; ++i) out << "this is not sqlite ";
  }
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message, path + ": not a baton state database");
}

TEST(SqliteStoreTest, SomeoneElsesSqliteFileIsNotABatonDatabase) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  {
    Db db = raw_db(path);
    ASSERT_TRUE(db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)").has_value());
  }
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message, path + ": not a baton state database");
  Db db = raw_db(path);  // and we did not add our tables to it
  auto tables = db.query_int("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'");
  ASSERT_TRUE(tables.has_value());
  EXPECT_EQ(*tables, 1);
}

TEST(SqliteStoreTest, CorruptJsonColumnIsAnErrorNotAThrow) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path);
  Batch batch;
  batch.run = make_run("r1", 1);
  apply_ok(*store, batch);
  {
    Db db = raw_db(path);
    ASSERT_TRUE(db.exec("UPDATE runs SET inputs = '{broken'").has_value());
  }
  auto run = store->get_run("r1");
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().message, path + ": cannot read run r1: inputs of run r1 is not valid JSON");
}

/// A child process that holds BEGIN EXCLUSIVE on a database until told to commit.
class LockHolder {
 public:
  explicit LockHolder(const std::string& path) {
    if (pipe(ready_) != 0 || pipe(release_) != 0) std::abort();
    pid_ = fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      close(ready_[0]);
      close(release_[1]);
      sqlite3* db = nullptr;
      char byte = 'x';
      bool locked = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
                    sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK;
      if (!locked) byte = 'e';
      if (write(ready_[1], &byte, 1) != 1) _exit(2);
      if (read(release_[0], &byte, 1) < 0) _exit(3);  // EOF or a byte: commit
      int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      sqlite3_close(db);
      _exit(locked && rc == SQLITE_OK ? 0 : 1);
    }
    close(ready_[1]);
    close(release_[0]);
    char byte = 0;
    locked_ = read(ready_[0], &byte, 1) == 1 && byte == 'x';
  }
  ~LockHolder() { release(); }
  bool locked() const { return locked_; }
  /// Lets the child commit and reaps it; returns its exit code.
  int release() {
    if (pid_ <= 0) return exit_code_;
    close(release_[1]);
    close(ready_[0]);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

 private:
  int ready_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  pid_t pid_ = 0;
  bool locked_ = false;
  int exit_code_ = -1;
};

// A new state database appears whole: another process polling for the file (`baton
// status` while `baton run` starts) never finds it empty or half made, where SQLite
// may answer "not a baton state database". A thread watches the path while the store
// creates it: every size it sees is a whole number of pages, never 0.
TEST(SqliteStoreTest, NewDatabaseFileAppearsWhole) {
  for (int i = 0; i < 20; ++i) {
    TempDir dir;
    const std::string path = dir.file("state.db");
    std::atomic<bool> done{false};
    std::atomic<int> partial{0};
    std::thread watcher([&] {
      while (!done.load()) {
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && (st.st_size == 0 || st.st_size % 512 != 0)) {
          ++partial;
        }
      }
    });
    auto store = open_sqlite_store(path);
    done = true;
    watcher.join();
    ASSERT_TRUE(store.has_value()) << store.error().message;
    EXPECT_EQ(partial.load(), 0) << "iteration " << i;
    auto again = open_sqlite_store(path);  // a second process's view
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE((*again)->list_runs(10).has_value());
    // Nothing is left beside it but SQLite's own files.
    for (const auto& e : fs::directory_iterator(dir.file(""))) {
      EXPECT_EQ(e.path().filename().string().rfind("state.db.new-", 0), std::string::npos)
          << e.path();
    }
  }
}

TEST(SqliteStoreTest, WriteLockHeldByAnotherProcessFailsWithDatabaseIsLocked) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto store = open_or_die(path, StoreOptions{.busy_timeout_ms = 50});
  Batch first;
  first.run = make_run("r1", 1);
  first.events = {make_event("r1", "run.created")};
  apply_ok(*store, first);

  LockHolder holder(path);
  ASSERT_TRUE(holder.locked());
  Batch batch;
  batch.tasks = {make_task("r1", "a", 0)};
  batch.events = {make_event("r1", "task.ready")};
  auto r = store->apply(batch);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, path + ": cannot apply batch: database is locked");
  // WAL: readers are not blocked by the writer, and opening an up-to-date file
  // (as `baton status` does during a run) needs no write lock.
  auto reader = open_sqlite_store(path, StoreOptions{.busy_timeout_ms = 50});
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  auto runs = (*reader)->list_runs(10);
  ASSERT_TRUE(runs.has_value()) << runs.error().message;
  EXPECT_EQ(runs->size(), 1u);

  ASSERT_EQ(holder.release(), 0);
  apply_ok(*store, batch);  // the same batch goes through once the lock is gone
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(seqs(*events), (std::vector<int64_t>{1, 2}));
}

TEST(SqliteStoreTest, StatementWrapperBindsAndReads) {
  TempDir dir;
  Db db = raw_db(dir.file("plain.db"));
  ASSERT_TRUE(db.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, n INTEGER)").has_value());
  auto insert = db.prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
  ASSERT_TRUE(insert.has_value()) << insert.error().message;
  ASSERT_TRUE(
      insert->bind_all(int64_t{1} << 40, 2.5, std::string("hi"), std::optional<int>()).has_value());
  ASSERT_TRUE(insert->run().has_value());
  insert->reset();
  auto out_of_range = insert->bind(9, 1);
  ASSERT_FALSE(out_of_range.has_value());
  EXPECT_EQ(out_of_range.error().message, "column index out of range");

  auto select = db.prepare("SELECT i, d, s, n FROM t");
  ASSERT_TRUE(select.has_value());
  auto row = select->step();
  ASSERT_TRUE(row.has_value() && *row);
  EXPECT_EQ(select->int64_at(0), int64_t{1} << 40);
  EXPECT_EQ(select->double_at(1), 2.5);
  EXPECT_EQ(select->text_at(2), "hi");
  EXPECT_TRUE(select->is_null(3));
  EXPECT_EQ(select->optional_int_at(3), std::nullopt);
  row = select->step();
  ASSERT_TRUE(row.has_value());
  EXPECT_FALSE(*row);

  auto bad = db.prepare("SELECT nope FROM t");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "no such column: nope");
}

}  // namespace
}  // namespace baton::store
