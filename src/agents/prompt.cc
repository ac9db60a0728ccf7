#include "agents/prompt.h"

namespace baton::agents {

namespace {

std::string trim_newlines(const std::string& s) {
  size_t b = s.find_first_not_of('\n');
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string build_prompt(const std::string& instructions, const std::string& task,
                         const std::vector<std::pair<std::string, std::string>>& context) {
  std::vector<std::string> parts;
  if (std::string t = trim_newlines(instructions); !t.empty()) parts.push_back(t);
  if (std::string t = trim_newlines(task); !t.empty()) parts.push_back(t);
  if (!context.empty()) {
    std::string block = "Context:";
    for (const auto& [key, value] : context) {
      std::string v = trim_newlines(value);
      if (v.find('\n') == std::string::npos) {
        block += "\n" + key + ": " + v;
        continue;
      }
      block += "\n" + key + ":";
      size_t start = 0;
      while (start <= v.size()) {
        size_t nl = v.find('\n', start);
        if (nl == std::string::npos) nl = v.size();
        block += "\n  " + v.substr(start, nl - start);
        start = nl + 1;
      }
    }
    parts.push_back(block);
  }
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += "\n\n";
    out += part;
  }
  return out + "\n";
}

std::string as_argument(const std::string& prompt) {
  return !prompt.empty() && prompt[0] == '-' ? " " + prompt : prompt;
}

}  // namespace baton::agents
