// Server-sent events (the HTML Living Standard's text/event-stream format).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace baton::rehearse {

/// "event: NAME\ndata: JSON\n\n" (JSON on one line).
std::string sse_event(const std::string& name, const nlohmann::json& data);

/// "data: JSON\n\n", for protocols that name no events (OpenAI Chat, Gemini).
std::string sse_data(const nlohmann::json& data);

/// "data: TEXT\n\n" with TEXT as is (OpenAI Chat's final "[DONE]").
std::string sse_raw(const std::string& text);

}  // namespace baton::rehearse
