#include "httpjob/config_profile.h"

#include <cctype>
#include <set>
#include <vector>

namespace baton::httpjob {

namespace {

using nlohmann::json;

const std::vector<std::string> kTopKeys = {"auth",   "input_key", "output_key", "prepare", "create",
                                           "find",   "status",    "states",     "result",  "resume",
                                           "cancel", "health",    "webhook"};
const std::vector<std::string> kCallKeys = {"method", "path", "body", "capture"};
const std::vector<std::string> kCalls = {"prepare", "create", "find",   "status",
                                         "result",  "resume", "cancel", "health"};
// Fields a call has besides kCallKeys: JSON pointers, but for "check" (resume's check
// call) and "waiting" (a status string).
const std::map<std::string, std::vector<std::string>> kExtraKeys = {
    {"find", {"list", "match"}},
    {"status", {"field", "detail", "output", "error", "needs_input"}},
    {"result", {"output", "error", "needs_input"}},
    {"resume", {"check"}},
    {"resume.check", {"field", "waiting", "question"}}};
// Variables every job has (httpjob/client.h; "answer" in resume); captures add more.
const std::vector<std::string> kBaseVars = {"prompt",    "key",        "assistant_id",
                                            "thread_id", "output_key", "answer"};

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  for (const std::string& n : names) {
    if (n == name) return true;
  }
  return false;
}

// RFC 6901 escaping of one reference token.
std::string token(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

std::optional<ProfileIssue> issue(std::string pointer, std::string message) {
  return ProfileIssue{std::move(pointer), std::move(message)};
}

// The "{NAME}" variables of TEMPLATE; sets *UNBALANCED when a brace is not closed or
// a name is empty or nested.
std::vector<std::string> variables(const std::string& text, bool* unbalanced) {
  std::vector<std::string> names;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') *unbalanced = true;
    if (text[i] != '{') continue;
    size_t close = text.find('}', i);
    std::string name = close == std::string::npos ? "" : text.substr(i + 1, close - i - 1);
    if (name.empty() || name.find('{') != std::string::npos) {
      *unbalanced = true;
      return names;
    }
    names.push_back(name);
    i = close;
  }
  return names;
}

// A path template's problem, or "": it is appended to the API's base URL, so it must be
// a path and nothing else.
std::string path_problem(const std::string& path, const std::set<std::string>& vars) {
  if (path.empty() || path.front() != '/') return "must start with /";
  if (path.rfind("//", 0) == 0 || path.find("://") != std::string::npos) {
    return "must be a path, not a URL with a scheme or a host";
  }
  bool unbalanced = false;
  std::vector<std::string> names = variables(path, &unbalanced);
  if (unbalanced) return "has an unbalanced '{' or '}'";
  for (const std::string& n : names) {
    if (!vars.count(n)) return "uses the undefined variable {" + n + "}";
  }
  std::string literal;  // the path without its variables
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      i = path.find('}', i);
      literal += 'x';
      continue;
    }
    literal += path[i];
  }
  for (unsigned char c : literal) {
    if (!std::isalnum(c) &&
        std::string("/-._~!$&'()*+,;=:@%?").find(static_cast<char>(c)) == std::string::npos) {
      return "holds a character a path cannot (" +
             (c < 0x20 || c >= 0x7f ? "byte " + std::to_string(c) : std::string(1, char(c))) + ")";
    }
  }
  if (literal.find("//") != std::string::npos) return "holds an empty segment (//)";
  std::string segments = literal.substr(0, literal.find('?')) + "/";
  for (size_t begin = 1, end; (end = segments.find('/', begin)) != std::string::npos;
       begin = end + 1) {
    std::string segment = segments.substr(begin, end - begin);
    if (segment == "." || segment == "..") return "holds a '.' or '..' segment";
  }
  return "";
}

// The problem of a JSON pointer template, or "".
std::string pointer_problem(const std::string& pointer, const std::set<std::string>& vars) {
  if (!pointer.empty() && pointer.front() != '/') return "must be a JSON pointer (\"\" or /...)";
  bool unbalanced = false;
  for (const std::string& n : variables(pointer, &unbalanced)) {
    if (!vars.count(n)) return "uses the undefined variable {" + n + "}";
  }
  return unbalanced ? "has an unbalanced '{' or '}'" : "";
}

// An HTTP header field name (RFC 9110 token).
bool is_token(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) &&
        std::string("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string::npos) {
      return false;
    }
  }
  return true;
}

// The first problem of the call C at the pointer AT, named NAME ("status",
// "resume.check").
std::optional<ProfileIssue> check_call(const json& c, const std::string& at,
                                       const std::string& name, const std::set<std::string>& vars) {
  if (!c.is_object()) return issue(at, name + ": expected a mapping {method, path, ...}");
  std::vector<std::string> allowed = kCallKeys;
  if (auto it = kExtraKeys.find(name); it != kExtraKeys.end()) {
    allowed.insert(allowed.end(), it->second.begin(), it->second.end());
  }
  for (const auto& [key, value] : c.items()) {
    if (!contains(allowed, key)) {
      return issue(at + "/" + token(key),
                   name + ": unknown field '" + key + "' (known: " + join(allowed) + ")");
    }
  }
  if (c.contains("method")) {
    const json& m = c["method"];
    if (!m.is_string() || (m != "GET" && m != "POST")) {
      return issue(at + "/method", name + ".method: must be GET or POST, not " + m.dump());
    }
  }
  if (!c.contains("path") || !c["path"].is_string()) {
    return issue(c.contains("path") ? at + "/path" : at, name + ".path: missing (a string)");
  }
  std::string problem = path_problem(c["path"].get<std::string>(), vars);
  if (!problem.empty()) return issue(at + "/path", name + ".path: " + problem);
  if (c.contains("capture")) {
    if (!c["capture"].is_object()) {
      return issue(at + "/capture", name + ".capture: expected a mapping {variable: pointer}");
    }
    for (const auto& [var, pointer] : c["capture"].items()) {
      const std::string where = at + "/capture/" + token(var);
      if (!pointer.is_string()) return issue(where, name + ".capture." + var + ": not a string");
      problem = pointer_problem(pointer.get<std::string>(), {});
      if (!problem.empty()) return issue(where, name + ".capture." + var + ": " + problem);
    }
  }
  if ((name == "create" || name == "find") &&
      (!c.contains("capture") || !c["capture"].is_object() || !c["capture"].contains("id"))) {
    return issue(c.contains("capture") ? at + "/capture" : at,
                 name + ".capture.id: missing (the pointer to the job's id in the answer)");
  }
  if (auto it = kExtraKeys.find(name); it != kExtraKeys.end()) {
    for (const std::string& key : it->second) {
      if (!c.contains(key)) continue;
      if (key == "check") {
        if (auto problem = check_call(c[key], at + "/check", name + ".check", vars)) return problem;
        continue;
      }
      if (!c[key].is_string()) return issue(at + "/" + key, name + "." + key + ": not a string");
      problem = key == "waiting" ? "" : pointer_problem(c[key].get<std::string>(), vars);
      if (!problem.empty()) return issue(at + "/" + key, name + "." + key + ": " + problem);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProfileIssue> check_profile_document(const json& doc) {
  if (!doc.is_object()) return issue("", "a profile must be a mapping");
  for (const auto& [key, value] : doc.items()) {
    if (!contains(kTopKeys, key)) {
      return issue("/" + token(key), "unknown field '" + key + "' (known: " + join(kTopKeys) + ")");
    }
  }
  std::set<std::string> vars(kBaseVars.begin(), kBaseVars.end());
  for (const std::string& name : kCalls) {
    if (!doc.contains(name) || !doc[name].is_object() || !doc[name].contains("capture") ||
        !doc[name]["capture"].is_object()) {
      continue;
    }
    for (const auto& [var, pointer] : doc[name]["capture"].items()) vars.insert(var);
  }
  for (const char* required : {"create", "status"}) {
    if (!doc.contains(required)) return issue("", std::string("missing '") + required + "'");
  }
  for (const std::string& name : kCalls) {
    if (!doc.contains(name)) continue;
    if (auto problem = check_call(doc[name], "/" + name, name, vars)) return problem;
  }
  if (doc.contains("auth")) {
    const json& a = doc["auth"];
    if (!a.is_object()) return issue("/auth", "auth: expected a mapping {header, prefix}");
    for (const auto& [key, value] : a.items()) {
      if (key != "header" && key != "prefix") {
        return issue("/auth/" + token(key),
                     "auth: unknown field '" + key + "' (known: header, prefix)");
      }
    }
    if (!a.contains("header") || !a["header"].is_string() ||
        !is_token(a["header"].get<std::string>())) {
      return issue(a.contains("header") ? "/auth/header" : "/auth",
                   "auth.header: must be an HTTP header name (letters, digits, -)");
    }
    if (a.contains("prefix")) {
      if (!a["prefix"].is_string()) return issue("/auth/prefix", "auth.prefix: not a string");
      for (unsigned char c : a["prefix"].get<std::string>()) {
        if (c < 0x20 || c == 0x7f) {
          return issue("/auth/prefix", "auth.prefix: holds a control character");
        }
      }
    }
  }
  if (!doc.contains("states") || !doc["states"].is_object() || doc["states"].empty()) {
    return issue(doc.contains("states") ? "/states" : "",
                 "states: missing (a mapping of status strings to states)");
  }
  for (const auto& [status, state] : doc["states"].items()) {
    if (!state.is_string() || !parse_job_state(state.get<std::string>())) {
      return issue("/states/" + token(status),
                   "states." + status + ": " + state.dump() +
                       " is not a state (pending, running, succeeded, failed, timed_out, "
                       "cancelled, needs_input)");
    }
  }
  for (const char* key : {"input_key", "output_key"}) {
    if (doc.contains(key) && !doc[key].is_string()) {
      return issue(std::string("/") + key, std::string(key) + ": not a string");
    }
  }
  // What remains is parse_profile()'s (such as an output pointer in neither result nor
  // status): its message starts with the call it names.
  if (auto parsed = parse_profile(doc); !parsed) {
    const std::string& m = parsed.error().message;
    std::string call = m.substr(0, m.find_first_of(":."));
    return issue(contains(kCalls, call) && doc.contains(call) ? "/" + call : "", m);
  }
  return std::nullopt;
}

tl::expected<json, ProfileIssue> resolve_declared_profile(const json& declared) {
  if (!declared.is_object()) return tl::unexpected(ProfileIssue{"", "a profile must be a mapping"});
  json doc = declared;
  if (declared.contains("extends")) {
    const json& base_name = declared["extends"];
    json base =
        base_name.is_string() ? builtin_profile_document(base_name.get<std::string>()) : json();
    if (base.is_null()) {
      return tl::unexpected(ProfileIssue{"/extends", "extends: " + base_name.dump() +
                                                         " is not a built-in profile (known: " +
                                                         join(builtin_profile_names()) + ")"});
    }
    json patch = declared;
    patch.erase("extends");
    base.merge_patch(patch);
    doc = std::move(base);
  }
  if (auto problem = check_profile_document(doc)) return tl::unexpected(*problem);
  if (doc.dump().size() > kMaxProfileDocumentBytes) {
    return tl::unexpected(ProfileIssue{"", "the profile is larger than 64 KiB"});
  }
  return doc;
}

Result<Profile> load_profile(const std::string& name, const json& document) {
  if (document.is_null()) return builtin_profile(name);
  if (auto problem = check_profile_document(document)) {
    return fail("profile '" + name + "': " + problem->message);
  }
  auto profile = parse_profile(document);
  if (!profile) return fail("profile '" + name + "': " + profile.error().message);
  profile->name = name;
  return profile;
}

}  // namespace baton::httpjob
