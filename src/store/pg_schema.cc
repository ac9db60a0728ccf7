#include "store/pg_schema.h"

#include <iterator>
#include <string>
#include <utility>

namespace baton::store {

namespace {

// Migration N (1-based) takes the schema from version N-1 to N. Append only: a
// released step is never edited.
constexpr const char* kPgMigrations[] = {
    // 1: SQLite's version 5, the feed id and the run leases.
    R"sql(
CREATE TABLE runs (
  id                      text COLLATE "C"             NOT NULL PRIMARY KEY,
  workflow_name           text COLLATE "C"             NOT NULL,
  workflow_path           text COLLATE "C"             NOT NULL,
  workflow_sha256         text COLLATE "C"             NOT NULL,
  status                  text COLLATE "C"             NOT NULL,
  inputs                  text COLLATE "C"             NOT NULL,
  root_dir                text COLLATE "C"             NOT NULL,
  run_dir                 text COLLATE "C"             NOT NULL,
  created_at              double precision NOT NULL,
  ended_at                double precision NOT NULL,
  orchestrator_pid        bigint           NOT NULL,
  orchestrator_start_time bigint           NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);

CREATE TABLE tasks (
  run_id       text COLLATE "C"             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  task_id      text COLLATE "C"             NOT NULL,
  position     bigint           NOT NULL,
  status       text COLLATE "C"             NOT NULL,
  attempts     bigint           NOT NULL,
  agent        text COLLATE "C"             NOT NULL,
  output       text COLLATE "C"             NOT NULL,
  exit_code    bigint,
  reason       text COLLATE "C"             NOT NULL,
  started_at   double precision NOT NULL,
  ended_at     double precision NOT NULL,
  spec_sha256  text COLLATE "C"             NOT NULL DEFAULT '',
  gate         text COLLATE "C"             NOT NULL DEFAULT '',
  dependencies text,
  PRIMARY KEY (run_id, task_id)
);
CREATE INDEX tasks_by_position ON tasks (run_id, position);
CREATE INDEX tasks_by_status ON tasks (status);

CREATE TABLE attempts (
  run_id        text COLLATE "C"             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  task_id       text COLLATE "C"             NOT NULL,
  number        bigint           NOT NULL,
  agent         text COLLATE "C"             NOT NULL,
  status        text COLLATE "C"             NOT NULL,
  exit_status   text COLLATE "C"             NOT NULL,
  exit_code     bigint,
  error_class   text COLLATE "C"             NOT NULL,
  error         text COLLATE "C"             NOT NULL,
  log_path      text COLLATE "C"             NOT NULL,
  output        text COLLATE "C"             NOT NULL,
  session_id    text COLLATE "C"             NOT NULL,
  input_tokens  bigint           NOT NULL,
  output_tokens bigint           NOT NULL,
  cached_tokens bigint           NOT NULL,
  cost_usd      double precision,
  pid           bigint           NOT NULL,
  started_at    double precision NOT NULL,
  ended_at      double precision NOT NULL,
  PRIMARY KEY (run_id, task_id, number)
);

CREATE TABLE events (
  id        bigserial        NOT NULL UNIQUE,
  run_id    text COLLATE "C"             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq       bigint           NOT NULL,
  time      double precision NOT NULL,
  task_id   text COLLATE "C"             NOT NULL,
  kind      text COLLATE "C"             NOT NULL,
  data      text COLLATE "C"             NOT NULL,
  prev_hash text,
  hash      text,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE webhook_endpoints (
  id         text COLLATE "C"             NOT NULL PRIMARY KEY,
  url        text COLLATE "C"             NOT NULL,
  events     text COLLATE "C"             NOT NULL,
  secret_ref text COLLATE "C"             NOT NULL,
  status     text COLLATE "C"             NOT NULL,
  reason     text COLLATE "C"             NOT NULL,
  updated_at double precision NOT NULL
);

CREATE TABLE webhook_deliveries (
  id               bigserial        PRIMARY KEY,
  webhook_id       text COLLATE "C"             NOT NULL UNIQUE,
  endpoint_id      text COLLATE "C"             NOT NULL REFERENCES webhook_endpoints (id),
  run_id           text COLLATE "C"             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  event_seq        bigint           NOT NULL,
  type             text COLLATE "C"             NOT NULL,
  body             text COLLATE "C"             NOT NULL,
  status           text COLLATE "C"             NOT NULL,
  attempts         bigint           NOT NULL,
  created_at       double precision NOT NULL,
  next_attempt_at  double precision NOT NULL,
  last_attempt_at  double precision NOT NULL DEFAULT 0,
  last_status_code bigint,
  last_error       text COLLATE "C"             NOT NULL DEFAULT '',
  lease_owner      text COLLATE "C"             NOT NULL DEFAULT '',
  lease_until      double precision NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_run ON webhook_deliveries (run_id);

CREATE SEQUENCE run_lease_tokens;
CREATE TABLE run_leases (
  run_id            text COLLATE "C"        NOT NULL PRIMARY KEY,
  holder_host       text COLLATE "C"        NOT NULL,
  holder_boot_id    text COLLATE "C"        NOT NULL,
  holder_pid        bigint      NOT NULL,
  holder_start_time bigint      NOT NULL,
  token             bigint      NOT NULL,
  expires_at        timestamptz NOT NULL
);
)sql",
};

constexpr int64_t kVersion = std::size(kPgMigrations);

// The schema version (-1 when there is no schema_version table) and whether a table
// named runs exists.
Result<std::pair<int64_t, bool>> read_version(PgConnection& conn) {
  auto tables = conn.query(
      "SELECT to_regclass('schema_version') IS NOT NULL, to_regclass('runs') IS NOT NULL");
  if (!tables) return tl::unexpected(tables.error().error);
  const bool has_runs = tables->text(0, 1) == "t";
  if (tables->text(0, 0) != "t") return std::make_pair(int64_t{-1}, has_runs);
  auto version = conn.query("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version) return tl::unexpected(version.error().error);
  return std::make_pair(version->int64(0, 0), has_runs);
}

}  // namespace

int64_t pg_schema_version() { return kVersion; }

Result<void> pg_migrate(PgConnection& conn, const std::string& where) {
  auto failed = [&](const Error& e) {
    if (conn.in_transaction()) (void)conn.exec("ROLLBACK");
    return fail(where + ": cannot migrate schema to version " + std::to_string(kVersion) + ": " +
                e.message);
  };
  // Cheap check first: a database at the current version needs no lock.
  auto current = read_version(conn);
  if (!current) return failed(current.error());
  if (current->first == kVersion) return ok();

  if (auto r = conn.exec("BEGIN"); !r) return failed(r.error());
  if (auto r = conn.exec("SELECT pg_advisory_xact_lock($1)", {std::to_string(kPgMigrationLockKey)});
      !r) {
    return failed(r.error());
  }
  auto version = read_version(conn);
  if (!version) return failed(version.error());
  int64_t v = version->first;
  if (v < 0) {
    if (version->second) {
      (void)conn.exec("ROLLBACK");
      return fail(where +
                  ": not a baton state database (a table runs exists without "
                  "schema_version)");
    }
    if (auto r = conn.exec("CREATE TABLE schema_version (version bigint NOT NULL)"); !r) {
      return failed(r.error());
    }
    if (auto r = conn.exec("INSERT INTO schema_version VALUES (0)"); !r) return failed(r.error());
    v = 0;
  }
  if (v > kVersion) {
    (void)conn.exec("ROLLBACK");
    return fail(where + ": schema version " + std::to_string(v) +
                " is newer than this baton supports (" + std::to_string(kVersion) + ")");
  }
  for (int64_t step = v; step < kVersion; ++step) {
    if (auto r = conn.exec_script(kPgMigrations[step]); !r) return failed(r.error());
  }
  if (auto r = conn.exec("UPDATE schema_version SET version = $1", {std::to_string(kVersion)});
      !r) {
    return failed(r.error());
  }
  if (auto r = conn.exec("COMMIT"); !r) return failed(r.error());
  return ok();
}

}  // namespace baton::store
