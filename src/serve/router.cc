#include "serve/router.h"

#include <algorithm>

namespace baton::serve {

const std::vector<RouteSpec>& routes() {
  static const std::vector<RouteSpec> table = {
      {RouteId::kHealthz, "GET", "/healthz", {}, false},
      {RouteId::kIndex, "GET", "/", {}, false},
      {RouteId::kAsset, "GET", "/assets/{name}", {}, false},
      {RouteId::kSession, "POST", "/api/v1/session", {}, false},
      {RouteId::kListRuns, "GET", "/api/v1/runs", {}, true},
      {RouteId::kCreateRun, "POST", "/api/v1/runs", {}, true},
      {RouteId::kGetRun, "GET", "/api/v1/runs/{run}", {}, true},
      {RouteId::kRunGraph, "GET", "/api/v1/runs/{run}/graph", {}, true},
      {RouteId::kRunAttempts, "GET", "/api/v1/runs/{run}/attempts", {}, true},
      {RouteId::kRunAction,
       "POST",
       "/api/v1/runs/{run}/{action}",
       {"cancel", "pause", "resume"},
       true},
      {RouteId::kGetTask, "GET", "/api/v1/runs/{run}/tasks/{task}", {}, true},
      {RouteId::kTaskAction,
       "POST",
       "/api/v1/runs/{run}/tasks/{task}/{action}",
       {"retry", "approve", "reject"},
       true},
      {RouteId::kAttemptLog,
       "GET",
       "/api/v1/runs/{run}/tasks/{task}/attempts/{attempt}/log",
       {},
       true},
      {RouteId::kApprovals, "GET", "/api/v1/approvals", {}, true},
      {RouteId::kDeliveries, "GET", "/api/v1/webhooks/deliveries", {}, true},
      {RouteId::kRedeliver, "POST", "/api/v1/webhooks/deliveries/{delivery}/redeliver", {}, true},
      {RouteId::kEvents, "GET", "/api/v1/events", {}, true},
      {RouteId::kMetrics, "GET", "/metrics", {}, true},
      {RouteId::kOpenApi, "GET", "/openapi.json", {}, true},
      // Authenticated by the attempt's own secret (util/callback_inbox.h), not the token.
      {RouteId::kCallback, "POST", "/v1/callbacks/{run}/{task}/{attempt}", {}, false},
  };
  return table;
}

bool is_identifier(std::string_view value) {
  if (value.empty() || value.size() > 128 || value == "." || value == "..") return false;
  if (value.front() == '-' || value.front() == '.') return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

namespace {

// PATH split at '/', without the leading one; "/" is one empty segment.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  for (;;) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

// Whether PATH's segments fit TEMPLATE's; parameters are collected, not yet checked.
bool fits(const RouteSpec& spec, const std::vector<std::string_view>& parts,
          std::map<std::string, std::string>* params) {
  const std::vector<std::string_view> pattern = segments(spec.path);
  if (pattern.size() != parts.size()) return false;
  params->clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    std::string_view p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      std::string name(p.substr(1, p.size() - 2));
      if (name == "action") {
        bool known = std::any_of(spec.actions.begin(), spec.actions.end(),
                                 [&](const char* a) { return parts[i] == a; });
        if (!known) return false;
      }
      (*params)[name] = std::string(parts[i]);
    } else if (p != parts[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool match_route(std::string_view method, std::string_view path, RouteMatch* match,
                 RouteError* error) {
  const std::vector<std::string_view> parts = segments(path);
  if (parts.empty()) {
    *error = {404, "no such path"};
    return false;
  }
  const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  bool other_method = false;
  std::map<std::string, std::string> params;
  for (const RouteSpec& spec : routes()) {
    if (!fits(spec, parts, &params)) continue;
    if (wanted != spec.method) {
      other_method = true;
      continue;
    }
    for (const auto& [name, value] : params) {
      if (name == "action") continue;
      if (!is_identifier(value)) {
        *error = {400, "'" + value.substr(0, 64) + "' is not a valid " + name +
                           " id: use letters, digits, '_', '-' and '.'"};
        return false;
      }
    }
    match->route = &spec;
    match->params = std::move(params);
    return true;
  }
  *error =
      other_method
          ? RouteError{405, "method " + std::string(method.substr(0, 16)) + " is not allowed here"}
          : RouteError{404, "no such path"};
  return false;
}

}  // namespace baton::serve
