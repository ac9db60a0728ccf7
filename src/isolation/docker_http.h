// HTTP/1.1 over a unix socket: the transport of the Docker Engine API (dockerd's
// /var/run/docker.sock, `podman system service`'s /run/podman/podman.sock).
//
// Two shapes of exchange, both with a bounded time:
// - http_request(): one request, `Connection: close`, the whole response read to EOF
//   (a body framed by Content-Length, `Transfer-Encoding: chunked` or the close);
// - http_upgrade(): one request answered by `101 UPGRADED` or `200 OK` after which
//   the connection is a raw byte stream (the Engine API's hijacked attach).
// Sources: RFC 9112 (message syntax, chunked coding); Docker Engine API v1.41,
// "Attach to a container" (the hijacking).
// Thread safety: none shared; each call opens its own connection.
#pragma once

#include <map>
#include <string>

#include "util/error.h"

namespace baton::isolation {

/// A connected unix stream socket; move-only, closed on destruction.
class UnixSocket {
 public:
  UnixSocket() = default;
  explicit UnixSocket(int fd) : fd_(fd) {}
  UnixSocket(UnixSocket&& other) noexcept : fd_(other.release()) {}
  UnixSocket& operator=(UnixSocket&& other) noexcept;
  UnixSocket(const UnixSocket&) = delete;
  UnixSocket& operator=(const UnixSocket&) = delete;
  ~UnixSocket();

  int fd() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// Connects to the unix socket at PATH (close-on-exec). Error: "PATH: strerror".
Result<UnixSocket> connect_unix(const std::string& path);

/// A response: status code, headers (names lower-cased) and the decoded body.
struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

/// Sends METHOD TARGET (e.g. "/v1.41/containers/create") with BODY (sent with
/// Content-Type: application/json when not empty) to the server on SOCKET and reads
/// the whole response. TIMEOUT_S bounds each wait for the socket (seconds; <= 0:
/// none). Errors: connecting, a timeout, a malformed response. An HTTP error status
/// is a response, not an Error.
Result<HttpResponse> http_request(const std::string& socket, const std::string& method,
                                  const std::string& target, const std::string& body = "",
                                  double timeout_s = 30);

/// A connection taken over by the server after its response header.
struct HttpStream {
  UnixSocket socket;
  int status = 0;
  std::string rest;  ///< bytes of the stream that came with the header
};

/// Sends METHOD TARGET with `Upgrade: tcp` and returns the connection once the
/// response header arrived (within TIMEOUT_S). Errors: connecting, a timeout, a
/// status other than 101 or 200 (the message has the server's answer).
Result<HttpStream> http_upgrade(const std::string& socket, const std::string& method,
                                const std::string& target, double timeout_s = 30);

/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 section 7.1; extensions
/// and trailers ignored). Error: a malformed or truncated chunk.
Result<std::string> decode_chunked(const std::string& body);

}  // namespace baton::isolation
