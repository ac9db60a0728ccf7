// LogFile: an append-only file that a child's output is streamed into.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::exec {

/// An open, append-only log file (O_APPEND, created 0644, close-on-exec). Move-only;
/// the descriptor is closed on destruction. A default-constructed LogFile is closed and
/// every operation on it is a successful no-op.
/// Thread safety: none; one owner at a time.
class LogFile {
 public:
  LogFile() = default;
  ~LogFile();
  LogFile(LogFile&& other) noexcept;
  LogFile& operator=(LogFile&& other) noexcept;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  /// Opens PATH for appending, creating it (mode 0644 before umask) when missing.
  /// Errors: "cannot open log file PATH: <strerror>" with the errno in Error::code.
  static Result<LogFile> open(const std::string& path);

  /// True while a descriptor is held.
  bool is_open() const { return fd_ >= 0; }

  /// Writes all of DATA at the end of the file, retrying partial writes and EINTR.
  /// Errors: "cannot write log file PATH: <strerror>".
  Result<void> append(std::string_view data);

  /// fsync(2)s the file. Errors: "cannot sync log file PATH: <strerror>".
  Result<void> sync();

  /// Closes the descriptor (without fsync); idempotent.
  void close();

 private:
  LogFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace baton::exec
