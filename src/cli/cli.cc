#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/reference.h"

namespace baton::cli {

int run_cli(int argc, char** argv) {
  // Hidden, and not parsed by CLI11: everything after `--` is the task's argv.
  if (argc >= 2 && std::string(argv[1]) == "__container-run") {
    return container_run(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app{"baton: runs teams of AI coding agents as durable workflows", "baton"};
  app.set_version_flag("--version", std::string("baton ") + BATON_VERSION);
  app.require_subcommand(1);
  int exit_code = kExitSuccess;
  add_init(app, &exit_code);
  add_validate(app, &exit_code);
  add_graph(app, &exit_code);
  add_run(app, &exit_code);
  add_status(app, &exit_code);
  add_logs(app, &exit_code);
  add_agents(app, &exit_code);
  add_cancel(app, &exit_code);
  add_audit(app, &exit_code);
  add_diff(app, &exit_code);
  add_clean(app, &exit_code);
  add_resume(app, &exit_code);
  add_pause(app, &exit_code);
  add_approve(app, &exit_code);
  add_retry(app, &exit_code);
  // Hidden: `baton __man`, `baton __completions bash|zsh`, rendered from APP (reference.h).
  if (std::optional<int> rc = run_reference_command(app, argc, argv)) return *rc;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitSuccess : kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "baton: internal error: %s\n", e.what());
    return kExitInternal;
  }
  return exit_code;
}

}  // namespace baton::cli
