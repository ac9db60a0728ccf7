// How `baton serve` checks a callback before anything reaches the attempt's inbox
// (docs/serve.md, "Callbacks"; util/callback_inbox.h). The registration's secret says
// how: a "whsec_" secret means the caller signs by Standard Webhooks v1
// (standardwebhooks.com; webhooks/signature.h: webhook-id, webhook-timestamp within
// ±5 minutes, webhook-signature with one or more "v1,<base64>" items, compared in
// constant time); any other secret is a token the caller sends back as the URL's
// `token` query parameter, `X-A2A-Notification-Token` or `Authorization: Bearer`,
// compared in constant time. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace baton::serve {

/// What a callback request carries that verification looks at.
struct CallbackRequest {
  std::string query_token;  ///< the URL's ?token=
  std::string a2a_token;    ///< X-A2A-Notification-Token
  std::string authorization;
  std::string webhook_id;
  std::string webhook_timestamp;
  std::string webhook_signature;
  std::string body;  ///< the raw bytes
};

/// The verdict: status 0 = verified (ID: the delivery's webhook-id, "" when none),
/// else the HTTP status to refuse with (401 forged or missing credentials, 400 a
/// malformed or out-of-window timestamp) and the problem's detail.
struct CallbackVerdict {
  int status = 0;
  std::string problem;
  std::string id;
};

/// Checks REQUEST against the registration's SECRET at NOW (Unix seconds).
CallbackVerdict verify_callback(const std::string& secret, const CallbackRequest& request,
                                int64_t now);

}  // namespace baton::serve
