// DeliveryWorker: sends the store's pending webhook deliveries (the outbox that
// Store::apply() fills, store/webhook_outbox.h) to their endpoints, signed as Standard
// Webhooks v1 says (webhooks/signature.h), retried as webhooks/retry.h says.
//
// Used by `baton run` and `baton resume` (one worker whose lifetime spans the run; at
// the end drain() sends what is due within a short bound and leaves the rest) and by
// `baton serve` (start() at startup, stop() at shutdown). Several workers, in one process
// or several, may run on the same database at once: each claims due deliveries under a
// lease of its own (store/webhook_store.h), so none is sent twice at once; a worker that
// is killed mid-delivery loses nothing (its lease expires and the delivery is sent
// again: at least once, receivers deduplicate on webhook-id).
//
// A worker has its own database connection and thread; its writes are short
// transactions (claim, then one per result), never held across an HTTP request. It
// never writes to the terminal.
//
// In `baton serve`:
//   auto worker = webhooks::DeliveryWorker::open(
//       db_path, webhooks::endpoint_specs(config.webhooks, project_root));
//   (*worker)->start();   // ... serve ...   (*worker)->stop();
// and, for the API (one store::WebhookStore per thread; webhooks/delivery_json.h):
//   list_deliveries({.status = "failed", .before_id = cursor, .limit = 50}),
//   redeliver(id, now), count_by_status() for the metrics.
//
// Thread safety: start(), stop(), drain() and deliver_due() are called from one owner
// thread; deliver_due() and drain() are not called while the thread runs (drain()
// stops it first).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/webhook_store.h"
#include "util/error.h"
#include "webhooks/http_post.h"
#include "webhooks/retry.h"
#include "workflow/webhook_config.h"

namespace baton::webhooks {

/// How a worker sends; the defaults are what baton uses. Tests inject the clock, the
/// random source and a short timeout.
struct WorkerOptions {
  /// Unix seconds now: due times, webhook-timestamp, backoff. Default: the system clock.
  std::function<double()> now;
  /// Uniform in [0, 1) for the backoff's jitter. Default: a seeded std::mt19937_64.
  std::function<double()> random01;
  double timeout_seconds = 15;  ///< per HTTP request (connect, each read and write)
  double lease_seconds = 60;    ///< a claim's length; must exceed timeout_seconds
  double poll_seconds = 1;      ///< how often the thread looks for new deliveries
  int batch = 16;               ///< deliveries claimed at once
  RetryPolicy policy;
};

/// The endpoints of DEFS (the config's webhooks:) as the store registers them; secret
/// files relative to ROOT (the project root) are made absolute.
std::vector<store::WebhookEndpointSpec> endpoint_specs(
    const std::vector<workflow::WebhookDef>& defs, const std::string& root);

class DeliveryWorker {
 public:
  /// Opens the state database DB_PATH (store::WebhookStore::open) and registers
  /// ENDPOINTS (store::WebhookStore::register_endpoints: endpoints no longer listed stop
  /// receiving). Does not start the thread. Errors: the store's.
  static Result<std::unique_ptr<DeliveryWorker>> open(
      const std::string& db_path, const std::vector<store::WebhookEndpointSpec>& endpoints,
      WorkerOptions options = {});

  ~DeliveryWorker();  ///< stop()
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  /// Starts the thread: it sends what is due, then looks again every poll_seconds
  /// (at once after a full batch) until stop(). No-op when already started.
  void start();
  /// Stops and joins the thread at once: a request in flight is cut off and, like the
  /// rest of its batch, left pending and due as it was, with no attempt counted (a
  /// connection still being made ends at its own timeout). No-op when not started.
  void stop();

  /// On the calling thread: claims the deliveries due now (up to batch), sends each and
  /// records its result. Returns how many were attempted (0: nothing was due).
  /// Errors: the store's (the delivery stays pending under its lease, sent again later).
  Result<int> deliver_due();

  /// Stops the thread as stop() does, except that a request in flight may finish and
  /// be recorded (a cut-off one would be sent again below: the receiver would get it
  /// twice) for up to SECONDS; then deliver_due() until nothing is due or SECONDS (wall
  /// clock, in all) have passed; each request's timeout is cut to what is left. What is
  /// not sent stays pending for the next worker. Returns how many were attempted here.
  int drain(double seconds);

  /// The last store error the thread met ("" when none); for logs and tests.
  std::string last_error() const;

  DeliveryWorker(std::unique_ptr<store::WebhookStore> store, WorkerOptions options);

 private:
  /// Releases, unsent, what is left of the batch once stopping() holds.
  Result<int> deliver_due(double timeout_seconds, int limit);
  /// Whether the thread is being stopped: nothing new is sent (stop_within() set
  /// stopping_, which it clears once the thread is joined) and a request in flight is
  /// cut off once stop_signal_ is stopped.
  bool stopping() const;
  /// Stops and joins the thread: it sends nothing new; a request in flight may finish
  /// for up to GRACE_SECONDS (wall clock), then it is cut off.
  void stop_within(double grace_seconds);
  /// The result of sending D, or nullopt when stop() cut it off.
  std::optional<store::WebhookAttemptResult> attempt(const store::WebhookDelivery& d,
                                                     double timeout_seconds);
  void loop();

  std::unique_ptr<store::WebhookStore> store_;
  WorkerOptions options_;
  std::string owner_;  ///< the lease token: "pid:random"

  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  ///< stop_within() until the thread is joined
  bool exited_ = false;    ///< loop() has returned (stop_within() waits for it)
  std::string last_error_;
  StopSignal stop_signal_;  ///< stop() cuts the thread's request in flight short
};

}  // namespace baton::webhooks
