// The JSON form of webhook deliveries for `baton serve`'s API and dashboard
// (GET /api/v1/webhooks/deliveries): one shape, defined once, beside the sender.
#pragma once

#include <nlohmann/json.hpp>

#include "store/webhook_store.h"

namespace baton::webhooks {

/// One delivery, as docs/openapi.json's Delivery schema (baton serve) has it, and more:
///   {"id": "12" (the row id, as a string), "webhook_id": "msg_…", "endpoint_id": "…",
///    "url": "http://…", "run_id": "…", "event_seq": 3, "type": "task.failed",
///    "status": "pending|delivered|failed|disabled", "attempts": 1,
///    "created_at": 1764955800.2 (Unix seconds), "next_attempt_at": … (when a pending
///    one is due; the last due time otherwise), "last_attempt_at": … (null when never
///    tried), "last_status_code": 503 (null when no answer), "last_error": "HTTP 503"
///    ("" when none), "payload": the body as JSON (null if it does not parse)}
/// The secret reference is left out.
nlohmann::json delivery_json(const store::WebhookDelivery& d);

}  // namespace baton::webhooks
