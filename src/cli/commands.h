// The subcommands of `baton`, one file each (cmd_*.cc). Each add_* function
// registers its subcommand on APP; when the subcommand runs, its result code
// (cli/exit_codes.h) is written to *EXIT_CODE.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace baton::cli {

void add_validate(CLI::App& app, int* exit_code);
void add_graph(CLI::App& app, int* exit_code);
void add_run(CLI::App& app, int* exit_code);
void add_status(CLI::App& app, int* exit_code);
void add_logs(CLI::App& app, int* exit_code);
void add_init(CLI::App& app, int* exit_code);
void add_agents(CLI::App& app, int* exit_code);
void add_cancel(CLI::App& app, int* exit_code);
void add_audit(CLI::App& app, int* exit_code);
void add_diff(CLI::App& app, int* exit_code);
void add_clean(CLI::App& app, int* exit_code);
void add_resume(CLI::App& app, int* exit_code);
void add_pause(CLI::App& app, int* exit_code);
void add_approve(CLI::App& app, int* exit_code);
void add_retry(CLI::App& app, int* exit_code);
void add_serve(CLI::App& app, int* exit_code);
void add_task(CLI::App& app, int* exit_code);
void add_iterate(CLI::App& app, int* exit_code);
void add_shell(CLI::App& app, int* exit_code);
void add_merge(CLI::App& app, int* exit_code);
void add_push(CLI::App& app, int* exit_code);
void add_inspect(CLI::App& app, int* exit_code);
void add_templates(CLI::App& app, int* exit_code);
void add_export(CLI::App& app, int* exit_code);

/// The hidden `baton __container-run ARGS`: runs a sandboxed task's command in a
/// container (cmd_container_run.cc); returns the exit code.
int container_run(const std::vector<std::string>& args);

/// Runs baton with ARGV; returns the process exit code. Catches every exception
/// (the one catch at the top, STYLE.md) and reports it as an internal error.
int run_cli(int argc, char** argv);

}  // namespace baton::cli
