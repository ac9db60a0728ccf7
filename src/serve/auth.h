// Who may use `baton serve` (issue 13): one bearer token per project, the browser's
// session cookie derived from it, and the Host and Origin checks that stop DNS
// rebinding and cross-site requests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace baton::serve {

/// The server's token as read or made by load_or_create_token().
struct Token {
  std::string value;     ///< 43 characters of base64url (32 random bytes)
  bool created = false;  ///< true: made now (the caller prints it once)
};

/// Reads the token from PATH (its first line, surrounding whitespace removed); when
/// PATH does not exist and CREATE is true, makes a new one from 32 bytes of
/// getrandom(2) and writes it with mode 0600 (the directory is created 0700), atomically
/// (a temporary file renamed into place). Errors: PATH cannot be read or written, it
/// is readable by group or others ("PATH: mode 0644: the token file must be 0600"),
/// or its token is shorter than 16 characters.
Result<Token> load_or_create_token(const std::string& path, bool create);

/// The session cookie's value for TOKEN: lowercase hex HMAC-SHA256(TOKEN, "baton serve
/// session v1"). It needs no server-side state, so it stays valid across restarts
/// while the token is the same, and a new token invalidates every session.
std::string session_value(std::string_view token);

/// The Set-Cookie header's value that gives the browser the session for TOKEN:
/// HttpOnly, SameSite=Strict, Path=/.
std::string session_cookie(std::string_view token);

/// Compares A and B in time that depends only on their lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

/// The session cookie's value in a Cookie header ("" when there is none).
std::string session_from_cookie_header(std::string_view cookie_header);

/// How a request proved who it is.
enum class AuthMethod { kNone, kBearer, kCookie };

/// Checks AUTHORIZATION ("Bearer TOKEN") and then COOKIE_HEADER against TOKEN.
AuthMethod authenticate(std::string_view token, std::string_view authorization,
                        std::string_view cookie_header);

/// True when HOST (the Host header: "name:port" or "[v6]:port") names this server:
/// one of ALLOWED ("127.0.0.1:8470", "localhost:8470", ...; compared without case).
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);

/// True when ORIGIN (the Origin header) is "http://" + HOST, the request's own origin.
bool origin_matches(std::string_view origin, std::string_view host);

/// True when HOST (an address or name to bind) is a loopback one: 127.0.0.0/8, ::1,
/// localhost.
bool is_loopback(std::string_view host);

}  // namespace baton::serve
