// Workflow templates: `baton templates` lists them, `baton init --template NAME` writes
// one to .baton/NAME.yaml. Their text is embedded in baton at build time
// (cmake/embed_templates.cmake writes BUILD/generated/workflow_templates.cc, which
// implements template_text()); the files are seed 001's two templates as written
// (tests/workflows/seed001_*.yaml) and templates/*.yaml.
#pragma once

#include <string_view>
#include <vector>

namespace baton::cli {

/// One template: its name (the file baton init writes is .baton/NAME.yaml), a line
/// for people, and how to run it.
struct WorkflowTemplate {
  std::string_view name;
  std::string_view description;
  std::string_view run_hint;  ///< the -i inputs it needs, e.g. "-i feature_name=search"
};

/// Every template, in the order `baton templates` lists them.
const std::vector<WorkflowTemplate>& workflow_templates();

/// The YAML text of the template NAME; empty when there is none.
std::string_view template_text(std::string_view name);

}  // namespace baton::cli
