// Confinement of the paths an ACP agent names (fs/read_text_file, fs/write_text_file,
// terminal cwd, the locations of a tool call asking for permission) to the task's
// directory. The agent is hostile: "../", absolute paths elsewhere and symlinks that
// lead out are all refused.
#pragma once

#include <sys/types.h>

#include <string>

#include "exec/spawn.h"
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

/// Opens PATH, an answer of confine() for ROOT (both absolute, every symlink in PATH
/// resolved already), such that the open stays inside ROOT whatever changed since
/// confine() looked. confine() answers only for the moment it looked: opening the
/// string it returned is a time-of-check-to-time-of-use race, which a hostile task or
/// agent running meanwhile wins by replacing a directory on the way with a symlink that
/// leads out. Here each directory below ROOT is opened relative to the one before it
/// with openat(2) and O_PATH | O_DIRECTORY | O_NOFOLLOW, and the last component with
/// FLAGS | O_CLOEXEC | O_NOFOLLOW (MODE for a file O_CREAT makes): no symlink is
/// followed at all, so one swapped in since is refused, never taken.
/// With CREATE_PARENTS, a missing directory on the way is made (mkdirat(2), mode 0755;
/// it does not follow a symlink) and then opened like the others. PATH equal to ROOT
/// opens ROOT itself.
/// Errors: "path is outside the task's directory: PATH" (not under ROOT, a "." or ".."
/// component, or a symlink on the way or last: errno ELOOP), else "cannot open PATH:
/// <strerror>" with the errno (ENOENT when it does not exist, ENOTDIR when a file
/// stands where a directory should).
Result<exec::Fd> open_beneath(const std::string& root, const std::string& path, int flags,
                              mode_t mode = 0, bool create_parents = false);

}  // namespace baton::acp
