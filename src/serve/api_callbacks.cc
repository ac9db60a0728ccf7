// POST /v1/callbacks/{run}/{task}/{attempt}: a callback handed to the waiting attempt
// through its inbox (util/callback_inbox.h; docs/serve.md, "Callbacks"), verified first
// (serve/callback_verify.h): nothing forged, stale or oversized reaches the inbox.
#include <chrono>
#include <string>

#include "serve/callback_verify.h"
#include "serve/context.h"
#include "util/callback_inbox.h"

namespace baton::serve {

namespace {

// A callback body is a status report, not a payload: bigger ones are refused (413).
constexpr size_t kMaxCallbackBodyBytes = 1024 * 1024;

}  // namespace

void handle_callback(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                     httplib::Response& res) {
  const std::string& attempt_text = m.params.at("attempt");
  int attempt = 0;
  for (char c : attempt_text) {
    if (c < '0' || c > '9' || attempt > 100000000) {
      return send_problem(res, 400, "attempt must be a number, not '" + attempt_text + "'");
    }
    attempt = attempt * 10 + (c - '0');
  }
  const std::string run_dir = ctx.options.state_dir + "/runs/" + m.params.at("run");
  const std::string& task = m.params.at("task");
  std::optional<std::string> secret = callback_secret(run_dir, task, attempt);
  if (!secret) return send_problem(res, 404, "no attempt waits for callbacks here");
  if (req.body.size() > kMaxCallbackBodyBytes) {
    return send_problem(res, 413, "a callback body may hold at most 1 MiB");
  }
  CallbackRequest request{req.get_param_value("token"),
                          req.get_header_value("X-A2A-Notification-Token"),
                          req.get_header_value("Authorization"),
                          req.get_header_value("webhook-id"),
                          req.get_header_value("webhook-timestamp"),
                          req.get_header_value("webhook-signature"),
                          req.body};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  CallbackVerdict verdict = verify_callback(
      *secret, request, std::chrono::duration_cast<std::chrono::seconds>(now).count());
  if (verdict.status != 0) return send_problem(res, verdict.status, verdict.problem);
  switch (append_callback(run_dir, task, attempt, req.body,
                          std::chrono::duration<double>(now).count(), verdict.id)) {
    case Delivery::kAccepted:
      return send_json(res, 200, {{"accepted", true}});
    case Delivery::kLate:
      return send_json(res, 200, {{"accepted", true}, {"late", true}});
    case Delivery::kUnknown:
      return send_problem(res, 404, "no attempt waits for callbacks here");
    case Delivery::kForbidden:
      return send_problem(res, 401, "wrong or missing callback secret");
    case Delivery::kBadBody:
      return send_problem(res, 400, "the body must be a JSON object");
    case Delivery::kFull:
      return send_problem(res, 507, "the attempt's inbox is full");
    case Delivery::kFailed:
      return send_problem(res, 500, "the attempt's inbox could not be written");
  }
}

}  // namespace baton::serve
