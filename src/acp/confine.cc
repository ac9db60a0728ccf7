#include "acp/confine.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

// openat(2) of NAME under DIR, again on EINTR.
int open_at(int dir, const std::string& name, int flags, mode_t mode) {
  for (;;) {
    int fd = ::openat(dir, name.c_str(), flags, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

}  // namespace

Result<exec::Fd> open_beneath(const std::string& root, const std::string& path, int flags,
                              mode_t mode, bool create_parents) {
  const std::string outside = "path is outside the task's directory: " + path;
  if (!inside(root, path)) return fail(outside);
  // The components below ROOT; confine() left no "." or ".." (refused here regardless).
  std::vector<std::string> parts;
  for (size_t at = root == "/" ? 1 : root.size() + 1; at < path.size();) {
    size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(at, end - at);
    if (part == "." || part == "..") return fail(outside);
    if (!part.empty()) parts.push_back(std::move(part));
    at = end + 1;
  }
  auto failed = [&](int err) -> Result<exec::Fd> {
    if (err == EXDEV || err == ELOOP) return fail(outside, err);
    return fail("cannot open " + path + ": " + std::strerror(err), err);
  };
  exec::Fd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return failed(errno);
  if (parts.empty()) {
    exec::Fd self(::openat(dir.get(), ".", flags | O_CLOEXEC, mode));
    if (!self.valid()) return failed(errno);
    return self;
  }
  const int walk = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  // Each directory on the way is opened relative to the one before it, never through a
  // symlink: what a name meant when confine() looked does not matter, only what it is
  // now.
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int fd = open_at(dir.get(), parts[i], walk, 0);
    if (fd < 0 && errno == ENOENT && create_parents) {
      // mkdirat(2) does not follow a symlink in the last component (EEXIST then), and
      // the directory made is opened like any other (a swap after it is caught there).
      if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return failed(errno);
      }
      fd = open_at(dir.get(), parts[i], walk, 0);
    }
    if (fd < 0 && errno == ENOTDIR) {
      // O_NOFOLLOW | O_DIRECTORY on a symlink: ENOTDIR. One where a directory was is
      // refused as leading out; a plain file there is just not a directory.
      struct stat st {};
      if (::fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return failed(ELOOP);
      }
      errno = ENOTDIR;
    }
    if (fd < 0) return failed(errno);
    dir = exec::Fd(fd);
  }
  int fd = open_at(dir.get(), parts.back(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return failed(errno);
  return exec::Fd(fd);
}

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
