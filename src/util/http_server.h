// How baton's HTTP servers (cpp-httplib) bind their port. Header-only: included by the
// libraries that already use httplib (serve, rehearse) and by test servers.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

namespace baton {

/// Makes SERVER (before it binds) hold its port alone: the listening socket gets
/// SO_REUSEADDR (a restarted server binds while the old one's connections linger in
/// TIME_WAIT) and not SO_REUSEPORT. cpp-httplib 0.11 sets SO_REUSEPORT by default, which
/// lets any later process of the same user bind the same address and take a share of
/// the connections: a second `baton serve` on a port in use started without an error,
/// and the kernel then sent each request to either project's server. With this, the
/// second bind fails (EADDRINUSE) and the caller reports it.
inline void bind_port_alone(httplib::Server& server) {
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
}

}  // namespace baton
