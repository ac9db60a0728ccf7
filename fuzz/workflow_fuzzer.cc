// libFuzzer target: the workflow loader (workflow/loader.h) on arbitrary bytes.
//
// Each input is loaded as a YAML workflow ("fuzz.yaml"); an input whose first
// non-blank byte is '{' is also loaded as JSON ("fuzz.json"), the loader's other
// path. Every diagnostic is formatted (the source line and caret), and a workflow
// that loads is walked the way `baton graph` and the engine walk it. A crash,
// sanitizer report, leak or timeout is a bug: the loader must never throw or abort.
#include <cstddef>
#include <cstdint>
#include <string>

#include "workflow/diagnostic.h"
#include "workflow/graph.h"
#include "workflow/loader.h"

namespace {

using baton::workflow::LoadOptions;
using baton::workflow::LoadResult;

// What `baton run` passes: the built-in agent names, one configured role, inputs.
const LoadOptions& options() {
  static const LoadOptions opts = [] {
    LoadOptions o;
    o.known_agents = {"claude", "codex", "gemini", "copilot", "cursor", "opencode", "qwen"};
    baton::workflow::RoleSpec planner;
    planner.name = "planner";
    planner.use = {"claude"};
    o.config_roles["planner"] = planner;
    o.provided_inputs = {{"issue", "42"}, {"name", "x"}};
    o.check_required_inputs = true;
    return o;
  }();
  return opts;
}

// What `baton validate FLOW` passes: no inputs. A workflow that reads neither `issue`
// nor `name` refuses the inputs above (undeclared -i keys are an error), so without
// this second load most inputs would never reach the graph code.
const LoadOptions& options_without_inputs() {
  static const LoadOptions opts = [] {
    LoadOptions o = options();
    o.provided_inputs.clear();
    o.check_required_inputs = false;
    return o;
  }();
  return opts;
}

void exercise(const LoadResult& result) {
  std::string sink = baton::workflow::format_all(result.diagnostics);
  if (!result.ok()) return;
  const auto& wf = *result.workflow;
  auto order = baton::workflow::topological_order(wf);
  if (!order) __builtin_trap();  // the loader promised a DAG
  auto deps = baton::workflow::dependency_indices(wf);
  for (size_t i = 0; i < deps.size(); ++i) {
    auto up = baton::workflow::upstream_of(deps, static_cast<int>(i));
    if (up.size() != deps.size()) __builtin_trap();
  }
  sink += baton::workflow::to_mermaid(wf);
  sink += baton::workflow::to_dot(wf);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  exercise(baton::workflow::load_workflow_text(text, "fuzz.yaml", options()));
  exercise(baton::workflow::load_workflow_text(text, "fuzz.yaml", options_without_inputs()));
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    exercise(baton::workflow::load_workflow_text(text, "fuzz.json", options()));
  }
  return 0;
}
