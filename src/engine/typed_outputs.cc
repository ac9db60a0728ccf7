#include "engine/typed_outputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

#include "acp/confine.h"

namespace baton::engine {
namespace {

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "the string \"12\"", "the number 3", "null", ... : what was found, at most ~80 bytes of it.
std::string describe(const nlohmann::json& v) {
  std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  if (v.is_string()) return "the string " + text;
  if (v.is_boolean()) return "the boolean " + text;
  if (v.is_number()) return "the number " + text;
  if (v.is_null()) return "null";
  if (v.is_array()) return "a list " + text;
  return "an object " + text;
}

bool has_type(const nlohmann::json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  return false;
}

// The content of the file output OUT under TASK_DIR (see extract_typed_outputs()).
Result<std::string> read_output_file(const TypedOutput& out, const std::string& task_dir) {
  const std::string what = "output '" + out.name + "' (file " + out.path + ")";
  if (out.path.empty() || out.path.front() == '/') {
    return fail(what + ": the path must be relative to the task's directory");
  }
  if (out.path.find('\0') != std::string::npos) return fail(what + ": the path has a NUL byte");
  for (size_t at = 0; at <= out.path.size();) {
    size_t end = out.path.find('/', at);
    if (end == std::string::npos) end = out.path.size();
    if (out.path.compare(at, end - at, "..") == 0 && end - at == 2) {
      return fail(what + ": the path may not contain '..'");
    }
    at = end + 1;
  }
  auto resolved = acp::confine(task_dir, task_dir + "/" + out.path);
  if (!resolved) {
    return fail(what + ": " + resolved.error().message);
  }
  // open_beneath(): no symlink swapped in since confine() looked is followed, on the way
  // or last; O_NONBLOCK: a FIFO does not block the orchestrator (it is refused below as
  // not a regular file).
  auto opened = acp::open_beneath(task_dir, *resolved, O_RDONLY | O_NONBLOCK);
  if (!opened) {
    if (opened.error().code == ENOENT) {
      return fail(what + ": no such file (the task did not write it)");
    }
    if (opened.error().code == ELOOP) return fail(what + ": " + opened.error().message);
    return fail(what + ": cannot open: " + std::strerror(opened.error().code));
  }
  const int fd = opened->get();
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(what + ": not a regular file");
  }
  std::string content;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      return fail(what + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > kMaxOutputFileBytes) {
      return fail(what + ": larger than " + std::to_string(kMaxOutputFileBytes) + " bytes");
    }
  }
  try {
    (void)nlohmann::json(content).dump();
  } catch (const nlohmann::json::exception&) {
    return fail(what + ": not UTF-8 text");
  }
  return content;
}

}  // namespace

std::vector<TypedOutput> typed_outputs_of(const nlohmann::json& outputs) {
  std::vector<TypedOutput> out;
  if (!outputs.is_object()) return out;
  for (const auto& [name, decl] : outputs.items()) {
    if (!decl.is_object() || !decl.contains("type") || !decl["type"].is_string()) continue;
    TypedOutput t;
    t.name = name;
    t.type = decl["type"].get<std::string>();
    if (decl.contains("path") && decl["path"].is_string()) t.path = decl["path"].get<std::string>();
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string_view> json_blocks(std::string_view text) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find("```", at);
    if (open == std::string_view::npos) break;
    size_t ticks_end = text.find_first_not_of('`', open);
    if (ticks_end == std::string_view::npos) break;
    const std::string_view fence = text.substr(open, ticks_end - open);
    size_t line_end = text.find('\n', ticks_end);
    if (line_end == std::string_view::npos) break;
    std::string_view info = trim_view(text.substr(ticks_end, line_end - ticks_end));
    size_t close = text.find(std::string("\n") + std::string(fence), line_end);
    if (close == std::string_view::npos) break;
    if (info == "json" || info == "JSON") {
      out.push_back(text.substr(line_end + 1, close - line_end - 1));
    }
    at = close + 1 + fence.size();
  }
  return out;
}

Result<nlohmann::json> extract_typed_outputs(const std::vector<TypedOutput>& declared,
                                             std::string_view answer, const std::string& task_dir) {
  nlohmann::json values = nlohmann::json::object();
  std::vector<const TypedOutput*> in_json;
  for (const TypedOutput& t : declared) {
    if (t.type != "file") in_json.push_back(&t);
  }
  if (!in_json.empty()) {
    std::vector<nlohmann::json> objects;
    for (std::string_view body : json_blocks(answer)) {
      auto parsed = nlohmann::json::parse(body, nullptr, false);
      if (parsed.is_object()) objects.push_back(std::move(parsed));
    }
    if (objects.empty()) {
      std::string_view whole = trim_view(answer);
      if (!whole.empty() && whole.front() == '{') {
        auto parsed = nlohmann::json::parse(whole, nullptr, false);
        if (parsed.is_object()) objects.push_back(std::move(parsed));
      }
    }
    // The last object holding every declared name; else the last object, to name what
    // it lacks.
    const nlohmann::json* chosen = nullptr;
    for (auto it = objects.rbegin(); it != objects.rend() && !chosen; ++it) {
      bool all = true;
      for (const TypedOutput* t : in_json) all = all && it->contains(t->name);
      if (all) chosen = &*it;
    }
    if (!chosen) {
      for (const TypedOutput* t : in_json) {
        if (objects.empty() || !objects.back().contains(t->name)) {
          return fail("output '" + t->name + "' (" + t->type + ") is missing: " +
                      (objects.empty() ? std::string("the output has no ```json block holding a "
                                                     "JSON object")
                                       : std::string("no ```json block in the output has it")));
        }
      }
    }
    for (const TypedOutput* t : in_json) {
      const nlohmann::json& v = (*chosen)[t->name];
      if (!has_type(v, t->type)) {
        return fail("output '" + t->name + "': expected a " + t->type + ", found " + describe(v));
      }
      values[t->name] = v;
    }
  }
  for (const TypedOutput& t : declared) {
    if (t.type != "file") continue;
    auto content = read_output_file(t, task_dir);
    if (!content) return tl::unexpected(content.error());
    values[t.name] = std::move(*content);
  }
  return values;
}

std::string typed_outputs_prompt(const std::vector<TypedOutput>& declared) {
  if (declared.empty()) return "";
  std::string keys, files;
  for (const TypedOutput& t : declared) {
    if (t.type == "file") {
      files += "- " + t.path + " (output '" + t.name + "')\n";
    } else {
      keys += "- \"" + t.name + "\": a JSON " + t.type + "\n";
    }
  }
  std::string out = "Required outputs:\n";
  if (!keys.empty()) {
    out +=
        "End your answer with a fenced JSON block (```json ... ```) holding one object with "
        "these keys:\n" +
        keys;
  }
  if (!files.empty()) {
    out += "Write these files, relative to your working directory (at most " +
           std::to_string(kMaxOutputFileBytes) + " bytes each):\n" + files;
  }
  return out;
}

}  // namespace baton::engine
