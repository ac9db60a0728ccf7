// baton __man, baton __completions bash|zsh: the man page and the shell completions,
// walked from the CLI11 App that `--help` prints (reference.h).
#include "cli/reference.h"

#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "cli/exit_codes.h"

namespace baton::cli {
namespace {

// One exit code and its meaning, as documented in cli/exit_codes.h.
struct ExitCodeDoc {
  int code;
  const char* meaning;
};

constexpr ExitCodeDoc kExitCodes[] = {
    {kExitSuccess, "the run succeeded; the command did what was asked"},
    {kExitRunFailed, "the run ended with at least one failed task"},
    {kExitUsage, "bad command line, or the workflow is invalid"},
    {kExitCancelled, "the run was cancelled (baton cancel)"},
    {kExitInternal, "baton itself failed (state store, I/O)"},
    {kExitWaiting,
     "--no-wait: only tasks waiting for baton approve are left; the run is recorded waiting "
     "and continues with baton resume"},
    {kExitPaused,
     "baton pause stopped the run once its running attempts ended; baton resume "
     "continues"},
    {kExitBusy,
     "baton resume/retry/pause: another live baton runs the run (or none does, for "
     "pause)"},
    {kExitOrchestratorGone,
     "baton logs -f: the run's orchestrator died before the run ended; nothing more will be "
     "logged until baton resume continues it"},
    {kExitSigint, "interrupted by SIGINT (Ctrl-C): running tasks cancelled"},
    {kExitSigterm, "interrupted by SIGTERM"},
};

// The subcommands of APP that --help lists (CLI11 hides those in the empty group).
std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands(
      [](const CLI::App* sub) { return !sub->get_name().empty() && !sub->get_group().empty(); });
}

// The options of APP that --help lists, positionals included, in definition order.
std::vector<const CLI::Option*> visible_options(const CLI::App& app) {
  return app.get_options([](const CLI::Option* opt) { return !opt->get_group().empty(); });
}

// A flag takes no value (--json); an option does (--limit N). CLI11's own flags (--help,
// --version) have no type name rather than no size.
bool is_flag(const CLI::Option& opt) {
  return opt.get_type_size_max() == 0 || opt.get_type_name().empty();
}

// The spellings of a named option: -n, --limit.
std::vector<std::string> option_spellings(const CLI::Option& opt) {
  std::vector<std::string> out;
  for (const std::string& s : opt.get_snames()) out.push_back("-" + s);
  for (const std::string& l : opt.get_lnames()) out.push_back("--" + l);
  return out;
}

// Text made safe for a roff line: backslashes escaped, no line break, no leading
// control character.
std::string roff_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// An option name or command word in roff: its hyphens are real minus signs (\-), so
// that they can be copied and searched for.
std::string roff_word(std::string_view word) {
  std::string out;
  for (char c : roff_text(word)) {
    if (c == '-') out += '\\';
    out += c;
  }
  return out;
}

// The positional's usage word: FLOW, [TASK], FLOW... (optional ones in brackets).
std::string positional_usage(const CLI::Option& opt) {
  std::string word = opt.get_name();
  if (opt.get_items_expected_max() > 1) word += "...";
  return opt.get_required() ? word : "[" + word + "]";
}

// Appends OPT as a man page list item: a positional's name in italics, or the option's
// spellings in bold and its value's type in italics; then its description.
void man_option(const CLI::Option& opt, std::string& out) {
  out += ".TP\n";
  if (!opt.nonpositional()) {
    out += "\\fI" + roff_word(opt.get_name()) + "\\fR\n";
  } else {
    std::string names;
    for (const std::string& spelling : option_spellings(opt)) {
      if (!names.empty()) names += ", ";
      names += "\\fB" + roff_word(spelling) + "\\fR";
    }
    if (!is_flag(opt)) names += " \\fI" + roff_word(opt.get_type_name()) + "\\fR";
    out += names + "\n";
  }
  std::string description = roff_text(opt.get_description());
  if (opt.get_required() && opt.nonpositional()) description += " (required)";
  out += description + "\n";
}

// A sentence: TEXT with a full stop unless it ends with one.
std::string sentence(const std::string& text) {
  return text.empty() || text.back() == '.' ? text : text + ".";
}

// Appends the man page section for SUB (reached by PATH, e.g. "baton audit") and its
// own subcommands. The help flag every command has is said once, in DESCRIPTION.
void man_command(const CLI::App& sub, const std::string& path, std::string& out) {
  std::string full = path + " " + sub.get_name();
  std::vector<const CLI::Option*> positionals;
  std::vector<const CLI::Option*> named;
  for (const CLI::Option* opt : visible_options(sub)) {
    if (!opt->nonpositional()) {
      positionals.push_back(opt);
    } else if (opt != sub.get_help_ptr()) {
      named.push_back(opt);
    }
  }
  std::vector<const CLI::App*> subs = visible_subcommands(sub);
  std::string usage = "\\fB" + roff_word(full) + "\\fR";
  if (!named.empty()) usage += " [\\fIOPTIONS\\fR]";
  if (!subs.empty()) usage += " \\fICOMMAND\\fR";
  for (const CLI::Option* opt : positionals) {
    usage += " \\fI" + roff_word(positional_usage(*opt)) + "\\fR";
  }
  out += ".SS \"" + usage + "\"\n";
  out += roff_text(sentence(sub.get_description())) + "\n";
  for (const CLI::Option* opt : positionals) man_option(*opt, out);
  for (const CLI::Option* opt : named) man_option(*opt, out);
  for (const CLI::App* child : subs) man_command(*child, full, out);
}

// Appends shell-quoted (single quotes) TEXT to OUT.
void append_single_quoted(std::string_view text, std::string& out) {
  out += '\'';
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += '\'';
}

// One node of the command tree, for the completion scripts: "" for baton itself,
// "/audit/verify" for `baton audit verify`.
struct CompletionNode {
  std::string path;
  const CLI::App* app;
};

// Every visible command reachable from APP, APP first, parents before children.
void collect_nodes(const CLI::App& app, const std::string& path, std::vector<CompletionNode>& out) {
  out.push_back({path, &app});
  for (const CLI::App* sub : visible_subcommands(app)) {
    collect_nodes(*sub, path + "/" + sub->get_name(), out);
  }
}

}  // namespace

std::string render_man_page(const CLI::App& app, const std::string& version) {
  std::string out;
  out += ".\\\" Generated by `baton __man` from baton's command-line definitions: do not edit.\n";
  out += ".TH BATON 1 \"\" \"baton " + roff_text(version) + "\" \"User Commands\"\n";
  std::string description = app.get_description();
  if (description.starts_with("baton: ")) description.erase(0, std::strlen("baton: "));
  out += ".SH NAME\nbaton \\- " + roff_text(description) + "\n";
  out += ".SH SYNOPSIS\n";
  out += ".B baton\n.RB [ \\-\\-version ]\n.RB [ \\-\\-help ]\n.I COMMAND\n.RI [ ARGS ]\n";
  out += ".SH DESCRIPTION\n";
  out +=
      "baton reads a workflow (a YAML file) that is a DAG of tasks, and runs each task\n"
      "as a command or as an agent CLI (Claude Code, Codex, ...), with retries, timeouts,\n"
      "worktrees and sandboxes. Every run is recorded in a SQLite store under\n"
      ".I .baton/\n"
      "in the project, so that it can be inspected, resumed and retried.\n"
      ".PP\n"
      "Each attempt of a task is watched by\n"
      ".BR baton\\-supervise ,\n"
      "a small program installed beside\n"
      ".BR baton ,\n"
      "which outlives baton when baton is killed.\n"
      ".PP\n"
      "Every command prints its own usage with\n"
      ".BR \"baton \\fICOMMAND\\fB \\-\\-help\" .\n";
  out += ".SH OPTIONS\n";
  for (const CLI::Option* opt : visible_options(app)) man_option(*opt, out);
  out += ".SH COMMANDS\n";
  for (const CLI::App* sub : visible_subcommands(app)) man_command(*sub, "baton", out);
  out += ".SH EXIT STATUS\n";
  for (const ExitCodeDoc& doc : kExitCodes) {
    out += ".TP\n.B " + std::to_string(doc.code) + "\n" + roff_text(doc.meaning) + "\n";
  }
  out += ".SH SEE ALSO\n.BR git (1),\n.BR bwrap (1)\n";
  return out;
}

std::string render_bash_completion(const CLI::App& app) {
  std::vector<CompletionNode> nodes;
  collect_nodes(app, "", nodes);
  std::string out;
  out += "# bash completion for baton. Generated by `baton __completions bash` from baton's\n";
  out += "# command-line definitions: do not edit.\n";
  out += "_baton() {\n";
  out += "  local cur=${COMP_WORDS[COMP_CWORD]} cmdpath='' i\n";
  out += "  for ((i = 1; i < COMP_CWORD; i++)); do\n";
  out += "    case \"$cmdpath/${COMP_WORDS[i]}\" in\n";
  std::string known;
  for (const CompletionNode& node : nodes) {
    if (node.path.empty()) continue;
    if (!known.empty()) known += "|";
    append_single_quoted(node.path, known);
  }
  if (!known.empty()) out += "      " + known + ") cmdpath=\"$cmdpath/${COMP_WORDS[i]}\" ;;\n";
  out += "    esac\n";
  out += "  done\n";
  out += "  local options='' commands=''\n";
  out += "  case $cmdpath in\n";
  for (const CompletionNode& node : nodes) {
    std::string options;
    for (const CLI::Option* opt : visible_options(*node.app)) {
      for (const std::string& spelling : option_spellings(*opt)) {
        options += (options.empty() ? "" : " ") + spelling;
      }
    }
    std::string commands;
    for (const CLI::App* sub : visible_subcommands(*node.app)) {
      commands += (commands.empty() ? "" : " ") + sub->get_name();
    }
    out += "    ";
    append_single_quoted(node.path, out);
    out += ") options=";
    append_single_quoted(options, out);
    out += " commands=";
    append_single_quoted(commands, out);
    out += " ;;\n";
  }
  out += "  esac\n";
  out += "  if [[ $cur == -* ]]; then\n";
  out += "    COMPREPLY=($(compgen -W \"$options\" -- \"$cur\"))\n";
  out += "  elif [[ -n $commands ]]; then\n";
  out += "    COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))\n";
  out += "  else\n";
  out += "    COMPREPLY=()  # file names: complete -o default\n";
  out += "  fi\n";
  out += "}\n";
  out += "complete -o default -F _baton baton\n";
  return out;
}

std::string render_zsh_completion(const CLI::App& app) {
  std::vector<CompletionNode> nodes;
  collect_nodes(app, "", nodes);
  // A _describe entry is NAME:DESCRIPTION; a colon inside NAME is escaped.
  auto describe_entry = [](std::string_view name, std::string_view description) {
    std::string entry;
    for (char c : name) {
      if (c == ':') entry += '\\';
      entry += c;
    }
    return entry + ":" + std::string(description);
  };
  std::string out;
  out += "#compdef baton\n";
  out += "# zsh completion for baton. Generated by `baton __completions zsh` from baton's\n";
  out += "# command-line definitions: do not edit.\n";
  out += "_baton() {\n";
  out += "  local cmdpath='' i\n";
  out += "  for ((i = 2; i < CURRENT; i++)); do\n";
  out += "    case \"$cmdpath/${words[i]}\" in\n";
  std::string known;
  for (const CompletionNode& node : nodes) {
    if (node.path.empty()) continue;
    if (!known.empty()) known += "|";
    append_single_quoted(node.path, known);
  }
  if (!known.empty()) out += "      (" + known + ") cmdpath=\"$cmdpath/${words[i]}\" ;;\n";
  out += "    esac\n";
  out += "  done\n";
  out += "  local -a options commands\n";
  out += "  case $cmdpath in\n";
  for (const CompletionNode& node : nodes) {
    out += "    (";
    append_single_quoted(node.path, out);
    out += ")\n      options=(";
    for (const CLI::Option* opt : visible_options(*node.app)) {
      for (const std::string& spelling : option_spellings(*opt)) {
        out += " ";
        append_single_quoted(describe_entry(spelling, opt->get_description()), out);
      }
    }
    out += " )\n      commands=(";
    for (const CLI::App* sub : visible_subcommands(*node.app)) {
      out += " ";
      append_single_quoted(describe_entry(sub->get_name(), sub->get_description()), out);
    }
    out += " ) ;;\n";
  }
  out += "  esac\n";
  out += "  if [[ $PREFIX == -* ]]; then\n";
  out += "    _describe -t options 'baton option' options\n";
  out += "  elif (( ${#commands} )); then\n";
  out += "    _describe -t commands 'baton command' commands\n";
  out += "  else\n";
  out += "    _files\n";
  out += "  fi\n";
  out += "}\n";
  out += "_baton \"$@\"\n";
  return out;
}

std::optional<int> run_reference_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  std::string_view command = argv[1];
  std::string text;
  if (command == "__man" && argc == 2) {
    text = render_man_page(app, BATON_VERSION);
  } else if (command == "__completions" && argc == 3 && std::string_view(argv[2]) == "bash") {
    text = render_bash_completion(app);
  } else if (command == "__completions" && argc == 3 && std::string_view(argv[2]) == "zsh") {
    text = render_zsh_completion(app);
  } else if (command == "__man" || command == "__completions") {
    std::fprintf(stderr, "baton: usage: baton __man | baton __completions bash|zsh\n");
    return kExitUsage;
  } else {
    return std::nullopt;
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitSuccess : kExitInternal;
}

}  // namespace baton::cli
