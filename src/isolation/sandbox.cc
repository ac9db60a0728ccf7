#include "isolation/sandbox.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "isolation/command.h"

namespace baton::isolation {

namespace fs = std::filesystem;

namespace {

const char* const kSystemDirs[] = {"/usr", "/etc",   "/bin",   "/sbin",
                                   "/lib", "/lib32", "/lib64", "/libx32"};

// True when PATH is DIR or inside it (both absolute and normal).
bool is_under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

bool is_system(const std::string& path) {
  for (const char* dir : kSystemDirs) {
    if (is_under(path, dir)) return true;
  }
  return false;
}

std::string normal(const std::string& path) {
  std::string p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// The outermost node_modules directory of PATH, or "".
std::string node_modules_of(const std::string& path) {
  size_t at = path.find("/node_modules/");
  if (at == std::string::npos) {
    if (path.size() >= 13 && path.compare(path.size() - 13, 13, "/node_modules") == 0) return path;
    return "";
  }
  return path.substr(0, at + 13);
}

}  // namespace

Result<void> wrap_in_bwrap(exec::ProcessSpec& process, const SandboxSpec& spec) {
  if (spec.workdir.empty()) return fail("sandbox: no working directory");
  if (process.argv.empty()) return fail("sandbox: nothing to run");
  std::error_code ec;
  if (!spec.home.empty()) {
    fs::create_directories(spec.home, ec);
    if (ec) return fail("sandbox: cannot create " + spec.home + ": " + ec.message());
  }
  std::vector<std::string> a = {
      spec.bwrap,      "--die-with-parent", "--new-session",       "--unshare-pid",
      "--unshare-ipc", "--unshare-uts",     "--unshare-cgroup-try"};
  if (!spec.network) a.push_back("--unshare-net");
  if (geteuid() == 0) {
    // As root, bwrap keeps capabilities, with which a process can remount a read-only
    // bind read-write. A user namespace in which the task is kSandboxUid (mapped to
    // root outside, so it owns what root owns) and no capability at all: it cannot
    // remount, and can still start sandboxes of its own (Codex runs its commands
    // under bwrap).
    std::string uid = std::to_string(kSandboxUid);
    a.insert(a.end(), {"--unshare-user", "--uid", uid, "--gid", uid, "--cap-drop", "ALL"});
  }
  for (const char* dir : kSystemDirs) {
    fs::path p(dir);
    if (fs::is_symlink(p, ec)) {
      a.insert(a.end(), {"--symlink", fs::read_symlink(p, ec).string(), dir});
    } else if (fs::is_directory(p, ec)) {
      a.insert(a.end(), {"--ro-bind", dir, dir});
    }
  }
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--size", std::to_string(spec.tmp_bytes),
                     "--tmpfs", "/tmp"});

  // Binds in path order, so that a directory is mounted before anything inside it;
  // a path both readable and writable is writable.
  enum class Mount { kReadOnly, kWritable, kHidden };
  std::map<std::string, Mount> binds;
  for (const std::string& p : spec.readable) {
    std::string n = normal(p);
    if (!is_system(n)) binds.emplace(n, Mount::kReadOnly);
  }
  for (const std::string& p : spec.writable) {
    std::string n = normal(p);
    if (!fs::exists(n, ec)) return fail("sandbox: " + n + " does not exist");
    binds[n] = Mount::kWritable;
  }
  for (const std::string& p : spec.hidden) binds[normal(p)] = Mount::kHidden;
  if (!spec.home.empty()) binds[normal(spec.home)] = Mount::kWritable;
  // Mount points under /tmp are created in the private tmpfs; make the directories
  // leading to them read-only, so that writing "into the repository" there fails
  // rather than succeeding in a copy that vanishes.
  std::set<std::string> leading;
  for (const auto& [path, mount] : binds) {
    if (!is_under(path, "/tmp")) continue;
    for (fs::path d = fs::path(path).parent_path(); d.string() != "/tmp" && d != d.parent_path();
         d = d.parent_path()) {
      bool inside_bind = false;
      for (const auto& [other, w] : binds) inside_bind = inside_bind || is_under(d.string(), other);
      if (!inside_bind) leading.insert(d.string());
    }
  }
  for (const std::string& d : leading) a.insert(a.end(), {"--perms", "0555", "--dir", d});
  for (const auto& [path, mount] : binds) {
    if (mount == Mount::kHidden) {
      a.insert(a.end(), {"--tmpfs", path});
    } else {
      a.insert(a.end(), {mount == Mount::kWritable ? "--bind" : "--ro-bind-try", path, path});
    }
  }
  for (const auto& [host, relative] : spec.home_files) {
    if (spec.home.empty() || !fs::is_regular_file(host, ec)) continue;
    a.insert(a.end(), {"--ro-bind", host, (fs::path(spec.home) / relative).string()});
  }
  // The sandbox's root is bwrap's own tmpfs: read-only, so that a write anywhere not
  // mounted fails instead of landing in a file system that vanishes.
  a.insert(a.end(), {"--remount-ro", "/", "--chdir", spec.workdir, "--"});
  a.insert(a.end(), process.argv.begin(), process.argv.end());
  process.argv = std::move(a);
  if (!spec.home.empty()) process.env["HOME"] = spec.home;
  // baton's own TMPDIR may not be mounted; one the attempt's set-up chose stays.
  if (!process.env.count("TMPDIR")) process.env["TMPDIR"] = "/tmp";
  return ok();
}

Result<void> add_worktree_mounts(const Worktree& wt, const Repository& repo, SandboxSpec* spec) {
  fs::path common(repo.common_dir);
  std::error_code ec;
  fs::create_directories(common / "logs", ec);
  if (!fs::exists(common / "packed-refs", ec)) {
    std::ofstream touch(common / "packed-refs", std::ios::app);
    if (!touch) return fail("sandbox: cannot create " + (common / "packed-refs").string());
  }
  spec->writable.push_back(wt.path);
  for (const char* part : {"objects", "refs", "logs", "packed-refs", "config", "info", "shallow"}) {
    spec->readable.push_back((common / part).string());
  }
  spec->readable.push_back(wt.admin_dir);
  return ok();
}

Result<std::vector<std::string>> git_metadata_paths(const Repository& repo) {
  std::vector<std::string> paths = {(fs::path(repo.top) / ".git").string(), repo.common_dir};
  if (!repo.git_dir.empty()) paths.push_back(repo.git_dir);
  // Submodules: `git status` in the checkout runs git inside each populated one,
  // reading its .git. Populated: that .git read-only; not populated: the whole
  // (empty) directory, so that no .git can be made there.
  auto links = list_gitlinks(repo, checkout_scope(repo));
  if (!links) return tl::unexpected(links.error());
  std::error_code ec;
  for (const std::string& link : *links) {
    fs::path dir = fs::path(repo.top) / link;
    if (fs::exists(dir / ".git", ec)) {
      paths.push_back((dir / ".git").string());
    } else if (fs::is_directory(dir, ec) && !fs::is_symlink(dir, ec)) {
      paths.push_back(dir.string());
    }
  }
  return paths;
}

std::vector<std::string> program_dirs(const std::string& path_env, const std::string& program,
                                      const std::vector<std::string>& exclude_under) {
  std::vector<std::string> dirs;
  auto add = [&](std::string dir) {
    if (dir.empty() || dir[0] != '/') return;
    dir = normal(dir);
    if (dir == "/" || is_system(dir)) return;
    for (const std::string& inside : exclude_under) {
      if (is_under(normal(inside), dir)) return;
    }
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  };
  std::error_code ec;
  std::string found;
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t end = path_env.find(':', start);
    if (end == std::string::npos) end = path_env.size();
    std::string entry = path_env.substr(start, end - start);
    start = end + 1;
    if (entry.empty() || entry[0] != '/' || !fs::is_directory(entry, ec)) continue;
    std::string modules = node_modules_of(normal(entry));
    add(modules.empty() ? entry : modules);
    if (found.empty() && !program.empty() && program.find('/') == std::string::npos &&
        access((fs::path(entry) / program).c_str(), X_OK) == 0) {
      found = (fs::path(entry) / program).string();
    }
  }
  if (program.find('/') != std::string::npos) found = program;
  if (!found.empty()) {
    fs::path real = fs::canonical(found, ec);
    if (!ec) {
      std::string modules = node_modules_of(real.string());
      add(modules.empty() ? real.parent_path().string() : modules);
    }
  }
  return dirs;
}

Result<void> check_bwrap(const std::string& bwrap) {
  CommandOptions options;
  options.timeout_s = 10;
  auto out = run_command({bwrap, "--ro-bind", "/", "/", "true"}, options);
  if (!out) {
    if (out.error().code == ENOENT) return fail(bwrap + " is not installed");
    return tl::unexpected(out.error());
  }
  if (out->exit_code != 0) {
    std::string why = out->err;
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return fail(bwrap + " does not work here: " +
                (why.empty() ? "exited " + std::to_string(out->exit_code) : why));
  }
  return ok();
}

}  // namespace baton::isolation
