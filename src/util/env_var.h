// Reading an environment variable with a default.
#pragma once

#include <cstdlib>
#include <string>

namespace baton {

/// The value of environment variable NAME, or FALLBACK when it is unset or empty.
inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace baton
