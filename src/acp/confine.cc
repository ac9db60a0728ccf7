#include "acp/confine.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace baton::acp {

namespace {

bool inside(const std::string& root, const std::string& path) {
  if (path == root) return true;
  if (root == "/") return true;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

}  // namespace

Result<std::string> confine(const std::string& root, const std::string& path) {
  if (path.find('\0') != std::string::npos) return fail("path has a NUL byte");
  if (path.empty() || path[0] != '/') return fail("path is not absolute: " + path);
  // Lexically normal first: "a/../b" is "b" ('..' of a symlink is resolved by
  // realpath below for the part that exists; the rest holds no '..' after this).
  std::filesystem::path normal = std::filesystem::path(path).lexically_normal();
  std::vector<std::string> rest;  // components that do not exist, innermost last
  std::filesystem::path existing = normal;
  for (;;) {
    struct stat st;
    if (::lstat(existing.c_str(), &st) == 0) break;
    if (errno != ENOENT && errno != ENOTDIR) {
      return fail("cannot resolve " + path + ": " + std::strerror(errno), errno);
    }
    if (!existing.has_relative_path()) break;  // "/" itself
    rest.push_back(existing.filename().string());
    existing = existing.parent_path();
  }
  char buf[PATH_MAX];
  if (!::realpath(existing.c_str(), buf)) {
    // A dangling symlink or a loop: refused.
    return fail("path is outside the task's directory: " + path);
  }
  std::string resolved = buf;
  for (auto it = rest.rbegin(); it != rest.rend(); ++it) {
    if (*it == ".." || *it == "." || it->empty()) {
      return fail("path is outside the task's directory: " + path);
    }
    resolved += (resolved == "/" ? "" : "/") + *it;
  }
  if (!inside(root, resolved)) return fail("path is outside the task's directory: " + path);
  return resolved;
}

}  // namespace baton::acp
