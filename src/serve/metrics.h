// GET /metrics: baton's state as Prometheus metrics (text format 0.0.4,
// serve/prometheus_text.h; the table of metrics is in docs/serve.md, "Metrics").
//
// Two sources: the store (Store::metrics_snapshot: totals over the whole database, so
// a restarted server shows the same values) and the server's own ServerStats
// (since it started). Names follow https://prometheus.io/docs/practices/naming/:
// prefix `baton_`, base units (seconds, USD for cost), counters end in `_total`.
// Label values are statuses, results, token types, HTTP routes (templates), methods,
// codes and workflow names: never a run or task id.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "serve/prometheus_text.h"
#include "serve/server_stats.h"
#include "store/store.h"
#include "util/error.h"

namespace baton::serve {

/// Extra inputs that come from other components (filled by the server).
struct MetricsInputs {
  /// Webhook deliveries in the outbox by their status now ("pending", "delivered",
  /// "failed", "disabled" -> n; store::WebhookStore::count_by_status): the gauge
  /// baton_webhook_deliveries{status}. A gauge, not a counter: a redelivered
  /// delivery goes back from failed to pending.
  std::map<std::string, int64_t> webhook_deliveries_by_status;
};

/// The Prometheus text exposition (format 0.0.4; Content-Type kMetricsContentType) of
/// STORE's state plus STATS and INPUTS. STORE is read once (Store::metrics_snapshot,
/// a few aggregate queries) from the calling thread. Errors: the store read failed
/// (the message names the database).
Result<std::string> render_metrics(store::Store& store, const ServerStats& stats,
                                   const MetricsInputs& inputs);

}  // namespace baton::serve
