// Column encodings shared by the WebhookStore implementations (webhook_store.h).
#pragma once

#include <string>
#include <vector>

#include "store/webhook_store.h"

namespace baton::store {

/// The `events` column of webhook_endpoints for EVENTS: "*" for every type (EVENTS
/// empty), else ",a,b," so a whole name matches as ",NAME," (instr()/strpos()).
std::string events_column(const std::vector<std::string>& events);

/// The types of an `events` column COLUMN; empty for "*".
std::vector<std::string> events_of_column(const std::string& column);

/// The delivery status a result leads to: delivered | pending | failed | disabled.
const char* webhook_status_of(WebhookAttemptResult::Next next);

}  // namespace baton::store
