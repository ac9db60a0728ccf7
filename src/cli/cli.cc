#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "a2a/client.h"
#include "acp/bridge.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/reference.h"
#include "cli/store_location.h"
#include "executor/slurm_attempt.h"
#include "httpjob/client.h"
#include "workflow/suggest.h"

namespace baton::cli {

namespace {

// The subcommand of PARENT called NAME, listed or hidden; nullptr if none.
CLI::App* find_subcommand(CLI::App& parent, const std::string& name) {
  for (CLI::App* sub : parent.get_subcommands({})) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

// Checks that WORDS name a command (and subcommands) of APP, as `baton WORDS...`
// would. Prints "baton: unknown command 'W'; did you mean 'X'?" and returns false
// when one does not; the suggestion is from the listed (not hidden) commands.
bool known_commands(CLI::App& app, const std::vector<std::string>& words) {
  CLI::App* at = &app;
  std::string path;
  for (const std::string& word : words) {
    if (CLI::App* sub = find_subcommand(*at, word)) {
      at = sub;
      path += word + " ";
      continue;
    }
    std::vector<std::string> names;
    for (CLI::App* sub : at->get_subcommands({})) {
      if (!sub->get_group().empty()) names.push_back(sub->get_name());
    }
    std::fprintf(stderr, "baton: unknown command '%s%s'%s\n", path.c_str(), word.c_str(),
                 workflow::did_you_mean(word, names).c_str());
    std::fprintf(stderr, "Run with --help for the list of commands.\n");
    return false;
  }
  return true;
}

}  // namespace

int run_cli(int argc, char** argv) {
  // Hidden, and not parsed by CLI11: everything after `--` is the task's argv.
  if (argc >= 2 && std::string(argv[1]) == "__container-run") {
    return container_run(std::vector<std::string>(argv + 2, argv + argc));
  }
  // Hidden: an agent attempt sent to a remote agent over A2A (a2a/client.h).
  if (argc >= 2 && std::string(argv[1]) == "__a2a-client") {
    return a2a::client_main(std::vector<std::string>(argv + 2, argv + argc));
  }
  // Hidden: an agent attempt run as a job of a hosted agent runtime (httpjob/client.h).
  if (argc >= 2 && std::string(argv[1]) == "__http-job") {
    return httpjob::job_main(std::vector<std::string>(argv + 2, argv + argc));
  }
  // Hidden: the payload of an attempt's Slurm job (executor/slurm_attempt.h).
  if (argc == 3 && std::string(argv[1]) == "__slurm-attempt") {
    return executor::slurm_attempt_main(argv[2]);
  }
  // Hidden: an agent attempt over ACP (acp/bridge.h), the attempt's command.
  if (argc >= 2 && std::string(argv[1]) == "__acp-bridge") {
    return acp::bridge_main(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app{"baton: runs teams of AI coding agents as durable workflows", "baton"};
  app.set_version_flag("--version", std::string("baton ") + BATON_VERSION);
  app.require_subcommand(1);
  // Global, given before or after the command (fallthrough): where the state lives
  // (cli/store_location.h, docs/postgres.md).
  app.fallthrough();
  app.add_option("--store", store_option(),
                 "the state store: postgres://... for PostgreSQL (default .baton/state.db; "
                 "env BATON_STORE)");
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
  add_serve(app, &exit_code);
  add_task(app, &exit_code);
  add_iterate(app, &exit_code);
  add_shell(app, &exit_code);
  add_merge(app, &exit_code);
  add_push(app, &exit_code);
  add_inspect(app, &exit_code);
  add_templates(app, &exit_code);
  add_export(app, &exit_code);
  // Handled below, before CLI11 parses: listed here for `baton --help`.
  app.add_subcommand("help", "Show the help of baton, or of COMMAND (as COMMAND --help)")
      ->allow_extras();

  // Hidden: `baton __man`, `baton __completions bash|zsh`, rendered from APP (reference.h).
  if (std::optional<int> rc = run_reference_command(app, argc, argv)) return *rc;

  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "help") {
    // `baton help [COMMAND...]` is `baton [COMMAND...] --help`.
    args.erase(args.begin());
    if (!known_commands(app, args)) return kExitUsage;
    args.push_back("--help");
  } else if (!args.empty() && !args[0].empty() && args[0][0] != '-' &&
             !known_commands(app, {args[0]})) {
    return kExitUsage;
  }
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector of arguments
  try {
    app.parse(args);
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
