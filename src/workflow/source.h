// Reading a workflow or config file: size, text and hash checks before parsing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton::workflow {

/// Files larger than this many bytes are refused (16 MiB).
inline constexpr size_t kMaxSourceBytes = 16u * 1024 * 1024;

/// Reads the whole file at PATH. Errors (message without the file name):
/// "cannot read: <strerror>" (missing, unreadable, a directory), "file is N bytes;
/// the limit is 16777216" (checked before reading).
Result<std::string> read_source_file(const std::string& path);

/// Checks that TEXT is a non-empty UTF-8 text of at most kMaxSourceBytes.
/// Errors (message without the file name): "the file is empty", "file is N
/// bytes; the limit is 16777216", "not a text file (NUL byte at offset N)",
/// "not a text file (invalid UTF-8 at offset N)"; offsets are 0-based bytes.
Result<void> check_source_text(std::string_view text);

/// Lowercase hex SHA-256 of BYTES (OpenSSL EVP; FIPS 180-4).
std::string sha256_hex(std::string_view bytes);

}  // namespace baton::workflow
