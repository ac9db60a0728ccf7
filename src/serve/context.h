// What the handlers of `baton serve` share (internal to serve/): options, a pool of
// store connections, the event feed, and the helpers that write responses.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "serve/event_hub.h"
#include "serve/router.h"
#include "serve/server.h"
#include "serve/server_stats.h"
#include "store/store.h"

namespace baton::serve {

/// Store connections for the handlers' threads (a Store is used by one thread at a
/// time): acquire() takes an idle one or opens a new one; the lease gives it back.
class StorePool {
 public:
  explicit StorePool(std::string db_path) : db_path_(std::move(db_path)) {}

  /// A connection, returned to the pool when the lease is destroyed.
  class Lease {
   public:
    Lease(StorePool* pool, std::unique_ptr<store::Store> store)
        : pool_(pool), store_(std::move(store)) {}
    Lease(Lease&&) = default;
    ~Lease();
    store::Store& operator*() { return *store_; }
    store::Store* operator->() { return store_.get(); }

   private:
    StorePool* pool_;
    std::unique_ptr<store::Store> store_;
  };

  /// Errors: a new connection could not be opened.
  Result<Lease> acquire();

 private:
  friend class Lease;
  std::string db_path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<store::Store>> idle_;
};

/// The server's shared state.
struct Context {
  ServeOptions options;
  StorePool stores;
  EventHub hub;
  std::atomic<size_t> sse_clients{0};
  std::atomic<bool> stopping{false};
  ServerStats stats;  ///< for GET /metrics (metrics.h); thread-safe

  explicit Context(ServeOptions o)
      : options(std::move(o)), stores(options.db_path), hub(options.db_path) {}
};

/// Writes VALUE as the response's JSON body with STATUS.
void send_json(httplib::Response& res, int status, const nlohmann::json& value);
/// Writes an RFC 9457 problem document (problem.h) with STATUS and DETAIL.
void send_problem(httplib::Response& res, int status, const std::string& detail);

/// POST /v1/callbacks/{run}/{task}/{attempt} (api_callbacks.cc): the body goes to the
/// attempt's inbox (util/callback_inbox.h) when the X-A2A-Notification-Token header (or
/// Authorization: Bearer) is its secret. 200 accepted; 400 a body that is not a JSON
/// object or an attempt that is not a number; 401 a wrong secret; 404 no such attempt
/// registered; 507 the inbox is full.
void handle_callback(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                     httplib::Response& res);

/// The handlers, one per route (api_read.cc, api_write.cc, event_stream.cc). Each
/// writes the whole response; a store failure is a 500 problem naming it.
void handle_list_runs(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                      httplib::Response& res);
void handle_get_run(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                    httplib::Response& res);
void handle_run_graph(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                      httplib::Response& res);
void handle_run_attempts(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                         httplib::Response& res);
void handle_get_task(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                     httplib::Response& res);
void handle_attempt_log(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                        httplib::Response& res);
void handle_approvals(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                      httplib::Response& res);
void handle_create_run(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                       httplib::Response& res);
void handle_run_action(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                       httplib::Response& res);
void handle_task_action(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                        httplib::Response& res);
/// GET /metrics: the Prometheus text (metrics.h) of the store and ctx.stats
/// (metrics_route.cc).
void handle_metrics(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                    httplib::Response& res);
void handle_events(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                   httplib::Response& res);
void handle_deliveries(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                       httplib::Response& res);
void handle_redeliver(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                      httplib::Response& res);

/// The run ID from STORE; nullopt after answering 404 (no such run) or 500 (the read
/// failed).
std::optional<store::RunRecord> find_run(store::Store& store, const std::string& id,
                                         httplib::Response& res);

/// True while RUN's orchestrator (its pid and start time, never the pid alone) runs.
bool orchestrator_alive(const store::RunRecord& run);

/// The run's JSON (RunSummary + inputs, live, tasks) as GET /api/v1/runs/{run} answers
/// it; nullopt when there is no such run. Errors: the store failed.
Result<std::optional<nlohmann::json>> run_json(store::Store& store, const std::string& run_id);

}  // namespace baton::serve
