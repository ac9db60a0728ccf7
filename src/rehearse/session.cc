// Session API keys and request records.
#include <nlohmann/json.hpp>

#include "rehearse/server.h"

namespace baton::rehearse {

namespace {
constexpr std::string_view kPrefix = "baton-rehearse:";
}  // namespace

std::string session_api_key(const std::string& task, const std::string& agent, int attempt) {
  return std::string(kPrefix) + task + ":" + agent + ":" + std::to_string(attempt);
}

std::optional<SessionKey> parse_session_key(const std::string& api_key) {
  if (api_key.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string rest = api_key.substr(kPrefix.size());
  size_t last = rest.rfind(':');
  if (last == std::string::npos || last == 0) return std::nullopt;
  size_t middle = rest.rfind(':', last - 1);
  if (middle == std::string::npos || middle == 0) return std::nullopt;
  SessionKey key{rest.substr(0, middle), rest.substr(middle + 1, last - middle - 1),
                 rest.substr(last + 1)};
  if (key.agent.empty() || key.attempt.empty()) return std::nullopt;
  return key;
}

std::string record_json(const RequestRecord& r) {
  nlohmann::json j{{"time", r.time},
                   {"session", r.session},
                   {"protocol", r.protocol},
                   {"method", r.method},
                   {"path", r.path},
                   {"status", r.status},
                   {"had_tools", r.had_tools},
                   {"stream", r.stream},
                   {"step", r.step},
                   {"action", r.action},
                   {"body_excerpt", r.body_excerpt}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace baton::rehearse
