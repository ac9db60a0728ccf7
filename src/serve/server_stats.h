// ServerStats: what `baton serve` counts about itself (HTTP requests, SSE clients)
// for GET /metrics. The store's figures are not here: serve/metrics.h reads them.
//
// Thread safety: every method may be called from any thread at once (the server's
// handler threads): the SSE figures are atomics, the request series sit behind a
// mutex held only to update or copy them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace baton::serve {

/// The upper bounds (seconds) of the HTTP request duration histogram's buckets; +Inf
/// is implied after the last.
inline constexpr std::array<double, 12> kRequestBucketsSeconds = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

/// At most this many distinct (route, method) pairs are kept; later new pairs are
/// counted under route "other", so a caller that passes concrete paths by mistake
/// cannot grow the exposition without bound.
inline constexpr size_t kMaxRouteSeries = 200;

/// One (route, method)'s requests: counts by HTTP status and a duration histogram.
struct RouteSeries {
  std::map<int, int64_t> by_status;  ///< HTTP status code -> requests answered
  std::array<int64_t, kRequestBucketsSeconds.size()> buckets{};  ///< cumulative
  int64_t count = 0;
  double seconds = 0;  ///< sum of durations
};

/// A copy of the counters at one moment (for rendering without holding the lock).
struct ServerStatsSnapshot {
  /// (route template, method) -> its series.
  std::map<std::tuple<std::string, std::string>, RouteSeries> routes;
  int64_t sse_clients = 0;  ///< open now
  int64_t sse_opened = 0;   ///< since the server started
  int64_t sse_dropped = 0;
  int64_t sse_refused = 0;
};

/// What the server itself counts since it started (lost when it restarts, as
/// Prometheus expects of counters).
class ServerStats {
 public:
  /// One answered HTTP request: ROUTE is the route's template ("/api/v1/runs/{run}"),
  /// never the concrete path; METHOD "GET", "POST", ... (any other text is counted as
  /// "other"); STATUS the HTTP code (outside 100..599: counted as 0); SECONDS its
  /// duration (negative counts as 0).
  void record_request(std::string_view route, std::string_view method, int status, double seconds);
  /// An SSE client connected (it counts as open until sse_client_closed()).
  void sse_client_opened();
  /// An SSE client that was opened is gone (it left, or was dropped: call both).
  void sse_client_closed();
  /// A slow client whose queue overflowed was disconnected.
  void sse_client_dropped();
  /// A client was refused with 503: too many clients.
  void sse_client_refused();

  ServerStatsSnapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string>, RouteSeries> routes_;  // guarded by mutex_
  std::atomic<int64_t> sse_opened_{0};
  std::atomic<int64_t> sse_closed_{0};
  std::atomic<int64_t> sse_dropped_{0};
  std::atomic<int64_t> sse_refused_{0};
};

}  // namespace baton::serve
