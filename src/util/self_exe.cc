#include "util/self_exe.h"

#include <limits.h>
#include <unistd.h>

namespace baton {

std::optional<std::string> self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace baton
