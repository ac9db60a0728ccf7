// spec-kitty features as workflows: a feature directory (`kitty-specs/NNN-slug/`) whose
// `tasks/WP*.md` files each hold one work package (WP), read into a Workflow of one
// worktree agent task per WP (docs/spec-kitty.md).
//
// A WP file is YAML front matter between two `---` lines, then a Markdown body: the
// WP's implementation prompt. Of the front matter baton reads `work_package_id`,
// `title`, `dependencies` (a list of WP ids) and, in older features, `lane`; other keys
// (`subtasks`, `phase`, `history`, ...) are left as they are. Format: spec-kitty's
// (github.com/spec-kitty/spec-kitty, `tasks/WPnn-slug.md`, ../shared/REFERENCES.md).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "workflow/diagnostic.h"
#include "workflow/loader.h"
#include "workflow/model.h"

namespace baton::workflow {

/// Most WP files a feature may have, and most bytes one WP file may have.
inline constexpr size_t kMaxWorkPackages = 500;
inline constexpr size_t kMaxWorkPackageBytes = 1u << 20;

/// One work package as written in its file.
struct WorkPackage {
  std::string id;                          ///< work_package_id, e.g. "WP01" (a valid task id)
  std::string title;                       ///< title, as written (never rendered)
  std::vector<std::string> dependencies;   ///< ids of WPs it waits for, as written
  std::vector<SourceLoc> dependency_locs;  ///< the place of each dependency in the file
  std::string body;  ///< the text after the front matter: the implementation prompt
  std::string file;  ///< its path: the feature directory as given + "/tasks/NAME.md"
  SourceLoc id_loc;  ///< where work_package_id's value is
  /// `lane:` of the front matter (older features), as written; nullopt when absent
  std::optional<std::string> front_matter_lane;
};

/// A feature directory read: its work packages in file-name order.
struct KittyFeature {
  std::string dir;   ///< the directory as given, without trailing '/'
  std::string slug;  ///< its last component, e.g. "004-orchestrator"
  std::vector<WorkPackage> work_packages;
  /// Index of the WP with this id, or -1.
  int index_of(const std::string& id) const;
};

/// Whether PATH is a directory with a `tasks/` directory holding at least one
/// `WP*.md` file: what `baton run`/`validate` take as a spec-kitty feature.
bool is_kitty_feature_dir(const std::string& path);

/// Reads every `DIR/tasks/WP*.md` (regular files, not symlinks; at most
/// kMaxWorkPackages files of kMaxWorkPackageBytes each) and checks them together.
/// Problems are appended to DIAGNOSTICS as FILE:LINE:COL errors into the WP file:
/// no or unclosed front matter, bad YAML, a missing or non-string work_package_id or
/// title, an id that is not a task id, a missing `dependencies` key (`[]` when it has
/// none), a dependency that is not a string, names no WP, names the WP itself or
/// closes a cycle, a duplicate id, an empty body. nullopt when there were errors.
/// Never throws.
std::optional<KittyFeature> read_kitty_feature(const std::string& dir,
                                               std::vector<Diagnostic>& diagnostics);

/// How a feature becomes a workflow.
struct KittyBuildOptions {
  std::string impl_agent;    ///< an agent or role name: every WP's implementing agent
  std::string review_agent;  ///< an agent or role name reviewing each WP; "" = no review
  int max_concurrent = 0;    ///< WPs in flight at once (settings.max_parallel); 0 = default
  /// Each WP's lane when the run starts (spec-kitty names, aliases resolved); a WP
  /// not listed is planned. Which lanes run: docs/spec-kitty.md.
  std::map<std::string, std::string> lanes;
};

/// The review of each WP's implementation (docs/review.md, docs/spec-kitty.md).
struct KittyReview {
  std::string agent;  ///< the reviewing agent or role (never the implementer)
};

/// THE one place where a WP task gets its review: TASK (the WP task's JSON mapping,
/// before the loader reads it) gets `review: {agent: REVIEW.agent}`, with review's
/// defaults (max_cycles 3, on_exhausted escalate; docs/review.md). The loader checks
/// the agent as in any workflow.
void apply_review_agent(nlohmann::json& task, const KittyReview& review);

/// `text` as a template that renders to exactly TEXT: each `${` becomes `$${`
/// (expr.h: `$${` is a literal `${`). WP titles and bodies are prompts, never templates.
std::string escape_template(const std::string& text);

/// Builds the workflow of FEATURE: one agent task per WP whose lane in
/// OPTIONS.lanes is planned, claimed, in_progress or blocked (done WPs are left out
/// and satisfy their dependants; a dependant of a for_review or canceled WP is an
/// error at that dependency), with id = the WP's id, `agent` = OPTIONS.impl_agent,
/// `isolation: worktree` (so each WP works in a worktree based on the merge of its
/// dependencies' branches), the title and body as the literal prompt, the
/// feature's dependencies, and, when OPTIONS.review_agent is set, a review by it
/// (apply_review_agent()). It goes through the ordinary loader (LOAD), so agents,
/// roles and limits are checked as for any workflow; Workflow::path is FEATURE.dir and
/// Workflow::source_sha256 the SHA-256 of the workflow built (the same feature and
/// options give the same digest; lanes and WP history do not count). A workflow with
/// no task (every WP done) is reported as an error naming that.
LoadResult build_kitty_workflow(const KittyFeature& feature, const KittyBuildOptions& options,
                                const LoadOptions& load);

}  // namespace baton::workflow
