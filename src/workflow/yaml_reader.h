// The YAML tree of a workflow file to the model, with the places validation needs.
//
// Internal to the loader (loader.cc); not part of the workflow component's API.
// read_workflow() checks what one node at a time can tell: keys, types, enums,
// ranges and durations. Checks across nodes (ids, dependencies, cycles, templates,
// references, agents) are validate.h's, over the places recorded here.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "workflow/diagnostic.h"
#include "workflow/model.h"
#include "workflow/yaml_tree.h"

namespace baton::workflow {

/// A string that is a template (or a condition), and where its scalar starts.
struct TemplateSite {
  std::string text;
  bool condition = false;  ///< parse with parse_condition() instead of parse_template()
  YAML::Mark mark;         ///< the scalar's mark; line -1 when unknown
  bool shell = false;      ///< a `run:` string: rendered for /bin/sh (expr/shell.h)
  bool workdir = false;    ///< the task's `workdir`: must stay inside the task's root
};

/// The places of one task's parts.
struct TaskPlaces {
  bool has_id = false;                      ///< false: the task gave no (string) id
  SourceLoc id;                             ///< the id's value, else the task's start
  std::vector<SourceLoc> dependency_items;  ///< parallel to TaskSpec::dependencies
  SourceLoc agent;                          ///< the agent's value
  std::vector<TemplateSite> templates;      ///< every template of the task, in file order
  std::vector<SourceLoc> secret_items;      ///< parallel to TaskSpec::secrets
  std::optional<SourceLoc> limits;          ///< the `limits` key, when the task has one
  std::optional<SourceLoc> review;          ///< the `review` key, when the task has one
  SourceLoc review_agent;                   ///< the value of review's `agent`
};

/// The places of a role's parts.
struct RolePlaces {
  std::vector<SourceLoc> use_items;  ///< parallel to RoleSpec::use
};

/// The model as read, and the places of its parts.
struct ReadResult {
  Workflow workflow;
  std::vector<TaskPlaces> tasks;  ///< parallel to workflow.tasks
  /// Hook group ("on_start", ...) -> places parallel to that list in workflow.hooks.
  std::map<std::string, std::vector<TaskPlaces>> hooks;
  std::map<std::string, SourceLoc> inputs;        ///< input name -> its key
  std::map<std::string, RolePlaces> roles;        ///< role name (file's agents:) -> places
  std::map<std::string, SourceLoc> agent_limits;  ///< agent of settings.agent_limits -> its key
};

/// One entry of a YAML mapping with a string key.
struct YamlEntry {
  std::string key;
  YamlNode key_node;
  YamlNode value;
  /// Where to report a problem with the value: the value's place, or the key's when
  /// the value is empty (yaml-cpp places an empty value on the next line).
  SourceLoc value_loc() const;
};

/// The entries of MAP in file order. Reports to SINK a key that is not a string, a
/// key given twice ("duplicate key 'x'WHERE (first at line N)"; the second is
/// dropped) and, when ALLOWED is not null, a key not in it ("unknown key
/// 'x'WHERE; did you mean 'y'?"); those entries are left out. WHERE is a suffix
/// such as " in task 'a'" or " at the top level".
std::vector<YamlEntry> map_entries(const YamlNode& map, const std::vector<std::string>* allowed,
                                   const std::string& where, DiagnosticSink& sink);

/// Converts ROOT (the parsed file) into OUT, reporting every problem to SINK.
/// Problems leave the affected field at its default; reading goes on.
void read_workflow(const YamlNode& root, DiagnosticSink& sink, ReadResult* out);

/// The longest task or hook id, in bytes: an id names files (its attempts' logs, control
/// and stdout files, at most 255 bytes each on Linux) and git branches, so a longer one
/// is refused when the workflow is validated rather than when an attempt starts.
inline constexpr size_t kMaxTaskIdLength = 128;

/// Values deeper than this are refused by yaml_to_json().
inline constexpr int kMaxJsonDepth = 1000;
/// The values yaml_to_json() converts for one file, at most: aliases can make a
/// small file stand for a huge tree ("billion laughs").
inline constexpr size_t kMaxJsonValues = 1000000;

/// A YAML node as JSON: mappings (string keys) to objects, sequences to arrays,
/// plain scalars resolved per the YAML 1.2 core schema (null, true/false, integers,
/// floats; anything else a string), quoted and block scalars to strings. Each
/// string leaf is appended to SITES when SITES is not null, once: a scalar reached
/// again through an alias (the same node) is not appended again. *BUDGET is the
/// number of values still allowed and is decreased by each value converted.
/// nullopt, with the reason in *WHY when WHY is not null ("contains itself through an
/// alias (line 3)", "nests deeper than 1000 levels", "takes the file's values past
/// 1000000"), when NODE contains itself through an alias (`&a [x, *a]`: JSON has no
/// cycles), nests deeper than kMaxJsonDepth, or the budget runs out.
std::optional<nlohmann::json> yaml_to_json(const YamlNode& node, size_t* budget,
                                           std::vector<TemplateSite>* sites = nullptr,
                                           std::string* why = nullptr);

/// Reads the role ENTRY ({use: [agents] or one agent, instructions}) into ROLE
/// (name, use, instructions, loc) and PLACES; problems go to SINK. Shared with
/// config.cc.
void read_role(const YamlEntry& entry, DiagnosticSink& sink, RoleSpec* role, RolePlaces* places);

/// Reads E's value, a count of attempts running at once (`max_concurrent`, an entry of
/// `agent_limits`), into OUT: a whole number from 1 to 1,000,000. Otherwise reports
/// "expected a whole number for 'KEY'WHERE" or "'KEY'WHERE must be at least 1" (0 and
/// negative numbers) at the value to SINK and returns false.
bool read_concurrency(const YamlEntry& e, const std::string& where, DiagnosticSink& sink, int* out);

/// Reads E's value, a mapping `{AGENT: COUNT, ...}` (`agent_limits` of settings or of
/// .baton/config.yaml), into OUT (entries replace OUT's of the same agent); each COUNT
/// as read_concurrency(). A null value leaves OUT; anything but a mapping is an error.
/// PLACES, when not null, gets each agent's key.
void read_agent_limits(const YamlEntry& e, const std::string& where, DiagnosticSink& sink,
                       std::map<std::string, int>* out,
                       std::map<std::string, SourceLoc>* places = nullptr);

}  // namespace baton::workflow
