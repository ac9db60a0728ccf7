#include "isolation/integrate.h"

namespace baton::isolation {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<IntegrationResult> integrate(const Repository& repo, const std::string& branch,
                                    const std::string& base,
                                    const std::vector<IntegrationItem>& items, IntegrateMode mode,
                                    const std::string& scratch_path, const std::string& run_id,
                                    const GitAuthor& author) {
  IntegrationResult result;
  result.branch = branch;
  bool exists = git(repo.top, {"rev-parse", "--verify", "-q", "refs/heads/" + branch}).has_value();
  std::vector<std::string> add = {"worktree", "add", "-q"};
  if (!exists) {
    add.insert(add.end(), {"-b", branch, scratch_path, base});
  } else {
    add.insert(add.end(), {scratch_path, branch});
  }
  if (auto r = git(repo.top, add); !r) return tl::unexpected(r.error());

  auto merge_all = [&]() -> Result<void> {
    for (const IntegrationItem& item : items) {
      std::string message = "baton: integrate task " + item.task_id + " of run " + run_id;
      auto merged =
          merge_commit(scratch_path, item.branch, message, mode == IntegrateMode::kSquash, author);
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
  auto head = git(scratch_path, {"rev-parse", "HEAD"});
  auto removed = remove_worktree(repo, scratch_path);
  if (!merged) return tl::unexpected(merged.error());
  if (!head) return tl::unexpected(head.error());
  if (!removed) return tl::unexpected(removed.error());
  result.head = trim(*head);
  return result;
}

}  // namespace baton::isolation
