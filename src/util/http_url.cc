#include "util/http_url.h"

namespace baton {

std::optional<HttpUrl> split_http_url(std::string_view url) {
  // No blank or control character anywhere: it would end the request line or start a
  // header of its own.
  for (unsigned char c : url) {
    if (c <= ' ' || c == 0x7f) return std::nullopt;
  }
  size_t scheme = 0;
  if (url.rfind("http://", 0) == 0) {
    scheme = 7;
  } else if (url.rfind("https://", 0) == 0) {
    scheme = 8;
  } else {
    return std::nullopt;
  }
  const size_t end = url.find_first_of("/?#", scheme);
  HttpUrl out;
  out.origin = std::string(url.substr(0, end));
  const std::string_view authority = std::string_view(out.origin).substr(scheme);
  // A host, and no user information ("user:password@"), which would make one origin
  // look like another.
  if (authority.empty() || authority[0] == ':' || authority.find('@') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = end == std::string_view::npos ? std::string_view() : url.substr(end);
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  out.path = rest.empty() || rest[0] != '/' ? "/" + std::string(rest) : std::string(rest);
  return out;
}

}  // namespace baton
