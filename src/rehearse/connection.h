// Closing one accepted connection of the HTTP server from inside its handler.
//
// cpp-httplib 0.11 gives a handler no access to its socket, so a connection is
// found by its addresses: the socket of this process whose local port is
// LOCAL_PORT and whose peer is REMOTE_ADDR:REMOTE_PORT (IPv4 or IPv6).
#pragma once

#include <string>

namespace baton::rehearse {

/// Shuts down both directions of the connection named above, so the client sees
/// it closed without a response. Returns false when no such socket is found.
/// Thread-safe; the socket stays open (its owner closes it).
bool shutdown_connection(int local_port, const std::string& remote_addr, int remote_port);

/// Whether the client closed the connection named above (or it is gone), without
/// waiting. A connection that still waits for its answer gives false.
bool connection_closed(int local_port, const std::string& remote_addr, int remote_port);

}  // namespace baton::rehearse
