// The routes of `baton serve` (issue 13): a request's method and path matched against
// one table, with the path's parameters checked before any handler sees them. The
// table is also what the OpenAPI document is checked against (docs/openapi.json).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace baton::serve {

/// Every route the server answers.
enum class RouteId {
  kHealthz,      ///< GET /healthz (no auth)
  kIndex,        ///< GET / : the dashboard (static, no data, no auth)
  kAsset,        ///< GET /assets/{name} (static, no data, no auth)
  kSession,      ///< POST /api/v1/session : token -> session cookie
  kListRuns,     ///< GET /api/v1/runs
  kCreateRun,    ///< POST /api/v1/runs
  kGetRun,       ///< GET /api/v1/runs/{run}
  kRunGraph,     ///< GET /api/v1/runs/{run}/graph
  kRunAttempts,  ///< GET /api/v1/runs/{run}/attempts
  kRunAction,    ///< POST /api/v1/runs/{run}/{action} : cancel | pause | resume
  kGetTask,      ///< GET /api/v1/runs/{run}/tasks/{task}
  kTaskAction,   ///< POST /api/v1/runs/{run}/tasks/{task}/{action} : retry | approve | reject
  kAttemptLog,   ///< GET /api/v1/runs/{run}/tasks/{task}/attempts/{attempt}/log
  kApprovals,    ///< GET /api/v1/approvals
  kDeliveries,   ///< GET /api/v1/webhooks/deliveries
  kRedeliver,    ///< POST /api/v1/webhooks/deliveries/{delivery}/redeliver
  kEvents,       ///< GET /api/v1/events (Server-Sent Events)
  kMetrics,      ///< GET /metrics (Prometheus)
  kOpenApi,      ///< GET /openapi.json
  kCallback,     ///< POST /v1/callbacks/{run}/{task}/{attempt} (a per-attempt secret)
};

/// One row of the route table.
struct RouteSpec {
  RouteId id;
  const char* method;  ///< "GET" or "POST" (a GET route answers HEAD too)
  /// The path template, OpenAPI style: "/api/v1/runs/{run}". {action} is one of the
  /// route's actions; every other {name} is an identifier (see match_route()).
  const char* path;
  std::vector<const char*> actions;  ///< the values {action} may take; empty = none
  bool needs_auth;                   ///< false only for /healthz, the dashboard, the session
};

/// The route table, in the order above.
const std::vector<RouteSpec>& routes();

/// A request matched to a route: its spec and the path's parameters by name.
struct RouteMatch {
  const RouteSpec* route = nullptr;
  std::map<std::string, std::string> params;  ///< "run" -> "20261124-014512-3fa9", ...
};

/// Why match_route() found no route.
struct RouteError {
  int status = 404;    ///< 404 no such path, 405 path exists with another method, 400 bad parameter
  std::string detail;  ///< for the problem document, e.g. "'..' is not a valid run id"
};

/// Matches METHOD and PATH (already percent-decoded, without the query string).
/// Parameters must be identifiers: 1 to 128 bytes of ASCII letters, digits, '_', '-'
/// and '.', not "." or "..", not starting with '-' or '.'; anything else (a '/', a
/// NUL, "..", non-ASCII) is a 400 naming the parameter, so no handler ever sees a
/// path-like value. HEAD matches GET routes. Never throws.
bool match_route(std::string_view method, std::string_view path, RouteMatch* match,
                 RouteError* error);

/// True when VALUE is an identifier as match_route() requires.
bool is_identifier(std::string_view value);

}  // namespace baton::serve
