// The SQLite implementation of WebhookStore (webhook_store.h).
#include <algorithm>
#include <utility>

#include "store/sqlite.h"
#include "store/store.h"
#include "store/webhook_columns.h"
#include "store/webhook_store.h"

namespace baton::store {
namespace {

constexpr const char* kDeliveryColumns =
    "d.id, d.webhook_id, d.endpoint_id, e.url, e.secret_ref, d.run_id, d.event_seq, d.type, "
    "d.body, d.status, d.attempts, d.created_at, d.next_attempt_at, d.last_attempt_at, "
    "d.last_status_code, d.last_error";

WebhookDelivery read_delivery(const Statement& s) {
  WebhookDelivery d;
  d.id = s.int64_at(0);
  d.webhook_id = s.text_at(1);
  d.endpoint_id = s.text_at(2);
  d.url = s.text_at(3);
  d.secret_ref = s.text_at(4);
  d.run_id = s.text_at(5);
  d.event_seq = s.int64_at(6);
  d.type = s.text_at(7);
  d.body = s.text_at(8);
  d.status = s.text_at(9);
  d.attempts = s.int_at(10);
  d.created_at = s.double_at(11);
  d.next_attempt_at = s.double_at(12);
  d.last_attempt_at = s.double_at(13);
  d.last_status_code = s.optional_int_at(14);
  d.last_error = s.text_at(15);
  return d;
}

class SqliteWebhookStore final : public WebhookStore {
 public:
  SqliteWebhookStore(std::string path, Db db) : path_(std::move(path)), db_(std::move(db)) {}

  Result<void> register_endpoints(const std::vector<WebhookEndpointSpec>& endpoints,
                                  double now) override;
  Result<std::vector<WebhookEndpoint>> list_endpoints() override;
  Result<std::vector<WebhookDelivery>> claim_due(double now, double lease_seconds,
                                                 const std::string& owner, int limit) override;
  Result<std::optional<double>> next_due_at() override;
  Result<bool> record_attempt(int64_t id, const std::string& owner,
                              const WebhookAttemptResult& result, double now) override;
  Result<bool> release_claim(int64_t id, const std::string& owner) override;
  Result<WebhookDeliveryPage> list_deliveries(const WebhookDeliveryQuery& query) override;
  Result<std::optional<WebhookDelivery>> get_delivery(int64_t id) override;
  Result<bool> redeliver(int64_t id, double now) override;
  Result<std::map<std::string, int64_t>> count_by_status() override;

 private:
  template <typename F>
  Result<void> transaction(const std::string& what, F&& body);
  Error error(const std::string& what, const Error& e) const;

  std::string path_;
  Db db_;
};

}  // namespace

Result<std::unique_ptr<WebhookStore>> open_sqlite_webhook_store(const std::string& path) {
  {  // creates and migrates the file as the run's store does
    auto store = open_sqlite_store(path);
    if (!store) return tl::unexpected(store.error());
  }
  auto db = Db::open(path);
  if (!db) return fail(path + ": cannot open database: " + db.error().message);
  if (auto r = db->exec("PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;"
                        " PRAGMA foreign_keys = ON");
      !r) {
    return fail(path + ": cannot open database: " + r.error().message);
  }
  return std::make_unique<SqliteWebhookStore>(path, std::move(*db));
}

Error SqliteWebhookStore::error(const std::string& what, const Error& e) const {
  return Error(path_ + ": " + what + ": " + e.message);
}

template <typename F>
Result<void> SqliteWebhookStore::transaction(const std::string& what, F&& body) {
  if (auto begun = db_.exec("BEGIN IMMEDIATE"); !begun) {
    return tl::unexpected(error(what, begun.error()));
  }
  Result<void> result = body();
  if (result) result = db_.exec("COMMIT");
  if (!result) {
    Error failure = error(what, result.error());
    if (db_.in_transaction()) (void)db_.exec("ROLLBACK");
    return tl::unexpected(std::move(failure));
  }
  return ok();
}

Result<void> SqliteWebhookStore::register_endpoints(
    const std::vector<WebhookEndpointSpec>& endpoints, double now) {
  return transaction("cannot register webhook endpoints", [&]() -> Result<void> {
    auto upsert = db_.prepare(R"sql(
INSERT INTO webhook_endpoints (id, url, events, secret_ref, status, reason, updated_at)
VALUES (?1, ?2, ?3, ?4, 'active', '', ?5)
ON CONFLICT (id) DO UPDATE SET
  url = excluded.url, events = excluded.events, secret_ref = excluded.secret_ref,
  status = CASE WHEN status = 'disabled' THEN 'disabled' ELSE 'active' END,
  updated_at = excluded.updated_at)sql");
    if (!upsert) return tl::unexpected(upsert.error());
    std::string keep;  // the ids registered now, for the removal below
    for (const WebhookEndpointSpec& e : endpoints) {
      const std::string id = webhook_endpoint_id(e.url);
      upsert->reset();
      auto r = upsert->bind_all(id, e.url, events_column(e.events), e.secret_ref, now);
      if (r) r = upsert->run();
      if (!r) return r;
      keep += "," + id + ",";
    }
    auto remove = db_.prepare(
        "UPDATE webhook_endpoints SET status = 'removed', updated_at = ?2"
        " WHERE status = 'active' AND instr(?1, ',' || id || ',') = 0");
    if (!remove) return tl::unexpected(remove.error());
    auto r = remove->bind_all(keep, now);
    if (r) r = remove->run();
    return r;
  });
}

Result<std::vector<WebhookEndpoint>> SqliteWebhookStore::list_endpoints() {
  const std::string what = "cannot list webhook endpoints";
  auto s = db_.prepare(
      "SELECT id, url, events, secret_ref, status, reason, updated_at FROM webhook_endpoints"
      " ORDER BY id");
  if (!s) return tl::unexpected(error(what, s.error()));
  std::vector<WebhookEndpoint> out;
  for (;;) {
    auto row = s->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) break;
    out.push_back({s->text_at(0), s->text_at(1), events_of_column(s->text_at(2)), s->text_at(3),
                   s->text_at(4), s->text_at(5), s->double_at(6)});
  }
  return out;
}

Result<std::vector<WebhookDelivery>> SqliteWebhookStore::claim_due(double now, double lease_seconds,
                                                                   const std::string& owner,
                                                                   int limit) {
  std::vector<WebhookDelivery> claimed;
  auto done = transaction("cannot claim webhook deliveries", [&]() -> Result<void> {
    auto select = db_.prepare(std::string("SELECT ") + kDeliveryColumns +
                              " FROM webhook_deliveries d JOIN webhook_endpoints e"
                              " ON e.id = d.endpoint_id"
                              " WHERE d.status = 'pending' AND d.next_attempt_at <= ?1"
                              " AND d.lease_until <= ?1 AND e.status = 'active'"
                              " ORDER BY d.next_attempt_at, d.id LIMIT ?2");
    if (!select) return tl::unexpected(select.error());
    if (auto r = select->bind_all(now, limit); !r) return r;
    for (;;) {
      auto row = select->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      claimed.push_back(read_delivery(*select));
    }
    select->reset();
    auto lease = db_.prepare(
        "UPDATE webhook_deliveries SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1");
    if (!lease) return tl::unexpected(lease.error());
    for (const WebhookDelivery& d : claimed) {
      lease->reset();
      auto r = lease->bind_all(d.id, owner, now + lease_seconds);
      if (r) r = lease->run();
      if (!r) return r;
    }
    return ok();
  });
  if (!done) return tl::unexpected(done.error());
  return claimed;
}

Result<std::optional<double>> SqliteWebhookStore::next_due_at() {
  const std::string what = "cannot read the next webhook delivery";
  auto s = db_.prepare(
      "SELECT min(max(d.next_attempt_at, d.lease_until)) FROM webhook_deliveries d"
      " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
      " WHERE d.status = 'pending' AND e.status = 'active'");
  if (!s) return tl::unexpected(error(what, s.error()));
  auto row = s->step();
  if (!row) return tl::unexpected(error(what, row.error()));
  if (!*row || s->is_null(0)) return std::optional<double>();
  return std::optional<double>(s->double_at(0));
}

Result<bool> SqliteWebhookStore::record_attempt(int64_t id, const std::string& owner,
                                                const WebhookAttemptResult& result, double now) {
  bool held = false;
  auto done = transaction("cannot record a webhook attempt", [&]() -> Result<void> {
    auto update = db_.prepare(R"sql(
UPDATE webhook_deliveries SET
  attempts = attempts + 1, status = ?3, last_status_code = ?4, last_error = ?5,
  last_attempt_at = ?6, next_attempt_at = CASE WHEN ?3 = 'pending' THEN ?7 ELSE next_attempt_at END,
  lease_owner = '', lease_until = 0
WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending')sql");
    if (!update) return tl::unexpected(update.error());
    auto r = update->bind_all(id, owner, webhook_status_of(result.next), result.status_code,
                              result.error, now, result.next_attempt_at);
    if (r) r = update->run();
    if (!r) return r;
    held = sqlite3_changes(db_.handle()) > 0;
    if (!held || result.next != WebhookAttemptResult::Next::kDisableEndpoint) return ok();
    auto endpoint = db_.prepare(
        "UPDATE webhook_endpoints SET status = 'disabled', reason = ?2, updated_at = ?3"
        " WHERE id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = ?1)");
    if (!endpoint) return tl::unexpected(endpoint.error());
    r = endpoint->bind_all(id, std::string("410 Gone"), now);
    if (r) r = endpoint->run();
    if (!r) return r;
    auto others = db_.prepare(
        "UPDATE webhook_deliveries SET status = 'disabled', lease_owner = '', lease_until = 0"
        " WHERE status = 'pending'"
        " AND endpoint_id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = ?1)");
    if (!others) return tl::unexpected(others.error());
    r = others->bind(1, id);
    if (r) r = others->run();
    return r;
  });
  if (!done) return tl::unexpected(done.error());
  return held;
}

Result<bool> SqliteWebhookStore::release_claim(int64_t id, const std::string& owner) {
  const std::string what = "cannot release webhook delivery " + std::to_string(id);
  auto s = db_.prepare(
      "UPDATE webhook_deliveries SET lease_owner = '', lease_until = 0"
      " WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'");
  if (!s) return tl::unexpected(error(what, s.error()));
  auto r = s->bind_all(id, owner);
  if (r) r = s->run();
  if (!r) return tl::unexpected(error(what, r.error()));
  return sqlite3_changes(db_.handle()) > 0;
}

Result<WebhookDeliveryPage> SqliteWebhookStore::list_deliveries(const WebhookDeliveryQuery& query) {
  const std::string what = "cannot list webhook deliveries";
  const int limit = std::clamp(query.limit, 1, 500);
  auto s = db_.prepare(std::string("SELECT ") + kDeliveryColumns +
                       " FROM webhook_deliveries d JOIN webhook_endpoints e"
                       " ON e.id = d.endpoint_id"
                       " WHERE (?1 = '' OR d.status = ?1) AND (?2 = '' OR d.run_id = ?2)"
                       " AND (?3 = 0 OR d.id < ?3) ORDER BY d.id DESC LIMIT ?4");
  if (!s) return tl::unexpected(error(what, s.error()));
  // One row more than asked tells whether there is a next page.
  if (auto r = s->bind_all(query.status, query.run_id, query.before_id, limit + 1); !r) {
    return tl::unexpected(error(what, r.error()));
  }
  WebhookDeliveryPage page;
  for (;;) {
    auto row = s->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) break;
    page.items.push_back(read_delivery(*s));
  }
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_before_id = page.items.back().id;
  }
  return page;
}

Result<std::optional<WebhookDelivery>> SqliteWebhookStore::get_delivery(int64_t id) {
  const std::string what = "cannot read webhook delivery " + std::to_string(id);
  auto s = db_.prepare(std::string("SELECT ") + kDeliveryColumns +
                       " FROM webhook_deliveries d JOIN webhook_endpoints e"
                       " ON e.id = d.endpoint_id WHERE d.id = ?1");
  if (!s) return tl::unexpected(error(what, s.error()));
  if (auto r = s->bind(1, id); !r) return tl::unexpected(error(what, r.error()));
  auto row = s->step();
  if (!row) return tl::unexpected(error(what, row.error()));
  if (!*row) return std::optional<WebhookDelivery>();
  return std::optional<WebhookDelivery>(read_delivery(*s));
}

Result<bool> SqliteWebhookStore::redeliver(int64_t id, double now) {
  bool found = false;
  auto done = transaction("cannot redeliver webhook " + std::to_string(id), [&]() -> Result<void> {
    auto update = db_.prepare(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2,"
        " lease_owner = '', lease_until = 0 WHERE id = ?1");
    if (!update) return tl::unexpected(update.error());
    auto r = update->bind_all(id, now);
    if (r) r = update->run();
    if (!r) return r;
    found = sqlite3_changes(db_.handle()) > 0;
    if (!found) return ok();
    auto endpoint = db_.prepare(
        "UPDATE webhook_endpoints SET status = 'active', reason = '', updated_at = ?2"
        " WHERE status = 'disabled'"
        " AND id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = ?1)");
    if (!endpoint) return tl::unexpected(endpoint.error());
    r = endpoint->bind_all(id, now);
    if (r) r = endpoint->run();
    return r;
  });
  if (!done) return tl::unexpected(done.error());
  return found;
}

Result<std::map<std::string, int64_t>> SqliteWebhookStore::count_by_status() {
  const std::string what = "cannot count webhook deliveries";
  std::map<std::string, int64_t> counts{
      {"pending", 0}, {"delivered", 0}, {"failed", 0}, {"disabled", 0}};
  auto s = db_.prepare("SELECT status, count(*) FROM webhook_deliveries GROUP BY status");
  if (!s) return tl::unexpected(error(what, s.error()));
  for (;;) {
    auto row = s->step();
    if (!row) return tl::unexpected(error(what, row.error()));
    if (!*row) break;
    counts[s->text_at(0)] = s->int64_at(1);
  }
  return counts;
}

}  // namespace baton::store
