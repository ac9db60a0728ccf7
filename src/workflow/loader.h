// Loading a workflow file: YAML or JSON text to a validated Workflow.
//
// The loader reads the file (source.h checks: size, UTF-8, NUL bytes), parses it
// with yaml-cpp (JSON files are checked with nlohmann::json first, then read the
// same way, so both forms give the same model), converts the tree to the model
// (model.h) while checking keys, types and enums, then validates the whole: unique
// ids, known dependencies, no cycles, every template and condition parses, every
// reference names an upstream task, an input or a variable, agents and roles exist.
// Every problem is reported at once, each at its FILE:LINE:COL.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "workflow/diagnostic.h"
#include "workflow/model.h"

namespace baton::workflow {

/// What the loader knows beyond the file itself.
struct LoadOptions {
  std::map<std::string, RoleSpec> config_roles;    ///< roles from .baton/config.yaml
  std::map<std::string, int> config_agent_limits;  ///< agent_limits of .baton/config.yaml
  bool config_single_agent = false;  ///< single_agent of .baton/config.yaml (docs/review.md)
  std::optional<double> config_single_agent_pause_s;   ///< its single_agent_pause, seconds
  std::vector<std::string> known_agents;               ///< agent names baton knows (claude, ...)
  std::map<std::string, std::string> provided_inputs;  ///< -i NAME=VALUE
  bool check_required_inputs = false;                  ///< error when a required input is missing
};

/// The outcome of a load: the workflow when valid, and everything said about it.
struct LoadResult {
  std::optional<Workflow> workflow;     ///< set only when there are no errors
  std::vector<Diagnostic> diagnostics;  ///< errors and warnings, in file order
  bool ok() const { return workflow.has_value(); }
};

/// Reads and validates the workflow file at PATH (".json": JSON, else YAML).
/// A file that cannot be read, or that is empty, binary or over 16 MiB, gives one
/// diagnostic without a line ("FILE: error: the file is empty"). Workflow::path is
/// PATH as given; Workflow::source_sha256 the hex SHA-256 of the file's bytes.
/// Never throws.
LoadResult load_workflow_file(const std::string& path, const LoadOptions& options);

/// As load_workflow_file() for TEXT, named FILE_NAME in diagnostics and in
/// Workflow::path; FILE_NAME ending in ".json" selects JSON. Never throws.
LoadResult load_workflow_text(std::string text, const std::string& file_name,
                              const LoadOptions& options);

/// The keys a task may have, in the order of the table in docs/workflow.md.
const std::vector<std::string>& task_keys();

/// The fields of a task's result that templates may read (`${task.FIELD}`):
/// output, status, exit_code, attempts, agent, outputs, error.
const std::vector<std::string>& task_result_fields();

}  // namespace baton::workflow
