// GET /metrics (serve/metrics.h): the Prometheus text of the store and the server's
// own counters.
#include "serve/context.h"
#include "serve/metrics.h"
#include "store/webhook_store.h"

namespace baton::serve {

void handle_metrics(Context& ctx, const RouteMatch&, const httplib::Request&,
                    httplib::Response& res) {
  auto store = ctx.stores.acquire();
  if (!store) return send_problem(res, 500, store.error().message);
  // A WebhookStore is used by one thread: one per scrape (scrapes are seconds apart).
  MetricsInputs inputs;
  auto webhooks = store::WebhookStore::open(ctx.options.db_path);
  if (!webhooks) return send_problem(res, 500, webhooks.error().message);
  auto deliveries = (*webhooks)->count_by_status();
  if (!deliveries) return send_problem(res, 500, deliveries.error().message);
  inputs.webhook_deliveries_by_status = std::move(*deliveries);
  auto text = render_metrics(**store, ctx.stats, inputs);
  if (!text) return send_problem(res, 500, text.error().message);
  res.status = 200;
  res.set_content(*text, std::string(kMetricsContentType));
}

}  // namespace baton::serve
