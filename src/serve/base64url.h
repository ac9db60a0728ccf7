// base64url without padding (RFC 4648 §5): the server's token and its page tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace baton::serve {

/// BYTES as base64url, unpadded ("-" and "_" for "+" and "/").
std::string base64url_encode(std::string_view bytes);

/// TEXT decoded from unpadded base64url; nullopt on any character outside its alphabet
/// (a NUL, "=", "+", "/" included). Bits that do not fill a byte are dropped.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace baton::serve
