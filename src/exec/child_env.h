// The environment a child process starts with.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace baton::exec {

/// Returns the child's environment as "KEY=VALUE" strings: baton's own environment
/// (environ) with every entry of OVERRIDES set on top (replacing a variable of the
/// same name). Entries of environ without '=' are dropped. The order is sorted by name.
/// Thread safety: reads environ; do not call concurrently with setenv/putenv.
std::vector<std::string> build_child_env(const std::map<std::string, std::string>& overrides);

}  // namespace baton::exec
