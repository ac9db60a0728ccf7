#include "engine/secrets.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/text.h"

namespace baton::engine {

namespace fs = std::filesystem;

namespace {

// The forms in which VALUE may reach a text: without surrounding whitespace (a
// file's final newline stays in the text; the trimmed value is in every occurrence
// of the whole one); each line of a multi-line value (a PEM key's body printed line
// by line); JSON-escaped (an agent's stream).
std::vector<std::string> forms_of(const std::string& value) {
  std::vector<std::string> forms{trim(value)};
  std::istringstream lines(value);
  for (std::string line; std::getline(lines, line);) forms.push_back(trim(line));
  for (size_t i = 0, n = forms.size(); i < n; ++i) {
    std::string quoted = nlohmann::json(forms[i]).dump();
    forms.push_back(quoted.substr(1, quoted.size() - 2));
  }
  std::vector<std::string> out;
  for (std::string& f : forms) {
    if (f.size() >= kMinSecretLength) out.push_back(std::move(f));
  }
  return out;
}

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return fail("cannot read " + path + ": " + std::strerror(errno));
  return out.str();
}

}  // namespace

Redactor::Redactor(std::vector<std::string> values) {
  for (std::string& v : values) add(std::move(v));
}

void Redactor::add(std::string value) {
  if (value.empty()) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  values_.push_back(std::move(value));
  std::sort(values_.begin(), values_.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
}

std::string Redactor::redact(std::string_view text) const {
  // Every occurrence of every value as [begin, end), merged where they overlap.
  std::vector<std::pair<size_t, size_t>> spans;
  for (const std::string& v : values_) {
    for (size_t at = text.find(v); at != std::string_view::npos; at = text.find(v, at + 1)) {
      spans.emplace_back(at, at + v.size());
    }
  }
  if (spans.empty()) return std::string(text);
  std::sort(spans.begin(), spans.end());
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;  // text before this is in OUT
  for (size_t i = 0; i < spans.size();) {
    size_t begin = spans[i].first, end = spans[i].second;
    for (++i; i < spans.size() && spans[i].first < end; ++i) end = std::max(end, spans[i].second);
    out.append(text.substr(copied, begin - copied));
    out.append(kRedactedMask);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

void Redactor::redact(nlohmann::json& value) const {
  if (values_.empty()) return;
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (contains_secret(s)) value = redact(s);
  } else if (value.is_array()) {
    for (nlohmann::json& item : value) redact(item);
  } else if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      nlohmann::json item = std::move(it.value());
      redact(item);
      out[redact(it.key())] = std::move(item);
    }
    value = std::move(out);
  }
}

bool Redactor::contains_secret(std::string_view text) const {
  for (const std::string& v : values_) {
    if (text.find(v) != std::string_view::npos) return true;
  }
  return false;
}

std::string secret_file_path(const workflow::SecretSpec& spec, const std::string& root_dir) {
  fs::path path(spec.file);
  if (path.is_relative()) path = fs::path(root_dir) / path;
  return path.lexically_normal().string();
}

RunSecrets RunSecrets::load(const workflow::Workflow& wf, const std::string& root_dir) {
  RunSecrets out;
  for (const auto& [name, spec] : wf.secrets) {
    Loaded& s = out.loaded_[name];
    if (!spec.env.empty()) {
      const char* value = getenv(spec.env.c_str());
      if (!value) {
        s.error = "the environment variable " + spec.env + " is not set";
      } else {
        s.value = value;
      }
    } else {
      s.path = secret_file_path(spec, root_dir);
      auto content = read_whole_file(s.path);
      if (!content) {
        s.error = content.error().message;
      } else {
        s.value = std::move(*content);
      }
    }
    if (s.error.empty() && trim(s.value).size() < kMinSecretLength) {
      s.error = "its value is shorter than " + std::to_string(kMinSecretLength) +
                " characters, too short to redact; use a longer one";
    }
    if (!s.error.empty()) {
      s.value.clear();
      continue;
    }
    for (std::string& form : forms_of(s.value)) out.redactor_.add(std::move(form));
  }
  // After every value is read: two secrets may name the same variable.
  for (const auto& [name, spec] : wf.secrets) {
    if (!spec.env.empty()) unsetenv(spec.env.c_str());
  }
  return out;
}

Result<void> RunSecrets::apply(const workflow::TaskSpec& spec, exec::ProcessSpec& process) const {
  for (const std::string& name : spec.secrets()) {
    auto it = loaded_.find(name);
    if (it == loaded_.end()) return fail("secret '" + name + "' is not in 'context.secrets'");
    const Loaded& s = it->second;
    if (!s.error.empty()) return fail("secret '" + name + "': " + s.error);
    if (s.path.empty()) {
      process.env[name] = s.value;
    } else {
      process.env["BATON_SECRET_FILE_" + name] = s.path;
    }
  }
  for (const std::string& v : redactor_.values()) {
    if (std::find(process.redact.begin(), process.redact.end(), v) == process.redact.end()) {
      process.redact.push_back(v);
    }
  }
  return ok();
}

void RunSecrets::redact(AttemptOutcome& outcome) const {
  if (redactor_.empty()) return;
  outcome.output = redactor_.redact(outcome.output);
  outcome.reason = redactor_.redact(outcome.reason);
  redactor_.redact(outcome.outputs);
}

void RunSecrets::redact(store::Batch& batch) const {
  if (redactor_.empty()) return;
  if (batch.run) redactor_.redact(batch.run->inputs);
  for (store::TaskRecord& t : batch.tasks) {
    t.output = redactor_.redact(t.output);
    t.reason = redactor_.redact(t.reason);
  }
  for (store::AttemptRecord& a : batch.attempts) {
    a.output = redactor_.redact(a.output);
    a.error = redactor_.redact(a.error);
  }
  for (store::Event& e : batch.events) redactor_.redact(e.data);
}

}  // namespace baton::engine
