#include "serve/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "serve/base64url.h"

namespace baton::serve {

namespace {

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<std::string> new_token() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

Result<Token> load_or_create_token(const std::string& path, bool create) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      return fail(path + ": mode " + mode + ": the token file must be 0600 (chmod 600 " + path +
                  ")");
    }
    std::ifstream in(path);
    if (!in) return fail(path + ": cannot read the token file");
    std::string line;
    std::getline(in, line);
    line = trim(line);
    if (line.size() < 16) return fail(path + ": the token must be at least 16 characters");
    return Token{line, false};
  }
  if (errno != ENOENT) return fail(path + ": " + std::strerror(errno));
  if (!create) return fail(path + ": no such token file");
  auto token = new_token();
  if (!token) return tl::unexpected(token.error());
  std::error_code ec;
  const std::filesystem::path file(path);
  if (file.has_parent_path()) {
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) return fail(file.parent_path().string() + ": " + ec.message());
    ::chmod(file.parent_path().c_str(), 0700);
  }
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(tmp + ": " + std::strerror(errno));
  const std::string text = *token + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(path + ": cannot write the token file: " + why);
  }
  return Token{*token, true};
}

std::string session_value(std::string_view token) {
  static const char* kLabel = "baton serve session v1";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(kLabel), std::strlen(kLabel), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

std::string session_cookie(std::string_view token) {
  return "baton_session=" + session_value(token) + "; HttpOnly; SameSite=Strict; Path=/";
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string session_from_cookie_header(std::string_view header) {
  std::istringstream in{std::string(header)};
  std::string part;
  while (std::getline(in, part, ';')) {
    part = trim(part);
    if (part.rfind("baton_session=", 0) == 0) return part.substr(14);
  }
  return "";
}

AuthMethod authenticate(std::string_view token, std::string_view authorization,
                        std::string_view cookie_header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      lower(authorization.substr(0, kBearer.size())) == "bearer ") {
    std::string given = trim(std::string(authorization.substr(kBearer.size())));
    return constant_time_equal(given, token) ? AuthMethod::kBearer : AuthMethod::kNone;
  }
  std::string session = session_from_cookie_header(cookie_header);
  if (!session.empty() && constant_time_equal(session, session_value(token))) {
    return AuthMethod::kCookie;
  }
  return AuthMethod::kNone;
}

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
  const std::string h = lower(host);
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return lower(a) == h; });
}

bool origin_matches(std::string_view origin, std::string_view host) {
  return lower(origin) == "http://" + lower(host);
}

bool is_loopback(std::string_view host) {
  std::string h = lower(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

}  // namespace baton::serve
