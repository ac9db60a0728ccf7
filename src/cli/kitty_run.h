// `baton run|validate|resume kitty-specs/NNN-feature/`: a spec-kitty feature read,
// its lanes' backend chosen, its workflow built (docs/spec-kitty.md).
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/load.h"
#include "kitty/lane_backend.h"
#include "workflow/kitty_feature.h"

namespace baton::cli {

/// The feature flags of `baton run`.
struct KittyFlags {
  std::string impl_agent;    ///< --impl-agent; "" = the config's role 'implementer'
  std::string review_agent;  ///< --review-agent; "" = the config's role 'reviewer', if any
  int max_concurrent = 0;    ///< --max-concurrent; 0 = settings' default
};

/// A feature ready to run.
struct KittySetup {
  LoadedWorkflow loaded;
  workflow::KittyFeature feature;
  std::unique_ptr<kitty::LaneBackend> backend;
  std::map<std::string, kitty::Lane> lanes;  ///< every WP's lane now
  /// What `baton resume` needs to build the same workflow: the agents and limit, and
  /// the lanes when the run started ({"impl_agent", "review_agent", "max_concurrent",
  /// "lanes": {id: lane}}).
  nlohmann::json saved;
  bool nothing_to_run = false;  ///< every WP is done (not an error)
};

/// Reads feature DIR (diagnostics to stderr), picks the lanes' backend (spec-kitty's
/// orchestrator API when `spec-kitty` is in PATH: its contract version checked first;
/// else the feature's status files), reads the lanes and builds the workflow with
/// FLAGS and the roles of ROOT/.baton/config.yaml. SAVED (resume): the `saved` of the
/// run's start, whose agents and start lanes are used instead of FLAGS and the lanes
/// now. nullopt after printing why (the caller exits 2).
std::optional<KittySetup> prepare_kitty(const std::string& dir, const std::string& root,
                                        const KittyFlags& flags, const nlohmann::json* saved);

/// Warnings (one line each, no prefix) about done WPs whose work may be missing: a
/// done WP that a WP of SETUP's workflow depends on, whose spec-kitty branch
/// (`SLUG-WPnn`, spec-kitty's name for a WP's lane branch) exists in the repository of
/// ROOT and is not merged into HEAD. Dependants start from HEAD, so they would not
/// see that work. Git problems give no warning.
std::vector<std::string> kitty_done_branch_warnings(const KittySetup& setup,
                                                    const std::string& root);

/// STATE_DIR/runs/RUN/kitty.json: where a feature run keeps KittySetup::saved.
std::string kitty_saved_path(const std::string& state_dir, const std::string& run_id);

/// Writes SAVED to kitty_saved_path() (its directory created).
Result<void> save_kitty(const std::string& state_dir, const std::string& run_id,
                        const nlohmann::json& saved);

/// Reads what save_kitty() wrote. Errors: missing or malformed.
Result<nlohmann::json> load_kitty_saved(const std::string& state_dir, const std::string& run_id);

}  // namespace baton::cli
