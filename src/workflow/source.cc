#include "workflow/source.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace baton::workflow {
namespace {

std::string too_big_message(unsigned long long size) {
  return "file is " + std::to_string(size) + " bytes; the limit is " +
         std::to_string(kMaxSourceBytes);
}

// Length of the valid UTF-8 sequence at TEXT[i], or 0 when it is not valid
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

Result<std::string> read_source_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return fail("cannot read: " + std::string(std::strerror(errno)), errno);
  if (S_ISDIR(st.st_mode))
    return fail("cannot read: " + std::string(std::strerror(EISDIR)), EISDIR);
  if (S_ISREG(st.st_mode) && static_cast<unsigned long long>(st.st_size) > kMaxSourceBytes) {
    return fail(too_big_message(st.st_size));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read: " + std::string(std::strerror(errno)), errno);
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    // A pipe or a file that grew: stop reading once past the limit.
    if (text.size() > kMaxSourceBytes) return fail(too_big_message(text.size()));
  }
  if (in.bad()) return fail("cannot read: " + std::string(std::strerror(errno)), errno);
  return text;
}

Result<void> check_source_text(std::string_view text) {
  if (text.empty()) return fail("the file is empty");
  if (text.size() > kMaxSourceBytes) return fail(too_big_message(text.size()));
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return fail("not a text file (NUL byte at offset " + std::to_string(nul) + ")");
  }
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) return fail("not a text file (invalid UTF-8 at offset " + std::to_string(i) + ")");
    i += n;
  }
  return ok();
}

std::string sha256_hex(std::string_view bytes) {
  // The digest is fetched once and a context is kept per thread: EVP_Digest() with
  // EVP_sha256() fetches the algorithm and allocates a context on every call, which
  // cost more than hashing a task's few hundred bytes (the loader hashes every task).
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::string out;
  if (!kSha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), kSha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    return out;  // only on allocation failure inside OpenSSL
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return out;
}

}  // namespace baton::workflow
