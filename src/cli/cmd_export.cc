// baton export github-actions FLOW [-o FILE] [--runs-on LABEL]...: the workflow compiled
// into a GitHub Actions workflow (export/github_actions.h, docs/github-actions.md).
//
// Exit codes: 0 written; 2 the workflow is invalid, cannot be exported (each reason at
// its place) or lies outside the repository; 4 the output cannot be written.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/paths.h"
#include "engine/run.h"
#include "export/github_actions.h"
#include "workflow/diagnostic.h"

namespace baton::cli {

namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string file;
  std::string output;                // "" = stdout
  std::vector<std::string> runs_on;  // "" = settings.github_actions.runs_on, else self-hosted
};

// Writes TEXT to PATH through PATH.tmp and a rename (parent directories created).
Result<void> write_file(const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return fail("cannot write " + tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) return fail("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return {};
}

int export_github_actions(const ExportArgs& args) {
  const std::string root = project_root();
  auto loaded = load_for_command(args.file, root, {}, false);
  if (!loaded) return kExitUsage;
  exporter::GithubActionsOptions options;
  options.runs_on = args.runs_on;
  options.flow_path = engine::stored_workflow_path(args.file, root);
  if (fs::path(options.flow_path).is_absolute()) {
    std::fprintf(stderr,
                 "baton: %s is outside the repository %s: the jobs find the workflow in their "
                 "checkout\n",
                 args.file.c_str(), root.c_str());
    return kExitUsage;
  }
  std::ifstream in(args.file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  workflow::SourceText source(text.str());
  workflow::DiagnosticSink sink(args.file, &source);
  auto yaml = exporter::compile_github_actions(loaded->workflow, options, sink);
  std::fputs(workflow::format_all(sink.diagnostics()).c_str(), stderr);
  if (!yaml) return kExitUsage;
  if (args.output.empty()) {
    std::fputs(yaml->c_str(), stdout);
    return kExitSuccess;
  }
  if (auto r = write_file(args.output, *yaml); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  const size_t jobs = loaded->workflow.tasks.size();
  std::printf("wrote %s: %zu task %s and %s\n", args.output.c_str(), jobs,
              jobs == 1 ? "job" : "jobs", exporter::kFinishJob);
  return kExitSuccess;
}

}  // namespace

void add_export(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("export", "Compile a workflow for another engine");
  cmd->require_subcommand(1);
  auto* gha = cmd->add_subcommand(
      "github-actions", "Compile FLOW into a GitHub Actions workflow (docs/github-actions.md)");
  auto args = std::make_shared<ExportArgs>();
  gha->add_option("FLOW", args->file, "workflow file inside the repository")->required();
  gha->add_option("-o,--output", args->output,
                  "write here (e.g. .github/workflows/NAME.yml) instead of stdout");
  gha->add_option("--runs-on", args->runs_on,
                  "a runner label of every job (repeatable; default: the workflow's "
                  "settings.github_actions.runs_on, else self-hosted)")
      ->take_all();
  gha->callback([=] { *exit_code = export_github_actions(*args); });
}

}  // namespace baton::cli
