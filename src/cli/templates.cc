#include "cli/templates.h"

namespace baton::cli {

const std::vector<WorkflowTemplate>& workflow_templates() {
  static const std::vector<WorkflowTemplate> kTemplates = {
      {"feature", "seed 001's full-stack feature: design, API and UI in parallel, integrate, test",
       "-i feature_name=search"},
      {"bugfix", "seed 001's bug fix: investigate, analyze, fix, verify", "-i bug_description=..."},
      {"rover", "Rover's plan, implement, review, apply the review, summary (seed 000)",
       "-i request=..."},
      {"spec-kitty",
       "a spec-kitty-style feature: specify, plan, work packages, implement, review, accept gate",
       "-i feature=001-search -i goal=..."},
  };
  return kTemplates;
}

}  // namespace baton::cli
