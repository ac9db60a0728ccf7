// What a delivery attempt's HTTP outcome means (Standard Webhooks' delivery rules,
// /docs/webhooks.md "Retries"):
//   2xx                   -> delivered
//   410 Gone              -> the endpoint is disabled (and its pending deliveries)
//   429, 5xx              -> retried; a Retry-After (seconds or HTTP date) is honoured
//                            exactly, else the backoff below
//   anything else (3xx, other 4xx, timeouts, network errors) -> retried with backoff
// Backoff: attempt N (1-based) failed -> the next is due after a uniformly random delay
// in [0, min(cap, base * 2^(N-1))] seconds ("full jitter"), at least 1 s; after
// max_attempts attempts the delivery is failed. Pure: the clock and the random number
// are arguments.
#pragma once

#include <optional>
#include <string>

#include "store/webhook_store.h"

namespace baton::webhooks {

/// The retry schedule; the defaults are what baton uses.
struct RetryPolicy {
  double base_seconds = 5;    ///< the first retry's upper bound
  double cap_seconds = 3600;  ///< no delay above this (Retry-After is capped too)
  int max_attempts = 12;      ///< attempts in all before the delivery fails
};

/// What one HTTP attempt gave.
struct HttpOutcome {
  std::optional<int> status;  ///< the HTTP status, nullopt when none came back
  std::string retry_after;    ///< the Retry-After header, "" if absent
  std::string error;          ///< for no status: "timeout", "connection refused", ...
  bool cancelled = false;     ///< the sender stopped it (http_post.h StopSignal): no result
};

/// Seconds to wait for a Retry-After VALUE at NOW (Unix seconds): a non-negative
/// decimal integer, or an HTTP date (RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994
/// 08:49:37 GMT"), a past date giving 0. nullopt for anything else.
std::optional<double> parse_retry_after(const std::string& value, double now);

/// The store's next step for OUTCOME of attempt ATTEMPT (1-based) made at NOW, with
/// RANDOM01 a uniform number in [0, 1) for the jitter.
store::WebhookAttemptResult decide(const HttpOutcome& outcome, int attempt, double now,
                                   double random01, const RetryPolicy& policy = {});

}  // namespace baton::webhooks
