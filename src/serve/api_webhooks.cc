// The webhook deliveries in `baton serve`'s API (docs/webhooks.md): listed newest first
// with a cursor, and sent again on request. The rows are the store's outbox
// (store/webhook_store.h); the server's own DeliveryWorker sends them.
#include <chrono>
#include <cstdlib>

#include "serve/context.h"
#include "store/webhook_store.h"
#include "webhooks/delivery_json.h"

namespace baton::serve {

namespace {

// A positive decimal row id from TEXT; 0 when it is not one.
int64_t row_id(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::strtoll(text.c_str(), nullptr, 10);
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

void handle_deliveries(Context& ctx, const RouteMatch&, const httplib::Request& req,
                       httplib::Response& res) {
  store::WebhookDeliveryQuery query;
  query.status = req.get_param_value("status");
  if (!query.status.empty() && query.status != "pending" && query.status != "delivered" &&
      query.status != "failed" && query.status != "disabled") {
    return send_problem(res, 400, "status must be one of pending, delivered, failed, disabled");
  }
  query.run_id = req.get_param_value("run");
  if (!query.run_id.empty() && !is_identifier(query.run_id)) {
    return send_problem(res, 400, "run is not a valid run id");
  }
  const std::string token = req.get_param_value("page_token");
  if (!token.empty()) {
    query.before_id = row_id(token);
    if (query.before_id == 0)
      return send_problem(res, 400, "page_token is not one this server gave");
  }
  auto store = store::WebhookStore::open(ctx.options.db_path);
  if (!store) return send_problem(res, 500, store.error().message);
  auto page = (*store)->list_deliveries(query);
  if (!page) return send_problem(res, 500, page.error().message);
  nlohmann::json list = nlohmann::json::array();
  for (const store::WebhookDelivery& d : page->items) list.push_back(webhooks::delivery_json(d));
  send_json(
      res, 200,
      {{"deliveries", std::move(list)},
       {"next_page_token", page->next_before_id ? std::to_string(page->next_before_id) : ""}});
}

void handle_redeliver(Context& ctx, const RouteMatch& m, const httplib::Request&,
                      httplib::Response& res) {
  const std::string& text = m.params.at("delivery");
  const int64_t id = row_id(text);
  if (id == 0) return send_problem(res, 400, "a delivery id is a positive number");
  auto store = store::WebhookStore::open(ctx.options.db_path);
  if (!store) return send_problem(res, 500, store.error().message);
  auto queued = (*store)->redeliver(id, now_s());
  if (!queued) return send_problem(res, 500, queued.error().message);
  if (!*queued) return send_problem(res, 404, "no delivery " + text);
  auto delivery = (*store)->get_delivery(id);
  if (!delivery || !*delivery) return send_problem(res, 500, "cannot read delivery " + text);
  send_json(res, 202, webhooks::delivery_json(**delivery));
}

}  // namespace baton::serve
