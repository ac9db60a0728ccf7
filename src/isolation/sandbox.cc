#include "isolation/sandbox.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>

#include "isolation/command.h"

extern char** environ;

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

// Can USER read the file with status ST by its mode bits (no ACLs, as baton sets none)?
bool user_can_read(const struct stat& st, const SandboxUser& user) {
  if (st.st_uid == user.uid) return st.st_mode & S_IRUSR;
  if (st.st_gid == user.gid) return st.st_mode & S_IRGRP;
  return st.st_mode & S_IROTH;
}

// PATH, not following a final symlink: group GID, group bits = owner bits (read and
// write, search where the owner may), setgid on directories.
Result<void> share_with_group(const std::string& path, const struct stat& st, uint32_t gid) {
  if (S_ISLNK(st.st_mode)) return ok();
  if (st.st_gid != gid && ::lchown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
    return fail("sandbox: cannot give " + path + " to group " + std::to_string(gid) + ": " +
                std::strerror(errno));
  }
  mode_t mode = st.st_mode & 07777;
  mode_t want = mode | S_IRGRP | S_IWGRP | ((mode & S_IXUSR) ? S_IXGRP : 0);
  if (S_ISDIR(st.st_mode)) want |= S_ISGID;
  // chown cleared setgid of a file; the mode is set again either way.
  if ((want != mode || st.st_gid != gid) && ::chmod(path.c_str(), want) != 0) {
    return fail("sandbox: cannot open " + path + " to its group: " + std::strerror(errno));
  }
  return ok();
}

// Applies FN(path, stat) to ROOT and everything under it, without following symbolic
// links and without entering SKIP paths.
Result<void> walk(const std::string& root, const std::vector<std::string>& skip,
                  const std::function<Result<void>(const std::string&, const struct stat&)>& fn) {
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) {
    return fail("sandbox: cannot read " + root + ": " + std::strerror(errno));
  }
  for (const std::string& s : skip) {
    if (is_under(root, s)) return ok();
  }
  if (auto r = fn(root, st); !r) return r;
  if (!S_ISDIR(st.st_mode)) return ok();
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto r = walk(it->path().string(), skip, fn); !r) return r;
  }
  if (ec) return fail("sandbox: cannot list " + root + ": " + ec.message());
  return ok();
}

// Writes CONTENT to PATH (mode 0644, replaced atomically).
Result<void> write_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out) return fail("sandbox: cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0644);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return fail("sandbox: cannot write " + path + ": " + ec.message());
  return ok();
}

// The host's FILE (/etc/passwd or /etc/group) with LINE added.
std::string with_entry(const char* file, const std::string& line) {
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text + line + "\n";
}

// NAME's absolute path in /usr/bin or /bin (both read-only in every sandbox); NAME
// itself when in neither (bwrap then reports it missing).
std::string system_program(const std::string& name) {
  for (const char* dir : {"/usr/bin/", "/bin/"}) {
    std::string path = dir + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return name;
}

// "NAME=VALUE" of every LD_* variable the child would get: ENV's value, else baton's.
std::vector<std::string> loader_variables(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> found;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos && entry.rfind("LD_", 0) == 0) {
      found[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  for (const auto& [name, value] : env) {
    if (name.rfind("LD_", 0) == 0) found[name] = value;
  }
  std::vector<std::string> out;
  for (const auto& [name, value] : found) {
    if (!value.empty()) out.push_back(name + "=" + value);
  }
  return out;
}

}  // namespace

std::vector<exec::ResourceLimit> rlimits_for(const ResourceLimits& limits, bool with_nproc) {
  std::vector<exec::ResourceLimit> out;
  if (with_nproc) out.push_back({RLIMIT_NPROC, static_cast<uint64_t>(limits.pids)});
  out.push_back({RLIMIT_DATA, static_cast<uint64_t>(limits.memory_bytes)});
  if (limits.cpu_seconds > 0) {
    out.push_back({RLIMIT_CPU, static_cast<uint64_t>(limits.cpu_seconds)});
  }
  out.push_back({RLIMIT_NOFILE, static_cast<uint64_t>(limits.open_files)});
  return out;
}

Result<SandboxIdRange> sandbox_id_range(const char* value) {
  SandboxIdRange range;
  if (!value || !*value) return range;
  std::string_view text(value);
  auto bad = [&] {
    return fail("BATON_SANDBOX_IDS: '" + std::string(text) +
                "': expected FIRST:COUNT or FIRST:COUNT:GID (ids above 0, below 2^31)");
  };
  uint64_t parts[3] = {0, 0, 0};
  int n = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (n < 3) {
    auto [next, ec] = std::from_chars(p, end, parts[n]);
    if (ec != std::errc() || next == p) return bad();
    ++n;
    p = next;
    if (p == end) break;
    if (*p != ':') return bad();
    ++p;
  }
  if (p != end || n < 2) return bad();
  uint64_t gid = n == 3 ? parts[2] : parts[0];
  if (parts[0] == 0 || parts[1] == 0 || gid == 0 || parts[0] + parts[1] > (1ULL << 31) ||
      gid >= (1ULL << 31)) {
    return bad();
  }
  range.first = static_cast<uint32_t>(parts[0]);
  range.count = static_cast<uint32_t>(parts[1]);
  range.gid = static_cast<uint32_t>(gid);
  return range;
}

SandboxUser sandbox_user_for(const SandboxIdRange& range, const std::string& run_id, int task) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a, 64 bits
  for (unsigned char c : run_id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  uint64_t offset = (h + static_cast<uint64_t>(task)) % range.count;
  return SandboxUser{range.first + static_cast<uint32_t>(offset), range.gid};
}

Result<void> grant_sandbox_access(SandboxSpec& spec) {
  if (!spec.user) return ok();
  const SandboxUser user = *spec.user;
  std::error_code ec;
  if (!spec.home.empty()) {
    fs::create_directories(spec.home, ec);
    if (ec) return fail("sandbox: cannot create " + spec.home + ": " + ec.message());
    auto own = [&](const std::string& path, const struct stat& st) -> Result<void> {
      if ((st.st_uid != user.uid || st.st_gid != user.gid) &&
          ::lchown(path.c_str(), user.uid, user.gid) != 0) {
        return fail("sandbox: cannot give " + path + " to uid " + std::to_string(user.uid) + ": " +
                    std::strerror(errno));
      }
      return ok();
    };
    // The directories of the credentials' mount points, made now for the user: bwrap
    // would make them root's, mode 0700.
    for (const auto& [host, relative] : spec.home_files) {
      fs::create_directories((fs::path(spec.home) / relative).parent_path(), ec);
      if (ec) return fail("sandbox: cannot create the directory of " + relative + " in HOME");
    }
    if (auto r = walk(normal(spec.home), spec.hidden, own); !r) return r;
    ::chmod(spec.home.c_str(), 0700);
  }
  // Paths bound read-only or hidden inside a writable one (the git directory of a
  // checkout without worktrees, `.baton/`) keep their owner and mode on the host.
  std::vector<std::string> keep = spec.hidden;
  for (const std::string& p : spec.readable) keep.push_back(normal(p));
  for (const std::string& path : spec.writable) {
    auto share = [&](const std::string& p, const struct stat& st) {
      return share_with_group(p, st, user.gid);
    };
    if (auto r = walk(normal(path), keep, share); !r) return r;
  }
  // Files the user could not read (a 0600 secret, an agent's credentials) are copied
  // for it; directories (agent installs) are left as they are.
  std::vector<std::pair<std::string, std::string>> files;  // (host, inside)
  for (const std::string& p : spec.readable) files.emplace_back(p, p);
  for (const auto& [host, relative] : spec.home_files) {
    if (!spec.home.empty()) files.emplace_back(host, (fs::path(spec.home) / relative).string());
  }
  std::vector<std::string> keep_readable;
  std::vector<std::pair<std::string, std::string>> keep_home_files;
  int copies = 0;
  for (const auto& [host, inside] : files) {
    struct stat st;
    bool is_home_file = inside != host;
    if (::stat(host.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || user_can_read(st, user) ||
        spec.home.empty()) {
      if (is_home_file) {
        keep_home_files.emplace_back(host, fs::path(inside).lexically_relative(spec.home));
      } else {
        keep_readable.push_back(host);
      }
      continue;
    }
    std::string dir = spec.home + ".files";
    fs::create_directories(dir, ec);
    ::chmod(dir.c_str(), 0755);
    std::string copy = dir + "/" + std::to_string(copies++);
    fs::copy_file(host, copy, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail("sandbox: cannot copy " + host + " for the sandbox: " + ec.message());
    if (::chown(copy.c_str(), user.uid, user.gid) != 0 || ::chmod(copy.c_str(), 0400) != 0) {
      return fail("sandbox: cannot give " + copy + " to uid " + std::to_string(user.uid));
    }
    spec.copied.emplace_back(copy, inside);
  }
  spec.readable = std::move(keep_readable);
  spec.home_files = std::move(keep_home_files);
  return ok();
}

Result<void> wrap_in_bwrap(exec::ProcessSpec& process, const SandboxSpec& spec) {
  if (spec.workdir.empty()) return fail("sandbox: no working directory");
  if (process.argv.empty()) return fail("sandbox: nothing to run");
  std::error_code ec;
  if (!spec.home.empty()) {
    fs::create_directories(spec.home, ec);
    if (ec) return fail("sandbox: cannot create " + spec.home + ": " + ec.message());
  }
  SandboxSpec granted = spec;
  if (auto r = grant_sandbox_access(granted); !r) return r;
  std::vector<std::string> a = {
      spec.bwrap,      "--die-with-parent", "--new-session",       "--unshare-pid",
      "--unshare-ipc", "--unshare-uts",     "--unshare-cgroup-try"};
  if (!spec.network) a.push_back("--unshare-net");
  // What runs inside before ARGV: the switch to the sandbox user, or the process limit.
  std::vector<std::string> prefix;
  if (spec.user) {
    // As root: no user namespace (it would map the task to root outside). bwrap keeps
    // only what setpriv needs to become the sandbox user, who then has no capability
    // at all: it cannot remount a read-only bind, and can still start sandboxes of its
    // own (Codex runs its commands under bwrap) through a user namespace of its own.
    a.insert(a.end(), {"--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                       "--cap-add", "CAP_SETPCAP"});
    // By absolute path, from the host's read-only /usr: a `setpriv` found through
    // PATH could be one the task planted, and would run as root with CAP_SETUID.
    prefix = {system_program("setpriv"),
              "--reuid",
              std::to_string(spec.user->uid),
              "--regid",
              std::to_string(spec.user->gid),
              "--clear-groups",
              "--inh-caps=-all",
              "--bounding-set=-all",
              "--"};
    // Nor may the dynamic loader's variables reach bwrap (root on the host) or setpriv
    // (root inside): they are emptied for both and given back to the task by `env`
    // once it is the sandbox user.
    std::vector<std::string> loader = loader_variables(process.env);
    if (!loader.empty()) {
      for (const std::string& entry : loader) process.env[entry.substr(0, entry.find('='))] = "";
      prefix.push_back(system_program("env"));
      prefix.push_back("--");
      prefix.insert(prefix.end(), loader.begin(), loader.end());
    }
  } else if (geteuid() == 0) {
    // Root without a sandbox user (a caller that did not pick one): the former
    // confinement, a user namespace mapping uid 1000 to root, without capabilities.
    a.insert(a.end(), {"--unshare-user", "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL"});
  } else {
    // Without root RLIMIT_NPROC would count every process of the invoking user; inside
    // bwrap's user namespace it counts the sandbox's own.
    prefix = {system_program("prlimit"), "--nproc=" + std::to_string(spec.limits.pids), "--"};
  }
  for (const char* dir : kSystemDirs) {
    fs::path p(dir);
    if (fs::is_symlink(p, ec)) {
      a.insert(a.end(), {"--symlink", fs::read_symlink(p, ec).string(), dir});
    } else if (fs::is_directory(p, ec)) {
      a.insert(a.end(), {"--ro-bind", dir, dir});
    }
  }
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size",
                     std::to_string(spec.tmp_bytes), "--tmpfs", "/tmp"});

  // Binds in path order, so that a directory is mounted before anything inside it;
  // a path both readable and writable is writable.
  enum class Mount { kReadOnly, kWritable, kHidden };
  std::map<std::string, Mount> binds;
  for (const std::string& p : granted.readable) {
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
  // The directories leading to mount points are made by bwrap in its own root (or,
  // under /tmp, in the private tmpfs). Made here first, mode 0555: searchable by the
  // sandbox user (bwrap would make them 0700, root's), and read-only, so that writing
  // "into the repository" under /tmp fails rather than succeeding in a copy that
  // vanishes.
  std::vector<std::string> targets;
  for (const auto& [path, mount] : binds) targets.push_back(path);
  for (const auto& [copy, inside] : granted.copied) targets.push_back(normal(inside));
  std::set<std::string> leading;
  for (const std::string& path : targets) {
    for (fs::path d = fs::path(path).parent_path(); d.string() != "/tmp" && d != d.parent_path();
         d = d.parent_path()) {
      if (is_system(d.string())) break;
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
  for (const auto& [host, relative] : granted.home_files) {
    if (spec.home.empty() || !fs::is_regular_file(host, ec)) continue;
    a.insert(a.end(), {"--ro-bind", host, (fs::path(spec.home) / relative).string()});
  }
  for (const auto& [copy, inside] : granted.copied) a.insert(a.end(), {"--ro-bind", copy, inside});
  if (spec.user && !spec.home.empty()) {
    // Names for the sandbox user and group, for tools that ask (os.userInfo()).
    std::string passwd = spec.home + ".passwd", group = spec.home + ".group";
    std::string uid = std::to_string(spec.user->uid), gid = std::to_string(spec.user->gid);
    if (auto r = write_file(
            passwd, with_entry("/etc/passwd", "baton:x:" + uid + ":" + gid +
                                                  ":baton sandbox:" + spec.home + ":/bin/sh"));
        !r) {
      return r;
    }
    if (auto r = write_file(group, with_entry("/etc/group", "baton:x:" + gid + ":")); !r) return r;
    a.insert(a.end(), {"--ro-bind", passwd, "/etc/passwd", "--ro-bind", group, "/etc/group"});
  }
  // The sandbox's root is bwrap's own tmpfs: read-only, so that a write anywhere not
  // mounted fails instead of landing in a file system that vanishes.
  a.insert(a.end(), {"--remount-ro", "/", "--chdir", spec.workdir, "--"});
  a.insert(a.end(), prefix.begin(), prefix.end());
  a.insert(a.end(), process.argv.begin(), process.argv.end());
  process.argv = std::move(a);
  process.rlimits = rlimits_for(spec.limits, /*with_nproc=*/spec.user.has_value());
  if (spec.user) {
    process.umask = 002;
    // git inside refuses a worktree owned by another user (root) unless told, and
    // listens only to protected configuration: the command line's, which these are.
    // The only repositories the task can reach are its own.
    int n = 0;
    if (auto it = process.env.find("GIT_CONFIG_COUNT"); it != process.env.end()) {
      n = std::atoi(it->second.c_str());
    }
    process.env["GIT_CONFIG_KEY_" + std::to_string(n)] = "safe.directory";
    process.env["GIT_CONFIG_VALUE_" + std::to_string(n)] = "*";
    process.env["GIT_CONFIG_COUNT"] = std::to_string(n + 1);
  }
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
