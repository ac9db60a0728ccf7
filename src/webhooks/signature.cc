#include "webhooks/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace baton::webhooks {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return fail("not valid base64");
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '=') {
      if (i < text.size() - 2) return fail("not valid base64");
      ++padding;
    } else if (padding > 0 || !(alnum || c == '+' || c == '/')) {
      return fail("not valid base64");
    }
  }
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return fail("not valid base64");
  out.resize(static_cast<size_t>(n) - padding);  // EVP_DecodeBlock counts padding as zeros
  return out;
}

Result<std::string> parse_secret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) != kPrefix) {
    return fail("the secret does not start with whsec_");
  }
  auto key = base64_decode(secret.substr(kPrefix.size()));
  if (!key) return fail("the secret after whsec_ is not valid base64");
  if (key->size() < 24 || key->size() > 64) {
    return fail("the secret's key is " + std::to_string(key->size()) +
                " bytes; Standard Webhooks wants 24 to 64");
  }
  return key;
}

std::string sign(std::string_view key, std::string_view id, int64_t timestamp,
                 std::string_view body) {
  std::string message;
  message.reserve(id.size() + body.size() + 24);
  message.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return "v1," + base64_encode(std::string_view(reinterpret_cast<char*>(mac), mac_len));
}

Result<void> verify(std::string_view key, const SignedRequest& request, int64_t now,
                    int64_t tolerance) {
  if (request.id.empty() || request.timestamp.empty() || request.signature.empty()) {
    return fail("missing header");
  }
  int64_t timestamp = 0;
  const char* first = request.timestamp.data();
  const char* last = first + request.timestamp.size();
  auto [end, ec] = std::from_chars(first, last, timestamp);
  if (ec != std::errc() || end != last) return fail("bad timestamp");
  if (timestamp < now - tolerance) return fail("timestamp too old");
  if (timestamp > now + tolerance) return fail("timestamp too new");
  const std::string expected = sign(key, request.id, timestamp, request.body);
  std::string_view items = request.signature;
  while (!items.empty()) {
    const size_t space = items.find(' ');
    std::string_view item = items.substr(0, space);
    items = space == std::string_view::npos ? std::string_view() : items.substr(space + 1);
    if (item.size() == expected.size() &&
        CRYPTO_memcmp(item.data(), expected.data(), expected.size()) == 0) {
      return ok();
    }
  }
  return fail("no matching signature");
}

}  // namespace baton::webhooks
