// What the wire protocols share.
#include "rehearse/protocol.h"

namespace baton::rehearse {
namespace {

void append_text(const nlohmann::json& node, std::string& out, size_t limit, int depth) {
  if (out.size() >= limit || depth > 16) return;
  if (node.is_string()) {
    if (!out.empty()) out += " ";
    out += node.get_ref<const std::string&>();
  } else if (node.is_array()) {
    for (const auto& item : node) append_text(item, out, limit, depth + 1);
  } else if (node.is_object()) {
    for (const char* key : {"text", "content", "output", "response", "functionResponse"}) {
      if (node.contains(key)) append_text(node[key], out, limit, depth + 1);
    }
  }
}

}  // namespace

const char* protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::kAnthropic:
      return "anthropic";
    case Protocol::kOpenAiResponses:
      return "openai-responses";
    case Protocol::kOpenAiChat:
      return "openai-chat";
    case Protocol::kGemini:
      return "gemini";
  }
  return "unknown";
}

std::string content_text(const nlohmann::json& content, size_t limit) {
  std::string out;
  append_text(content, out, limit, 0);
  if (out.size() > limit) {
    out.resize(limit);
    // Do not cut a UTF-8 sequence in half.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
  }
  return out;
}

std::string last_part_text(const nlohmann::json& content, size_t limit) {
  if (content.is_array() && !content.empty()) return content_text(content.back(), limit);
  return content_text(content, limit);
}

}  // namespace baton::rehearse
