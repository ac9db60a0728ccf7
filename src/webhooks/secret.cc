#include "webhooks/secret.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "webhooks/signature.h"

namespace baton::webhooks {

std::string secret_ref_of(const workflow::WebhookDef& def, const std::string& root) {
  if (!def.secret_env.empty()) return "env:" + def.secret_env;
  std::filesystem::path path(def.secret_file);
  if (path.is_relative()) path = std::filesystem::path(root) / path;
  return "file:" + path.lexically_normal().string();
}

Result<std::string> resolve_secret(const std::string& ref) {
  std::string text, where;
  if (ref.rfind("env:", 0) == 0) {
    const std::string name = ref.substr(4);
    where = "environment variable " + name;
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return fail(where + " is not set");
    text = value;
  } else if (ref.rfind("file:", 0) == 0) {
    const std::string path = ref.substr(5);
    where = "file " + path;
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("cannot read secret file " + path);
    std::ostringstream content;
    content << in.rdbuf();
    text = content.str();
    if (text.size() > 4096) return fail("secret file " + path + " is larger than 4096 bytes");
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  } else {
    return fail("unknown secret reference (expected env:NAME or file:PATH)");
  }
  auto key = parse_secret(text);
  if (!key) return fail("secret in " + where + ": " + key.error().message);
  return key;
}

}  // namespace baton::webhooks
