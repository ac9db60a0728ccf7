#include "serve/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include "serve/assets.h"
#include "serve/auth.h"
#include "serve/context.h"
#include "serve/embedded.h"
#include "serve/problem.h"
#include "serve/router.h"
#include "store/open_store.h"
#include "util/http_server.h"
#include "webhooks/worker.h"

namespace baton::serve {

StorePool::Lease::~Lease() {
  if (!store_ || !pool_) return;
  std::lock_guard lock(pool_->mu_);
  pool_->idle_.push_back(std::move(store_));
}

Result<StorePool::Lease> StorePool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto store = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(store));
    }
  }
  auto store = store::open_store(db_path_);
  if (!store) return tl::unexpected(store.error());
  return Lease(this, std::move(*store));
}

void send_json(httplib::Response& res, int status, const nlohmann::json& value) {
  res.status = status;
  res.set_content(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void send_problem(httplib::Response& res, int status, const std::string& detail) {
  res.status = status;
  res.set_content(
      problem(status, detail).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      kProblemType);
}

namespace {

// Headers every response carries.
void common_headers(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cache-Control", "no-store");
}

// The dashboard's embedded file at the request's path (assets.h), under a strict
// Content-Security-Policy: script, style, the layout worker and API calls from this
// origin only, nothing inline, no framing.
void send_asset(const httplib::Request& req, httplib::Response& res) {
  const Asset* asset = find_asset(req.path);
  if (!asset) return send_problem(res, 404, "the dashboard has no file " + req.path);
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  res.set_content(std::string(asset->body), std::string(asset->content_type));
}

// When the pre-routing handler saw this thread's current request (cpp-httplib answers
// one connection on one pool thread, request after request); unset for requests it
// refused before routing.
thread_local std::optional<std::chrono::steady_clock::time_point> request_started;

// Counts REQ's answer in STATS under its route's template (never the concrete path).
void record_request(ServerStats& stats, const httplib::Request& req, const httplib::Response& res) {
  RouteMatch match;
  RouteError error;
  const char* route =
      match_route(req.method, req.path, &match, &error) ? match.route->path : "unmatched";
  double seconds = 0;
  if (request_started) {
    seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - *request_started).count();
    request_started.reset();
  }
  stats.record_request(route, req.method, res.status, seconds);
}

// cpp-httplib 0.11 listens with a backlog of 5: a burst of clients (a dashboard's
// reconnecting tabs, 200 event streams at once) overflows it and the kernel drops their
// SYNs (each waits a second to retry). listen(2) again on the bound socket raises the
// backlog to SOMAXCONN; the socket is found among our descriptors by its port.
void raise_listen_backlog(int port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == ::dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) continue;
    int bound = 0;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) {
      bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    }
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
  ::closedir(dir);
}

}  // namespace

struct Server::Impl {
  explicit Impl(ServeOptions o) : ctx(std::move(o)) {}
  Context ctx;
  httplib::Server http;
  int port = 0;
  std::vector<std::string> hosts;  // accepted Host header values
  std::unique_ptr<webhooks::DeliveryWorker> webhooks;
  // run() was called / has returned: stop() repeats httplib's stop until one holds.
  std::atomic<bool> run_called{false};
  std::atomic<bool> run_returned{false};

  // The checks before any handler: Host, route, auth, Origin. True when it answered.
  bool guard(const httplib::Request& req, httplib::Response& res);
  void dispatch(const httplib::Request& req, httplib::Response& res);
  void handle_session(const httplib::Request& req, httplib::Response& res);
};

bool Server::Impl::guard(const httplib::Request& req, httplib::Response& res) {
  common_headers(res);
  // DNS rebinding: a page of another site that made its name resolve to 127.0.0.1
  // still sends its own name in Host.
  if (!host_allowed(req.get_header_value("Host"), hosts)) {
    send_problem(res, 403, "the Host header does not name this server");
    return true;
  }
  RouteMatch match;
  RouteError error;
  if (!match_route(req.method, req.path, &match, &error)) {
    send_problem(res, error.status, error.detail);
    return true;
  }
  const std::string origin = req.get_header_value("Origin");
  // A browser sends Origin on every cross-origin request and on same-origin ones but
  // GET/HEAD: any Origin must be ours (CSRF).
  if (!origin.empty() && !origin_matches(origin, req.get_header_value("Host"))) {
    send_problem(res, 403, "the Origin header is not this server's");
    return true;
  }
  if (!match.route->needs_auth) return false;
  const AuthMethod auth = authenticate(ctx.options.token, req.get_header_value("Authorization"),
                                       req.get_header_value("Cookie"));
  if (auth == AuthMethod::kNone) {
    res.set_header("WWW-Authenticate", "Bearer");
    send_problem(res, 401, "a bearer token or the dashboard's session is needed");
    return true;
  }
  // A cookie-authenticated change must come from our own page: it sends Origin.
  if (auth == AuthMethod::kCookie && req.method != "GET" && req.method != "HEAD" &&
      origin.empty()) {
    send_problem(res, 403, "a change made with the session cookie needs an Origin header");
    return true;
  }
  return false;
}

void Server::Impl::handle_session(const httplib::Request& req, httplib::Response& res) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("token") ||
      !body["token"].is_string()) {
    return send_problem(res, 400, "the body must be {\"token\": \"...\"}");
  }
  if (!constant_time_equal(body["token"].get<std::string>(), ctx.options.token)) {
    return send_problem(res, 401, "wrong token");
  }
  res.status = 204;
  res.set_header("Set-Cookie", session_cookie(ctx.options.token));
}

void Server::Impl::dispatch(const httplib::Request& req, httplib::Response& res) {
  RouteMatch m;
  RouteError error;
  if (!match_route(req.method, req.path, &m, &error))
    return send_problem(res, error.status, error.detail);
  switch (m.route->id) {
    case RouteId::kHealthz:
      res.set_content("ok\n", "text/plain");
      return;
    case RouteId::kIndex:
    case RouteId::kAsset:
      return send_asset(req, res);
    case RouteId::kSession:
      return handle_session(req, res);
    case RouteId::kListRuns:
      return handle_list_runs(ctx, m, req, res);
    case RouteId::kCreateRun:
      return handle_create_run(ctx, m, req, res);
    case RouteId::kGetRun:
      return handle_get_run(ctx, m, req, res);
    case RouteId::kRunGraph:
      return handle_run_graph(ctx, m, req, res);
    case RouteId::kRunAttempts:
      return handle_run_attempts(ctx, m, req, res);
    case RouteId::kRunAction:
      return handle_run_action(ctx, m, req, res);
    case RouteId::kGetTask:
      return handle_get_task(ctx, m, req, res);
    case RouteId::kTaskAction:
      return handle_task_action(ctx, m, req, res);
    case RouteId::kAttemptLog:
      return handle_attempt_log(ctx, m, req, res);
    case RouteId::kApprovals:
      return handle_approvals(ctx, m, req, res);
    case RouteId::kEvents:
      return handle_events(ctx, m, req, res);
    case RouteId::kOpenApi:
      res.set_content(std::string(embedded::openapi_json()), "application/json");
      return;
    case RouteId::kMetrics:
      return handle_metrics(ctx, m, req, res);
    case RouteId::kDeliveries:
      return handle_deliveries(ctx, m, req, res);
    case RouteId::kRedeliver:
      return handle_redeliver(ctx, m, req, res);
    case RouteId::kCallback:
      return handle_callback(ctx, m, req, res);
  }
}

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { stop(); }

Result<void> Server::bind() {
  Impl& s = *impl_;
  const ServeOptions& o = s.ctx.options;
  if (auto r = s.ctx.hub.start(); !r) return tl::unexpected(r.error());
  {  // on SQLite and PostgreSQL alike (store/webhook_store.h)
    auto worker = webhooks::DeliveryWorker::open(o.db_path, o.webhooks);
    if (!worker) return tl::unexpected(worker.error());
    s.webhooks = std::move(*worker);
    s.webhooks->start();
  }
  // One pool thread per connection (cpp-httplib): room for every SSE client and the
  // API requests beside them.
  const size_t threads = o.max_sse_clients + 32;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.http.set_payload_max_length(o.max_body_bytes);
  s.http.set_read_timeout(10, 0);
  s.http.set_write_timeout(10, 0);
  s.http.set_keep_alive_timeout(5);
  s.http.set_keep_alive_max_count(100);
  s.http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_started = std::chrono::steady_clock::now();
    return impl_->guard(req, res) ? httplib::Server::HandlerResponse::Handled
                                  : httplib::Server::HandlerResponse::Unhandled;
  });
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    impl_->dispatch(req, res);
  };
  s.http.Get(".*", handler);
  s.http.Post(".*", handler);
  // cpp-httplib's own errors (413 for a body over the limit, 400 for a request it
  // cannot parse) become problem documents too.
  s.http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                                   httplib::Response& res) {
    if (!res.body.empty() || res.content_length_ > 0)
      return httplib::Server::HandlerResponse::Unhandled;
    common_headers(res);
    std::string detail = res.status == 413 ? "the request body is too large"
                         : res.status == 400
                             ? "bad request (a POST needs Content-Length; send {} or an empty body)"
                             : "bad request";
    if (res.status == 404) detail = "no such path";
    send_problem(res, res.status, detail);
    return httplib::Server::HandlerResponse::Handled;
  }));
  // Every answered request (guarded, handled or refused by cpp-httplib), after its
  // response was written: an SSE stream's time is its whole life.
  s.http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    record_request(impl_->ctx.stats, req, res);
  });
  s.http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = std::string("internal error: ") + e.what();
        } catch (...) {
        }
        send_problem(res, 500, what);
      });
  bind_port_alone(s.http);
  if (o.port == 0) {
    s.port = s.http.bind_to_any_port(o.host);
    if (s.port <= 0) return fail(o.host + ":0: cannot listen");
  } else {
    if (!s.http.bind_to_port(o.host, o.port)) {
      return fail(o.host + ":" + std::to_string(o.port) + ": cannot listen (in use?)");
    }
    s.port = o.port;
  }
  raise_listen_backlog(s.port);
  const std::string port = ":" + std::to_string(s.port);
  const bool v6 = o.host.find(':') != std::string::npos;
  s.hosts = {(v6 ? "[" + o.host + "]" : o.host) + port};
  if (is_loopback(o.host)) {
    s.hosts.push_back("localhost" + port);
    s.hosts.push_back("127.0.0.1" + port);
    s.hosts.push_back("[::1]" + port);
  }
  for (const std::string& h : o.allowed_hosts) {
    s.hosts.push_back(h.find(':') == std::string::npos || h.back() == ']' ? h + port : h);
  }
  return {};
}

int Server::port() const { return impl_->port; }

void Server::run() {
  impl_->run_called = true;
  if (!impl_->ctx.stopping) impl_->http.listen_after_bind();  // a stop() before: none
  impl_->run_returned = true;
}

void Server::stop() {
  impl_->ctx.stopping = true;
  if (impl_->webhooks) impl_->webhooks->stop();
  impl_->ctx.hub.stop();
  // httplib (0.11) forgets a stop() that comes before its listener runs (it has no
  // "ready" event), and run() would then serve for good: it is repeated until the
  // listener is seen running, run() returned, or run() was not called yet (it then sees
  // `stopping` and does not listen). Bounded: 10 s.
  for (int i = 0; i < 10000; ++i) {
    if (impl_->http.is_running()) {
      impl_->http.stop();
      return;
    }
    if (!impl_->run_called || impl_->run_returned) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace baton::serve
