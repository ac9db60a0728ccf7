#include "httpjob/callback.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <mutex>

#include "httpjob/profile.h"
#include "util/callback_inbox.h"

namespace baton::httpjob {

namespace {

using nlohmann::json;

constexpr size_t kMaxLineBytes = 16 * 1024 * 1024;
constexpr size_t kMaxSeen = 10000;

struct Registered {
  std::mutex mu;
  std::string run_dir;  // guarded by mu; "" = none
  std::string task;
  int attempt = 0;
};
Registered g_registered;

// "whsec_" + base64 of 32 random bytes (Standard Webhooks' secret form).
std::optional<std::string> random_whsec() {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) return std::nullopt;
  std::string b64(4 * ((sizeof key + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), key, sizeof key);
  b64.resize(static_cast<size_t>(n));
  return "whsec_" + b64;
}

json at_pointer(const json& j, const std::string& pointer) {
  try {
    json::json_pointer p(pointer);
    return j.contains(p) ? j.at(p) : json();
  } catch (const json::exception&) {
    return json();
  }
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  return "";
}

}  // namespace

std::optional<CallbackTarget> register_callback_target(const Webhook& w, std::string* note) {
  note->clear();
  std::optional<CallbackSite> site = callback_site();
  if (!site) return std::nullopt;
  const std::string& base = site->serve_url;
  auto parts = split_url(base);
  if (!parts) return std::nullopt;
  httplib::Client c(parts->first);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(2, 0);
  auto health = c.Get("/healthz");
  if (!health || health->status != 200) {
    *note = "baton serve at " + base + " does not answer: polling";
    return std::nullopt;
  }
  std::optional<std::string> secret;
  if (w.verify == WebhookVerify::kHmac) {
    secret = random_whsec();
  } else if (Result<std::string> hex = random_secret()) {
    secret = *hex;
  }
  if (!secret) {
    *note = "no random secret for the callback: polling";
    return std::nullopt;
  }
  Result<CallbackPaths> paths =
      register_callback(site->run_dir, site->task, site->attempt, *secret);
  if (!paths) {
    *note = paths.error().message + ": polling";
    return std::nullopt;
  }
  {
    std::lock_guard lock(g_registered.mu);
    g_registered.run_dir = site->run_dir;
    g_registered.task = site->task;
    g_registered.attempt = site->attempt;
  }
  CallbackTarget t;
  t.shown_url = parts->first + site->path();
  t.url = w.verify == WebhookVerify::kBearer ? t.shown_url + "?token=" + *secret : t.shown_url;
  t.secret = *secret;
  t.inbox = paths->inbox;
  return t;
}

void end_registered_callback() {
  std::lock_guard lock(g_registered.mu);
  if (g_registered.run_dir.empty()) return;
  end_callback(g_registered.run_dir, g_registered.task, g_registered.attempt);
}

InboxReader::InboxReader(std::string path) : path_(std::move(path)) {
  watch_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (watch_ >= 0 && ::inotify_add_watch(watch_, path_.c_str(), IN_MODIFY) < 0) {
    ::close(watch_);
    watch_ = -1;
  }
}

InboxReader::~InboxReader() {
  if (watch_ >= 0) ::close(watch_);
}

std::vector<json> InboxReader::read_new() {
  std::vector<json> out;
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[65536];
  for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, offset_)) > 0;) {
    offset_ += n;
    partial_.append(buf, static_cast<size_t>(n));
    if (partial_.size() > kMaxLineBytes) break;
  }
  ::close(fd);
  for (size_t eol; (eol = partial_.find('\n')) != std::string::npos;) {
    json line = json::parse(partial_.substr(0, eol), nullptr, false);
    partial_.erase(0, eol + 1);
    if (line.is_object()) out.push_back(std::move(line));
  }
  return out;
}

Result<std::vector<json>> InboxReader::wait(double timeout_s) {
  if (::access(path_.c_str(), F_OK) != 0) return fail("the callback inbox " + path_ + " is gone");
  std::vector<json> out = read_new();
  if (partial_.size() > kMaxLineBytes) return fail("a callback is larger than 16 MiB");
  if (!out.empty()) return out;
  const int ms = static_cast<int>(timeout_s * 1000);
  if (watch_ >= 0) {
    pollfd p{watch_, POLLIN, 0};
    if (::poll(&p, 1, ms) > 0) {
      char events[4096];
      while (::read(watch_, events, sizeof events) > 0) {
      }
    }
  } else {
    ::poll(nullptr, 0, std::min(ms, 1000));  // no inotify: look again soon
  }
  out = read_new();
  if (partial_.size() > kMaxLineBytes) return fail("a callback is larger than 16 MiB");
  return out;
}

DeliveryVerdict check_delivery(const json& line, const Webhook& w, const std::string& job_id,
                               std::set<std::string>* seen, std::string* status) {
  status->clear();
  if (!line.contains("body") || !line["body"].is_object()) return DeliveryVerdict::kMalformed;
  const json& body = line["body"];
  const std::string id = scalar_text(at_pointer(body, w.id_field));
  if (id.empty()) return DeliveryVerdict::kMalformed;
  if (!w.status_field.empty()) *status = scalar_text(at_pointer(body, w.status_field));
  if (id != job_id) return DeliveryVerdict::kOtherJob;
  const std::string delivery_id = line.value("id", "");
  const std::string key = !delivery_id.empty() ? "id:" + delivery_id : "job:" + id + "|" + *status;
  if (seen->count(key)) return DeliveryVerdict::kDuplicate;
  if (seen->size() < kMaxSeen) seen->insert(key);
  return DeliveryVerdict::kApply;
}

}  // namespace baton::httpjob
