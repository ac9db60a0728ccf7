// Writing a whole buffer to a file descriptor, for the places that hand bytes to a file,
// pipe or socket and must not lose a short write.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton {

/// Writes all of DATA to FD, writing again after a short write or EINTR. FD should be
/// blocking (a full non-blocking one fails with EAGAIN). Errors: "write: <strerror>"
/// with the errno; a write that takes no bytes fails as EIO. Header-only: also used by
/// baton-supervise, which links only libc and libstdc++.
inline Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      return fail(std::string("write: ") + std::strerror(err), err);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace baton
