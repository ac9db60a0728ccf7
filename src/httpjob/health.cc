#include "httpjob/health.h"

#include <httplib.h>

#include <cmath>
#include <cstdlib>

namespace baton::httpjob {

agents::Health check_health(const Profile& profile, const std::string& url,
                            const std::string& auth_env, double timeout_s) {
  agents::Health h;
  if (!profile.health) {
    h.detail = "the " + profile.name + " profile has no health call";
    return h;
  }
  auto parts = split_url(url);
  if (!parts) {
    h.detail = "the URL '" + url + "' is not an http:// URL";
    return h;
  }
  httplib::Headers headers;
  if (!auth_env.empty()) {
    const char* secret = std::getenv(auth_env.c_str());
    if (!secret || !*secret) {
      h.detail = "the environment variable " + auth_env + " (auth.env) is not set";
      return h;
    }
    headers.emplace(profile.auth_header, profile.auth_prefix + secret);
  }
  double bounded = std::fmax(0.1, timeout_s);
  auto sec = static_cast<time_t>(bounded);
  auto usec = static_cast<time_t>((bounded - static_cast<double>(sec)) * 1e6);
  httplib::Client client(parts->first);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  const Call& call = *profile.health;
  std::string path = parts->second + call.path;
  auto res = call.method == "POST" ? client.Post(path, headers, "{}", "application/json")
                                   : client.Get(path, headers);
  std::string what = call.method + " " + call.path;
  if (!res) {
    h.detail = what + " failed: " + httplib::to_string(res.error());
    return h;
  }
  h.healthy = res->status >= 200 && res->status < 300;
  h.detail = what + ": HTTP " + std::to_string(res->status);
  return h;
}

}  // namespace baton::httpjob
