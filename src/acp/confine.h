// Confinement of the paths an ACP agent names (fs/read_text_file, fs/write_text_file,
// terminal cwd, the locations of a tool call asking for permission) to the task's
// directory. The agent is hostile: "../", absolute paths elsewhere and symlinks that
// lead out are all refused.
#pragma once

#include <string>

#include "util/error.h"

namespace baton::acp {

/// PATH resolved and checked to lie in ROOT (ROOT itself included). ROOT must be the
/// realpath(3) of an existing directory. PATH must be absolute (ACP requires absolute
/// paths); it need not exist: its longest existing prefix is resolved with realpath(3)
/// (following every symlink in it) and the rest, which holds no "." or ".." and no
/// symlink since it does not exist, is appended. A dangling symlink is refused (it
/// could be created later to lead anywhere).
/// Returns the resolved absolute path. Errors: "path is not absolute: P", "path is
/// outside the task's directory: P", "path has a NUL byte", "cannot resolve P: ...".
Result<std::string> confine(const std::string& root, const std::string& path);

}  // namespace baton::acp
