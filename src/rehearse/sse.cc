// Server-sent events.
#include "rehearse/sse.h"

namespace baton::rehearse {
namespace {

// Invalid UTF-8 (from a script or a request) is replaced, never thrown about.
std::string one_line(const nlohmann::json& data) {
  return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string sse_event(const std::string& name, const nlohmann::json& data) {
  return "event: " + name + "\ndata: " + one_line(data) + "\n\n";
}

std::string sse_data(const nlohmann::json& data) { return "data: " + one_line(data) + "\n\n"; }

std::string sse_raw(const std::string& text) { return "data: " + text + "\n\n"; }

}  // namespace baton::rehearse
