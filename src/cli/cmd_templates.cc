// baton templates: the workflow templates `baton init --template NAME` writes
// (cli/templates.h), one per line: name, what it is, how to run it.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/templates.h"

namespace baton::cli {

void add_templates(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("templates", "List the workflow templates baton init can write");
  cmd->callback([=] {
    for (const WorkflowTemplate& t : workflow_templates()) {
      std::fputs(
          fmt::format("{:<11} {}\n{:<11} baton init --template {}; baton run .baton/{}.yaml {}\n",
                      t.name, t.description, "", t.name, t.name, t.run_hint)
              .c_str(),
          stdout);
    }
    *exit_code = kExitSuccess;
  });
}

}  // namespace baton::cli
