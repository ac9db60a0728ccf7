#include "isolation/worktree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "util/text.h"

namespace baton::isolation {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> split_nul(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\0', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Settings that make git run a program, overridden for every host git command.
// Values: a program that fails ("false"), or the empty value that unsets a list
// (credential.helper) or disables the feature.
const char* const kInertConfig[] = {
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.editor=true",
    "core.sshCommand=false",
    "core.askPass=",
    "core.attributesFile=/dev/null",
    "credential.helper=",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "merge.verifySignatures=false",
    "log.showSignature=false",
    "gpg.program=false",
    "gpg.openpgp.program=false",
    "gpg.x509.program=false",
    "gpg.ssh.program=false",
    "protocol.allow=never",
    "submodule.recurse=false",
    "diff.ignoreSubmodules=all",
    "status.submoduleSummary=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "merge.stat=false",
    "advice.detachedHead=false",
};

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

// The scope for host git on a task's worktree after the task ran: the common
// directory, the worktree as work tree, baton's private index.
GitScope task_scope(const Repository& repo, const Worktree& wt) {
  return GitScope{repo.common_dir, wt.path, wt.index, true};
}

// The scope of a worktree no task has run in yet (made by baton just now): its own
// admin directory, so that porcelain (merge) sees the worktree's HEAD.
GitScope fresh_scope(const Worktree& wt) { return GitScope{wt.admin_dir, wt.path, "", true}; }

// Writes DATA to PATH through a temporary file and a rename (a link at PATH is
// replaced, not followed).
Result<void> replace_file(const std::string& path, const std::string& data) {
  std::string tmp = path + ".baton-tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) return fail("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return tl::unexpected(Error::from_errno("rename " + tmp, errno));
  }
  return ok();
}

// The `.git` file git writes into a worktree whose admin directory is ADMIN.
std::string gitfile_for(const std::string& admin) {
  std::error_code ec;
  fs::path real = fs::canonical(admin, ec);
  return "gitdir: " + (ec ? admin : real.string()) + "\n";
}

// Copies FROM to TO through a temporary file and a rename (a link at TO is
// replaced, not followed); nothing when FROM is missing.
Result<void> copy_index(const std::string& from, const std::string& to) {
  std::error_code ec;
  if (!fs::is_regular_file(from, ec)) return ok();
  fs::create_directories(fs::path(to).parent_path(), ec);
  std::string tmp = to + ".baton-tmp";
  fs::remove(tmp, ec);
  fs::copy_file(from, tmp, ec);
  if (ec) return fail("cannot copy " + from + " to " + tmp + ": " + ec.message());
  if (std::rename(tmp.c_str(), to.c_str()) != 0) {
    return tl::unexpected(Error::from_errno("rename " + tmp, errno));
  }
  return ok();
}

// WT.index exists: when missing, it is made from the branch's tip (stat data
// empty: the next `add -A` reads every file once).
Result<void> ensure_index(const Repository& repo, const Worktree& wt, const std::string& tip) {
  std::error_code ec;
  if (fs::exists(wt.index, ec)) return ok();
  fs::create_directories(fs::path(wt.index).parent_path(), ec);
  if (auto r = git(repo, task_scope(repo, wt), {"read-tree", tip}); !r) {
    return tl::unexpected(r.error());
  }
  return ok();
}

// The gitlinks (submodules, nested repositories) of WT.index, as exclude pathspecs:
// git would otherwise run `git status` inside each to see whether it changed.
Result<std::vector<std::string>> gitlink_excludes(const Repository& repo, const Worktree& wt) {
  auto links = list_gitlinks(repo, task_scope(repo, wt));
  if (!links) return tl::unexpected(links.error());
  std::vector<std::string> excludes;
  for (const std::string& path : *links) excludes.push_back(":(top,exclude,literal)" + path);
  return excludes;
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

GitScope repository_scope(const Repository& repo) {
  return GitScope{repo.common_dir, "", "", false};
}

GitScope checkout_scope(const Repository& repo) {
  return GitScope{repo.git_dir.empty() ? repo.common_dir : repo.git_dir, repo.top, "", false};
}

std::vector<std::pair<std::string, std::string>> driver_overrides(const std::string& config_names) {
  std::set<std::pair<std::string, std::string>> drivers;  // (section, subsection)
  for (const std::string& name : split_nul(config_names)) {
    size_t first = name.find('.');
    size_t last = name.rfind('.');
    if (first == std::string::npos || last == first) continue;  // no subsection
    std::string section = name.substr(0, first);
    std::transform(section.begin(), section.end(), section.begin(), ::tolower);
    if (section != "filter" && section != "diff" && section != "merge") continue;
    drivers.emplace(section, name.substr(first + 1, last - first - 1));
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [section, sub] : drivers) {
    std::string prefix = section + "." + sub + ".";
    if (section == "filter") {
      out.insert(out.end(), {{prefix + "clean", ""},
                             {prefix + "smudge", ""},
                             {prefix + "process", ""},
                             {prefix + "required", "false"}});
    } else if (section == "diff") {
      out.insert(out.end(), {{prefix + "command", "false"}, {prefix + "textconv", "cat"}});
    } else {
      out.insert(out.end(), {{prefix + "driver", "git merge-file --marker-size=%L %A %O %B"},
                             {prefix + "recursive", "text"}});
    }
  }
  return out;
}

GitCommand host_git_command(const Repository& repo, const GitScope& scope,
                            const std::vector<std::string>& args, const GitAuthor* author) {
  GitCommand c;
  c.argv = {"git", "--no-pager", "--git-dir=" + scope.git_dir};
  if (!scope.work_tree.empty()) c.argv.push_back("--work-tree=" + scope.work_tree);
  for (const char* setting : kInertConfig) c.argv.insert(c.argv.end(), {"-c", setting});
  // safe.directory names only a work tree baton made (as root, git would refuse one
  // owned by the sandbox's user); never "*", never the user's checkout.
  if (scope.trusted_tree) c.argv.insert(c.argv.end(), {"-c", "safe.directory=" + scope.work_tree});
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  CommandOptions& o = c.options;
  o.cwd = scope.work_tree.empty() ? scope.git_dir : scope.work_tree;
  o.unset_env_prefixes = {"GIT_"};
  o.unset_env = {"SSH_ASKPASS", "PAGER", "EDITOR", "VISUAL"};
  o.env = {{"GIT_CONFIG_NOSYSTEM", "1"},
           {"GIT_CONFIG_GLOBAL", "/dev/null"},
           {"GIT_TERMINAL_PROMPT", "0"},
           {"GIT_EDITOR", "true"},
           {"GIT_PAGER", "cat"},
           {"GIT_NO_REPLACE_OBJECTS", "1"},
           {"LC_ALL", "C"}};
  if (!scope.index.empty()) o.env["GIT_INDEX_FILE"] = scope.index;
  // The drivers' overrides as GIT_CONFIG_KEY_n/VALUE_n: a driver's name may hold
  // any character, '=' included, which `-c NAME=VALUE` could not carry.
  o.env["GIT_CONFIG_COUNT"] = std::to_string(repo.overrides.size());
  for (size_t i = 0; i < repo.overrides.size(); ++i) {
    o.env["GIT_CONFIG_KEY_" + std::to_string(i)] = repo.overrides[i].first;
    o.env["GIT_CONFIG_VALUE_" + std::to_string(i)] = repo.overrides[i].second;
  }
  if (author) {
    o.env["GIT_AUTHOR_NAME"] = o.env["GIT_COMMITTER_NAME"] = author->name;
    o.env["GIT_AUTHOR_EMAIL"] = o.env["GIT_COMMITTER_EMAIL"] = author->email;
  }
  return c;
}

Result<CommandOutput> run_git(const Repository& repo, const GitScope& scope,
                              const std::vector<std::string>& args, const GitAuthor* author,
                              double timeout_s, bool inherit_output) {
  GitCommand c = host_git_command(repo, scope, args, author);
  c.options.timeout_s = timeout_s;
  c.options.inherit_output = inherit_output;
  return run_command(c.argv, c.options);
}

Result<std::string> git(const Repository& repo, const GitScope& scope,
                        const std::vector<std::string>& args, const GitAuthor* author) {
  auto out = run_git(repo, scope, args, author);
  if (!out) return tl::unexpected(out.error());
  if (out->exit_code != 0) return tl::unexpected(git_error(args, *out));
  return std::move(out->out);
}

Result<std::string> git(const Repository& repo, const std::vector<std::string>& args,
                        const GitAuthor* author) {
  return git(repo, repository_scope(repo), args, author);
}

Result<std::vector<std::string>> list_gitlinks(const Repository& repo, const GitScope& scope) {
  GitCommand c = host_git_command(repo, scope, {"ls-files", "-s", "-z"});
  c.options.max_output_bytes = size_t{1} << 30;  // every entry of a large index, not a prefix
  auto out = run_command(c.argv, c.options);
  if (!out) return tl::unexpected(out.error());
  if (out->exit_code != 0) return tl::unexpected(git_error({"ls-files"}, *out));
  std::vector<std::string> links;
  for (const std::string& entry : split_nul(out->out)) {
    // "MODE SHA STAGE\tPATH"
    size_t tab = entry.find('\t');
    if (tab != std::string::npos && entry.rfind("160000 ", 0) == 0) {
      links.push_back(entry.substr(tab + 1));
    }
  }
  return links;
}

Result<Repository> open_repository(const std::string& dir) {
  // Discovery, the one place git finds the repository itself: DIR is the user's
  // project root. The user's system and global config stay (their safe.directory
  // decides, as for their own git); rev-parse runs no program.
  std::vector<std::string> argv = {"git", "--no-pager"};
  for (const char* setting : kInertConfig) argv.insert(argv.end(), {"-c", setting});
  argv.insert(argv.end(), {"rev-parse", "--path-format=absolute", "--show-toplevel", "--git-dir",
                           "--git-common-dir"});
  CommandOptions options;
  options.cwd = dir;
  options.unset_env_prefixes = {"GIT_"};
  options.env = {{"GIT_TERMINAL_PROMPT", "0"}, {"LC_ALL", "C"}};
  auto out = run_command(argv, options);
  if (!out) return tl::unexpected(out.error());
  std::vector<std::string> parts = lines(out->out);
  if (out->exit_code != 0 || parts.size() != 3) {
    return fail(dir + " is not in a git work tree (isolation: worktree needs a git repository)");
  }
  Repository repo{parts[0], parts[1], parts[2], {}};
  // The drivers the repository's config defines (with its includes): the only
  // config host git reads besides the command line.
  auto names = git(repo, {"config", "-z", "--name-only", "--list"});
  if (!names) return tl::unexpected(names.error());
  repo.overrides = driver_overrides(*names);
  return repo;
}

Result<std::string> head_commit(const Repository& repo) {
  auto out = run_git(repo, checkout_scope(repo), {"rev-parse", "--verify", "-q", "HEAD^{commit}"});
  if (!out) return tl::unexpected(out.error());
  if (out->exit_code != 0) {
    return fail("the repository " + repo.top +
                " has no commits; isolation: worktree starts tasks from the last commit: "
                "commit first, or set settings.isolation: none");
  }
  return trim(out->out);
}

Result<std::vector<std::string>> uncommitted_changes(const Repository& repo) {
  auto out =
      git(repo, checkout_scope(repo),
          {"status", "--porcelain=v1", "-z", "--untracked-files=no", "--ignore-submodules=all"});
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
                              const GitAuthor& author, const std::string& index) {
  if (starts.empty()) return fail("add_worktree: no start commit");
  if (auto r = git(repo, {"worktree", "add", "-q", "-b", branch, path, starts[0]}); !r) {
    return tl::unexpected(r.error());
  }
  Worktree wt;
  wt.path = path;
  wt.branch = branch;
  wt.index = index;
  // No task has run here yet: the `.git` file is git's, naming the admin directory.
  std::string gitfile = trim(read_text(path + "/.git"));
  if (gitfile.rfind("gitdir: ", 0) != 0) return fail("git worktree add: no .git file in " + path);
  wt.admin_dir = gitfile.substr(8);
  for (size_t i = 1; i < starts.size(); ++i) {
    auto merged =
        merge_commit(repo, fresh_scope(wt), starts[i], "baton: merge " + starts[i], false, author);
    if (!merged) return tl::unexpected(merged.error());
    if (merged->conflict) {
      std::string files;
      for (const auto& f : merged->conflicting_files) files += (files.empty() ? "" : ", ") + f;
      return fail("the changes of the dependencies conflict: merging " + starts[i] + " into " +
                  branch + " conflicts in " + files);
    }
  }
  auto head = git(repo, {"rev-parse", "--verify", "-q", "refs/heads/" + branch + "^{commit}"});
  if (!head) return tl::unexpected(head.error());
  wt.start = trim(*head);
  if (auto r = copy_index(wt.admin_dir + "/index", wt.index); !r) return tl::unexpected(r.error());
  if (auto r = ensure_index(repo, wt, wt.start); !r) return tl::unexpected(r.error());
  return wt;
}

std::string find_admin_dir(const Repository& repo, const std::string& path,
                           const std::string& branch) {
  std::error_code ec;
  fs::path want = fs::weakly_canonical(fs::path(path) / ".git", ec);
  for (const auto& entry : fs::directory_iterator(fs::path(repo.common_dir) / "worktrees", ec)) {
    std::string gitdir = trim(read_text((entry.path() / "gitdir").string()));
    if (gitdir.empty()) continue;
    std::error_code e2;
    if (fs::weakly_canonical(gitdir, e2) != want) continue;
    if (trim(read_text((entry.path() / "HEAD").string())) != "ref: refs/heads/" + branch) continue;
    return entry.path().string();
  }
  return "";
}

Result<void> check_worktree(const Worktree& wt) {
  struct stat st {};
  if (lstat(wt.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail("the worktree " + wt.path + " is no longer a directory");
  }
  std::string file = wt.path + "/.git";
  std::string expected = gitfile_for(wt.admin_dir);
  // Read only when it is a small regular file: a task could make it huge.
  bool intact = lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 8192;
  if (intact) {
    std::string text = read_text(file);
    intact = text == expected || text == "gitdir: " + wt.admin_dir + "\n";
  }
  if (intact) return ok();
  std::error_code ec;
  fs::remove_all(file, ec);  // a link or a directory the task put there
  if (auto r = replace_file(file, expected); !r) return r;
  return fail(
      "the task changed its worktree's .git file (git metadata is baton's; nothing of this "
      "attempt is committed)");
}

Result<void> reset_worktree(const Repository& repo, const Worktree& wt) {
  // A changed .git is put back (the attempt failed anyway); a worktree that is no
  // longer a directory is not touched.
  if (!check_worktree(wt)) {
    if (auto r = check_worktree(wt); !r) return r;
  }
  if (auto r = git(repo, {"update-ref", "refs/heads/" + wt.branch, wt.start}); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = ensure_index(repo, wt, wt.start); !r) return r;
  GitScope scope = task_scope(repo, wt);
  // The index first takes in everything of the attempt, so that the move to START
  // below rewrites each file that differs and removes each one START lacks.
  auto excludes = gitlink_excludes(repo, wt);
  if (!excludes) return tl::unexpected(excludes.error());
  std::vector<std::string> add = {"add", "-A", "--", ":(top)"};
  add.insert(add.end(), excludes->begin(), excludes->end());
  if (auto r = git(repo, scope, add); !r) return tl::unexpected(r.error());
  if (auto r = git(repo, scope, {"read-tree", "--reset", "-u", wt.start}); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = git(repo, scope, {"clean", "-q", "-ffdx"}); !r) return tl::unexpected(r.error());
  // The task's own view (git status inside) is its admin directory's index.
  return copy_index(wt.index, wt.admin_dir + "/index");
}

Result<CommitInfo> commit_all(const Repository& repo, const Worktree& wt,
                              const std::string& message, const GitAuthor& author) {
  if (auto r = check_worktree(wt); !r) return tl::unexpected(r.error());
  std::string ref = "refs/heads/" + wt.branch;
  auto tip_out = git(repo, {"rev-parse", "--verify", "-q", ref + "^{commit}"});
  if (!tip_out) return tl::unexpected(tip_out.error());
  std::string tip = trim(*tip_out);
  if (tip != wt.start) {
    auto descends =
        run_git(repo, repository_scope(repo), {"merge-base", "--is-ancestor", wt.start, tip});
    if (!descends) return tl::unexpected(descends.error());
    if (descends->exit_code != 0) {
      return fail("the branch " + wt.branch + " no longer descends from its start " +
                  wt.start.substr(0, 12));
    }
  }
  if (auto r = ensure_index(repo, wt, tip); !r) return tl::unexpected(r.error());
  GitScope scope = task_scope(repo, wt);
  auto excludes = gitlink_excludes(repo, wt);
  if (!excludes) return tl::unexpected(excludes.error());
  std::vector<std::string> add = {"add", "-A", "--", ":(top)"};
  add.insert(add.end(), excludes->begin(), excludes->end());
  if (auto r = git(repo, scope, add); !r) return tl::unexpected(r.error());
  auto tree = git(repo, scope, {"write-tree"});
  if (!tree) return tl::unexpected(tree.error());
  auto tip_tree = git(repo, {"rev-parse", tip + "^{tree}"});
  if (!tip_tree) return tl::unexpected(tip_tree.error());
  CommitInfo info;
  info.commit = tip;
  if (trim(*tree) != trim(*tip_tree)) {
    auto made =
        git(repo, {"commit-tree", "--no-gpg-sign", trim(*tree), "-p", tip, "-m", message}, &author);
    if (!made) return tl::unexpected(made.error());
    info.commit = trim(*made);
    if (auto r = git(repo, {"update-ref", "-m", "baton: commit", ref, info.commit, tip}); !r) {
      return tl::unexpected(r.error());
    }
  }
  // The worktree's own view matches its branch again (git status there is clean).
  if (auto r = copy_index(wt.index, wt.admin_dir + "/index"); !r) return tl::unexpected(r.error());
  info.changed = info.commit != wt.start;
  if (!info.changed) return info;
  auto stat = git(
      repo, {"diff", "--no-ext-diff", "--no-textconv", "--stat=120", wt.start, info.commit, "--"});
  auto shortstat = git(
      repo, {"diff", "--no-ext-diff", "--no-textconv", "--shortstat", wt.start, info.commit, "--"});
  if (!stat) return tl::unexpected(stat.error());
  if (!shortstat) return tl::unexpected(shortstat.error());
  info.stat = *stat;
  parse_shortstat(*shortstat, &info);
  return info;
}

Result<MergeResult> merge_commit(const Repository& repo, const GitScope& scope,
                                 const std::string& commit, const std::string& message, bool squash,
                                 const GitAuthor& author) {
  auto before = git(repo, scope, {"rev-parse", "HEAD"});
  if (!before) return tl::unexpected(before.error());
  std::vector<std::string> args =
      squash ? std::vector<std::string>{"merge", "--squash", "--no-stat", commit}
             : std::vector<std::string>{"merge",     "--no-ff", "--no-edit", "--no-verify",
                                        "--no-stat", "-m",      message,     commit};
  auto out = run_git(repo, scope, args, &author);
  if (!out) return tl::unexpected(out.error());
  MergeResult result;
  if (out->exit_code != 0) {
    auto unmerged = git(repo, scope, {"ls-files", "-u", "-z"});
    if (!unmerged) return tl::unexpected(unmerged.error());
    std::set<std::string> files;
    for (const std::string& entry : split_nul(*unmerged)) {
      size_t tab = entry.find('\t');
      if (tab != std::string::npos) files.insert(entry.substr(tab + 1));
    }
    result.conflicting_files.assign(files.begin(), files.end());
    // Undo the attempt either way, so that the work tree is as it was.
    if (squash) {
      git(repo, scope, {"reset", "-q", "--hard", "HEAD"});
    } else {
      git(repo, scope, {"merge", "--abort"});
    }
    if (result.conflicting_files.empty()) return tl::unexpected(git_error(args, *out));
    result.conflict = true;
    return result;
  }
  if (squash) {
    auto staged = run_git(repo, scope, {"diff-index", "--cached", "--quiet", "HEAD", "--"});
    if (!staged) return tl::unexpected(staged.error());
    if (staged->exit_code != 0) {
      if (auto r = git(repo, scope, {"commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message},
                       &author);
          !r) {
        return tl::unexpected(r.error());
      }
    }
  }
  auto after = git(repo, scope, {"rev-parse", "HEAD"});
  if (!after) return tl::unexpected(after.error());
  result.changed = *after != *before;
  return result;
}

Result<void> remove_worktree(const Repository& repo, const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // links inside are removed, not followed
  if (ec) return fail("cannot remove " + path + ": " + ec.message());
  if (auto r = git(repo, {"worktree", "prune"}); !r) return tl::unexpected(r.error());
  return ok();
}

std::string task_branch(const std::string& run_id, const std::string& task_id) {
  return "baton/tasks/" + run_id + "/" + task_id;
}

std::string run_branch(const std::string& run_id) { return "baton/" + run_id; }

}  // namespace baton::isolation
