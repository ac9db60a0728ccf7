#include "webhooks/retry.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace baton::webhooks {

std::optional<double> parse_retry_after(const std::string& value, double now) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::nullopt;
    return std::stod(value);
  }
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const double at = static_cast<double>(timegm(&tm));
  return std::max(0.0, at - now);
}

store::WebhookAttemptResult decide(const HttpOutcome& outcome, int attempt, double now,
                                   double random01, const RetryPolicy& policy) {
  using Next = store::WebhookAttemptResult::Next;
  store::WebhookAttemptResult r;
  r.status_code = outcome.status;
  if (outcome.status) {
    const int code = *outcome.status;
    if (code >= 200 && code < 300) {
      r.next = Next::kDelivered;
      return r;
    }
    if (code == 410) {
      r.next = Next::kDisableEndpoint;
      r.error = "410 Gone: endpoint disabled";
      return r;
    }
    r.error = "HTTP " + std::to_string(code);
  } else {
    r.error = outcome.error.empty() ? "no response" : outcome.error;
  }
  if (attempt >= policy.max_attempts) {
    r.next = Next::kFailed;
    r.error += " (after " + std::to_string(attempt) + " attempts)";
    return r;
  }
  r.next = Next::kRetry;
  const bool throttled = outcome.status && (*outcome.status == 429 || *outcome.status >= 500);
  if (throttled) {
    if (auto wait = parse_retry_after(outcome.retry_after, now)) {
      r.next_attempt_at = now + std::min(*wait, policy.cap_seconds);
      return r;
    }
  }
  const double bound =
      std::min(policy.cap_seconds, policy.base_seconds * std::pow(2.0, attempt - 1));
  r.next_attempt_at = now + std::max(1.0, random01 * bound);
  return r;
}

}  // namespace baton::webhooks
