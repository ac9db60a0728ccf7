// TCP ports for tests: one held (bound, never listening) and one found free. Header-only
// and libc only: the test servers of several test binaries use it (the webhook receiver,
// the PostgreSQL and Slurm clusters, the LangGraph and Gemini A2A servers).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace baton {

/// A TCP port held by a socket bound to it and never listening: a connection to it is
/// refused (a reset), and while it is held no other socket can bind the port, not
/// even one with SO_REUSEPORT (cpp-httplib's servers set it). A port found free and
/// then closed can meanwhile be taken by another test's server, so that requests cross
/// between tests (CI saw two webhook tests fail so); a test that needs a port where
/// nothing listens holds one, and release()s it just before a server comes back on it.
class HeldPort {
 public:
  /// Binds ADDRESS (host byte order; default 127.0.0.1) on a port the kernel chooses.
  explicit HeldPort(in_addr_t address = INADDR_LOOPBACK) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(address);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~HeldPort() { release(); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;

  /// The port; -1 when no socket could be bound.
  int port() const { return port_; }
  /// Closes the socket: the port is free again.
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = -1;
};

/// A port of ADDRESS that was free a moment ago (held, then released), for a server
/// that takes its port on the command line; 0 when none could be bound. Another
/// process may take it before the server binds it: use HeldPort where that matters.
inline int free_port(in_addr_t address = INADDR_LOOPBACK) {
  const int port = HeldPort(address).port();
  return port > 0 ? port : 0;
}

}  // namespace baton
