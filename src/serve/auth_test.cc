#include "serve/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace baton::serve {
namespace {

std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "baton-auth-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

TEST(AuthTest, TokenIsMadeOnceWith0600AndReadBack) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/serve/token";
  auto made = load_or_create_token(path, true);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_TRUE(made->created);
  EXPECT_EQ(made->value.size(), 43u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir + "/serve").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto again = load_or_create_token(path, true);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->value, made->value);
  auto other = load_or_create_token(dir + "/other", true);
  ASSERT_TRUE(other);
  EXPECT_NE(other->value, made->value);
  std::filesystem::remove_all(dir);
}

TEST(AuthTest, ATokenFileOthersCanReadOrAShortTokenIsRefused) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/token";
  std::ofstream(path) << "0123456789abcdef-long-enough\n";
  ::chmod(path.c_str(), 0644);
  auto open = load_or_create_token(path, false);
  ASSERT_FALSE(open);
  EXPECT_NE(open.error().message.find("must be 0600"), std::string::npos) << open.error().message;
  ::chmod(path.c_str(), 0600);
  auto ok = load_or_create_token(path, false);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->value, "0123456789abcdef-long-enough");
  std::ofstream(path) << "short\n";
  EXPECT_FALSE(load_or_create_token(path, false));
  EXPECT_FALSE(load_or_create_token(dir + "/missing", false));
  std::filesystem::remove_all(dir);
}

TEST(AuthTest, BearerOrSessionCookieAuthenticatesAndNothingElse) {
  const std::string token = "tok-0123456789abcdef";
  EXPECT_EQ(authenticate(token, "Bearer " + token, ""), AuthMethod::kBearer);
  EXPECT_EQ(authenticate(token, "bearer " + token, ""), AuthMethod::kBearer);
  EXPECT_EQ(authenticate(token, "Bearer " + token + "x", ""), AuthMethod::kNone);
  EXPECT_EQ(authenticate(token, "Bearer ", ""), AuthMethod::kNone);
  EXPECT_EQ(authenticate(token, "Basic " + token, ""), AuthMethod::kNone);
  EXPECT_EQ(authenticate(token, "", "a=b; baton_session=" + session_value(token)),
            AuthMethod::kCookie);
  // The cookie is never the token itself, and another token's cookie is refused.
  EXPECT_EQ(authenticate(token, "", "baton_session=" + token), AuthMethod::kNone);
  EXPECT_EQ(authenticate(token, "", "baton_session=" + session_value("other-token-123456")),
            AuthMethod::kNone);
  // A wrong bearer is not rescued by a good cookie: the client said who it is.
  EXPECT_EQ(authenticate(token, "Bearer nope", "baton_session=" + session_value(token)),
            AuthMethod::kNone);
  EXPECT_NE(session_cookie(token).find("HttpOnly; SameSite=Strict; Path=/"), std::string::npos);
}

TEST(AuthTest, HostOriginAndLoopback) {
  const std::vector<std::string> hosts = {"127.0.0.1:8470", "localhost:8470"};
  EXPECT_TRUE(host_allowed("127.0.0.1:8470", hosts));
  EXPECT_TRUE(host_allowed("LOCALHOST:8470", hosts));
  EXPECT_FALSE(host_allowed("evil.example:8470", hosts));
  EXPECT_FALSE(host_allowed("127.0.0.1:8471", hosts));
  EXPECT_FALSE(host_allowed("", hosts));
  EXPECT_TRUE(origin_matches("http://127.0.0.1:8470", "127.0.0.1:8470"));
  EXPECT_FALSE(origin_matches("http://evil.example", "127.0.0.1:8470"));
  EXPECT_FALSE(origin_matches("null", "127.0.0.1:8470"));
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("[::1]"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("192.168.1.2"));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace baton::serve
