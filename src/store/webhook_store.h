// WebhookStore: the webhook tables of the state database (store/SCHEMA.md, version 4;
// docs/postgres.md for PostgreSQL) for the senders (webhooks::DeliveryWorker), `baton
// serve`'s API and metrics. An interface with two implementations, chosen by the same
// location string as the run's Store (open()):
// - SQLite (sqlite_webhook_store.cc): its own connection to the same file as the run's
//   Store (WAL: readers never block the run; every write is one short BEGIN IMMEDIATE
//   transaction).
// - PostgreSQL (pg_webhook_store.cc): its own libpq connection to the same database;
//   claim_due() is one UPDATE over a `FOR UPDATE SKIP LOCKED` selection, so senders on
//   several machines never claim one delivery at once; a lost connection is
//   reconnected and the operation run once more.
// The deliveries themselves are created by Store::apply() with their events
// (store/webhook_outbox.h).
//
// Leases: a sender claims due deliveries (claim_due) for LEASE seconds under its own
// OWNER token before it sends them, so two senders (`baton run` and `baton serve`)
// never send the same delivery at once; a sender killed mid-delivery leaves a lease
// that simply expires, and the delivery is sent again (at least once).
//
// Thread safety: one WebhookStore is used from one thread; open one per thread.
// Times are Unix seconds given by the caller (never read from the database's clock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace baton::store {

/// An endpoint as a sender registers it from .baton/config.yaml.
struct WebhookEndpointSpec {
  std::string url;
  std::vector<std::string> events;  ///< subscribed types; empty = every type
  /// Where the secret lives: "env:NAME" or "file:PATH" (never the secret itself).
  std::string secret_ref;
};

/// An endpoint row.
struct WebhookEndpoint {
  std::string id;  ///< webhook_endpoint_id(url)
  std::string url;
  std::vector<std::string> events;  ///< empty = every type
  std::string secret_ref;           ///< "env:NAME" | "file:PATH"
  /// active | disabled (the receiver answered 410; redeliver() re-enables) | removed (no
  /// longer in the config of the last sender that registered endpoints)
  std::string status;
  std::string reason;     ///< why disabled, e.g. "410 Gone", else ""
  double updated_at = 0;  ///< Unix seconds
};

/// One delivery (one event to one endpoint).
struct WebhookDelivery {
  int64_t id = 0;          ///< row id: larger = newer; the list cursor
  std::string webhook_id;  ///< the `webhook-id` header, "msg_" + 32 hex; same on every retry
  std::string endpoint_id;
  std::string url;  ///< the endpoint's URL
  std::string secret_ref;
  std::string run_id;
  int64_t event_seq = 0;
  std::string type;  ///< run.started, task.failed, ... (webhook_outbox.h)
  std::string body;  ///< the exact bytes that are signed and sent
  /// pending (due at next_attempt_at) | delivered (a 2xx) | failed (retries exhausted)
  /// | disabled (its endpoint answered 410)
  std::string status;
  int attempts = 0;                     ///< attempts made (since the last redeliver())
  double created_at = 0;                ///< Unix seconds: the event's time
  double next_attempt_at = 0;           ///< Unix seconds; meaningful while pending
  double last_attempt_at = 0;           ///< 0 = never tried
  std::optional<int> last_status_code;  ///< HTTP status of the last attempt, if any
  std::string last_error;               ///< e.g. "timeout", "connection refused", ""
};

/// What a sender observed for one attempt, and what to do next (decided by the
/// sender's policy, webhooks/retry.h).
struct WebhookAttemptResult {
  enum class Next {
    kDelivered,        ///< a 2xx: done
    kRetry,            ///< stays pending, due at next_attempt_at
    kFailed,           ///< retries exhausted: failed for good
    kDisableEndpoint,  ///< 410: the endpoint and all its pending deliveries are disabled
  };
  Next next = Next::kRetry;
  std::optional<int> status_code;  ///< the HTTP status, when one came back
  std::string error;               ///< short reason text ("" on success)
  double next_attempt_at = 0;      ///< Unix seconds, for kRetry
};

/// A page of list_deliveries().
struct WebhookDeliveryPage {
  std::vector<WebhookDelivery> items;  ///< newest first
  /// Pass as before_id for the next page; 0 when this is the last page.
  int64_t next_before_id = 0;
};

/// A filter for list_deliveries().
struct WebhookDeliveryQuery {
  std::string status;     ///< "" = any; else pending | delivered | failed | disabled
  std::string run_id;     ///< "" = any run
  int64_t before_id = 0;  ///< the cursor: only ids below it; 0 = from the newest
  int limit = 50;         ///< 1..500 (clamped)
};

/// "0123456789abcdef": the first 16 hex digits of SHA-256(URL), an endpoint's stable id.
std::string webhook_endpoint_id(const std::string& url);

/// The webhook tables of one state database (see the file comment). Errors of every
/// method name the database and what failed.
class WebhookStore {
 public:
  /// Opens the state database at LOCATION (a file path, or a postgres:// URL as
  /// cli/store_location.h resolves it), creating and migrating it as open_store()
  /// does, with a connection of its own. Errors name the file or the URL (without its
  /// password).
  static Result<std::unique_ptr<WebhookStore>> open(const std::string& location);

  virtual ~WebhookStore() = default;

  /// Registers ENDPOINTS (one transaction): each is inserted or updated by its id (URL,
  /// events, secret reference); a disabled one stays disabled; an active endpoint not
  /// in ENDPOINTS becomes removed (its pending deliveries wait, unsent, until it comes
  /// back). NOW: Unix seconds.
  virtual Result<void> register_endpoints(const std::vector<WebhookEndpointSpec>& endpoints,
                                          double now) = 0;

  /// Every endpoint, by id.
  virtual Result<std::vector<WebhookEndpoint>> list_endpoints() = 0;

  /// Claims up to LIMIT pending deliveries of active endpoints that are due
  /// (next_attempt_at <= NOW) and not leased by another sender (lease_until <= NOW),
  /// oldest due first, leasing them to OWNER until NOW + LEASE_SECONDS, in one short
  /// transaction. The caller sends them and reports each with record_attempt().
  virtual Result<std::vector<WebhookDelivery>> claim_due(double now, double lease_seconds,
                                                         const std::string& owner, int limit) = 0;

  /// The earliest next_attempt_at (or lease end, whichever is later) of a pending
  /// delivery of an active endpoint; nullopt when none is pending.
  virtual Result<std::optional<double>> next_due_at() = 0;

  /// Applies RESULT of an attempt at NOW to delivery ID, if OWNER still holds its
  /// lease (else nothing changes and the result is false): attempts + 1, the status
  /// code and error, the new status; the lease is released. kDisableEndpoint disables
  /// the endpoint (reason "410 Gone") and every pending delivery of it, in the same
  /// transaction.
  virtual Result<bool> record_attempt(int64_t id, const std::string& owner,
                                      const WebhookAttemptResult& result, double now) = 0;

  /// Gives up OWNER's claim of delivery ID without an attempt (a sender that stops
  /// before sending it): it stays pending and due as before. False when OWNER did not
  /// hold it.
  virtual Result<bool> release_claim(int64_t id, const std::string& owner) = 0;

  /// Deliveries matching QUERY, newest first (bounded; see WebhookDeliveryQuery).
  virtual Result<WebhookDeliveryPage> list_deliveries(const WebhookDeliveryQuery& query) = 0;

  /// One delivery by row id; nullopt when there is none.
  virtual Result<std::optional<WebhookDelivery>> get_delivery(int64_t id) = 0;

  /// Redeliver: delivery ID becomes pending and due at NOW with attempts 0 and no
  /// lease (the same webhook-id and body); its endpoint, when disabled, becomes active
  /// again. False when there is no such delivery.
  virtual Result<bool> redeliver(int64_t id, double now) = 0;

  /// The number of deliveries per status now (for metrics: a gauge such as
  /// baton_webhook_deliveries{result="delivered"}, not a counter of attempts): every
  /// status in {pending, delivered, failed, disabled} is present, 0 when none.
  virtual Result<std::map<std::string, int64_t>> count_by_status() = 0;
};

/// The SQLite implementation on the state database file PATH (created and migrated as
/// open_sqlite_store() does). Errors name PATH.
Result<std::unique_ptr<WebhookStore>> open_sqlite_webhook_store(const std::string& path);

/// The PostgreSQL implementation on the database at URL (created and migrated as
/// open_pg_store() does). Errors name URL without its password.
Result<std::unique_ptr<WebhookStore>> open_pg_webhook_store(const std::string& url);

}  // namespace baton::store
