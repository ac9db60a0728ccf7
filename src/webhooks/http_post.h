// One webhook POST with cpp-httplib (Debian's 0.11.4, built with OpenSSL): https works,
// the server's certificate verified against OpenSSL's default CA paths (the system's,
// or SSL_CERT_FILE / SSL_CERT_DIR), and its name or IP (webhooks/https_test.cc).
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
/// takes at most TIMEOUT_SECONDS, then the socket is shut (a watchdog thread). The
/// outcome's error, when no status came back: "timeout", "connection refused or failed",
/// "TLS certificate not trusted", "TLS handshake failed", "invalid URL", or httplib's
/// name of the error. STOP (optional): when it is stopped,
/// the request ends at once (its socket is shut; a connection being made ends at its own
/// timeout) with outcome.cancelled set.
HttpOutcome post_json(const std::string& url,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body, double timeout_seconds, StopSignal* stop = nullptr);

}  // namespace baton::webhooks
