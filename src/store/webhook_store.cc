#include "store/webhook_store.h"

#include "store/audit.h"
#include "store/pg_store.h"
#include "store/webhook_columns.h"

namespace baton::store {

// The `events` column: "*" for every type, else ",a,b," (so instr() matches whole names).
std::string events_column(const std::vector<std::string>& events) {
  if (events.empty()) return "*";
  std::string out = ",";
  for (const std::string& e : events) out += e + ",";
  return out;
}

std::vector<std::string> events_of_column(const std::string& column) {
  std::vector<std::string> out;
  if (column == "*") return out;
  size_t start = 1;
  while (start < column.size()) {
    size_t end = column.find(',', start);
    if (end == std::string::npos) break;
    if (end > start) out.push_back(column.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

const char* webhook_status_of(WebhookAttemptResult::Next next) {
  switch (next) {
    case WebhookAttemptResult::Next::kDelivered:
      return "delivered";
    case WebhookAttemptResult::Next::kRetry:
      return "pending";
    case WebhookAttemptResult::Next::kFailed:
      return "failed";
    case WebhookAttemptResult::Next::kDisableEndpoint:
      return "disabled";
  }
  return "pending";
}

std::string webhook_endpoint_id(const std::string& url) { return sha256_hex(url).substr(0, 16); }

Result<std::unique_ptr<WebhookStore>> WebhookStore::open(const std::string& location) {
  if (is_postgres_url(location)) return open_pg_webhook_store(location);
  return open_sqlite_webhook_store(location);
}

}  // namespace baton::store
