// baton validate FLOW...: schema, DAG and expressions; every error at once.
#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/kitty_run.h"
#include "cli/load.h"
#include "cli/paths.h"

namespace baton::cli {

void add_validate(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("validate", "Check workflow files; errors as FILE:LINE:COL");
  auto files = std::make_shared<std::vector<std::string>>();
  auto vars = std::make_shared<std::vector<std::string>>();
  auto kitty = std::make_shared<KittyFlags>();
  cmd->add_option("FLOW", *files, "workflow files (YAML or JSON) or spec-kitty feature directories")
      ->required();
  cmd->add_option("-i,--var", *vars, "an input KEY=VALUE (checks required inputs when given)");
  cmd->add_option("--impl-agent", kitty->impl_agent,
                  "features: the agent or role implementing each work package");
  cmd->add_option("--review-agent", kitty->review_agent,
                  "features: the agent or role reviewing each work package");
  cmd->add_option("--max-concurrent", kitty->max_concurrent,
                  "features: work packages in flight at once")
      ->check(CLI::Range(1, 1000));
  cmd->callback([=] {
    auto inputs = parse_inputs(*vars);
    if (!inputs) {
      std::fprintf(stderr, "baton: %s\n", inputs.error().message.c_str());
      *exit_code = kExitUsage;
      return;
    }
    std::string root = project_root();
    int rc = kExitSuccess;
    for (const std::string& file : *files) {
      if (workflow::is_kitty_feature_dir(file)) {
        auto feature = prepare_kitty(file, root, *kitty, nullptr);
        if (!feature) {
          rc = kExitUsage;
        } else if (feature->nothing_to_run) {
          std::printf("%s: ok (every work package is done)\n", file.c_str());
        } else {
          std::printf("%s: ok (%zu work packages to run)\n", file.c_str(),
                      feature->loaded.workflow.tasks.size());
        }
        continue;
      }
      auto loaded = load_for_command(file, root, *inputs, !vars->empty());
      if (!loaded) {
        rc = kExitUsage;
        continue;
      }
      std::printf("%s: ok (%zu tasks)\n", file.c_str(), loaded->workflow.tasks.size());
    }
    *exit_code = rc;
  });
}

}  // namespace baton::cli
