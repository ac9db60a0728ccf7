// baton validate FLOW...: schema, DAG and expressions; every error at once.
#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/paths.h"

namespace baton::cli {

void add_validate(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("validate", "Check workflow files; errors as FILE:LINE:COL");
  auto files = std::make_shared<std::vector<std::string>>();
  auto vars = std::make_shared<std::vector<std::string>>();
  cmd->add_option("FLOW", *files, "workflow files (YAML or JSON)")->required();
  cmd->add_option("-i,--var", *vars, "an input KEY=VALUE (checks required inputs when given)");
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
