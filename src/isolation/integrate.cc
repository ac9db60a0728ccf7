#include "isolation/integrate.h"

#include <fstream>

#include "util/text.h"

namespace baton::isolation {

namespace {

// The scope of the scratch worktree `git worktree add` just made at SCRATCH_PATH: its
// own admin directory, named by the `.git` file git wrote (no task runs there), which
// gives merges a HEAD. Removes the worktree when that file is not as expected.
Result<GitScope> scratch_scope(const Repository& repo, const std::string& scratch_path) {
  std::string gitfile;
  {
    std::ifstream in(scratch_path + "/.git");
    std::getline(in, gitfile);
  }
  if (gitfile.rfind("gitdir: ", 0) != 0) {
    remove_worktree(repo, scratch_path);
    return fail("git worktree add: no .git file in " + scratch_path);
  }
  return GitScope{gitfile.substr(8), scratch_path, "", true};
}

}  // namespace

Result<ScratchMerge> merge_in_scratch(const Repository& repo, const std::string& target,
                                      const std::string& commit, const std::string& message,
                                      const std::string& scratch_path, const GitAuthor& author) {
  if (auto r = git(repo, {"worktree", "add", "-q", "--detach", scratch_path, target}); !r) {
    return tl::unexpected(r.error());
  }
  auto scope = scratch_scope(repo, scratch_path);
  if (!scope) return tl::unexpected(scope.error());
  ScratchMerge out;
  auto merged = merge_commit(repo, *scope, commit, message, false, author);
  auto head = merged ? git(repo, *scope, {"rev-parse", "HEAD"}) : Result<std::string>("");
  auto removed = remove_worktree(repo, scratch_path);
  if (!merged) return tl::unexpected(merged.error());
  if (!head) return tl::unexpected(head.error());
  if (!removed) return tl::unexpected(removed.error());
  out.head = trim(*head);
  out.changed = merged->changed;
  out.conflict = merged->conflict;
  out.conflicting_files = merged->conflicting_files;
  return out;
}

Result<IntegrationResult> integrate(const Repository& repo, const std::string& branch,
                                    const std::string& base,
                                    const std::vector<IntegrationItem>& items, IntegrateMode mode,
                                    const std::string& scratch_path, const std::string& run_id,
                                    const GitAuthor& author) {
  IntegrationResult result;
  result.branch = branch;
  bool exists = git(repo, {"rev-parse", "--verify", "-q", "refs/heads/" + branch}).has_value();
  std::vector<std::string> add = {"worktree", "add", "-q"};
  if (!exists) {
    add.insert(add.end(), {"-b", branch, scratch_path, base});
  } else {
    add.insert(add.end(), {scratch_path, branch});
  }
  if (auto r = git(repo, add); !r) return tl::unexpected(r.error());
  auto scratch = scratch_scope(repo, scratch_path);
  if (!scratch) return tl::unexpected(scratch.error());
  const GitScope& scope = *scratch;

  auto merge_all = [&]() -> Result<void> {
    for (const IntegrationItem& item : items) {
      std::string message = "baton: integrate task " + item.task_id + " of run " + run_id;
      auto merged =
          merge_commit(repo, scope, item.branch, message, mode == IntegrateMode::kSquash, author);
      if (!merged) return tl::unexpected(merged.error());
      if (merged->conflict) {
        result.conflict_task = item.task_id;
        result.conflicting_files = merged->conflicting_files;
        return ok();
      }
      if (merged->changed) result.integrated.push_back(item.task_id);
    }
    return ok();
  };
  Result<void> merged = merge_all();
  auto head = git(repo, {"rev-parse", "refs/heads/" + branch});
  auto removed = remove_worktree(repo, scratch_path);
  if (!merged) return tl::unexpected(merged.error());
  if (!head) return tl::unexpected(head.error());
  if (!removed) return tl::unexpected(removed.error());
  result.head = trim(*head);
  return result;
}

}  // namespace baton::isolation
