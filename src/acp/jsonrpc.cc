#include "acp/jsonrpc.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/write_all.h"

namespace baton::acp {

LineReader::Status LineReader::next_line(std::string* line, int* err) {
  for (;;) {
    size_t nl = buf_.find('\n', scanned_);
    if (nl != std::string::npos) {
      if (nl > max_) return Status::kTooLong;
      line->assign(buf_, 0, nl);
      if (!line->empty() && line->back() == '\r') line->pop_back();
      buf_.erase(0, nl + 1);
      scanned_ = 0;
      return Status::kLine;
    }
    scanned_ = buf_.size();
    if (buf_.size() > max_) return Status::kTooLong;
    char chunk[65536];
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::kAgain;
      if (err) *err = errno;
      return Status::kError;
    }
    if (n == 0) return Status::kEof;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

bool LineReader::has_buffered_line() const {
  return buf_.find('\n', scanned_) != std::string::npos;
}

Result<Message> parse_message(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded()) {
    std::string head(line.substr(0, 80));
    return fail("invalid JSON: " + head + (line.size() > 80 ? "..." : ""));
  }
  if (!j.is_object()) return fail("not a JSON object");
  auto version = j.find("jsonrpc");
  if (version == j.end() || *version != "2.0") return fail("jsonrpc is not \"2.0\"");
  Message m;
  auto id = j.find("id");
  bool has_id = id != j.end();
  if (has_id && !id->is_number_integer() && !id->is_string()) {
    return fail("id is neither a number nor a string");
  }
  if (has_id) m.id = *id;
  auto method = j.find("method");
  if (method != j.end()) {
    if (!method->is_string()) return fail("method is not a string");
    m.method = method->get<std::string>();
    m.kind = has_id ? MessageKind::kRequest : MessageKind::kNotification;
    auto params = j.find("params");
    if (params != j.end()) m.params = *params;
  } else {
    if (!has_id) return fail("neither a request nor a response");
    auto result = j.find("result");
    auto error = j.find("error");
    if (result != j.end() && error != j.end()) return fail("a response has both result and error");
    if (result == j.end() && error == j.end()) return fail("neither a request nor a response");
    m.kind = MessageKind::kResponse;
    if (result != j.end()) {
      m.result = *result;
    } else {
      if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number() ||
          !error->contains("message") || !(*error)["message"].is_string()) {
        return fail("error is not an object with a code and a message");
      }
      m.error = *error;
    }
  }
  m.raw = std::move(j);
  return m;
}

nlohmann::json make_request(int64_t id, std::string_view method, nlohmann::json params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

nlohmann::json make_notification(std::string_view method, nlohmann::json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

nlohmann::json make_result(const nlohmann::json& id, nlohmann::json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

nlohmann::json make_error(const nlohmann::json& id, int code, std::string_view message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

std::string to_line(const nlohmann::json& message) {
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<void> write_line(int fd, std::string_view line) {
  std::string data(line);
  data.push_back('\n');
  return write_all(fd, data);
}

}  // namespace baton::acp
