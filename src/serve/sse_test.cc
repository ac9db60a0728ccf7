#include "serve/sse.h"

#include <gtest/gtest.h>

#include "serve/views.h"

namespace baton::serve {
namespace {

TEST(SseTest, MessageHasIdEventAndOneDataLinePerLine) {
  EXPECT_EQ(sse_message(7, "", "{\"a\":1}"), "id: 7\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(sse_message(0, "reset", "{}"), "event: reset\ndata: {}\n\n");
  EXPECT_EQ(sse_message(1, "", "x\ny"), "id: 1\ndata: x\ndata: y\n\n");
}

TEST(SseTest, DataCannotEndTheMessageOrInjectAField) {
  // A hostile value with CR, LF and CRLF stays inside data lines.
  const std::string msg = sse_message(3, "", "a\r\n\r\nid: 999\revent: reset\n");
  EXPECT_EQ(msg, "id: 3\ndata: a\ndata: \ndata: id: 999\ndata: event: reset\ndata: \n\n");
  EXPECT_EQ(msg.find("\n\n"), msg.size() - 2);
  EXPECT_EQ(sse_message(1, "a\nid: 5", "{}"), "id: 1\nevent: aid: 5\ndata: {}\n\n");
  EXPECT_EQ(sse_comment("keep\nalive"), ": keep alive\n\n");
}

TEST(SseTest, LastEventIdIsADecimalNumber) {
  EXPECT_EQ(parse_last_event_id("42"), 42);
  EXPECT_EQ(parse_last_event_id("0"), 0);
  EXPECT_FALSE(parse_last_event_id(""));
  EXPECT_FALSE(parse_last_event_id("-1"));
  EXPECT_FALSE(parse_last_event_id("4 2"));
  EXPECT_FALSE(parse_last_event_id("1234567890123456789"));
}

TEST(ViewsTest, PageTokenRoundTripsAndForgedOnesAreRefused) {
  store::RunRecord run;
  run.id = "20261124-014512-3fa9";
  run.created_at = 1796491370.0847878;
  store::RunPageQuery q;
  ASSERT_TRUE(decode_page_token(encode_page_token(run), &q));
  EXPECT_EQ(q.after_id, run.id);
  EXPECT_DOUBLE_EQ(q.after_created_at, run.created_at);
  store::RunPageQuery bad;
  EXPECT_FALSE(decode_page_token("!!!", &bad));
  EXPECT_FALSE(decode_page_token("", &bad));
  EXPECT_FALSE(decode_page_token("MTIz", &bad));            // "123": no '|'
  EXPECT_FALSE(decode_page_token("MTIzfC4uL2V0Yw", &bad));  // "123|../etc"
  EXPECT_FALSE(decode_page_token("eHx5", &bad));            // "x|y": not a time
  EXPECT_FALSE(decode_page_token(std::string(500, 'A'), &bad));
}

}  // namespace
}  // namespace baton::serve
