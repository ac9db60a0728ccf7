#include "serve/server_stats.h"

#include <algorithm>

namespace baton::serve {
namespace {

// METHOD when it is one of HTTP's (RFC 9110 section 9, plus PATCH), else "other":
// the method comes from the client, so it is never a label value as sent.
std::string_view known_method(std::string_view method) {
  static constexpr std::string_view kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                  "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (std::string_view m : kMethods) {
    if (m == method) return m;
  }
  return "other";
}

}  // namespace

void ServerStats::record_request(std::string_view route, std::string_view method, int status,
                                 double seconds) {
  if (status < 100 || status > 599) status = 0;
  if (!(seconds >= 0)) seconds = 0;  // negative or NaN
  std::tuple<std::string, std::string> key{std::string(route), std::string(known_method(method))};
  std::lock_guard lock(mutex_);
  auto found = routes_.find(key);
  if (found == routes_.end()) {
    if (routes_.size() >= kMaxRouteSeries) std::get<0>(key) = "other";
    found = routes_.try_emplace(std::move(key)).first;
  }
  RouteSeries& series = found->second;
  ++series.by_status[status];
  ++series.count;
  series.seconds += seconds;
  for (size_t i = 0; i < kRequestBucketsSeconds.size(); ++i) {
    if (seconds <= kRequestBucketsSeconds[i]) ++series.buckets[i];
  }
}

void ServerStats::sse_client_opened() { sse_opened_.fetch_add(1, std::memory_order_relaxed); }
void ServerStats::sse_client_closed() { sse_closed_.fetch_add(1, std::memory_order_relaxed); }
void ServerStats::sse_client_dropped() { sse_dropped_.fetch_add(1, std::memory_order_relaxed); }
void ServerStats::sse_client_refused() { sse_refused_.fetch_add(1, std::memory_order_relaxed); }

ServerStatsSnapshot ServerStats::snapshot() const {
  ServerStatsSnapshot out;
  {
    std::lock_guard lock(mutex_);
    out.routes = routes_;
  }
  // Closed is read first: a client that opens and closes in between is never
  // counted as closed without being opened, so the gauge never goes below 0.
  const int64_t closed = sse_closed_.load();
  out.sse_opened = sse_opened_.load();
  out.sse_clients = std::max<int64_t>(out.sse_opened - closed, 0);
  out.sse_dropped = sse_dropped_.load();
  out.sse_refused = sse_refused_.load();
  return out;
}

}  // namespace baton::serve
