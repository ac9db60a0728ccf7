// libFuzzer target: what `baton serve` reads from and writes to the network (issue 13):
// the request router, the SSE and JSON writers, the page token, the auth headers.
//
// The first byte picks the part, the rest is the input:
//   0: router. "METHOD\nPATH": match_route() must not crash, and a match has only
//      identifier parameters (no '/', no "..", no NUL) and the route's own method.
//   1: SSE writer. The input is an event's data: the message, read back by the parser
//      below (WHATWG HTML's rules, written independently of sse.cc), must be exactly one
//      message with that id and the data with its line breaks as LF: no hostile value
//      can end the message early or add a field.
//   2: JSON writers. The input (any bytes, invalid UTF-8 too) in every string of an
//      event and of a problem document: dumping never throws and parses back.
//   3: page token: a token decode_page_token() accepts names an identifier.
//   4: auth: "AUTHORIZATION\nCOOKIE" never authenticates without the token.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "serve/auth.h"
#include "serve/problem.h"
#include "serve/router.h"
#include "serve/sse.h"
#include "serve/views.h"

namespace {

using namespace baton::serve;

void check(bool ok) {
  if (!ok) std::abort();
}

// WHATWG HTML 9.2.6 "Interpreting an event stream", for one stream: lines end at CRLF,
// LF or CR; "field: value" (one leading space removed); a blank line dispatches.
struct Parsed {
  int messages = 0;
  std::string id, event, data;
};

Parsed parse_stream(std::string_view s) {
  Parsed p;
  std::string data;
  bool has_data = false;
  size_t i = 0;
  while (i < s.size()) {
    size_t end = i;
    while (end < s.size() && s[end] != '\r' && s[end] != '\n') ++end;
    std::string_view line = s.substr(i, end - i);
    if (end + 1 < s.size() && s[end] == '\r' && s[end + 1] == '\n') {
      i = end + 2;
    } else {
      i = end < s.size() ? end + 1 : end;
    }
    if (line.empty()) {
      if (has_data) {
        ++p.messages;
        if (!data.empty() && data.back() == '\n') data.pop_back();
        p.data = data;
      }
      data.clear();
      has_data = false;
      continue;
    }
    if (line[0] == ':') continue;
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (field == "data") {
      data.append(value);
      data += '\n';
      has_data = true;
    } else if (field == "id") {
      p.id = value;
    } else if (field == "event") {
      p.event = value;
    }
  }
  return p;
}

std::string normalize_breaks(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  switch (bytes[0] % 5) {
    case 0: {
      const size_t nl = input.find('\n');
      const std::string method = input.substr(0, nl);
      const std::string path = nl == std::string::npos ? "" : input.substr(nl + 1);
      RouteMatch m;
      RouteError e;
      if (match_route(method, path, &m, &e)) {
        check(m.route != nullptr);
        check(method == m.route->method ||
              (method == "HEAD" && std::string(m.route->method) == "GET"));
        for (const auto& [name, value] : m.params) {
          if (name != "action") check(is_identifier(value));
        }
      } else {
        check(e.status == 400 || e.status == 404 || e.status == 405);
      }
      break;
    }
    case 1: {
      const std::string message = sse_message(42, "", input);
      Parsed p = parse_stream(message);
      check(p.messages == 1);
      check(p.id == "42");
      check(p.event.empty());
      check(p.data == normalize_breaks(input));
      Parsed c = parse_stream(sse_comment(input));
      check(c.messages == 0);
      break;
    }
    case 2: {
      baton::store::FeedEvent e;
      e.id = 7;
      e.event.run_id = input;
      e.event.task_id = input;
      e.event.kind = input;
      e.event.data = {{"reason", input}, {input, 1}};
      const std::string dumped =
          feed_event_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      check(!nlohmann::json::parse(dumped, nullptr, false).is_discarded());
      const std::string prob =
          problem(400, input).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      check(!nlohmann::json::parse(prob, nullptr, false).is_discarded());
      break;
    }
    case 3: {
      baton::store::RunPageQuery q;
      if (decode_page_token(input, &q)) check(is_identifier(q.after_id));
      break;
    }
    case 4: {
      const std::string token = "the-real-token-0123456789";
      const size_t nl = input.find('\n');
      const std::string authorization = input.substr(0, nl);
      const std::string cookie = nl == std::string::npos ? "" : input.substr(nl + 1);
      const AuthMethod m = authenticate(token, authorization, cookie);
      if (m == AuthMethod::kBearer) check(authorization.find(token) != std::string::npos);
      if (m == AuthMethod::kCookie) {
        check(cookie.find(session_value(token)) != std::string::npos);
      }
      break;
    }
  }
  return 0;
}
