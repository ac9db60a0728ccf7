#include "cli/templates.h"

namespace baton::cli {

const std::vector<WorkflowTemplate>& workflow_templates() {
  static const std::vector<WorkflowTemplate> kTemplates = {
      {"feature", "seed 001's full-stack feature: design, API and UI in parallel, integrate, test",
       ".baton/feature.yaml", "baton run .baton/feature.yaml -i feature_name=search"},
      {"bugfix", "seed 001's bug fix: investigate, analyze, fix, verify", ".baton/bugfix.yaml",
       "baton run .baton/bugfix.yaml -i bug_description=..."},
      {"rover", "Rover's plan, implement, review, apply the review, summary (seed 000)",
       ".baton/rover.yaml", "baton run .baton/rover.yaml -i request=..."},
      {"spec-kitty",
       "a spec-kitty feature directory: spec, plan and three work packages (WP03 after WP01 and "
       "WP02), each implemented by the role implementer and reviewed by the role reviewer",
       "kitty-specs/001-example-feature/ (spec.md, plan.md, tasks/WP01..WP03)",
       "baton run kitty-specs/001-example-feature/"},
  };
  return kTemplates;
}

}  // namespace baton::cli
