// baton init [--template NAME]: .baton/config.yaml with the agent CLIs found here, and an
// example (or the template NAME: a workflow as .baton/NAME.yaml, or a directory of
// files such as spec-kitty's feature skeleton; cli/templates.h).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "agents/invoker.h"
#include "cli/agent_probe.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/paths.h"
#include "cli/templates.h"

namespace baton::cli {

namespace {

namespace fs = std::filesystem;

// Roles from seed 001, and implementer and reviewer (a spec-kitty feature's: cli/kitty_run.h),
// then the order agents are preferred in when installed.
constexpr const char* kRoles[][2] = {
    {"planner", "You plan the work. You do not edit code."},
    {"researcher", "You investigate and report findings. You do not edit code."},
    {"coder", ""},
    {"implementer", ""},
    {"reviewer", "You review changes against their task; you do not edit files."},
    {"backend", "You work on the server side."},
    {"frontend", "You work on the user interface."},
    {"checker", "You review and test changes; you report problems precisely."},
};
constexpr const char* kPreference[] = {"claude",   "codex",    "gemini", "qwen",  "copilot",
                                       "opencode", "kilocode", "auggie", "cursor"};

constexpr const char* kExample = R"(version: "1.0"
name: hello
description: A first workflow written by `baton init`. Run it with `baton run .baton/hello.yaml`.
settings: {max_parallel: 2, timeout: 60s}
tasks:
  - id: greet
    run: echo "hello from ${run.name}"
  - id: count
    run: ls | wc -l
  # ${...} values are data, never shell code: baton quotes each one for the place it
  # lands in ("${x}", '${x}' or bare ${x}), so an output holding ; $( ) or quotes is
  # printed as it is. Values for a second shell (sh -c, eval) go through env: instead.
  - id: report
    dependencies: [greet, count]
    run: echo "${greet.output}; ${count.output} entries here"
)";

// T's run command (relative to the project root ROOT: "baton run .baton/rover.yaml ...")
// for the current directory, which may be below ROOT.
std::string run_from_here(const WorkflowTemplate& t, const fs::path& root) {
  std::string run(t.run);
  const std::string prefix = "baton run ";
  fs::path here = fs::relative(root, fs::current_path());
  if (run.rfind(prefix, 0) != 0 || here.empty() || here == ".") return run;
  return prefix + (here / run.substr(prefix.size())).string();
}

// Writes DIR/NAME.yaml from the one-file template NAME (cli/templates.h), unless it
// exists and not FORCE. Returns the exit code.
int write_workflow_template(const fs::path& dir, const WorkflowTemplate& t, std::string_view text,
                            bool force) {
  fs::path file = dir / (std::string(t.name) + ".yaml");
  if (fs::exists(file) && !force) {
    std::fprintf(stderr, "baton: %s exists; use --force to overwrite it\n", file.c_str());
    return kExitUsage;
  }
  std::ofstream out(file);
  out << text;
  if (!out.flush()) {
    std::fprintf(stderr, "baton: cannot write %s\n", file.c_str());
    return kExitInternal;
  }
  std::printf("wrote %s: run it with `%s`\n", file.c_str(),
              run_from_here(t, dir.parent_path()).c_str());
  return kExitSuccess;
}

// Writes the files of the directory template T under ROOT, creating their directories.
// Nothing is written when one of them exists (a dangling symlink too) and not FORCE:
// the error names each. Returns the exit code.
int write_directory_template(const fs::path& root, const WorkflowTemplate& t,
                             const std::vector<TemplateFile>& files, bool force) {
  std::string clashes;
  for (const TemplateFile& f : files) {
    std::error_code ec;
    fs::path target = root / std::string(f.path);
    if (fs::symlink_status(target, ec).type() != fs::file_type::not_found && !force) {
      clashes += fmt::format("baton: {} exists; use --force to overwrite it\n", target.string());
    }
  }
  if (!clashes.empty()) {
    std::fputs(clashes.c_str(), stderr);
    std::fprintf(stderr, "baton: the template %s was not written (nothing was changed)\n",
                 std::string(t.name).c_str());
    return kExitUsage;
  }
  for (const TemplateFile& f : files) {
    fs::path target = root / std::string(f.path);
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << f.text;
    if (ec || !out.flush()) {
      std::fprintf(stderr, "baton: cannot write %s%s%s\n", target.c_str(), ec ? ": " : "",
                   ec ? ec.message().c_str() : "");
      return kExitInternal;
    }
  }
  std::printf("wrote %s: run it with `%s`\n", std::string(t.writes).c_str(),
              run_from_here(t, root).c_str());
  return kExitSuccess;
}

// Writes the template NAME: a workflow into DIR, or a directory template under ROOT.
// With CONFIG_PATH missing one of the template's roles, a note says so. Returns the
// exit code.
int write_template(const std::string& root, const fs::path& dir, const std::string& name,
                   bool force) {
  const WorkflowTemplate* t = nullptr;
  for (const WorkflowTemplate& w : workflow_templates()) {
    if (w.name == name) t = &w;
  }
  std::vector<TemplateFile> files = template_files(name);
  if (files.size() == 1 && files[0].path.empty()) {
    return write_workflow_template(dir, *t, files[0].text, force);
  }
  int code = write_directory_template(root, *t, files, force);
  if (code != kExitSuccess) return code;
  // A feature directory runs with the roles implementer and reviewer (cli/kitty_run.h).
  if (auto config = load_project_config(root)) {
    for (const char* role : {"implementer", "reviewer"}) {
      if (!config->roles.count(role)) {
        std::printf("note: %s has no role '%s'; add it, or pass --%s-agent to baton run\n",
                    (dir / "config.yaml").c_str(), role,
                    std::string_view(role) == "reviewer" ? "review" : "impl");
      }
    }
  }
  return kExitSuccess;
}

int init_command(bool force, double probe_timeout_s, const std::string& template_name) {
  std::string root = project_root();
  fs::path dir = state_dir(root);
  fs::path config = dir / "config.yaml";
  if (!template_name.empty() && template_files(template_name).empty()) {
    std::string names;
    for (const WorkflowTemplate& t : workflow_templates()) {
      names += (names.empty() ? "" : ", ") + std::string(t.name);
    }
    std::fprintf(stderr, "baton: --template: there is no template '%s' (%s; see baton templates)\n",
                 template_name.c_str(), names.c_str());
    return kExitUsage;
  }
  // With a template, an existing config is kept: the template is added beside it.
  const bool keep_config = !template_name.empty() && fs::exists(config);
  if (fs::exists(config) && !force && template_name.empty()) {
    std::fprintf(stderr, "baton: %s exists; use --force to overwrite it\n", config.c_str());
    return kExitUsage;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "baton: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return kExitInternal;
  }
  if (auto r = write_state_gitignore(dir.string()); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  if (keep_config) return write_template(root, dir, template_name, force);
  std::vector<std::string> installed, missing;
  std::string detected;
  std::vector<std::string> executables;
  for (const char* name : kPreference) {
    const agents::Invoker* inv = agents::find_invoker(name);
    executables.push_back(inv ? inv->executable() : name);
  }
  // All at once, each bounded, with a progress line on a terminal (cli/agent_probe.h).
  std::vector<agents::Detection> found = probe_agent_clis(executables, probe_timeout_s);
  for (size_t i = 0; i < found.size(); ++i) {
    const char* name = kPreference[i];
    const agents::Detection& d = found[i];
    (d.installed ? installed : missing).push_back(name);
    detected += d.installed ? fmt::format("#   {:<9} {} ({})\n", name, d.path,
                                          version_text(d, probe_timeout_s))
                            : fmt::format("#   {:<9} not found\n", name);
  }
  std::vector<std::string> order = installed;
  if (order.empty()) order = {"claude", "codex"};
  std::string use;
  for (const auto& a : order) use += (use.empty() ? "" : ", ") + a;
  std::string text = "# baton configuration, written by `baton init`.\n# Agent CLIs found:\n" +
                     detected + "# Roles map to agents in preference order.\nagents:\n";
  for (const auto& role : kRoles) {
    text += fmt::format("  {}:\n    use: [{}]\n", role[0], use);
    if (*role[1]) text += fmt::format("    instructions: \"{}\"\n", role[1]);
  }
  std::ofstream(config) << text;
  if (!template_name.empty()) {
    std::printf("wrote %s (%zu agent CLIs found)\n", config.c_str(), installed.size());
    return write_template(root, dir, template_name, force);
  }
  fs::path example = dir / "hello.yaml";
  if (!fs::exists(example)) std::ofstream(example) << kExample;
  std::printf("wrote %s (%zu agent CLIs found%s)\n", config.c_str(), installed.size(),
              installed.empty() ? "; roles list claude and codex until one is installed" : "");
  std::printf("wrote %s: try `baton run %s`\n", example.c_str(),
              fs::relative(example, fs::current_path()).c_str());
  return kExitSuccess;
}

}  // namespace

void add_init(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("init", "Create .baton/config.yaml with the agents found here");
  auto force = std::make_shared<bool>(false);
  auto probe_timeout = std::make_shared<double>(kDefaultProbeTimeoutS);
  auto template_name = std::make_shared<std::string>();
  cmd->add_flag("--force", *force, "overwrite an existing config (or template files)");
  cmd->add_option("--template", *template_name,
                  "also write the template NAME: a workflow as .baton/NAME.yaml, or files under "
                  "the project (see baton templates); an existing config is kept");
  cmd->add_option("--probe-timeout", *probe_timeout, "seconds each CLI's --version may take")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([=] { *exit_code = init_command(*force, *probe_timeout, *template_name); });
}

}  // namespace baton::cli
