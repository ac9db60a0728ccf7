// baton graph FLOW [--format mermaid|dot]: the DAG as text for a renderer.
#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/kitty_run.h"
#include "cli/load.h"
#include "cli/paths.h"
#include "workflow/graph.h"

namespace baton::cli {

void add_graph(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("graph", "Print the workflow's DAG as Mermaid or DOT");
  auto file = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("mermaid");
  cmd->add_option("FLOW", *file, "workflow file or spec-kitty feature directory")->required();
  cmd->add_option("-f,--format", *format, "mermaid (default) or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}));
  cmd->callback([=] {
    std::optional<LoadedWorkflow> loaded;
    if (workflow::is_kitty_feature_dir(*file)) {  // the WPs that would run, docs/spec-kitty.md
      auto feature = prepare_kitty(*file, project_root(), {}, nullptr);
      if (feature && feature->nothing_to_run) {
        std::fprintf(stderr, "baton: %s: every work package is done\n", file->c_str());
        *exit_code = kExitSuccess;
        return;
      }
      if (feature) loaded = std::move(feature->loaded);
    } else {
      loaded = load_for_command(*file, project_root(), {}, false);
    }
    if (!loaded) {
      *exit_code = kExitUsage;
      return;
    }
    std::string text = *format == "dot" ? workflow::to_dot(loaded->workflow)
                                        : workflow::to_mermaid(loaded->workflow);
    std::fputs(text.c_str(), stdout);
    *exit_code = kExitSuccess;
  });
}

}  // namespace baton::cli
