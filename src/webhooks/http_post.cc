#include "webhooks/http_post.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "util/http_url.h"

namespace baton::webhooks {

HttpOutcome post_json(const std::string& url,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body, double timeout_seconds, StopSignal* stop) {
  HttpOutcome out;
  const std::optional<HttpUrl> parts = split_http_url(url);
  if (!parts) {
    out.error = "invalid URL";
    return out;
  }
  const std::string& origin = parts->origin;
  const std::string& path = parts->path;
  if (stop && stop->stopped()) {
    out.cancelled = true;
    out.error = "cancelled: the sender stopped";
    return out;
  }
  httplib::Client client(origin);
  if (!client.is_valid()) {
    out.error = "invalid URL";
    return out;
  }
  const auto micros = static_cast<long long>(timeout_seconds * 1e6);
  const time_t sec = static_cast<time_t>(micros / 1000000);
  const time_t usec = static_cast<time_t>(micros % 1000000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_follow_location(false);
  client.set_keep_alive(false);

  httplib::Request req;
  req.method = "POST";
  req.path = path;
  for (const auto& [name, value] : headers) req.headers.emplace(name, value);
  req.headers.emplace("Content-Type", "application/json");
  req.body = body;
  // The receiver's body is not ours to keep: read and dropped.
  req.content_receiver = [](const char*, size_t, uint64_t, uint64_t) { return true; };

  // httplib's timeouts bound each read and write, not the exchange: a receiver that
  // trickles a byte at a time would hold the sender for ever. The watchdog shuts the
  // socket at the deadline or when STOP is stopped (Client::stop), which ends the request.
  std::mutex local_mutex;
  std::condition_variable local_changed;
  std::mutex& mutex = stop ? stop->mutex_ : local_mutex;
  std::condition_variable& changed = stop ? stop->changed_ : local_changed;
  bool done = false, fired = false, cancelled = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                     [&] { return done || (stop && stop->stopped_); });
    if (!done) {
      fired = true;
      cancelled = stop && stop->stopped_;
      client.stop();
    }
  });
  const auto start = std::chrono::steady_clock::now();
  httplib::Result res = client.send(req);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  changed.notify_all();
  watchdog.join();
  if (cancelled) {
    out.cancelled = true;
    out.error = "cancelled: the sender stopped";
    return out;
  }
  if (res && !fired) {
    out.status = res->status;
    out.retry_after = res->get_header_value("Retry-After");
    return out;
  }
  if (fired) {
    out.error = "timeout";
    return out;
  }
  switch (res.error()) {
    case httplib::Error::ConnectionTimeout:
      out.error = "timeout";
      break;
    case httplib::Error::Read:
    case httplib::Error::Write:
      // httplib reports a read or write that timed out as a read or write error.
      out.error = took >= timeout_seconds * 0.9 ? "timeout" : "connection closed";
      break;
    case httplib::Error::Connection:
      out.error = "connection refused or failed";
      break;
    case httplib::Error::SSLServerVerification:
      out.error = "TLS certificate not trusted";
      break;
    case httplib::Error::SSLConnection:
      out.error = "TLS handshake failed";
      break;
    default:
      out.error = httplib::to_string(res.error());
  }
  return out;
}

}  // namespace baton::webhooks
