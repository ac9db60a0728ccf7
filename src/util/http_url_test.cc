#include "util/http_url.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

void expect_split(std::string_view url, const std::string& origin, const std::string& path) {
  auto u = split_http_url(url);
  ASSERT_TRUE(u.has_value()) << url;
  EXPECT_EQ(u->origin, origin) << url;
  EXPECT_EQ(u->path, path) << url;
}

TEST(HttpUrlTest, SplitsOriginFromPathAndKeepsTheQuery) {
  expect_split("http://127.0.0.1:8080/a/b?x=1", "http://127.0.0.1:8080", "/a/b?x=1");
  expect_split("https://agent.example/rpc", "https://agent.example", "/rpc");
  expect_split("http://h:1/", "http://h:1", "/");
}

TEST(HttpUrlTest, AUrlWithoutAPathGetsTheRootPath) {
  expect_split("http://h:1", "http://h:1", "/");
  expect_split("https://h", "https://h", "/");
}

TEST(HttpUrlTest, AQueryRightAfterTheHostIsNotPartOfTheOrigin) {
  // The origin is compared to decide where credentials may go (A2A's agent card):
  // a query must not make the same server look like another one, nor reach the
  // client's host name.
  expect_split("http://h:1?x=1", "http://h:1", "/?x=1");
  expect_split("https://h?next=http://evil/", "https://h", "/?next=http://evil/");
}

TEST(HttpUrlTest, TheFragmentIsNeverSent) {
  expect_split("http://h:1/p#frag", "http://h:1", "/p");
  expect_split("http://h:1#frag", "http://h:1", "/");
  expect_split("http://h:1/p?q=1#f", "http://h:1", "/p?q=1");
}

TEST(HttpUrlTest, RefusesOtherSchemesAndUrlsWithoutAHost) {
  for (std::string_view url : {"", "http://", "https://", "http:///path", "http://?x=1",
                               "http://#f", "ftp://h/x", "HTTP://h/x", "h:1/x", "file:///etc"}) {
    EXPECT_FALSE(split_http_url(url).has_value()) << url;
  }
}

TEST(HttpUrlTest, RefusesWhatCouldForgeARequestOrAnOrigin) {
  // Whitespace or a control character would end the request line (a header of the
  // URL's choosing); user information would make "good@evil" compare unlike "evil".
  for (std::string_view url :
       {"http://h:1/rpc\r\nX-Injected: 1", "http://h:1/a b", "http://h:1/\t", "http://h\n/",
        "http://h:1/\x7f", "http://good:1@evil:2/rpc", "https://user@h/", "http://:8080/x"}) {
    EXPECT_FALSE(split_http_url(url).has_value()) << url;
  }
  EXPECT_FALSE(split_http_url(std::string_view("http://h:1/\0x", 12)).has_value());
}

}  // namespace
}  // namespace baton
