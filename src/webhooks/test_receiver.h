// A webhook receiver for tests: a cpp-httplib server on 127.0.0.1 (any free port) that
// records every request and answers with what the test's handler says. Test code only.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/http_server.h"

namespace baton::webhooks::testing {

/// One request as received.
struct Received {
  std::string path;
  std::string id, timestamp, signature;  ///< the webhook-* headers
  std::string body;
};

class Receiver {
 public:
  /// HANDLER fills the response of each request to any path (default: 204).
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  /// PORT 0: any free port; else that port (a receiver that comes back where it was).
  explicit Receiver(Handler handler = nullptr, int port = 0) : handler_(std::move(handler)) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mutex_);
        received_.push_back({req.path, req.get_header_value("webhook-id"),
                             req.get_header_value("webhook-timestamp"),
                             req.get_header_value("webhook-signature"), req.body});
      }
      changed_.notify_all();
      if (handler_) {
        handler_(req, res);
      } else {
        res.status = 204;
      }
    });
    bind_port_alone(server_);
    if (port == 0) {
      port_ = server_.bind_to_any_port("127.0.0.1");
    } else {
      port_ = server_.bind_to_port("127.0.0.1", port) ? port : -1;
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib has no "listening" event and stop() is a no-op before is_running().
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  /// Waits up to TIMEOUT for at least COUNT requests; true if they came.
  bool wait_for(size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
  }

 private:
  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<Received> received_;
};

}  // namespace baton::webhooks::testing
