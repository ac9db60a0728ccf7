// Error and Result: the one error style of baton's internals.
//
// Functions that can fail return Result<T> (tl::expected<T, Error>). Exceptions
// are used only at the edges (the CLI's main and library callbacks that throw),
// caught once and turned into an Error.
#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace baton {

/// A failure as a value: a human-readable message that already names the place
/// (file, task, path) and the reason. `code` is an errno value when the failure
/// came from the OS, else 0.
struct Error {
  std::string message;
  int code = 0;

  Error() = default;
  explicit Error(std::string msg, int errno_code = 0) : message(std::move(msg)), code(errno_code) {}

  /// An Error for a failed system call: "WHAT: strerror(errno_code)".
  static Error from_errno(const std::string& what, int errno_code);
};

/// The return type of anything that can fail: a T, or an Error.
template <typename T>
using Result = tl::expected<T, Error>;

/// Shorthand for the failing side of a Result: `return fail("no such task");`.
inline tl::unexpected<Error> fail(std::string message, int errno_code = 0) {
  return tl::unexpected<Error>(Error(std::move(message), errno_code));
}

/// Result<void> success value: `return ok();`.
inline Result<void> ok() { return {}; }

}  // namespace baton
