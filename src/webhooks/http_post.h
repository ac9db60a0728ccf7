// One webhook POST with cpp-httplib (Debian's 0.11.4, built with OpenSSL: https works,
// with the system's CA certificates and the server's certificate verified).
//
// Redirects are never followed (a 3xx is returned as such); the response body is read
// and discarded (never held); the whole exchange is bounded by the timeout.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "webhooks/retry.h"

namespace baton::webhooks {

/// Lets another thread end a request in flight (DeliveryWorker::stop). Thread-safe.
class StopSignal {
 public:
  /// Ends the request in flight, and every later one at once, until reset().
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    changed_.notify_all();
  }
  void reset() {
    std::lock_guard lock(mutex_);
    stopped_ = false;
  }
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  friend HttpOutcome post_json(const std::string&,
                               const std::vector<std::pair<std::string, std::string>>&,
                               const std::string&, double, StopSignal*);
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopped_ = false;
};

/// POSTs BODY (Content-Type application/json) to URL (http:// or https://) with HEADERS
/// (name, value); the whole exchange (connect, send, the response to its last byte)
/// takes at most TIMEOUT_SECONDS, then the socket is shut (a watchdog thread). The outcome's error,
/// when no status came back: "timeout", "connection refused or failed", "invalid URL", or httplib's
/// name of the error.
HttpOutcome post_json(const std::string& url,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body, double timeout_seconds);

}  // namespace baton::webhooks
