// baton templates: the templates `baton init --template NAME` writes (cli/templates.h):
// name and what it is, what it writes, how to write and run it.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/templates.h"

namespace baton::cli {

void add_templates(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("templates", "List the templates baton init can write");
  cmd->callback([=] {
    for (const WorkflowTemplate& t : workflow_templates()) {
      std::fputs(fmt::format("{:<11} {}\n{:<11} writes {}\n{:<11} baton init --template {}; {}\n",
                             t.name, t.description, "", t.writes, "", t.name, t.run)
                     .c_str(),
                 stdout);
    }
    *exit_code = kExitSuccess;
  });
}

}  // namespace baton::cli
