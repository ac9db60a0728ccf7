#include "serve/callback_verify.h"

#include <gtest/gtest.h>

namespace baton::serve {
namespace {

// Standard Webhooks' known answer (standardwebhooks.com, the spec's test vector).
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr const char* kBody = R"({"test": 2432232314})";
constexpr const char* kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

CallbackRequest signed_request(const std::string& signature) {
  CallbackRequest r;
  r.webhook_id = kId;
  r.webhook_timestamp = std::to_string(kTimestamp);
  r.webhook_signature = signature;
  r.body = kBody;
  return r;
}

TEST(CallbackVerifyTest, TheKnownAnswerIsAcceptedWithItsId) {
  CallbackVerdict v = verify_callback(kSecret, signed_request(kSignature), kTimestamp);
  EXPECT_EQ(v.status, 0) << v.problem;
  EXPECT_EQ(v.id, kId);
  // Key rotation: several signatures, one of them right.
  v = verify_callback(kSecret, signed_request("v1,AAAA " + std::string(kSignature)), kTimestamp);
  EXPECT_EQ(v.status, 0) << v.problem;
}

TEST(CallbackVerifyTest, ForgedTamperedAndUnsignedBodiesAreRefused) {
  EXPECT_EQ(
      verify_callback(kSecret, signed_request("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF="),
                      kTimestamp)
          .status,
      401);
  CallbackRequest tampered = signed_request(kSignature);
  tampered.body = R"({"test": 2432232315})";
  EXPECT_EQ(verify_callback(kSecret, tampered, kTimestamp).status, 401);
  CallbackRequest other_id = signed_request(kSignature);
  other_id.webhook_id = "msg_other";
  EXPECT_EQ(verify_callback(kSecret, other_id, kTimestamp).status, 401);
  // A signing registration takes no token instead of a signature, not even its secret.
  CallbackRequest token_only;
  token_only.query_token = kSecret;
  token_only.body = kBody;
  CallbackVerdict v = verify_callback(kSecret, token_only, kTimestamp);
  EXPECT_EQ(v.status, 401);
  EXPECT_EQ(v.problem, "Standard Webhooks signature refused: missing header");
}

TEST(CallbackVerifyTest, TimestampsOutsideFiveMinutesAreRefused) {
  EXPECT_EQ(verify_callback(kSecret, signed_request(kSignature), kTimestamp + 300).status, 0);
  CallbackVerdict stale = verify_callback(kSecret, signed_request(kSignature), kTimestamp + 301);
  EXPECT_EQ(stale.status, 400);
  EXPECT_EQ(stale.problem, "Standard Webhooks signature refused: timestamp too old");
  EXPECT_EQ(verify_callback(kSecret, signed_request(kSignature), kTimestamp - 301).status, 400);
  CallbackRequest bad = signed_request(kSignature);
  bad.webhook_timestamp = "1614265330x";
  EXPECT_EQ(verify_callback(kSecret, bad, kTimestamp).status, 400);
}

TEST(CallbackVerifyTest, TokensAreTheAttemptsOwn) {
  const std::string secret(64, 'a');
  CallbackRequest r;
  r.query_token = secret;
  EXPECT_EQ(verify_callback(secret, r, 0).status, 0);
  r.query_token = std::string(64, 'b');  // another attempt's token
  EXPECT_EQ(verify_callback(secret, r, 0).status, 401);
  r.query_token = secret.substr(0, 63);
  EXPECT_EQ(verify_callback(secret, r, 0).status, 401);
  r.query_token.clear();
  EXPECT_EQ(verify_callback(secret, r, 0).status, 401);
  r.a2a_token = secret;
  EXPECT_EQ(verify_callback(secret, r, 0).status, 0);
  r.a2a_token.clear();
  r.authorization = "Bearer " + secret;
  EXPECT_EQ(verify_callback(secret, r, 0).status, 0);
}

}  // namespace
}  // namespace baton::serve
