// The JSON form of webhook deliveries for `baton serve`'s API and dashboard
// (GET /api/v1/webhooks/deliveries): one shape, defined once, beside the sender.
#pragma once

#include <nlohmann/json.hpp>

#include "store/webhook_store.h"

namespace baton::webhooks {

/// One delivery:
///   {"id": 12, "webhook_id": "msg_…", "endpoint_id": "…", "url": "http://…",
///    "run_id": "…", "event_seq": 3, "type": "task.failed",
///    "status": "pending|delivered|failed|disabled", "attempts": 1,
///    "created_at": 1764955800.2 (Unix seconds), "next_attempt_at": … (null unless
///    pending), "last_attempt_at": … (null when never tried), "last_status_code": 503
///    (null when no answer), "last_error": "HTTP 503" ("" when none),
///    "payload": the body as JSON (the exact bytes sent are the store's)}
/// The secret reference is left out.
nlohmann::json delivery_json(const store::WebhookDelivery& d);

/// A page: {"items": [delivery_json…], "next_before_id": N or null (no more)}.
nlohmann::json delivery_page_json(const store::WebhookDeliveryPage& page);

}  // namespace baton::webhooks
