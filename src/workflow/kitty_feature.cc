#include "workflow/kitty_feature.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "util/text.h"
#include "workflow/scalar_position.h"
#include "workflow/source.h"
#include "workflow/yaml_tree.h"

namespace baton::workflow {

namespace {

namespace fs = std::filesystem;

// A task id as docs/workflow.md allows it, at most 64 characters.
bool valid_wp_id(const std::string& id) {
  static const std::regex re("[A-Za-z0-9_][A-Za-z0-9_-]{0,63}");
  return std::regex_match(id, re);
}

bool is_wp_file_name(const std::string& name) {
  return name.size() > 5 && name.rfind("WP", 0) == 0 && name.ends_with(".md");
}

// The WP files of DIR/tasks in name order (names only); symlinks included, so the
// reader can refuse them with a message.
std::vector<std::string> wp_file_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(dir) / "tasks", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (is_wp_file_name(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Where the front matter's lines are: the YAML text (padded with one empty line for
// the opening `---`, so yaml-cpp's lines are the file's) and the body after it.
struct Split {
  std::string yaml;
  std::string body;
  int closing_line = 0;  // 1-based line of the closing `---`
};

// Splits TEXT at its front matter; an error message (at line 1) when there is none.
std::optional<Split> split_front_matter(const std::string& text, std::string* error) {
  auto line_end = [&](size_t from) {
    size_t nl = text.find('\n', from);
    return nl == std::string::npos ? text.size() : nl;
  };
  auto line_at = [&](size_t from) {
    std::string line = text.substr(from, line_end(from) - from);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  };
  if (line_at(0) != "---") {
    *error = "no front matter: a work package file starts with a '---' line";
    return std::nullopt;
  }
  size_t pos = line_end(0);
  int line_no = 1;
  while (pos < text.size()) {
    size_t start = pos + 1;
    ++line_no;
    if (start > text.size()) break;
    if (line_at(start) == "---") {
      Split s;
      s.yaml = "\n" + text.substr(line_end(0) + 1, start - line_end(0) - 1);
      size_t after = line_end(start);
      s.body = after < text.size() ? text.substr(after + 1) : "";
      s.closing_line = line_no;
      return s;
    }
    pos = line_end(start);
  }
  *error = "the front matter is not closed: no '---' line after it";
  return std::nullopt;
}

// Reads one WP file into WP; problems go to SINK. False when it could not be read
// at all (nothing of it is usable).
bool read_wp_file(const std::string& path, WorkPackage& wp, std::vector<Diagnostic>& out) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    out.push_back({path, {}, Severity::kError, "cannot read the work package file", ""});
    return false;
  }
  if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
    out.push_back({path,
                   {},
                   Severity::kError,
                   "not a regular file (a work package file may not be a symlink)",
                   ""});
    return false;
  }
  if (static_cast<size_t>(st.st_size) > kMaxWorkPackageBytes) {
    out.push_back({path,
                   {},
                   Severity::kError,
                   "file is " + std::to_string(st.st_size) + " bytes; the limit is " +
                       std::to_string(kMaxWorkPackageBytes),
                   ""});
    return false;
  }
  auto text = read_source_file(path);
  if (!text) {
    out.push_back({path, {}, Severity::kError, text.error().message, ""});
    return false;
  }
  if (auto checked = check_source_text(*text); !checked) {
    out.push_back({path, {}, Severity::kError, checked.error().message, ""});
    return false;
  }
  SourceText source(*text);
  DiagnosticSink sink(path, &source);
  auto done = [&](bool ok) {
    for (auto& d : sink.diagnostics()) out.push_back(std::move(d));
    return ok && !sink.has_errors();
  };
  std::string error;
  auto split = split_front_matter(*text, &error);
  if (!split) {
    sink.error({1, 1}, error);
    return done(false);
  }
  YamlTree tree;
  try {
    tree = YamlTree::parse(split->yaml);
  } catch (const YAML::Exception& e) {
    sink.error(loc_of(e.mark), "invalid YAML: " + e.msg);
    return done(false);
  }
  YamlNode root = tree.root();
  if (!root.IsMap()) {
    sink.error(root.IsDefined() && !root.IsNull() ? loc_of(root.Mark()) : SourceLoc{1, 1},
               "the front matter is not a mapping");
    return done(false);
  }
  auto string_key = [&](const char* key, std::string* value, SourceLoc* loc) {
    YamlNode node = root[key];
    if (!node.IsDefined() || node.IsNull()) {
      sink.error({1, 1}, std::string("the front matter has no '") + key + "'");
      return false;
    }
    if (!node.IsScalar()) {
      sink.error(loc_of(node.Mark()), std::string("'") + key + "' must be a string");
      return false;
    }
    *value = node.Scalar();
    if (loc) *loc = loc_of(node.Mark());
    return true;
  };
  if (string_key("work_package_id", &wp.id, &wp.id_loc) && !valid_wp_id(wp.id)) {
    sink.error(wp.id_loc, "work_package_id '" + wp.id +
                              "' is not a valid task id ([A-Za-z0-9_][A-Za-z0-9_-]*, at most "
                              "64 characters)");
  }
  string_key("title", &wp.title, nullptr);
  YamlNode deps = root["dependencies"];
  if (!deps.IsDefined()) {
    sink.error({1, 1},
               "the front matter has no 'dependencies' (write 'dependencies: []' when the "
               "work package has none)");
  } else if (deps.IsSequence()) {
    for (const YamlItem& item : deps) {
      if (!item.IsScalar()) {
        sink.error(loc_of(item.Mark()), "a dependency must be a work package id (a string)");
        continue;
      }
      wp.dependencies.push_back(item.Scalar());
      wp.dependency_locs.push_back(loc_of(item.Mark()));
    }
  } else if (!deps.IsNull()) {
    sink.error(loc_of(deps.Mark()), "'dependencies' must be a list of work package ids");
  }
  YamlNode lane = root["lane"];
  if (lane.IsDefined() && lane.IsScalar()) wp.front_matter_lane = lane.Scalar();
  wp.body = split->body;
  if (trim(wp.body).empty()) {
    sink.error({split->closing_line, 1},
               "the work package has no body: the text after the front matter is its "
               "implementation prompt");
  }
  return done(true);
}

// Appends a diagnostic at LOC of FILE, quoting the line (read again from the file).
void error_at(const std::string& file, SourceLoc loc, const std::string& message,
              std::vector<Diagnostic>& out) {
  auto text = read_source_file(file);
  SourceText source(text ? *text : std::string());
  DiagnosticSink sink(file, &source);
  sink.error(loc, message);
  for (auto& d : sink.diagnostics()) out.push_back(std::move(d));
}

}  // namespace

int KittyFeature::index_of(const std::string& id) const {
  for (size_t i = 0; i < work_packages.size(); ++i) {
    if (work_packages[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

bool is_kitty_feature_dir(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec) || !fs::is_directory(fs::path(path) / "tasks", ec)) {
    return false;
  }
  return !wp_file_names(path).empty();
}

std::optional<KittyFeature> read_kitty_feature(const std::string& dir,
                                               std::vector<Diagnostic>& diagnostics) {
  KittyFeature feature;
  feature.dir = dir;
  while (feature.dir.size() > 1 && feature.dir.back() == '/') feature.dir.pop_back();
  feature.slug = fs::path(feature.dir).filename().string();
  size_t before = diagnostics.size();
  std::vector<std::string> names = wp_file_names(feature.dir);
  if (names.empty()) {
    diagnostics.push_back(
        {feature.dir, {}, Severity::kError, "not a spec-kitty feature: no tasks/WP*.md files", ""});
    return std::nullopt;
  }
  if (names.size() > kMaxWorkPackages) {
    diagnostics.push_back({feature.dir,
                           {},
                           Severity::kError,
                           std::to_string(names.size()) + " work packages; the limit is " +
                               std::to_string(kMaxWorkPackages),
                           ""});
    return std::nullopt;
  }
  for (const std::string& name : names) {
    WorkPackage wp;
    wp.file = (fs::path(feature.dir) / "tasks" / name).string();
    if (read_wp_file(wp.file, wp, diagnostics)) feature.work_packages.push_back(std::move(wp));
  }
  if (diagnostics.size() > before) return std::nullopt;

  // Ids unique, dependencies known and not the WP itself.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < feature.work_packages.size(); ++i) {
    const WorkPackage& wp = feature.work_packages[i];
    auto [it, fresh] = index.emplace(wp.id, i);
    if (!fresh) {
      error_at(wp.file, wp.id_loc,
               "work package '" + wp.id + "' is also defined in " +
                   feature.work_packages[it->second].file,
               diagnostics);
    }
  }
  for (const WorkPackage& wp : feature.work_packages) {
    for (size_t d = 0; d < wp.dependencies.size(); ++d) {
      const std::string& dep = wp.dependencies[d];
      if (dep == wp.id) {
        error_at(wp.file, wp.dependency_locs[d], "work package '" + wp.id + "' depends on itself",
                 diagnostics);
      } else if (!index.count(dep)) {
        std::string known;
        for (const auto& [id, i] : index) known += (known.empty() ? "" : ", ") + id;
        error_at(
            wp.file, wp.dependency_locs[d],
            "unknown work package '" + dep + "' in dependencies (the feature has: " + known + ")",
            diagnostics);
      }
    }
  }
  // Cycles: depth-first over the known dependencies (the others were reported above);
  // the dependency that reaches a WP on the current path closes one.
  {
    std::vector<int> state(feature.work_packages.size(), 0);  // 0 new, 1 on path, 2 done
    std::vector<size_t> path;
    std::set<std::string> reported;
    std::function<void(size_t)> visit = [&](size_t i) {
      state[i] = 1;
      path.push_back(i);
      const WorkPackage& wp = feature.work_packages[i];
      for (size_t d = 0; d < wp.dependencies.size(); ++d) {
        auto known = index.find(wp.dependencies[d]);
        if (known == index.end() || wp.dependencies[d] == wp.id) continue;
        size_t j = known->second;
        if (state[j] == 1) {
          std::string cycle;
          auto from = std::find(path.begin(), path.end(), j);
          for (auto it = from; it != path.end(); ++it) {
            cycle += feature.work_packages[*it].id + " -> ";
          }
          cycle += feature.work_packages[j].id;
          if (reported.insert(wp.file + std::to_string(d)).second) {
            error_at(wp.file, wp.dependency_locs[d], "dependency cycle: " + cycle, diagnostics);
          }
        } else if (state[j] == 0) {
          visit(j);
        }
      }
      path.pop_back();
      state[i] = 2;
    };
    for (size_t i = 0; i < feature.work_packages.size(); ++i) {
      if (state[i] == 0) visit(i);
    }
  }
  if (diagnostics.size() > before) return std::nullopt;
  return feature;
}

void apply_review_agent(nlohmann::json& task, const KittyReview& review) {
  task["review"] = {{"agent", review.agent}};
}

std::string escape_template(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') out += '$';
    out += text[i];
  }
  return out;
}

LoadResult build_kitty_workflow(const KittyFeature& feature, const KittyBuildOptions& options,
                                const LoadOptions& load) {
  LoadResult result;
  auto lane_of = [&](const std::string& id) {
    auto it = options.lanes.find(id);
    return it == options.lanes.end() ? std::string("planned") : it->second;
  };
  auto runs = [](const std::string& lane) {
    return lane == "planned" || lane == "claimed" || lane == "in_progress" || lane == "blocked";
  };
  nlohmann::json tasks = nlohmann::json::array();
  for (const WorkPackage& wp : feature.work_packages) {
    std::string lane = lane_of(wp.id);
    if (!runs(lane)) continue;
    nlohmann::json deps = nlohmann::json::array();
    for (size_t d = 0; d < wp.dependencies.size(); ++d) {
      const std::string& dep = wp.dependencies[d];
      std::string dep_lane = lane_of(dep);
      if (dep_lane == "done") continue;
      if (!runs(dep_lane)) {
        error_at(wp.file, wp.dependency_locs[d],
                 "work package '" + dep + "' is " + dep_lane + ", so '" + wp.id +
                     "' cannot run (baton runs planned, claimed, in_progress and blocked work "
                     "packages; done ones count as finished)",
                 result.diagnostics);
        continue;
      }
      deps.push_back(dep);
    }
    // The prompt: the title as a heading, then the body, both literal text.
    std::string prompt = "# " + wp.id + ": " + wp.title + "\n\n" + trim(wp.body) + "\n";
    nlohmann::json task{{"id", wp.id},
                        {"agent", options.impl_agent},
                        {"description", escape_template(wp.title)},
                        {"dependencies", deps},
                        {"parameters", {{"task", escape_template(prompt)}}}};
    if (!options.review_agent.empty()) apply_review_agent(task, KittyReview{options.review_agent});
    tasks.push_back(std::move(task));
  }
  if (has_errors(result.diagnostics)) return result;
  if (tasks.empty()) {
    result.diagnostics.push_back({feature.dir,
                                  {},
                                  Severity::kError,
                                  "no work package to run: every one is done, for_review or "
                                  "canceled",
                                  ""});
    return result;
  }
  if (options.impl_agent.empty()) {
    result.diagnostics.push_back(
        {feature.dir,
         {},
         Severity::kError,
         "no implementing agent: give --impl-agent AGENT or define the role 'implementer' in "
         ".baton/config.yaml",
         ""});
    return result;
  }
  nlohmann::json settings{{"isolation", "worktree"}};
  if (options.max_concurrent > 0) settings["max_parallel"] = options.max_concurrent;
  nlohmann::json doc{{"version", "1.0"},
                     {"name", "spec-kitty feature " + feature.slug},
                     {"metadata",
                      {{"kitty_feature", feature.slug},
                       {"impl_agent", options.impl_agent},
                       {"review_agent", options.review_agent}}},
                     {"settings", settings},
                     {"tasks", tasks}};
  // The loader reads this JSON as any workflow file; every string in it was escaped
  // by nlohmann (JSON) and escape_template() (baton's templates).
  std::string text = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string virtual_name = feature.dir + " (workflow built from the feature).json";
  LoadResult loaded = load_workflow_text(text, virtual_name, load);
  for (Diagnostic& d : loaded.diagnostics) {
    // The built text is nobody's file: name the feature, without a line.
    d.file = feature.dir;
    d.loc = {};
    d.source_line.clear();
    result.diagnostics.push_back(std::move(d));
  }
  if (!loaded.ok()) return result;
  result.workflow = std::move(loaded.workflow);
  result.workflow->path = feature.dir;
  result.workflow->source_sha256 = sha256_hex(text);
  return result;
}

}  // namespace baton::workflow
