#include "workflow/loader.h"

#include <yaml-cpp/exceptions.h>

#include <algorithm>
#include <string>

#include "util/free_memory.h"
#include "workflow/scalar_position.h"
#include "workflow/source.h"
#include "workflow/validate.h"
#include "workflow/yaml_reader.h"

namespace baton::workflow {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The place of byte OFFSET of SOURCE.
SourceLoc loc_at_byte(const SourceText& source, size_t offset) {
  const std::string& text = source.text();
  offset = std::min(offset, text.size());
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(offset - line_start) + 1};
}

// nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 5:
// syntax error while parsing ..." without the part that names the place.
std::string json_error_text(const std::string& what) {
  size_t column = what.find("column ");
  size_t colon = column == std::string::npos ? column : what.find(": ", column);
  if (colon != std::string::npos) return what.substr(colon + 2);
  size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

// Emits the events of a JSON value as a YAML tree (no places) into OUT: the fallback
// for JSON that the YAML parser does not read. False when nesting passes kMaxJsonDepth.
bool json_to_yaml(const nlohmann::json& value, int depth, YamlTree::Builder* out) {
  if (depth > kMaxJsonDepth) return false;
  const YAML::Mark none = YAML::Mark::null_mark();
  if (value.is_object()) {
    out->OnMapStart(none, "?", YAML::NullAnchor, YAML::EmitterStyle::Default);
    for (const auto& [key, item] : value.items()) {
      out->OnScalar(none, "!", YAML::NullAnchor, key);
      if (!json_to_yaml(item, depth + 1, out)) return false;
    }
    out->OnMapEnd();
  } else if (value.is_array()) {
    out->OnSequenceStart(none, "?", YAML::NullAnchor, YAML::EmitterStyle::Default);
    for (const auto& item : value) {
      if (!json_to_yaml(item, depth + 1, out)) return false;
    }
    out->OnSequenceEnd();
  } else if (value.is_null()) {
    out->OnNull(none, YAML::NullAnchor);
  } else if (value.is_string()) {
    out->OnScalar(none, "!", YAML::NullAnchor, value.get<std::string>());  // always a string
  } else {
    // A plain scalar: resolved as a number or a boolean.
    out->OnScalar(none, "?", YAML::NullAnchor, value.dump());
  }
  return true;
}

// The usual trap behind the YAML parser's error MESSAGE at MARK, as text to append to
// it, or "": a tab in the indentation of the line, or (a mapping value where none is
// allowed) an unquoted ": " inside a plain value, `run: echo a: b`, for which the
// quoted line is given.
std::string yaml_trap_hint(const SourceText& source, const YAML::Mark& mark,
                           const std::string& message) {
  if (mark.line < 0) return "";
  const std::string line(source.line(mark.line + 1));
  const size_t indent = std::min(line.find_first_not_of(" \t"), line.size());
  if (line.substr(0, indent).find('\t') != std::string::npos) {
    return "; line " + std::to_string(mark.line + 1) +
           " is indented with a tab: YAML indentation must be spaces";
  }
  if (message != "mapping values are not allowed in this context") return "";
  size_t start = indent;
  if (line.compare(start, 2, "- ") == 0) start += 2;
  const size_t colon = line.find(": ", start);
  if (colon == std::string::npos || static_cast<size_t>(mark.column) <= colon) return "";
  const std::string key = line.substr(start, colon - start);
  if (key.empty() || key.find_first_of(" \t'\"{}[],#") != std::string::npos) return "";
  std::string value = line.substr(colon + 2);
  value.erase(0, value.find_first_not_of(' '));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.pop_back();
  if (value.empty() || value[0] == '"' || value[0] == '\'' ||
      value.find(" #") != std::string::npos) {
    return "";
  }
  std::string quoted;
  if (value.find_first_of("\"\\") == std::string::npos) {
    quoted = "\"" + value + "\"";
  } else {  // single quotes: no escapes, a quote is doubled
    quoted = "'";
    for (char c : value) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    quoted += "'";
  }
  return " (an unquoted ': ' inside a value starts a mapping); quote the whole value: " + key +
         ": " + quoted;
}

// Parses SOURCE into ROOT; false (with a diagnostic) when it is not valid.
bool parse(const SourceText& source, bool json, DiagnosticSink& sink, YamlTree* root) {
  const std::string& text = source.text();
  nlohmann::json json_value;
  if (json) {
    try {
      json_value = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      sink.error(loc_at_byte(source, e.byte > 0 ? e.byte - 1 : 0),
                 "invalid JSON: " + json_error_text(e.what()));
      return false;
    } catch (const std::exception& e) {
      sink.error({}, std::string("invalid JSON: ") + e.what());
      return false;
    }
  }
  try {
    *root = YamlTree::parse(text);
    return true;
  } catch (const AliasLimitError& e) {
    sink.error(loc_of(e.mark), e.msg);
    return false;
  } catch (const NestingLimitError& e) {
    sink.error(loc_of(e.mark), "invalid " + std::string(json ? "JSON" : "YAML") + ": " + e.msg);
    return false;
  } catch (const YAML::Exception& e) {
    if (!json) {
      sink.error(loc_of(e.mark), "invalid YAML: " + e.msg + yaml_trap_hint(source, e.mark, e.msg));
      return false;
    }
  } catch (const std::exception& e) {
    if (!json) {
      sink.error({}, std::string("invalid YAML: ") + e.what());
      return false;
    }
  }
  // Valid JSON that libyaml does not read as YAML: the same tree, without places.
  try {
    YamlTree::Builder builder;
    if (json_to_yaml(json_value, 0, &builder)) {
      *root = builder.take();
      return true;
    }
    sink.error({}, "invalid JSON: nesting is too deep (the limit is " +
                       std::to_string(kMaxJsonDepth) + " levels)");
  } catch (const std::exception& e) {
    sink.error({}, std::string("invalid JSON: ") + e.what());
  }
  return false;
}

// The limits in effect (docs/agents.md, "Concurrency limits"): the config's agent_limits
// under the file's, and the max_concurrent of every role the run can name (the file's
// roles replace the config's of the same name); and the config's single-agent mode.
void apply_concurrency_limits(const LoadOptions& options, Workflow* wf) {
  // Single-agent mode (docs/review.md): the config's turns it on; its pause applies when
  // the file sets none.
  if (options.config_single_agent) wf->settings.single_agent = true;
  if (options.config_single_agent_pause_s && wf->settings.single_agent_pause_s == 0) {
    wf->settings.single_agent_pause_s = *options.config_single_agent_pause_s;
  }
  for (const auto& [agent, n] : options.config_agent_limits) {
    wf->settings.agent_limits.emplace(agent, n);  // the file's entry, if any, stays
  }
  for (const auto& [name, role] : options.config_roles) {
    if (!wf->agents.count(name) && role.max_concurrent) {
      wf->settings.role_limits[name] = *role.max_concurrent;
    }
  }
  for (const auto& [name, role] : wf->agents) {
    if (role.max_concurrent) wf->settings.role_limits[name] = *role.max_concurrent;
  }
}

LoadResult finish(DiagnosticSink& sink, ReadResult* read) {
  LoadResult result;
  result.diagnostics = std::move(sink.diagnostics());
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
                     return a.loc.column < b.loc.column;
                   });
  if (read && !sink.has_errors()) result.workflow = std::move(read->workflow);
  return result;
}

}  // namespace

const std::vector<std::string>& task_keys() {
  static const std::vector<std::string> keys = {
      "id",        "agent",    "run",      "description",    "parameters", "dependencies",
      "condition", "retry",    "timeout",  "on_failure",     "env",        "workdir",
      "outputs",   "model",    "fallback", "resume_session", "max_turns",  "max_cost_usd",
      "isolation", "sandbox",  "network",  "image",          "gate",       "secrets",
      "limits",    "executor", "review"};
  return keys;
}

const std::vector<std::string>& task_result_fields() {
  static const std::vector<std::string> fields = {"output", "status",  "exit_code", "attempts",
                                                  "agent",  "outputs", "error"};
  return fields;
}

LoadResult load_workflow_file(const std::string& path, const LoadOptions& options) {
  Result<std::string> text = read_source_file(path);
  if (!text) {
    DiagnosticSink sink(path, nullptr);
    sink.error({}, text.error().message);
    return finish(sink, nullptr);
  }
  return load_workflow_text(std::move(*text), path, options);
}

// Files larger than this many bytes have the heap trimmed after their YAML tree is
// built (below); a small file's holes are not worth the call.
constexpr size_t kTrimAfterParseBytes = 1 << 20;

LoadResult load_workflow_text(std::string text, const std::string& file_name,
                              const LoadOptions& options) {
  try {
    Result<void> checked = check_source_text(text);
    if (!checked) {
      DiagnosticSink sink(file_name, nullptr);
      sink.error({}, checked.error().message);
      return finish(sink, nullptr);
    }
    std::string sha = sha256_hex(text);
    SourceText source(std::move(text));
    DiagnosticSink sink(file_name, &source);
    ReadResult read;
    {
      YamlTree tree;
      if (!parse(source, ends_with(file_name, ".json"), sink, &tree)) return finish(sink, nullptr);
      // Building the tree leaves holes in the heap (its arrays grown, then shrunk to
      // size; the parser's buffers): about 16 MB at 100,000 tasks, which the model
      // read next reuses only in part. Handed back now, they do not add to the load's
      // peak (100,000 wide: 93 -> 85 MB; bench/RESULTS.md (15)).
      if (source.text().size() > kTrimAfterParseBytes) release_free_memory();
      read.workflow.path = file_name;
      read.workflow.source_sha256 = sha;
      read_workflow(tree.root(), sink, &read);
    }  // the tree is freed before validation allocates
    validate_workflow(read, options, source, sink);
    apply_concurrency_limits(options, &read.workflow);
    return finish(sink, &read);
  } catch (const std::exception& e) {
    // Only allocation failures are expected here; a loader never throws.
    LoadResult result;
    Diagnostic d;
    d.file = file_name;
    d.message = std::string("cannot load: ") + e.what();
    result.diagnostics.push_back(std::move(d));
    return result;
  }
}

}  // namespace baton::workflow
