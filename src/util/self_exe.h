// The path of the running program's own executable.
#pragma once

#include <optional>
#include <string>

namespace baton {

/// The absolute path of this process's executable, read from /proc/self/exe; nullopt
/// when it cannot be read. Callers choose their own fallback: a process that execs it
/// later (a supervisor's child) must not fall back to "/proc/self/exe", which then
/// names another program.
std::optional<std::string> self_executable();

}  // namespace baton
