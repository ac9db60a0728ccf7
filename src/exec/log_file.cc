#include "exec/log_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace baton::exec {

LogFile::~LogFile() { close(); }

LogFile::LogFile(LogFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

LogFile& LogFile::operator=(LogFile&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

Result<LogFile> LogFile::open(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return tl::unexpected(Error::from_errno("cannot open log file " + path, errno));
  return LogFile(fd, path);
}

Result<void> LogFile::append(std::string_view data) {
  if (fd_ < 0) return ok();
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(Error::from_errno("cannot write log file " + path_, errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<void> LogFile::sync() {
  if (fd_ < 0) return ok();
  if (::fsync(fd_) != 0) {
    return tl::unexpected(Error::from_errno("cannot sync log file " + path_, errno));
  }
  return ok();
}

void LogFile::close() {
  // close(2) is not retried on EINTR: on Linux the descriptor is released regardless.
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

}  // namespace baton::exec
