// GET /metrics (serve/metrics.h): the Prometheus text of the store and the server's
// own counters.
#include "serve/context.h"
#include "serve/metrics.h"

namespace baton::serve {

void handle_metrics(Context& ctx, const RouteMatch&, const httplib::Request&,
                    httplib::Response& res) {
  auto store = ctx.stores.acquire();
  if (!store) return send_problem(res, 500, store.error().message);
  // Webhook deliveries come with the webhooks component (issue 13); none until then.
  const MetricsInputs inputs;
  auto text = render_metrics(**store, ctx.stats, inputs);
  if (!text) return send_problem(res, 500, text.error().message);
  res.status = 200;
  res.set_content(*text, std::string(kMetricsContentType));
}

}  // namespace baton::serve
