// The PostgreSQL implementation of WebhookStore (webhook_store.h; docs/postgres.md,
// "Webhooks"), over libpq (pg_connection.h).
//
// claim_due() is one statement: a MATERIALIZED CTE selects the due rows oldest first
// with `FOR UPDATE OF d SKIP LOCKED` (rows another sender is claiming right now are
// skipped, never waited for) and the UPDATE leases them, so two senders on two machines
// never claim one delivery at once; a lease that another sender committed is excluded
// by `lease_until <= NOW`, which PostgreSQL re-checks on the row's newest version.
// Every other write is one short transaction. A query that fails because the
// connection broke is run once more after a reconnect (the operations are safe to
// repeat: a repeated record_attempt() finds its lease released and reports false).
#include <algorithm>
#include <utility>

#include "store/pg_connection.h"
#include "store/pg_schema.h"
#include "store/webhook_columns.h"
#include "store/webhook_store.h"

namespace baton::store {
namespace {

#define BATON_PG_DELIVERY_COLUMNS                                                           \
  "d.id, d.webhook_id, d.endpoint_id, e.url, e.secret_ref, d.run_id, d.event_seq, d.type, " \
  "d.body, d.status, d.attempts, d.created_at, d.next_attempt_at, d.last_attempt_at, "      \
  "d.last_status_code, d.last_error"

constexpr const char* kUpsertEndpoint = R"sql(
INSERT INTO webhook_endpoints (id, url, events, secret_ref, status, reason, updated_at)
VALUES ($1, $2, $3, $4, 'active', '', $5::double precision)
ON CONFLICT (id) DO UPDATE SET
  url = excluded.url, events = excluded.events, secret_ref = excluded.secret_ref,
  status = CASE WHEN webhook_endpoints.status = 'disabled' THEN 'disabled' ELSE 'active' END,
  updated_at = excluded.updated_at)sql";

constexpr const char* kRemoveEndpoints =
    "UPDATE webhook_endpoints SET status = 'removed', updated_at = $2::double precision"
    " WHERE status = 'active' AND strpos($1::text, ',' || id || ',') = 0";

constexpr const char* kClaimDue = R"sql(
WITH due AS MATERIALIZED (
  SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
  WHERE d.status = 'pending' AND d.next_attempt_at <= $1::double precision
    AND d.lease_until <= $1::double precision AND e.status = 'active'
  ORDER BY d.next_attempt_at, d.id
  LIMIT $4::bigint
  FOR UPDATE OF d SKIP LOCKED)
UPDATE webhook_deliveries d SET lease_owner = $2::text, lease_until = $3::double precision
FROM due, webhook_endpoints e
WHERE d.id = due.id AND e.id = d.endpoint_id
RETURNING )sql" BATON_PG_DELIVERY_COLUMNS;

constexpr const char* kNextDue =
    "SELECT min(greatest(d.next_attempt_at, d.lease_until)) FROM webhook_deliveries d"
    " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
    " WHERE d.status = 'pending' AND e.status = 'active'";

constexpr const char* kRecordAttempt = R"sql(
UPDATE webhook_deliveries SET
  attempts = attempts + 1, status = $3::text, last_status_code = $4::bigint,
  last_error = $5::text, last_attempt_at = $6::double precision,
  next_attempt_at = CASE WHEN $3::text = 'pending' THEN $7::double precision
                         ELSE next_attempt_at END,
  lease_owner = '', lease_until = 0
WHERE id = $1::bigint AND lease_owner = $2::text AND status = 'pending')sql";

constexpr const char* kDisableEndpoint =
    "UPDATE webhook_endpoints SET status = 'disabled', reason = $2::text,"
    " updated_at = $3::double precision"
    " WHERE id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = $1::bigint)";

constexpr const char* kDisablePending =
    "UPDATE webhook_deliveries SET status = 'disabled', lease_owner = '', lease_until = 0"
    " WHERE status = 'pending'"
    " AND endpoint_id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = $1::bigint)";

constexpr const char* kReleaseClaim =
    "UPDATE webhook_deliveries SET lease_owner = '', lease_until = 0"
    " WHERE id = $1::bigint AND lease_owner = $2::text AND status = 'pending'";

constexpr const char* kListDeliveries =
    "SELECT " BATON_PG_DELIVERY_COLUMNS
    " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
    " WHERE ($1::text = '' OR d.status = $1::text) AND ($2::text = '' OR d.run_id = $2::text)"
    " AND ($3::bigint = 0 OR d.id < $3::bigint) ORDER BY d.id DESC LIMIT $4::bigint";

constexpr const char* kGetDelivery =
    "SELECT " BATON_PG_DELIVERY_COLUMNS
    " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
    " WHERE d.id = $1::bigint";

constexpr const char* kRedeliver =
    "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,"
    " next_attempt_at = $2::double precision, lease_owner = '', lease_until = 0"
    " WHERE id = $1::bigint";

constexpr const char* kReactivateEndpoint =
    "UPDATE webhook_endpoints SET status = 'active', reason = '',"
    " updated_at = $2::double precision WHERE status = 'disabled'"
    " AND id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = $1::bigint)";

constexpr const char* kCountByStatus =
    "SELECT status, count(*) FROM webhook_deliveries GROUP BY status";

WebhookDelivery read_delivery(const PgRows& rows, int row) {
  WebhookDelivery d;
  d.id = rows.int64(row, 0);
  d.webhook_id = rows.text(row, 1);
  d.endpoint_id = rows.text(row, 2);
  d.url = rows.text(row, 3);
  d.secret_ref = rows.text(row, 4);
  d.run_id = rows.text(row, 5);
  d.event_seq = rows.int64(row, 6);
  d.type = rows.text(row, 7);
  d.body = rows.text(row, 8);
  d.status = rows.text(row, 9);
  d.attempts = rows.int32(row, 10);
  d.created_at = rows.real(row, 11);
  d.next_attempt_at = rows.real(row, 12);
  d.last_attempt_at = rows.real(row, 13);
  d.last_status_code = rows.optional_int(row, 14);
  d.last_error = rows.text(row, 15);
  return d;
}

std::string num(int64_t value) { return std::to_string(value); }

class PgWebhookStore final : public WebhookStore {
 public:
  PgWebhookStore(std::string where, PgConnection conn)
      : where_(std::move(where)), conn_(std::move(conn)) {}

  Result<void> register_endpoints(const std::vector<WebhookEndpointSpec>& endpoints,
                                  double now) override {
    return transaction("cannot register webhook endpoints", [&]() -> Result<void> {
      std::string keep;  // the ids registered now, for the removal below
      for (const WebhookEndpointSpec& e : endpoints) {
        const std::string id = webhook_endpoint_id(e.url);
        if (auto r =
                conn_.exec(kUpsertEndpoint, {id, pg_text(e.url), pg_text(events_column(e.events)),
                                             pg_text(e.secret_ref), pg_double(now)});
            !r) {
          return r;
        }
        keep += "," + id + ",";
      }
      return conn_.exec(kRemoveEndpoints, {keep, pg_double(now)});
    });
  }

  Result<std::vector<WebhookEndpoint>> list_endpoints() override {
    auto rows = query("cannot list webhook endpoints",
                      "SELECT id, url, events, secret_ref, status, reason, updated_at"
                      " FROM webhook_endpoints ORDER BY id",
                      {});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<WebhookEndpoint> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), events_of_column(rows->text(i, 2)),
                     rows->text(i, 3), rows->text(i, 4), rows->text(i, 5), rows->real(i, 6)});
    }
    return out;
  }

  Result<std::vector<WebhookDelivery>> claim_due(double now, double lease_seconds,
                                                 const std::string& owner, int limit) override {
    auto rows = query(
        "cannot claim webhook deliveries", kClaimDue,
        {pg_double(now), pg_text(owner), pg_double(now + lease_seconds), num(std::max(limit, 0))});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<WebhookDelivery> claimed;
    for (int i = 0; i < rows->size(); ++i) claimed.push_back(read_delivery(*rows, i));
    // RETURNING has no order: oldest due first, as the selection chose them.
    std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
      return a.next_attempt_at != b.next_attempt_at ? a.next_attempt_at < b.next_attempt_at
                                                    : a.id < b.id;
    });
    return claimed;
  }

  Result<std::optional<double>> next_due_at() override {
    auto rows = query("cannot read the next webhook delivery", kNextDue, {});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->size() == 0) return std::optional<double>();
    return rows->optional_real(0, 0);
  }

  Result<bool> record_attempt(int64_t id, const std::string& owner,
                              const WebhookAttemptResult& result, double now) override {
    bool held = false;
    auto done = transaction("cannot record a webhook attempt", [&]() -> Result<void> {
      PgParam code;
      if (result.status_code) code = std::to_string(*result.status_code);
      auto update =
          conn_.query(kRecordAttempt,
                      {num(id), pg_text(owner), webhook_status_of(result.next), code,
                       pg_text(result.error), pg_double(now), pg_double(result.next_attempt_at)});
      if (!update) return tl::unexpected(update.error().error);
      held = update->affected() > 0;
      if (!held || result.next != WebhookAttemptResult::Next::kDisableEndpoint) return ok();
      if (auto r = conn_.exec(kDisableEndpoint, {num(id), std::string("410 Gone"), pg_double(now)});
          !r) {
        return r;
      }
      return conn_.exec(kDisablePending, {num(id)});
    });
    if (!done) return tl::unexpected(done.error());
    return held;
  }

  Result<bool> release_claim(int64_t id, const std::string& owner) override {
    auto rows = query("cannot release webhook delivery " + num(id), kReleaseClaim,
                      {num(id), pg_text(owner)});
    if (!rows) return tl::unexpected(rows.error());
    return rows->affected() > 0;
  }

  Result<WebhookDeliveryPage> list_deliveries(const WebhookDeliveryQuery& q) override {
    const int limit = std::clamp(q.limit, 1, 500);
    // One row more than asked tells whether there is a next page.
    auto rows = query("cannot list webhook deliveries", kListDeliveries,
                      {pg_text(q.status), pg_text(q.run_id), num(q.before_id), num(limit + 1)});
    if (!rows) return tl::unexpected(rows.error());
    WebhookDeliveryPage page;
    for (int i = 0; i < rows->size(); ++i) page.items.push_back(read_delivery(*rows, i));
    if (static_cast<int>(page.items.size()) > limit) {
      page.items.pop_back();
      page.next_before_id = page.items.back().id;
    }
    return page;
  }

  Result<std::optional<WebhookDelivery>> get_delivery(int64_t id) override {
    auto rows = query("cannot read webhook delivery " + num(id), kGetDelivery, {num(id)});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->size() == 0) return std::optional<WebhookDelivery>();
    return std::optional<WebhookDelivery>(read_delivery(*rows, 0));
  }

  Result<bool> redeliver(int64_t id, double now) override {
    bool found = false;
    auto done = transaction("cannot redeliver webhook " + num(id), [&]() -> Result<void> {
      auto update = conn_.query(kRedeliver, {num(id), pg_double(now)});
      if (!update) return tl::unexpected(update.error().error);
      found = update->affected() > 0;
      if (!found) return ok();
      return conn_.exec(kReactivateEndpoint, {num(id), pg_double(now)});
    });
    if (!done) return tl::unexpected(done.error());
    return found;
  }

  Result<std::map<std::string, int64_t>> count_by_status() override {
    std::map<std::string, int64_t> counts{
        {"pending", 0}, {"delivered", 0}, {"failed", 0}, {"disabled", 0}};
    auto rows = query("cannot count webhook deliveries", kCountByStatus, {});
    if (!rows) return tl::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) counts[rows->text(i, 0)] = rows->int64(i, 1);
    return counts;
  }

 private:
  static constexpr int kReconnectAttempts = 10;
  static constexpr int kReconnectDelayMs = 300;

  Error error(const std::string& what, const Error& e) const {
    return Error(where_ + ": " + what + ": " + e.message);
  }

  // Runs ONCE; when it failed because the connection broke, reconnects and runs it
  // once more. Errors: ONCE's, prefixed with WHAT.
  template <typename F>
  auto retrying(const std::string& what, F&& once) -> decltype(once()) {
    auto result = once();
    if (!result && conn_.broken()) {
      if (auto r = conn_.reconnect(kReconnectAttempts, kReconnectDelayMs); r) result = once();
    }
    if (!result) return tl::unexpected(error(what, result.error()));
    return result;
  }

  // One statement in its own (implicit) transaction.
  Result<PgRows> query(const std::string& what, const char* sql,
                       const std::vector<PgParam>& params) {
    return retrying(what, [&]() -> Result<PgRows> {
      auto rows = conn_.query(sql, params);
      if (!rows) return tl::unexpected(rows.error().error);
      return std::move(*rows);
    });
  }

  // BODY between BEGIN and COMMIT; rolled back when it fails.
  template <typename F>
  Result<void> transaction(const std::string& what, F&& body) {
    return retrying(what, [&]() -> Result<void> {
      Result<void> result = conn_.exec("BEGIN");
      if (result) result = body();
      if (result) result = conn_.exec("COMMIT");
      if (!result && !conn_.broken() && conn_.in_transaction()) (void)conn_.exec("ROLLBACK");
      return result;
    });
  }

  std::string where_;  ///< the URL without its password, for messages
  PgConnection conn_;
};

}  // namespace

Result<std::unique_ptr<WebhookStore>> open_pg_webhook_store(const std::string& url) {
  const std::string where = redact_pg_url(url);
  auto conn = PgConnection::connect(url);
  if (!conn) return fail(where + ": cannot connect: " + conn.error().message);
  if (auto r = pg_migrate(*conn, where); !r) return tl::unexpected(r.error());
  return std::make_unique<PgWebhookStore>(where, std::move(*conn));
}

}  // namespace baton::store
