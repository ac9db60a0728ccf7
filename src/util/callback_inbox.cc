#include "util/callback_inbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/env_var.h"

namespace baton {

namespace {

namespace fs = std::filesystem;

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string CallbackSite::path() const {
  return "/v1/callbacks/" + fs::path(run_dir).filename().string() + "/" + task + "/" +
         std::to_string(attempt);
}

std::optional<CallbackSite> callback_site() {
  CallbackSite site;
  const std::string log = env_or("BATON_ATTEMPT_LOG", "");
  site.task = env_or("BATON_TASK_ID", "");
  site.attempt = std::atoi(env_or("BATON_ATTEMPT", "").c_str());
  if (log.empty() || site.task.empty() || site.attempt <= 0) return std::nullopt;
  const fs::path run_dir = fs::path(log).parent_path().parent_path();
  site.run_dir = run_dir.string();
  std::ifstream in(run_dir.parent_path().parent_path() / "serve" / "url");
  if (!in || !std::getline(in, site.serve_url) || site.serve_url.size() > 200) {
    return std::nullopt;
  }
  return site;
}

CallbackPaths callback_paths(const std::string& run_dir, const std::string& task, int attempt) {
  std::string base =
      (fs::path(run_dir) / "callbacks" / (task + "." + std::to_string(attempt))).string();
  return {base + ".secret", base + ".inbox"};
}

Result<CallbackPaths> register_callback(const std::string& run_dir, const std::string& task,
                                        int attempt, const std::string& secret) {
  CallbackPaths p = callback_paths(run_dir, task, attempt);
  std::error_code ec;
  fs::create_directories(fs::path(p.secret).parent_path(), ec);
  if (ec) return fail("cannot create " + fs::path(p.secret).parent_path().string());
  int fd = ::open(p.secret.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail("cannot write " + p.secret);
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size());
  ::close(fd);
  if (!ok) return fail("cannot write " + p.secret);
  fd = ::open(p.inbox.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail("cannot create " + p.inbox);
  ::close(fd);
  fs::remove(p.inbox.substr(0, p.inbox.size() - 6) + ".ended", ec);
  return p;
}

std::optional<std::string> callback_secret(const std::string& run_dir, const std::string& task,
                                           int attempt) {
  CallbackPaths p = callback_paths(run_dir, task, attempt);
  int fd = ::open(p.secret.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

Delivery append_callback(const std::string& run_dir, const std::string& task, int attempt,
                         std::string_view body, double now_s, const std::string& id) {
  CallbackPaths p = callback_paths(run_dir, task, attempt);
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object()) return Delivery::kBadBody;
  nlohmann::json line = {{"received", now_s}, {"body", std::move(parsed)}};
  if (!id.empty()) line["id"] = id;
  std::error_code ec;
  const bool late = fs::exists(p.inbox.substr(0, p.inbox.size() - 6) + ".ended", ec);
  if (late) line["late"] = true;
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fd = ::open(p.inbox.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Delivery::kUnknown;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) + text.size() > kMaxInboxBytes) {
    ::close(fd);
    return Delivery::kFull;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return Delivery::kFailed;
  return late ? Delivery::kLate : Delivery::kAccepted;
}

Delivery deliver_callback(const std::string& run_dir, const std::string& task, int attempt,
                          std::string_view token, std::string_view body, double now_s) {
  std::optional<std::string> secret = callback_secret(run_dir, task, attempt);
  if (!secret) return Delivery::kUnknown;
  if (!same_secret(*secret, token)) return Delivery::kForbidden;
  return append_callback(run_dir, task, attempt, body, now_s, "");
}

void end_callback(const std::string& run_dir, const std::string& task, int attempt) {
  CallbackPaths p = callback_paths(run_dir, task, attempt);
  int fd = ::open((p.inbox.substr(0, p.inbox.size() - 6) + ".ended").c_str(),
                  O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) ::close(fd);
}

Result<std::string> random_secret() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!in.read(reinterpret_cast<char*>(bytes), sizeof bytes))
    return fail("cannot read /dev/urandom");
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace baton
