// Callback mode of a profile (docs/httpjob.md, "Callback mode"): the profile's optional
// `webhook` object says where in `create`'s body baton puts the attempt's callback URL
// (`baton serve`'s POST /v1/callbacks/RUN/TASK/ATTEMPT, util/callback_inbox.h), how the
// runtime's callbacks are verified, and where the job id and status are in a callback
// body:
//
//   {"url": "/webhook", "verify": "bearer", "id": "/run_id", "status": "/status"}
//   {"url": "/crewWebhookUrl", "verify": "hmac", "secret": "/webhookSecret",
//    "id": "/kickoff_id", "status": "/status"}
//
// verify "bearer": a per-attempt random token travels in the URL's query (?token=...),
// for runtimes that cannot sign or add headers (LangGraph's `webhook`); `baton serve`
// compares it in constant time. verify "hmac": the runtime signs each body by Standard
// Webhooks v1 (webhook-id, webhook-timestamp, webhook-signature; standardwebhooks.com)
// with a per-attempt "whsec_" secret that create's body carries at `secret`; serve
// checks the signature (constant time, several accepted) and a ±5 minute timestamp
// window. Pure data and parsing; no I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "util/error.h"

namespace baton::httpjob {

/// How the runtime's callbacks reach an attempt and are checked.
enum class WebhookVerify { kBearer, kHmac };

/// A profile's `webhook` (see above). Pointers are JSON pointers (RFC 6901).
struct Webhook {
  std::string url_field;  ///< where in create's body the callback URL goes
  WebhookVerify verify = WebhookVerify::kBearer;
  std::string secret_field;  ///< hmac: where in create's body the whsec_ secret goes
  std::string id_field;      ///< the job id in a callback body (compared with the job's)
  std::string status_field;  ///< the status string in a callback body ("" = not sent)
};

/// The `webhook` of profile J: nullopt when J has none. Errors name the field:
/// "webhook: missing 'url'", "webhook: verify must be bearer or hmac", "webhook: hmac
/// needs 'secret'", a pointer that does not start with "/".
Result<std::optional<Webhook>> parse_webhook(const nlohmann::json& j);

/// BODY (create's body, expanded) with URL at W.url_field and, for hmac, SECRET at
/// W.secret_field (intermediate objects are made). Errors: a pointer that cannot be set
/// (it goes through a value that is not an object).
Result<nlohmann::json> with_webhook(nlohmann::json body, const Webhook& w, const std::string& url,
                                    const std::string& secret);

}  // namespace baton::httpjob
