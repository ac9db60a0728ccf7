#include "acp/jsonrpc.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "exec/spawn.h"

namespace baton::acp {
namespace {

struct Pipe {
  exec::Fd r, w;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    r = exec::Fd(fds[0]);
    w = exec::Fd(fds[1]);
  }
  void put(std::string_view s) {
    ASSERT_EQ(::write(w.get(), s.data(), s.size()), (ssize_t)s.size());
  }
};

TEST(LineReaderTest, ReassemblesALineSplitOverReads) {
  Pipe p;
  LineReader reader(p.r.get());
  std::string line;
  p.put("{\"a\":");
  EXPECT_EQ(reader.next_line(&line), LineReader::Status::kAgain);
  p.put("1}\r\n{\"b\"");
  ASSERT_EQ(reader.next_line(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "{\"a\":1}");
  EXPECT_EQ(reader.next_line(&line), LineReader::Status::kAgain);
  p.put(":2}\n");
  ASSERT_EQ(reader.next_line(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "{\"b\":2}");
  p.w.reset();
  EXPECT_EQ(reader.next_line(&line), LineReader::Status::kEof);
}

TEST(LineReaderTest, TwoLinesInOneReadAreBothReturned) {
  Pipe p;
  LineReader reader(p.r.get());
  p.put("one\ntwo\n");
  std::string line;
  ASSERT_EQ(reader.next_line(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "one");
  EXPECT_TRUE(reader.has_buffered_line());
  ASSERT_EQ(reader.next_line(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "two");
}

TEST(LineReaderTest, AnOversizedLineIsAnErrorWithOrWithoutItsNewline) {
  {
    Pipe p;
    LineReader reader(p.r.get(), 16);
    p.put(std::string(17, 'x') + "\n");
    std::string line;
    EXPECT_EQ(reader.next_line(&line), LineReader::Status::kTooLong);
  }
  {
    Pipe p;
    LineReader reader(p.r.get(), 16);
    p.put(std::string(40, 'x'));  // no newline yet: the reader must not keep buffering
    std::string line;
    EXPECT_EQ(reader.next_line(&line), LineReader::Status::kTooLong);
  }
  {
    Pipe p;
    LineReader reader(p.r.get(), 16);
    p.put(std::string(16, 'x') + "\n");  // exactly the cap is fine
    std::string line;
    EXPECT_EQ(reader.next_line(&line), LineReader::Status::kLine);
    EXPECT_EQ(line.size(), 16u);
  }
}

TEST(ParseMessageTest, RequestNotificationAndResponses) {
  auto req = parse_message(R"({"jsonrpc":"2.0","id":7,"method":"fs/read_text_file","params":{}})");
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->kind, MessageKind::kRequest);
  EXPECT_EQ(req->id, 7);
  EXPECT_EQ(req->method, "fs/read_text_file");
  auto note = parse_message(R"({"jsonrpc":"2.0","method":"session/update","params":{}})");
  ASSERT_TRUE(note);
  EXPECT_EQ(note->kind, MessageKind::kNotification);
  auto ok = parse_message(R"({"jsonrpc":"2.0","id":"x","result":null})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, MessageKind::kResponse);
  ASSERT_TRUE(ok->result.has_value());
  auto err = parse_message(R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"auth"}})");
  ASSERT_TRUE(err);
  ASSERT_TRUE(err->error.has_value());
  EXPECT_EQ((*err->error)["code"], -32000);
}

TEST(ParseMessageTest, MalformedMessagesAreNamed) {
  struct Case {
    const char* line;
    const char* error;
  } cases[] = {
      {"{\"jsonrpc\":\"2.0\",", "invalid JSON: {\"jsonrpc\":\"2.0\","},
      {"[1,2]", "not a JSON object"},
      {R"({"id":1,"result":1})", "jsonrpc is not \"2.0\""},
      {R"({"jsonrpc":"2.0","id":1.5,"result":1})", "id is neither a number nor a string"},
      {R"({"jsonrpc":"2.0","id":1,"method":3})", "method is not a string"},
      {R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}})",
       "a response has both result and error"},
      {R"({"jsonrpc":"2.0","id":1})", "neither a request nor a response"},
      {R"({"jsonrpc":"2.0","result":1})", "neither a request nor a response"},
      {R"({"jsonrpc":"2.0","id":1,"error":"boom"})",
       "error is not an object with a code and a message"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    auto m = parse_message(c.line);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().message, c.error);
  }
}

TEST(ParseMessageTest, ToLineReplacesInvalidUtf8AndHasNoNewline) {
  nlohmann::json j = make_notification("x", {{"text", std::string("a\xff\nb")}});
  std::string line = to_line(j);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_TRUE(parse_message(line));
}

}  // namespace
}  // namespace baton::acp
