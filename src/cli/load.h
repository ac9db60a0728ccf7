// Loading a workflow for a command: config roles, inputs, diagnostics on stderr.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"
#include "workflow/config.h"
#include "workflow/model.h"

namespace baton::cli {

/// A workflow ready to run, with what it was loaded with.
struct LoadedWorkflow {
  workflow::Workflow workflow;
  std::map<std::string, workflow::RoleSpec> config_roles;  ///< from .baton/config.yaml
  std::map<std::string, std::string> inputs;               ///< -i values as given
  std::vector<workflow::WebhookDef> webhooks;              ///< from .baton/config.yaml
};

/// Parses "key=value" items of -i/--var. Error text names the bad item.
Result<std::map<std::string, std::string>> parse_inputs(const std::vector<std::string>& items);

/// Reads ROOT/.baton/config.yaml (a missing file is an empty config) and registers
/// its custom agents (agents::register_custom_agent()), so that workflows may name
/// them. Problems go to stderr as "PATH:LINE:COL: MESSAGE"; nullopt when there were.
std::optional<workflow::Config> load_project_config(const std::string& root);

/// Loads PATH with the roles of ROOT/.baton/config.yaml and the known agents;
/// prints every diagnostic (warnings too) to stderr. nullopt when there were
/// errors (the caller exits with kExitUsage). CHECK_REQUIRED: refuse missing
/// required inputs (run) or not (validate, graph).
std::optional<LoadedWorkflow> load_for_command(const std::string& path, const std::string& root,
                                               const std::map<std::string, std::string>& inputs,
                                               bool check_required);

/// The input values a run sees: each declared input's default, then the -i values
/// (strings). Variables given with -i replace context.variables of the same name.
nlohmann::json merged_inputs(const LoadedWorkflow& loaded);

}  // namespace baton::cli
