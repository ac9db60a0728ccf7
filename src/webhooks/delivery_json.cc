#include "webhooks/delivery_json.h"

#include <string>

namespace baton::webhooks {

nlohmann::json delivery_json(const store::WebhookDelivery& d) {
  nlohmann::json j;
  j["id"] = std::to_string(d.id);
  j["webhook_id"] = d.webhook_id;
  j["endpoint_id"] = d.endpoint_id;
  j["url"] = d.url;
  j["run_id"] = d.run_id;
  j["event_seq"] = d.event_seq;
  j["type"] = d.type;
  j["status"] = d.status;
  j["attempts"] = d.attempts;
  j["created_at"] = d.created_at;
  j["next_attempt_at"] = d.next_attempt_at;
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

}  // namespace baton::webhooks
