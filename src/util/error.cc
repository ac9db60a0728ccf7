#include "util/error.h"

#include <cstring>

namespace baton {

Error Error::from_errno(const std::string& what, int errno_code) {
  return Error(what + ": " + std::strerror(errno_code), errno_code);
}

}  // namespace baton
