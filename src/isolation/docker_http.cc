#include "isolation/docker_http.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace baton::isolation {

namespace {

// Waits until FD is ready for EVENTS; TIMEOUT_S <= 0 waits for ever.
Result<void> await(int fd, short events, double timeout_s, const std::string& what) {
  pollfd p{fd, events, 0};
  int ms = timeout_s > 0 ? static_cast<int>(timeout_s * 1000) : -1;
  for (;;) {
    int n = poll(&p, 1, ms);
    if (n > 0) return ok();
    if (n == 0) return fail(what + ": no answer within " + std::to_string(timeout_s) + " s");
    if (errno != EINTR) return tl::unexpected(Error::from_errno(what, errno));
  }
}

Result<void> send_all(int fd, const std::string& data, double timeout_s, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    if (auto r = await(fd, POLLOUT, timeout_s, what); !r) return r;
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return tl::unexpected(Error::from_errno(what, errno));
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

// Reads one chunk into OUT; returns false at EOF.
Result<bool> read_some(int fd, std::string* out, double timeout_s, const std::string& what) {
  if (auto r = await(fd, POLLIN, timeout_s, what); !r) return tl::unexpected(r.error());
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(Error::from_errno(what, errno));
    out->append(buf, static_cast<size_t>(n));
    return n > 0;
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Parses the status line and headers of HEAD (without the blank line).
Result<HttpResponse> parse_head(const std::string& head, const std::string& what) {
  HttpResponse r;
  size_t eol = head.find("\r\n");
  std::string status_line = head.substr(0, eol);
  if (status_line.compare(0, 5, "HTTP/") != 0 || status_line.size() < 12) {
    return fail(what + ": not an HTTP response: " + status_line.substr(0, 80));
  }
  r.status = std::atoi(status_line.c_str() + 9);
  size_t at = eol == std::string::npos ? head.size() : eol + 2;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(at, end - at);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      size_t v = line.find_first_not_of(' ', colon + 1);
      r.headers[lower(line.substr(0, colon))] = v == std::string::npos ? "" : line.substr(v);
    }
    at = end + 2;
  }
  return r;
}

std::string request_text(const std::string& method, const std::string& target,
                         const std::string& body, const std::string& extra_headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: docker\r\n" + extra_headers;
  if (!body.empty()) req += "Content-Type: application/json\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return req;
}

}  // namespace

UnixSocket& UnixSocket::operator=(UnixSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UnixSocket::~UnixSocket() {
  if (fd_ >= 0) close(fd_);
}

Result<UnixSocket> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(path + ": socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UnixSocket s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd() < 0) return tl::unexpected(Error::from_errno(path, errno));
  while (connect(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINTR) return tl::unexpected(Error::from_errno(path, errno));
  }
  return s;
}

Result<HttpResponse> http_request(const std::string& socket, const std::string& method,
                                  const std::string& target, const std::string& body,
                                  double timeout_s) {
  std::string what = method + " " + target;
  auto s = connect_unix(socket);
  if (!s) return tl::unexpected(s.error());
  auto sent = send_all(s->fd(), request_text(method, target, body, "Connection: close\r\n"),
                       timeout_s, what);
  if (!sent) return tl::unexpected(sent.error());
  std::string data;
  for (;;) {
    auto more = read_some(s->fd(), &data, timeout_s, what);
    if (!more) return tl::unexpected(more.error());
    if (!*more) break;
  }
  size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return fail(what + ": the response ended inside its header");
  auto r = parse_head(data.substr(0, end), what);
  if (!r) return r;
  r->body = data.substr(end + 4);
  if (lower(r->headers["transfer-encoding"]) == "chunked") {
    auto decoded = decode_chunked(r->body);
    if (!decoded) return fail(what + ": " + decoded.error().message);
    r->body = std::move(*decoded);
  } else if (r->headers.count("content-length")) {
    size_t n = std::strtoull(r->headers["content-length"].c_str(), nullptr, 10);
    if (r->body.size() < n) return fail(what + ": the response body is cut short");
    r->body.resize(n);
  }
  return r;
}

Result<HttpStream> http_upgrade(const std::string& socket, const std::string& method,
                                const std::string& target, double timeout_s) {
  std::string what = method + " " + target;
  auto s = connect_unix(socket);
  if (!s) return tl::unexpected(s.error());
  auto sent =
      send_all(s->fd(), request_text(method, target, "", "Connection: Upgrade\r\nUpgrade: tcp\r\n"),
               timeout_s, what);
  if (!sent) return tl::unexpected(sent.error());
  std::string data;
  size_t end;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    auto more = read_some(s->fd(), &data, timeout_s, what);
    if (!more) return tl::unexpected(more.error());
    if (!*more) return fail(what + ": the connection closed inside the response header");
  }
  auto head = parse_head(data.substr(0, end), what);
  if (!head) return tl::unexpected(head.error());
  HttpStream stream;
  stream.status = head->status;
  stream.rest = data.substr(end + 4);
  if (head->status != 101 && head->status != 200) {
    // The rest of the body is the server's reason; read what is already there.
    read_some(s->fd(), &stream.rest, 1, what);
    return fail(what + ": HTTP " + std::to_string(head->status) + ": " + stream.rest);
  }
  stream.socket = std::move(*s);
  return stream;
}

Result<std::string> decode_chunked(const std::string& body) {
  std::string out;
  size_t at = 0;
  for (;;) {
    size_t eol = body.find("\r\n", at);
    if (eol == std::string::npos) return fail("chunked body: truncated chunk size");
    char* end = nullptr;
    std::string size_text = body.substr(at, eol - at);
    unsigned long long size = std::strtoull(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) return fail("chunked body: bad chunk size '" + size_text + "'");
    at = eol + 2;
    if (size == 0) return out;
    if (body.size() < at + size + 2) return fail("chunked body: truncated chunk");
    out.append(body, at, size);
    at += size + 2;
  }
}

}  // namespace baton::isolation
