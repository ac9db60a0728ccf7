#include "exec/redactor.h"

#include <algorithm>

namespace baton::exec {

Redactor::Redactor(std::vector<std::string> secrets) {
  for (std::string& s : secrets) {
    if (!s.empty()) secrets_.push_back(std::move(s));
  }
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
}

std::string Redactor::push(std::string_view chunk) {
  if (secrets_.empty()) return std::string(chunk);
  pending_.append(chunk);
  return scan(/*at_end=*/false);
}

std::string Redactor::finish() { return scan(/*at_end=*/true); }

std::string Redactor::scan(bool at_end) {
  std::string_view text = pending_;
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  size_t copied = 0;  // text[copied, i) is plain output not yet appended to `out`
  size_t hold = text.size();
  while (i < text.size()) {
    std::string_view rest = text.substr(i);
    bool replaced = false;
    bool partial = false;
    for (const std::string& secret : secrets_) {
      if (secret[0] != rest[0]) continue;
      if (rest.size() >= secret.size()) {
        if (rest.compare(0, secret.size(), secret) == 0) {
          out.append(text.substr(copied, i - copied));
          out.append("***");
          i += secret.size();
          copied = i;
          replaced = true;
          break;
        }
      } else if (!at_end && secret.compare(0, rest.size(), rest) == 0) {
        // Secrets are longest first: this one may still complete, and it would win
        // over any shorter one that matches here now.
        partial = true;
        break;
      }
    }
    if (replaced) continue;
    if (partial) {
      hold = i;
      break;
    }
    ++i;
  }
  out.append(text.substr(copied, hold - copied));
  pending_.erase(0, hold);
  return out;
}

}  // namespace baton::exec
