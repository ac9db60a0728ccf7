#include "cli/run_branch.h"

namespace baton::cli {

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

Result<RunBranch> find_run_branch(const store::RunRecord& run) {
  auto repo = isolation::open_repository(run.root_dir);
  if (!repo) return tl::unexpected(repo.error());
  RunBranch out;
  out.repo = std::move(*repo);
  out.branch = isolation::run_branch(run.id);
  auto tip = isolation::git(
      out.repo, {"rev-parse", "--verify", "-q", "refs/heads/" + out.branch + "^{commit}"});
  if (!tip) {
    return fail("run " + run.id + " has no branch " + out.branch +
                ": no task's changes were integrated (see `baton status " + run.id + "`)");
  }
  out.tip = first_line(*tip);
  return out;
}

Result<void> check_branch_name(const isolation::Repository& repo, const std::string& option,
                               const std::string& name) {
  if (name.empty() || name[0] == '-' ||
      !isolation::git(repo, {"check-ref-format", "refs/heads/" + name})) {
    return fail(option + ": '" + name + "' is not a branch name git accepts");
  }
  return ok();
}

}  // namespace baton::cli
