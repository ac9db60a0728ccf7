// The man page and completions rendered from a small CLI11 App (reference.h). The
// installed files are checked end to end by tests/install (man -l, bash).
#include "cli/reference.h"

#include <gtest/gtest.h>

#include <string>

#include "cli/exit_codes.h"

namespace baton::cli {
namespace {

// A CLI shaped like baton's: a command with a positional, an option and a flag; a
// command with nested commands; a hidden command; descriptions that need escaping.
struct DemoCli {
  CLI::App app{"baton: demo of the reference renderer", "baton"};
  std::string flow, var, run, secret;
  bool json = false;

  DemoCli() {
    app.set_version_flag("--version", "baton 9.9");
    auto* run_cmd = app.add_subcommand("run", "Execute a workflow");
    run_cmd->add_option("FLOW", flow, "workflow file")->required();
    run_cmd->add_option("-i,--var", var, "an input KEY=VALUE");
    run_cmd->add_flag("--json", json, "it's JSON");
    auto* audit = app.add_subcommand("audit", "Check a run's log");
    audit->add_subcommand("verify", "Recompute the chain")->add_option("RUN", run, "a run id");
    auto* hidden = app.add_subcommand("secret", "not for users")->group("");
    hidden->add_option("--secret", secret, ".starts with a dot and has a \\ backslash");
    app.add_subcommand("escape", "Escapes")
        ->add_option("--odd", secret, ".starts with a dot and has a \\ backslash");
  }
};

TEST(ReferenceTest, ManPageDocumentsVisibleCommandsOptionsAndExitCodes) {
  DemoCli cli;
  std::string page = render_man_page(cli.app, "9.9");
  EXPECT_NE(page.find(".TH BATON 1 \"\" \"baton 9.9\" \"User Commands\"\n"), std::string::npos);
  EXPECT_NE(page.find(".SH NAME\nbaton \\- demo of the reference renderer\n"), std::string::npos);
  EXPECT_NE(page.find(".SS \"\\fBbaton run\\fR [\\fIOPTIONS\\fR] \\fIFLOW\\fR\"\n"
                      "Execute a workflow.\n"
                      ".TP\n\\fIFLOW\\fR\nworkflow file\n"
                      ".TP\n\\fB\\-i\\fR, \\fB\\-\\-var\\fR \\fITEXT\\fR\nan input KEY=VALUE\n"
                      ".TP\n\\fB\\-\\-json\\fR\nit's JSON\n"),
            std::string::npos)
      << page;
  // Nested commands get a section of their own; an optional positional is bracketed.
  EXPECT_NE(page.find(".SS \"\\fBbaton audit\\fR \\fICOMMAND\\fR\"\n"), std::string::npos);
  EXPECT_NE(page.find(".SS \"\\fBbaton audit verify\\fR \\fI[RUN]\\fR\"\n"), std::string::npos);
  // Top-level options, and the version flag, in OPTIONS.
  EXPECT_NE(page.find(".SH OPTIONS\n.TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"), std::string::npos);
  EXPECT_NE(page.find("\\fB\\-\\-version\\fR\n"), std::string::npos);
  // A line that would start with a roff control character, and a backslash.
  EXPECT_NE(page.find("\n\\&.starts with a dot and has a \\e backslash\n"), std::string::npos);
  EXPECT_EQ(page.find("secret"), std::string::npos) << "a hidden command is documented";
  EXPECT_NE(page.find(".SH EXIT STATUS\n.TP\n.B 0\n"), std::string::npos);
  EXPECT_NE(page.find(".B " + std::to_string(kExitSigint) + "\n"), std::string::npos);
}

TEST(ReferenceTest, BashCompletionKnowsCommandPathsAndTheirOptions) {
  DemoCli cli;
  std::string script = render_bash_completion(cli.app);
  EXPECT_NE(script.find("'/run'|'/audit'|'/audit/verify'|'/escape') cmdpath="), std::string::npos)
      << script;
  EXPECT_NE(script.find("    '') options='-h --help --version' commands='run audit escape' ;;\n"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("    '/run') options='-h --help -i --var --json' commands='' ;;\n"),
            std::string::npos);
  EXPECT_NE(script.find("    '/audit') options='-h --help' commands='verify' ;;\n"),
            std::string::npos);
  EXPECT_NE(script.find("complete -o default -F _baton baton\n"), std::string::npos);
  EXPECT_EQ(script.find("secret"), std::string::npos);
}

TEST(ReferenceTest, ZshCompletionDescribesCommandsAndQuotesDescriptions) {
  DemoCli cli;
  std::string script = render_zsh_completion(cli.app);
  EXPECT_EQ(script.rfind("#compdef baton\n", 0), 0u);
  EXPECT_NE(script.find("'run:Execute a workflow'"), std::string::npos);
  EXPECT_NE(script.find("'audit:Check a run'\\''s log'"), std::string::npos) << script;
  EXPECT_NE(script.find("'--json:it'\\''s JSON'"), std::string::npos);
  EXPECT_EQ(script.find("secret"), std::string::npos);
}

TEST(ReferenceTest, RunReferenceCommandHandlesOnlyItsOwnCommands) {
  DemoCli cli;
  char baton[] = "baton", run[] = "run", completions[] = "__completions", fish[] = "fish";
  char* other[] = {baton, run};
  EXPECT_EQ(run_reference_command(cli.app, 2, other), std::nullopt);
  char* only_program[] = {baton};
  EXPECT_EQ(run_reference_command(cli.app, 1, only_program), std::nullopt);
  char* unknown_shell[] = {baton, completions, fish};
  EXPECT_EQ(run_reference_command(cli.app, 3, unknown_shell), kExitUsage);
}

}  // namespace
}  // namespace baton::cli
