#include "isolation/worktree.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "isolation/command.h"

namespace baton::isolation {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// `git ARGS` in DIR, whatever its exit code.
Result<CommandOutput> git_raw(const std::string& dir, const std::vector<std::string>& args,
                              const GitAuthor* author) {
  std::vector<std::string> argv = {"git",
                                   "-c",
                                   "core.hooksPath=/dev/null",
                                   "-c",
                                   "commit.gpgsign=false",
                                   "-c",
                                   "advice.detachedHead=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions options;
  options.cwd = dir;
  options.env = {{"GIT_TERMINAL_PROMPT", "0"}, {"LC_ALL", "C"}, {"GIT_EDITOR", "true"}};
  if (author) {
    options.env["GIT_AUTHOR_NAME"] = options.env["GIT_COMMITTER_NAME"] = author->name;
    options.env["GIT_AUTHOR_EMAIL"] = options.env["GIT_COMMITTER_EMAIL"] = author->email;
  }
  options.unset_env = {"GIT_DIR",          "GIT_WORK_TREE",
                       "GIT_INDEX_FILE",   "GIT_OBJECT_DIRECTORY",
                       "GIT_COMMON_DIR",   "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                       "GIT_NAMESPACE",    "GIT_PREFIX",
                       "GIT_CONFIG",       "GIT_CONFIG_PARAMETERS",
                       "GIT_CONFIG_COUNT", "GIT_QUARANTINE_PATH"};
  return run_command(argv, options);
}

Error git_error(const std::vector<std::string>& args, const CommandOutput& out) {
  std::string text = trim(out.err.empty() ? out.out : out.err);
  if (text.empty()) text = "exited " + std::to_string(out.exit_code);
  return Error("git " + args[0] + ": " + text);
}

// Numbers of `git diff --shortstat`: " 2 files changed, 3 insertions(+), 1 deletion(-)".
void parse_shortstat(const std::string& text, CommitInfo* info) {
  std::istringstream in(text);
  std::string word;
  int number = 0;
  while (in >> word) {
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      number = std::stoi(word);
    } else if (word.rfind("file", 0) == 0) {
      info->files_changed = number;
    } else if (word.rfind("insertion", 0) == 0) {
      info->insertions = number;
    } else if (word.rfind("deletion", 0) == 0) {
      info->deletions = number;
    }
  }
}

}  // namespace

Result<GitAuthor> parse_git_author(const std::string& text) {
  size_t lt = text.find('<');
  size_t gt = text.rfind('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt || gt + 1 != text.size()) {
    return fail("git_author: expected 'Name <email>', got '" + text + "'");
  }
  GitAuthor author{trim(text.substr(0, lt)), trim(text.substr(lt + 1, gt - lt - 1))};
  if (author.name.empty() || author.email.empty()) {
    return fail("git_author: expected 'Name <email>', got '" + text + "'");
  }
  return author;
}

Result<std::string> git(const std::string& dir, const std::vector<std::string>& args,
                        const GitAuthor* author) {
  auto out = git_raw(dir, args, author);
  if (!out) return tl::unexpected(out.error());
  if (out->exit_code != 0) return tl::unexpected(git_error(args, *out));
  return std::move(out->out);
}

Result<Repository> open_repository(const std::string& dir) {
  auto out = git_raw(
      dir, {"rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir"}, nullptr);
  if (!out) return tl::unexpected(out.error());
  std::vector<std::string> parts = lines(out->out);
  if (out->exit_code != 0 || parts.size() != 2) {
    return fail(dir + " is not in a git work tree (isolation: worktree needs a git repository)");
  }
  return Repository{parts[0], parts[1]};
}

Result<std::string> head_commit(const Repository& repo) {
  auto out = git_raw(repo.top, {"rev-parse", "--verify", "-q", "HEAD^{commit}"}, nullptr);
  if (!out) return tl::unexpected(out.error());
  if (out->exit_code != 0) {
    return fail("the repository " + repo.top +
                " has no commits; isolation: worktree starts tasks from the last commit: "
                "commit first, or set settings.isolation: none");
  }
  return trim(out->out);
}

Result<std::vector<std::string>> uncommitted_changes(const Repository& repo) {
  auto out = git(repo.top, {"status", "--porcelain=v1", "-z", "--untracked-files=no"});
  if (!out) return tl::unexpected(out.error());
  std::vector<std::string> files;
  const std::string& text = *out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\0', pos);
    if (end == std::string::npos) end = text.size();
    std::string entry = text.substr(pos, end - pos);
    pos = end + 1;
    if (entry.size() < 4) continue;
    files.push_back(entry.substr(3));
    if (entry[0] == 'R' || entry[0] == 'C') {  // a rename's source follows
      size_t next = text.find('\0', pos);
      pos = next == std::string::npos ? text.size() : next + 1;
    }
  }
  return files;
}

Result<Worktree> add_worktree(const Repository& repo, const std::string& path,
                              const std::string& branch, const std::vector<std::string>& starts,
                              const GitAuthor& author) {
  if (starts.empty()) return fail("add_worktree: no start commit");
  if (auto r = git(repo.top, {"worktree", "add", "-q", "-b", branch, path, starts[0]}); !r) {
    return tl::unexpected(r.error());
  }
  for (size_t i = 1; i < starts.size(); ++i) {
    auto merged = merge_commit(path, starts[i], "baton: merge " + starts[i], false, author);
    if (!merged) return tl::unexpected(merged.error());
    if (merged->conflict) {
      std::string files;
      for (const auto& f : merged->conflicting_files) files += (files.empty() ? "" : ", ") + f;
      return fail("the changes of the dependencies conflict: merging " + starts[i] + " into " +
                  branch + " conflicts in " + files);
    }
  }
  auto out = git(path, {"rev-parse", "--path-format=absolute", "--git-dir", "HEAD"});
  if (!out) return tl::unexpected(out.error());
  std::vector<std::string> parts = lines(*out);
  if (parts.size() != 2) return fail("git rev-parse in " + path + ": unexpected output");
  return Worktree{path, branch, parts[1], parts[0]};
}

Result<void> reset_worktree(const Worktree& wt) {
  if (auto r = git(wt.path, {"reset", "-q", "--hard", wt.start}); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = git(wt.path, {"clean", "-q", "-ffdx"}); !r) return tl::unexpected(r.error());
  return ok();
}

Result<CommitInfo> commit_all(const Worktree& wt, const std::string& message,
                              const GitAuthor& author) {
  if (auto r = git(wt.path, {"add", "-A"}); !r) return tl::unexpected(r.error());
  auto staged = git_raw(wt.path, {"diff", "--cached", "--quiet"}, nullptr);
  if (!staged) return tl::unexpected(staged.error());
  if (staged->exit_code != 0) {
    if (auto r = git(wt.path, {"commit", "-q", "--no-verify", "-m", message}, &author); !r) {
      return tl::unexpected(r.error());
    }
  }
  auto head = git(wt.path, {"rev-parse", "HEAD"});
  if (!head) return tl::unexpected(head.error());
  CommitInfo info;
  info.commit = trim(*head);
  info.changed = info.commit != wt.start;
  if (!info.changed) return info;
  auto stat = git(wt.path, {"diff", "--stat=120", wt.start, info.commit});
  auto shortstat = git(wt.path, {"diff", "--shortstat", wt.start, info.commit});
  if (!stat) return tl::unexpected(stat.error());
  if (!shortstat) return tl::unexpected(shortstat.error());
  info.stat = *stat;
  parse_shortstat(*shortstat, &info);
  return info;
}

Result<MergeResult> merge_commit(const std::string& dir, const std::string& commit,
                                 const std::string& message, bool squash, const GitAuthor& author) {
  auto before = git(dir, {"rev-parse", "HEAD"});
  if (!before) return tl::unexpected(before.error());
  std::vector<std::string> args =
      squash ? std::vector<std::string>{"merge", "--squash", commit}
             : std::vector<std::string>{"merge", "--no-ff", "--no-edit", "--no-verify",
                                        "-m",    message,   commit};
  auto out = git_raw(dir, args, &author);
  if (!out) return tl::unexpected(out.error());
  MergeResult result;
  if (out->exit_code != 0) {
    auto unmerged = git(dir, {"diff", "--name-only", "--diff-filter=U"});
    if (!unmerged) return tl::unexpected(unmerged.error());
    result.conflicting_files = lines(*unmerged);
    // Undo the attempt either way, so that DIR is as it was.
    if (squash) {
      git(dir, {"reset", "-q", "--hard", "HEAD"});
    } else {
      git(dir, {"merge", "--abort"});
    }
    if (result.conflicting_files.empty()) return tl::unexpected(git_error(args, *out));
    std::sort(result.conflicting_files.begin(), result.conflicting_files.end());
    result.conflict = true;
    return result;
  }
  if (squash) {
    auto staged = git_raw(dir, {"diff", "--cached", "--quiet"}, nullptr);
    if (!staged) return tl::unexpected(staged.error());
    if (staged->exit_code != 0) {
      if (auto r = git(dir, {"commit", "-q", "--no-verify", "-m", message}, &author); !r) {
        return tl::unexpected(r.error());
      }
    }
  }
  auto after = git(dir, {"rev-parse", "HEAD"});
  if (!after) return tl::unexpected(after.error());
  result.changed = *after != *before;
  return result;
}

Result<void> remove_worktree(const Repository& repo, const std::string& path) {
  auto out = git_raw(repo.top, {"worktree", "remove", "--force", "--force", path}, nullptr);
  if (!out) return tl::unexpected(out.error());
  std::error_code ec;
  if (out->exit_code != 0 && fs::exists(path, ec)) {
    fs::remove_all(path, ec);
    if (ec) return fail("cannot remove " + path + ": " + ec.message());
  }
  if (auto r = git(repo.top, {"worktree", "prune"}); !r) return tl::unexpected(r.error());
  return ok();
}

std::string task_branch(const std::string& run_id, const std::string& task_id) {
  return "baton/tasks/" + run_id + "/" + task_id;
}

std::string run_branch(const std::string& run_id) { return "baton/" + run_id; }

}  // namespace baton::isolation
