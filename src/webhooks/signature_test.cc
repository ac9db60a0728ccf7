// Standard Webhooks v1 signatures: the specification's known answer, round trips and
// every way verification must refuse.
#include "webhooks/signature.h"

#include <gtest/gtest.h>

namespace baton::webhooks {
namespace {

// The known-answer vector of the Standard Webhooks specification (its reference
// libraries' tests use the same constants).
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr const char* kBody = R"({"test": 2432232314})";
constexpr const char* kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::string key() {
  auto k = parse_secret(kSecret);
  EXPECT_TRUE(k.has_value()) << k.error().message;
  return k ? *k : std::string();
}

SignedRequest known_request() { return {kId, std::to_string(kTimestamp), kSignature, kBody}; }

TEST(SignatureTest, KnownAnswerOfTheSpecification) {
  EXPECT_EQ(sign(key(), kId, kTimestamp, kBody), kSignature);
  EXPECT_TRUE(verify(key(), known_request(), kTimestamp).has_value());
}

TEST(SignatureTest, SignVerifyRoundTrip) {
  const std::string k = std::string(32, '\x07');
  const std::string body = R"({"type":"run.failed","data":{"run_id":"r1"}})";
  SignedRequest req{"msg_1", "1700000000", sign(k, "msg_1", 1700000000, body), body};
  EXPECT_TRUE(verify(k, req, 1700000100).has_value());
  // Several signatures (key rotation): one that matches is enough.
  req.signature = "v1,AAAA " + req.signature;
  EXPECT_TRUE(verify(k, req, 1700000000).has_value());
}

TEST(SignatureTest, WrongSecretIsRefused) {
  auto other = parse_secret("whsec_" + base64_encode(std::string(24, 'x')));
  ASSERT_TRUE(other.has_value());
  auto r = verify(*other, known_request(), kTimestamp);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "no matching signature");
}

TEST(SignatureTest, TamperedBodyIdOrTimestampIsRefused) {
  SignedRequest req = known_request();
  req.body = R"({"test": 2432232315})";
  EXPECT_FALSE(verify(key(), req, kTimestamp).has_value());
  req = known_request();
  req.id = "msg_other";
  EXPECT_FALSE(verify(key(), req, kTimestamp).has_value());
  req = known_request();
  req.timestamp = std::to_string(kTimestamp + 1);
  EXPECT_FALSE(verify(key(), req, kTimestamp).has_value());
}

TEST(SignatureTest, TimestampOutsideFiveMinutesIsRefused) {
  EXPECT_TRUE(verify(key(), known_request(), kTimestamp + 300).has_value());
  EXPECT_TRUE(verify(key(), known_request(), kTimestamp - 300).has_value());
  auto old = verify(key(), known_request(), kTimestamp + 301);
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().message, "timestamp too old");
  auto future = verify(key(), known_request(), kTimestamp - 301);
  ASSERT_FALSE(future.has_value());
  EXPECT_EQ(future.error().message, "timestamp too new");
  SignedRequest bad = known_request();
  bad.timestamp = "16142653x0";
  EXPECT_EQ(verify(key(), bad, kTimestamp).error().message, "bad timestamp");
  bad = known_request();
  bad.signature = "";
  EXPECT_EQ(verify(key(), bad, kTimestamp).error().message, "missing header");
}

TEST(SignatureTest, SecretThatIsNotWhsecBase64IsAnError) {
  auto not_base64 = parse_secret("whsec_not*base64!!");
  ASSERT_FALSE(not_base64.has_value());
  EXPECT_EQ(not_base64.error().message, "the secret after whsec_ is not valid base64");
  EXPECT_EQ(not_base64.error().message.find("not*base64"), std::string::npos);
  auto no_prefix = parse_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_FALSE(no_prefix.has_value());
  EXPECT_EQ(no_prefix.error().message, "the secret does not start with whsec_");
  auto short_key = parse_secret("whsec_" + base64_encode("short"));
  ASSERT_FALSE(short_key.has_value());
  EXPECT_EQ(short_key.error().message,
            "the secret's key is 5 bytes; Standard Webhooks wants 24 to 64");
}

TEST(SignatureTest, Base64RoundTripsEveryLengthAndRefusesJunk) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    auto back = base64_decode(base64_encode(bytes));
    if (bytes.empty()) {
      EXPECT_FALSE(back.has_value());  // empty text is not a key
    } else {
      ASSERT_TRUE(back.has_value()) << i;
      EXPECT_EQ(*back, bytes);
    }
    bytes.push_back(static_cast<char>(i * 37));
  }
  for (const char* junk : {"abc", "ab=c", "a=bc", "abc\n", "ab c", "===="}) {
    EXPECT_FALSE(base64_decode(junk).has_value()) << junk;
  }
}

}  // namespace
}  // namespace baton::webhooks
