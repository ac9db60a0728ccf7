#include "workflow/config.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>

#include "workflow/scalar_position.h"
#include "workflow/source.h"
#include "workflow/yaml_reader.h"

namespace baton::workflow {
namespace {

const std::vector<std::string> kConfigKeys = {"agents"};

// "PATH:LINE:COL: MESSAGE" for each error, one a line.
std::string error_lines(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (d.severity != Severity::kError) continue;
    if (!out.empty()) out += "\n";
    out += d.file;
    if (d.loc.line > 0)
      out += ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column);
    out += ": " + d.message;
  }
  return out;
}

}  // namespace

Result<Config> load_config(const std::string& path) {
  Result<std::string> text = read_source_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return Config{};
    return fail(path + ": " + text.error().message, text.error().code);
  }
  return load_config_text(*text, path);
}

Result<Config> load_config_text(const std::string& text, const std::string& file_name) {
  Config config;
  if (text.empty()) return config;
  if (Result<void> checked = check_source_text(text); !checked) {
    return fail(file_name + ": " + checked.error().message);
  }
  SourceText source(text);
  DiagnosticSink sink(file_name, &source);
  try {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::DeepRecursion& e) {
      sink.error(loc_of(e.mark), "invalid YAML: nesting is too deep (the limit is 2000 levels)");
      return fail(error_lines(sink.diagnostics()));
    } catch (const YAML::Exception& e) {
      sink.error(loc_of(e.mark), "invalid YAML: " + e.msg);
      return fail(error_lines(sink.diagnostics()));
    }
    if (root.IsNull()) return config;  // only comments
    if (!root.IsMap()) {
      sink.error(loc_of(root.Mark()), "expected a mapping at the top level");
      return fail(error_lines(sink.diagnostics()));
    }
    for (const YamlEntry& e : map_entries(root, &kConfigKeys, " at the top level", sink)) {
      if (e.value.IsNull()) continue;
      if (!e.value.IsMap()) {
        sink.error(e.value_loc(), "expected a mapping for 'agents'");
        continue;
      }
      for (const YamlEntry& item : map_entries(e.value, nullptr, " in agents", sink)) {
        RoleSpec role;
        RolePlaces places;
        read_role(item, sink, &role, &places);
        config.roles[item.key] = std::move(role);
      }
    }
  } catch (const std::exception& e) {
    return fail(file_name + ": cannot load: " + e.what());
  }
  if (sink.has_errors()) return fail(error_lines(sink.diagnostics()));
  return config;
}

}  // namespace baton::workflow
