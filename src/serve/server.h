// `baton serve` (issue 13): the orchestrator as a service for one project. An HTTP
// API under /api/v1 (JSON, RFC 9457 problems), live events as Server-Sent Events, the
// dashboard, Prometheus metrics and the OpenAPI document, all over the project's
// .baton/state.db. Runs are started, resumed and controlled through baton's own
// commands as child processes (launcher.h), so the server can stop or crash without
// stopping a run. docs/serve.md is the user's guide; docs/openapi.json the contract.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/webhook_store.h"
#include "util/error.h"
#include "workflow/loader.h"

namespace baton::serve {

/// How a server is set up. Sizes in bytes, times in seconds.
struct ServeOptions {
  std::string root_dir;            ///< the project (runs start here)
  std::string state_dir;           ///< ROOT/.baton
  std::string db_path;             ///< STATE_DIR/state.db
  std::string baton;               ///< the baton binary the server runs for actions (its own)
  std::string host = "127.0.0.1";  ///< address to bind
  int port = 8470;                 ///< 0 = any free port (see Server::port())
  std::string token;               ///< the bearer token (auth.h)
  /// Host header values accepted besides HOST:PORT (and localhost:PORT on loopback).
  std::vector<std::string> allowed_hosts;
  size_t max_body_bytes = 1u << 20;  ///< larger request bodies get 413
  size_t max_sse_clients = 256;      ///< more get 503 with Retry-After
  size_t sse_queue_events = 4096;    ///< per stream; a stream that falls behind is dropped
  double keepalive_s = 15;           ///< SSE comment interval
  double action_timeout_s = 60;      ///< bound on a cancel, pause or approve command
  /// The config's webhook endpoints (webhooks::endpoint_specs): the server sends the
  /// store's deliveries too (webhooks::DeliveryWorker), whoever recorded them.
  std::vector<store::WebhookEndpointSpec> webhooks;
  /// How a run's workflow file is loaded for its graph's edges: the project's roles and
  /// the agents baton knows, as `baton run` loads it (cli/load.h).
  workflow::LoadOptions workflow_options;
};

/// One HTTP server. Thread-safe start/stop; the handlers run on its pool's threads.
class Server {
 public:
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Opens the store (creating it when missing), starts the event feed and binds the
  /// socket. Errors: the store or the feed cannot start, the address cannot be bound
  /// ("127.0.0.1:8470: cannot listen (in use?)").
  Result<void> bind();
  /// The bound port (after bind()).
  int port() const;
  /// Serves until stop(); returns once every pool thread has finished.
  void run();
  /// Asks run() to return: stops the feed (streams end) and the listener. Safe from
  /// any thread, also before run() (which then returns at once) and while run() is
  /// starting its listener (waits, bounded by 10 s, until the listener runs, so that the
  /// stop is not lost).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::serve
