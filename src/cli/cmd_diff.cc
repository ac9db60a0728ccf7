// baton diff RUN [TASK] [--stat]: what a run's worktree tasks changed, as git shows it.
//
// With TASK: the diff of that task's branch from where it started (its commit
// recorded in the task.committed event). Without: the run's branch (baton/<run>)
// from the run's base commit when it was integrated; else each changed task's
// diff in turn, headed "# task ID (BRANCH)". RUN may be `last`.
// Exit codes: 0 shown; 2 no state, no such run or task, or nothing committed;
// 4 the store or git failed.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/paths.h"
#include "isolation/worktree.h"
#include "store/store.h"

namespace baton::cli {

namespace {

// Between two commits, as host git (isolation/worktree.h): on the repository's git
// directory, no work tree, no pager, no external diff or textconv program (a task's
// .gitattributes may name any diff driver of the repository's config).
int show_diff(const std::string& root, const std::string& from, const std::string& to, bool stat) {
  std::fflush(stdout);
  auto repo = isolation::open_repository(root);
  if (!repo) {
    std::fprintf(stderr, "baton: %s\n", repo.error().message.c_str());
    return kExitInternal;
  }
  std::vector<std::string> args = {"diff", "--no-ext-diff", "--no-textconv"};
  if (stat) args.push_back("--stat");
  args.insert(args.end(), {from, to, "--"});
  auto out = isolation::run_git(*repo, isolation::repository_scope(*repo), args, nullptr, 600,
                                /*inherit_output=*/true);
  if (!out) {
    std::fprintf(stderr, "baton: %s\n", out.error().message.c_str());
    return kExitInternal;
  }
  return out->exit_code == 0 ? kExitSuccess : kExitInternal;
}

int diff_command(std::string run_id, const std::string& task, bool stat) {
  auto opened = open_run(run_id);
  if (!opened) return opened.error();
  store::Store& store = *opened->store;
  run_id = opened->run.id;
  const store::RunRecord* run = &opened->run;
  auto events = store.list_events(run_id, 0);
  if (!events) {
    std::fprintf(stderr, "baton: %s\n", events.error().message.c_str());
    return kExitInternal;
  }
  const std::string& root = run->root_dir;
  // The last commit of each task (a retried task commits once, on its success).
  std::vector<const store::Event*> commits;
  const store::Event* integrated = nullptr;
  for (const store::Event& e : *events) {
    if (e.kind == "task.committed" && e.data.value("changed", false)) commits.push_back(&e);
    if (e.kind == "run.integrated" || e.kind == "run.integration_failed") integrated = &e;
  }
  if (!task.empty()) {
    const store::Event* found = nullptr;
    for (const store::Event* e : commits) {
      if (e->task_id == task) found = e;
    }
    if (!found) {
      std::fprintf(stderr,
                   "baton: task '%s' of run %s committed no changes (it did not run in a "
                   "worktree, did not succeed, or changed nothing)\n",
                   task.c_str(), run_id.c_str());
      return kExitUsage;
    }
    return show_diff(root, found->data.value("start", ""), found->data.value("commit", ""), stat);
  }
  if (integrated && integrated->data.contains("head")) {
    return show_diff(root, integrated->data.value("base", ""), integrated->data.value("head", ""),
                     stat);
  }
  if (commits.empty()) {
    std::fprintf(stderr, "baton: run %s committed no changes\n", run_id.c_str());
    return kExitUsage;
  }
  for (const store::Event* e : commits) {
    std::printf("# task %s (%s)\n", e->task_id.c_str(), e->data.value("branch", "").c_str());
    int rc = show_diff(root, e->data.value("start", ""), e->data.value("commit", ""), stat);
    if (rc != kExitSuccess) return rc;
  }
  return kExitSuccess;
}

}  // namespace

void add_diff(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("diff", "Show what a run's worktree tasks changed");
  auto run_id = std::make_shared<std::string>();
  auto task = std::make_shared<std::string>();
  auto stat = std::make_shared<bool>(false);
  cmd->add_option("RUN", *run_id, kRunHelp)->required();
  cmd->add_option("TASK", *task, "one task (default: the whole run)");
  cmd->add_flag("--stat", *stat, "files and line counts only");
  cmd->callback([=] { *exit_code = diff_command(*run_id, *task, *stat); });
}

}  // namespace baton::cli
