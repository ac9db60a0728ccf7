// POST /v1/callbacks/{run}/{task}/{attempt}: a callback handed to the waiting attempt
// through its inbox (util/callback_inbox.h; docs/serve.md, "Callbacks").
#include <chrono>
#include <string>

#include "serve/context.h"
#include "util/callback_inbox.h"

namespace baton::serve {

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
  std::string token = req.get_header_value("X-A2A-Notification-Token");
  if (token.empty()) {
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) token = auth.substr(7);
  }
  const std::string run_dir = ctx.options.state_dir + "/runs/" + m.params.at("run");
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  switch (deliver_callback(run_dir, m.params.at("task"), attempt, token, req.body, now)) {
    case Delivery::kAccepted:
      return send_json(res, 200, {{"accepted", true}});
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
