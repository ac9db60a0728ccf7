// Finding a connection's socket by its addresses.
#include "rehearse/connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

namespace baton::rehearse {
namespace {

// The port and address text of ADDR, or port -1 for other families.
int port_and_address(const sockaddr_storage& addr, std::string* text) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(addr);
    if (text) *text = inet_ntop(AF_INET, &in4.sin_addr, buf, sizeof buf) ? buf : "";
    return ntohs(in4.sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    if (text) *text = inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf) ? buf : "";
    return ntohs(in6.sin6_port);
  }
  return -1;
}

// The descriptor of the connection, or -1. It stays valid while the handler of a
// request on it runs: the server's thread closes it only afterwards.
int find_connection(int local_port, const std::string& remote_addr, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    if (port_and_address(local, nullptr) != local_port) continue;
    sockaddr_storage peer{};
    len = sizeof peer;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    std::string peer_addr;
    if (port_and_address(peer, &peer_addr) != remote_port) continue;
    if (!remote_addr.empty() && peer_addr != remote_addr) continue;
    found = static_cast<int>(fd);
    break;
  }
  closedir(dir);
  return found;
}

}  // namespace

bool shutdown_connection(int local_port, const std::string& remote_addr, int remote_port) {
  int fd = find_connection(local_port, remote_addr, remote_port);
  if (fd < 0) return false;
  ::shutdown(fd, SHUT_RDWR);
  return true;
}

bool connection_closed(int local_port, const std::string& remote_addr, int remote_port) {
  int fd = find_connection(local_port, remote_addr, remote_port);
  if (fd < 0) return true;
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace baton::rehearse
