#include "webhooks/delivery_json.h"

namespace baton::webhooks {

nlohmann::json delivery_json(const store::WebhookDelivery& d) {
  nlohmann::json j;
  j["id"] = d.id;
  j["webhook_id"] = d.webhook_id;
  j["endpoint_id"] = d.endpoint_id;
  j["url"] = d.url;
  j["run_id"] = d.run_id;
  j["event_seq"] = d.event_seq;
  j["type"] = d.type;
  j["status"] = d.status;
  j["attempts"] = d.attempts;
  j["created_at"] = d.created_at;
  j["next_attempt_at"] =
      d.status == "pending" ? nlohmann::json(d.next_attempt_at) : nlohmann::json(nullptr);
  j["last_attempt_at"] =
      d.last_attempt_at > 0 ? nlohmann::json(d.last_attempt_at) : nlohmann::json(nullptr);
  j["last_status_code"] =
      d.last_status_code ? nlohmann::json(*d.last_status_code) : nlohmann::json(nullptr);
  j["last_error"] = d.last_error;
  // The store wrote the body (webhook_outbox.h); a row edited by hand may not parse.
  auto payload = nlohmann::json::parse(d.body, nullptr, /*allow_exceptions=*/false);
  j["payload"] = payload.is_discarded() ? nlohmann::json(nullptr) : payload;
  return j;
}

nlohmann::json delivery_page_json(const store::WebhookDeliveryPage& page) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& d : page.items) items.push_back(delivery_json(d));
  return {{"items", std::move(items)},
          {"next_before_id",
           page.next_before_id ? nlohmann::json(page.next_before_id) : nlohmann::json(nullptr)}};
}

}  // namespace baton::webhooks
