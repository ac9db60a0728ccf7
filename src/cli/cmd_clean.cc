// baton clean [RUN] [--branches]: remove the worktrees of finished runs.
//
// Worktrees live under .baton/worktrees/<run>/<task>. A run whose orchestrator is
// still running (status running and the recorded process alive, known by pid plus
// start time) is never touched. Branches (baton/tasks/<run>/<task> and the run's
// baton/<run>) are kept unless --branches. Without RUN: every run with worktrees
// (and, with --branches, every run with branches).
// Exit codes: 0 done (runs still running are skipped with a note); 2 no state, no
// such RUN (an id, a unique prefix, or 'last'), or the RUN named is still running; 4 git or the
// file system failed.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/paths.h"
#include "cli/store_location.h"
#include "isolation/worktree.h"
#include "store/process_identity.h"
#include "store/store.h"

namespace baton::cli {

namespace {

namespace fs = std::filesystem;

// Run ids with a branch under refs/heads/baton/ ("baton/tasks/R/T" and "baton/R").
std::set<std::string> runs_with_branches(const std::string& root) {
  std::set<std::string> runs;
  auto repo = isolation::open_repository(root);
  if (!repo) return runs;
  auto out = isolation::git(*repo, {"for-each-ref", "--format=%(refname)", "refs/heads/baton/"});
  if (!out) return runs;
  std::istringstream in(*out);
  for (std::string ref; std::getline(in, ref);) {
    std::string rest = ref.substr(std::string("refs/heads/baton/").size());
    if (rest.rfind("tasks/", 0) == 0) {
      rest = rest.substr(6);
      runs.insert(rest.substr(0, rest.find('/')));
    } else if (rest.find('/') == std::string::npos) {
      runs.insert(rest);
    }
  }
  return runs;
}

struct Cleaned {
  int worktrees = 0;
  int branches = 0;
};

Result<Cleaned> clean_run(const std::string& root, const std::string& state,
                          const std::string& run_id, bool branches) {
  Cleaned done;
  fs::path dir = fs::path(state) / "worktrees" / run_id;
  std::error_code ec;
  bool has_worktrees = fs::is_directory(dir, ec);
  if (!has_worktrees && !branches) return done;
  auto repo = isolation::open_repository(root);
  if (!repo) return tl::unexpected(repo.error());
  if (has_worktrees) {
    // By path: nothing a task left in its worktree is read (worktree.h).
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (auto r = isolation::remove_worktree(*repo, entry.path().string()); !r) {
        return tl::unexpected(r.error());
      }
      ++done.worktrees;
    }
    fs::remove_all(dir, ec);
    if (ec) return fail("cannot remove " + dir.string() + ": " + ec.message());
    fs::remove_all(fs::path(state) / "runs" / run_id / "git", ec);  // their private indexes
  }
  if (branches) {
    auto refs = isolation::git(*repo, {"for-each-ref", "--format=%(refname:short)",
                                       "refs/heads/" + isolation::run_branch(run_id),
                                       "refs/heads/baton/tasks/" + run_id + "/"});
    if (!refs) return tl::unexpected(refs.error());
    std::istringstream in(*refs);
    for (std::string branch; std::getline(in, branch);) {
      if (auto r = isolation::git(*repo, {"branch", "-q", "-D", branch}); !r) {
        return tl::unexpected(r.error());
      }
      ++done.branches;
    }
  }
  return done;
}

int clean_command(const std::string& run_id, bool branches) {
  auto db = find_state_db();
  if (!db) {
    std::fprintf(stderr, "baton: %s\n", db.error().message.c_str());
    return kExitUsage;
  }
  std::string state =
      shared_store() ? state_dir(project_root()) : fs::path(*db).parent_path().string();
  std::string root = fs::path(state).parent_path().string();
  auto opened = open_state_store(*db);
  if (!opened) {
    std::fprintf(stderr, "baton: %s\n", opened.error().message.c_str());
    return kExitInternal;
  }
  std::set<std::string> runs;
  if (!run_id.empty()) {
    auto run = resolve_run(**opened, run_id, *db);  // an unknown run is an error, not a no-op
    if (!run) return run.error();
    runs.insert(run->id);
  } else {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(state) / "worktrees", ec)) {
      runs.insert(entry.path().filename().string());
    }
    if (branches) runs.merge(runs_with_branches(root));
  }
  Cleaned total;
  for (const std::string& id : runs) {
    auto run = (*opened)->get_run(id);
    if (!run) {
      std::fprintf(stderr, "baton: %s\n", run.error().message.c_str());
      return kExitInternal;
    }
    if (*run && (*run)->status == "running" &&
        store::process_is_running((*run)->orchestrator_pid, (*run)->orchestrator_start_time)) {
      std::fprintf(stderr, "baton: run %s is still running (pid %d); its worktrees are kept\n",
                   id.c_str(), (*run)->orchestrator_pid);
      if (!run_id.empty()) return kExitUsage;
      continue;
    }
    auto done = clean_run(root, state, id, branches);
    if (!done) {
      std::fprintf(stderr, "baton: run %s: %s\n", id.c_str(), done.error().message.c_str());
      return kExitInternal;
    }
    total.worktrees += done->worktrees;
    total.branches += done->branches;
  }
  std::printf("removed %d worktree%s", total.worktrees, total.worktrees == 1 ? "" : "s");
  if (branches) std::printf(" and %d branch%s", total.branches, total.branches == 1 ? "" : "es");
  std::printf("\n");
  return kExitSuccess;
}

}  // namespace

void add_clean(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("clean", "Remove the worktrees of finished runs");
  auto run_id = std::make_shared<std::string>();
  auto branches = std::make_shared<bool>(false);
  cmd->add_option(
      "RUN", *run_id,
      "one run: an id, a unique prefix of one, or 'last' (default: every finished run)");
  cmd->add_flag("--branches", *branches, "also delete the runs' branches (baton/...)");
  cmd->callback([=] { *exit_code = clean_command(*run_id, *branches); });
}

}  // namespace baton::cli
