// The man page and the shell completions, rendered from the same CLI11 definitions as
// `--help` (the add_* functions of commands.h), so that they never disagree with it.
// The build runs the hidden `baton __man` and `baton __completions bash|zsh` and
// installs their output (CMakeLists.txt: share/man/man1/baton.1,
// share/bash-completion/completions/baton, share/zsh/vendor-completions/_baton).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace baton::cli {

/// baton(1) in roff (man(7) macros) for APP: the synopsis, every visible subcommand
/// (nested ones too) with its positionals and options, and the exit codes
/// (cli/exit_codes.h). Subcommands and options in the empty group (hidden) are left
/// out. VERSION goes into the page's header. Deterministic: no date, no host names.
std::string render_man_page(const CLI::App& app, const std::string& version);

/// A bash completion script for APP: completes subcommands (nested ones too) and each
/// subcommand's options, and falls back to file names (`complete -o default`). Needs
/// only bash itself, not the bash-completion package.
std::string render_bash_completion(const CLI::App& app);

/// A zsh completion script (#compdef baton) for APP: subcommands and options with
/// their descriptions, file names otherwise.
std::string render_zsh_completion(const CLI::App& app);

/// The hidden commands `baton __man` and `baton __completions bash|zsh`: when ARGV[1]
/// is one of them, prints the rendering of APP to standard output and returns the exit
/// code (kExitUsage for an unknown shell); otherwise returns nullopt and does nothing.
std::optional<int> run_reference_command(const CLI::App& app, int argc, char** argv);

}  // namespace baton::cli
