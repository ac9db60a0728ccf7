#include "serve/callback_verify.h"

#include <openssl/crypto.h>

#include "webhooks/signature.h"

namespace baton::serve {

namespace {

bool same(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

CallbackVerdict verify_callback(const std::string& secret, const CallbackRequest& request,
                                int64_t now) {
  if (secret.rfind("whsec_", 0) == 0) {
    Result<std::string> key = webhooks::parse_secret(secret);
    if (!key) return {500, "the attempt's callback secret is unusable", ""};
    webhooks::SignedRequest signed_request{request.webhook_id, request.webhook_timestamp,
                                           request.webhook_signature, request.body};
    Result<void> ok = webhooks::verify(*key, signed_request, now);
    if (!ok) {
      const std::string& why = ok.error().message;
      const bool timestamp = why.find("timestamp") != std::string::npos;
      return {timestamp ? 400 : 401, "Standard Webhooks signature refused: " + why, ""};
    }
    return {0, "", request.webhook_id};
  }
  std::string token = request.query_token;
  if (token.empty()) token = request.a2a_token;
  if (token.empty() && request.authorization.rfind("Bearer ", 0) == 0) {
    token = request.authorization.substr(7);
  }
  if (!same(secret, token)) return {401, "wrong or missing callback secret", ""};
  return {0, "", request.webhook_id};
}

}  // namespace baton::serve
