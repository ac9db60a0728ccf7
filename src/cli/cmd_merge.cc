// baton merge RUN [--into BRANCH]: merges the run's integration branch baton/<run> into
// BRANCH (default: the branch checked out) with a merge commit, by host git that
// trusts nothing a task wrote (isolation/worktree.h): the merge is made in a scratch
// worktree, then BRANCH moves to it: the checkout by `git merge --ff-only` when BRANCH is
// checked out there (git refuses, changing nothing, when local changes are in the way),
// else by `update-ref` from the tip it had. A conflict changes nothing and is reported
// with its files.
//
// Exit codes: 0 merged (or nothing to merge); 1 a conflict, or local changes in the way;
// 2 no such run, no run branch, a bad or unknown BRANCH, a detached checkout without
// --into, BRANCH checked out in another worktree; 7 while an orchestrator runs the run;
// 4 git failed otherwise.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/orchestrator.h"
#include "cli/run_branch.h"
#include "isolation/integrate.h"

namespace baton::cli {

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

int merge_command(const std::string& run_arg, std::string into) {
  auto opened = open_run(run_arg);
  if (!opened) return opened.error();
  const store::RunRecord& run = opened->run;
  Orchestrator holder(run.orchestrator_pid, run.orchestrator_start_time);
  if (holder.alive()) {
    std::fprintf(stderr, "baton: run %s is being run by baton (pid %d); merge once it has ended\n",
                 run.id.c_str(), run.orchestrator_pid);
    return kExitBusy;
  }
  auto found = find_run_branch(run);
  if (!found) {
    std::fprintf(stderr, "baton: %s\n", found.error().message.c_str());
    return kExitUsage;
  }
  const isolation::Repository& repo = found->repo;
  isolation::GitScope checkout = isolation::checkout_scope(repo);
  auto head = isolation::git(repo, checkout, {"symbolic-ref", "-q", "--short", "HEAD"});
  std::string current = head ? first_line(*head) : "";
  if (into.empty()) {
    if (current.empty()) {
      std::fprintf(stderr, "baton: %s is on a detached HEAD; give --into BRANCH\n",
                   repo.top.c_str());
      return kExitUsage;
    }
    into = current;
  }
  if (auto r = check_branch_name(repo, "--into", into); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitUsage;
  }
  if (into == found->branch) {
    std::fprintf(stderr, "baton: --into: %s is the run's own branch\n", into.c_str());
    return kExitUsage;
  }
  auto target =
      isolation::git(repo, {"rev-parse", "--verify", "-q", "refs/heads/" + into + "^{commit}"});
  if (!target) {
    std::fprintf(stderr, "baton: --into: there is no branch '%s'\n", into.c_str());
    return kExitUsage;
  }
  const std::string old_tip = first_line(*target);
  // A branch checked out in another worktree would be left behind its own work tree.
  auto worktrees = isolation::git(repo, {"worktree", "list", "--porcelain"});
  if (!worktrees) {
    std::fprintf(stderr, "baton: %s\n", worktrees.error().message.c_str());
    return kExitInternal;
  }
  if (into != current &&
      (*worktrees + "\n").find("branch refs/heads/" + into + "\n") != std::string::npos) {
    std::fprintf(stderr, "baton: --into: %s is checked out in another worktree; merge there\n",
                 into.c_str());
    return kExitUsage;
  }
  const std::string state = std::filesystem::path(opened->db_path).parent_path().string();
  const std::string scratch = state + "/worktrees/" + run.id + "/.merge";
  std::error_code ec;
  if (std::filesystem::exists(scratch, ec)) {  // left by a merge that was killed
    if (auto r = isolation::remove_worktree(repo, scratch); !r) {
      std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
      return kExitInternal;
    }
  }
  auto merged = isolation::merge_in_scratch(
      repo, old_tip, found->tip, "baton: merge run " + run.id + " (" + found->branch + ")", scratch,
      isolation::GitAuthor{});
  if (!merged) {
    std::fprintf(stderr, "baton: %s\n", merged.error().message.c_str());
    return kExitInternal;
  }
  if (merged->conflict) {
    std::string files;
    for (const std::string& f : merged->conflicting_files) files += (files.empty() ? "" : ", ") + f;
    std::fprintf(stderr, "baton: merging %s into %s conflicts in %s; nothing was changed\n",
                 found->branch.c_str(), into.c_str(), files.c_str());
    return kExitRunFailed;
  }
  if (!merged->changed) {
    std::printf("%s already has everything of %s; nothing to merge\n", into.c_str(),
                found->branch.c_str());
    return kExitSuccess;
  }
  if (into == current) {
    auto out = isolation::run_git(repo, checkout, {"merge", "-q", "--ff-only", merged->head});
    if (!out) {
      std::fprintf(stderr, "baton: %s\n", out.error().message.c_str());
      return kExitInternal;
    }
    if (out->exit_code != 0) {
      std::fprintf(stderr,
                   "baton: the merge of %s is %s, but %s could not move to it (nothing was "
                   "changed): %s\n",
                   found->branch.c_str(), merged->head.substr(0, 12).c_str(), into.c_str(),
                   first_line(out->err.empty() ? out->out : out->err).c_str());
      return kExitRunFailed;
    }
  } else if (auto r = isolation::git(repo, {"update-ref", "-m", "baton merge " + run.id,
                                            "refs/heads/" + into, merged->head, old_tip});
             !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  std::printf("merged %s into %s (%s)\n", found->branch.c_str(), into.c_str(),
              merged->head.substr(0, 12).c_str());
  return kExitSuccess;
}

}  // namespace

void add_merge(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("merge", "Merge a run's branch baton/RUN into a branch");
  auto run = std::make_shared<std::string>();
  auto into = std::make_shared<std::string>();
  cmd->add_option("RUN", *run, kRunHelp)->required();
  cmd->add_option("--into", *into, "the branch to merge into (default: the one checked out)");
  cmd->callback([=] { *exit_code = merge_command(*run, *into); });
}

}  // namespace baton::cli
