// Standard Webhooks v1 signatures (https://www.standardwebhooks.com/, spec v1.0.0):
//
//   signed bytes   = webhook-id "." webhook-timestamp "." body
//   signature      = "v1," base64(HMAC-SHA256(key, signed bytes))
//   secret         = "whsec_" base64(key), key 24..64 random bytes
//
// Headers: `webhook-id`, `webhook-timestamp` (Unix seconds, decimal), `webhook-signature`
// (one or more space-separated "v1,<base64>" for key rotation). A receiver compares in
// constant time, accepts a timestamp within 5 minutes of its clock and deduplicates on
// webhook-id. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::webhooks {

/// How far a receiver lets webhook-timestamp differ from its clock (seconds).
inline constexpr int64_t kTimestampToleranceSeconds = 5 * 60;

/// Standard base64 (RFC 4648 §4, with padding).
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64 with padding; errors on any other character or a length
/// that is not a multiple of 4 ("not valid base64").
Result<std::string> base64_decode(std::string_view text);

/// The HMAC key of SECRET ("whsec_<base64>"). Errors (never quoting the secret): no
/// "whsec_" prefix, invalid base64, a key outside 24..64 bytes.
Result<std::string> parse_secret(std::string_view secret);

/// "v1,<base64 HMAC-SHA256 of ID.TIMESTAMP.BODY under KEY>" (KEY: parse_secret()'s bytes).
std::string sign(std::string_view key, std::string_view id, int64_t timestamp,
                 std::string_view body);

/// What a receiver got.
struct SignedRequest {
  std::string id;         ///< webhook-id
  std::string timestamp;  ///< webhook-timestamp as sent (decimal Unix seconds)
  std::string signature;  ///< webhook-signature: space-separated "v1,<base64>" items
  std::string body;       ///< the raw body bytes
};

/// Verifies REQUEST as a receiver does: the timestamp is a decimal integer within
/// TOLERANCE seconds of NOW (Unix seconds), and one "v1," item of the signature header
/// equals sign(KEY, ...) (compared in constant time). Errors say which check failed:
/// "missing header", "bad timestamp", "timestamp too old", "timestamp too new", "no
/// matching signature".
Result<void> verify(std::string_view key, const SignedRequest& request, int64_t now,
                    int64_t tolerance = kTimestampToleranceSeconds);

}  // namespace baton::webhooks
