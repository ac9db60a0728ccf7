// launch_child: clone(CLONE_VM|CLONE_VFORK) onto a stack of our own, as glibc's
// posix_spawn does; the child runs child_main below and may only make async-signal-safe
// calls (it shares the supervisor's memory until it execs).
#include "exec/child_spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace baton::exec {
namespace {

// Where the child failed (ChildArgs::stage).
enum Stage : int { kNone = 0, kChdir, kExec, kRlimit, kSetsid, kRecord };

struct ChildArgs {
  char* const* argv;
  char* const* sh_argv;  // {"/bin/sh", program, argv[1..]}: a script without "#!"
  char* const* envp;
  const char* program;  // nullptr = execvpe(argv[0])
  const char* cwd;      // nullptr = unchanged
  int in, out, err;
  const std::pair<int, rlimit>* restore;
  size_t restore_count;
  const ResourceLimit* limits;
  size_t limit_count;
  int umask;
  int record_fd;
  const char* head;
  size_t head_len;
  long long child_start;
  pid_t parent;
  // Written by the child, read by the parent once the clone returned.
  int stage;
  int error;
  int exec_errno;
};

// Appends the decimal digits of VALUE (>= 0) to OUT; returns the new end.
char* put_number(char* out, long long value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 24);
  while (n > 0) *out++ = digits[--n];
  return out;
}

[[noreturn]] void child_fail(ChildArgs* a, Stage stage, int error) {
  a->stage = stage;
  a->error = error;
  ::_exit(127);
}

int child_main(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  // The new session's id is the child's pid: no getpid(2).
  const pid_t self = ::setsid();
  if (self < 0) child_fail(a, kSetsid, errno);
  // Dies with the supervisor; the check closes the race with a supervisor that died
  // before the prctl.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != a->parent) child_fail(a, kSetsid, ESRCH);
  // The supervisor blocks SIGPIPE and the signals it reads from its signalfd, and
  // ignores none: the child starts with every disposition at its default (exec resets
  // handlers) once its mask is empty.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // The supervisor's own fd 0 is /dev/null: a stdin of /dev/null is already in place.
  if ((a->in != 0 && ::dup2(a->in, 0) < 0) || ::dup2(a->out, 1) < 0 || ::dup2(a->err, 2) < 0) {
    child_fail(a, kSetsid, errno);
  }
  // The "started" record, before anything of the task's can run: an attempt whose
  // record is missing never ran.
  char record[1024];
  if (a->head_len + 64 > sizeof record) child_fail(a, kRecord, E2BIG);
  std::memcpy(record, a->head, a->head_len);
  char* end = put_number(record + a->head_len, self);
  static constexpr char kStart[] = ",\"child_start\":";
  std::memcpy(end, kStart, sizeof kStart - 1);
  end = put_number(end + sizeof kStart - 1, a->child_start);
  *end++ = '}';
  *end++ = '\n';
  const char* p = record;
  while (p < end) {
    ssize_t n = ::write(a->record_fd, p, static_cast<size_t>(end - p));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) child_fail(a, kRecord, n < 0 ? errno : EIO);
    p += n;
  }
  for (size_t i = 0; i < a->restore_count; ++i) {
    if (::setrlimit(a->restore[i].first, &a->restore[i].second) != 0) {
      child_fail(a, kRlimit, errno);
    }
  }
  for (size_t i = 0; i < a->limit_count; ++i) {
    rlimit value{static_cast<rlim_t>(a->limits[i].value), static_cast<rlim_t>(a->limits[i].value)};
    if (::setrlimit(a->limits[i].resource, &value) != 0) child_fail(a, kRlimit, errno);
  }
  if (a->umask >= 0) ::umask(static_cast<mode_t>(a->umask));
  if (a->cwd != nullptr && ::chdir(a->cwd) != 0) child_fail(a, kChdir, errno);
  if (a->program != nullptr) {
    ::execve(a->program, a->argv, a->envp);
    const int e = errno;
    if (e == ENOEXEC) ::execve("/bin/sh", a->sh_argv, a->envp);  // as execvp(3) does
    a->exec_errno = e;
    if (e != ENOENT && e != EACCES && e != ENOTDIR) child_fail(a, kExec, e);
  }
  // Not cached, or the cached file is gone: the full search, in the child's PATH.
  environ = const_cast<char**>(a->envp);  // restored by the parent after the clone
  ::execvpe(a->argv[0], a->argv, a->envp);
  child_fail(a, kExec, errno);
}

// The child's stack. The supervisor is one thread and waits for each child to exec, so
// one stack serves every launch.
alignas(64) char g_child_stack[128 * 1024];

std::string lower_strerror(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

}  // namespace

std::string ProgramCache::resolve(const std::string& path_value, const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  if (name.empty()) return "";
  std::string key;
  key.reserve(path_value.size() + 1 + name.size());
  key.append(path_value).push_back('\0');
  key.append(name);
  if (auto it = found_.find(key); it != found_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  std::string_view dirs = path_value.empty() ? std::string_view("/bin:/usr/bin") : path_value;
  while (true) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    // A relative entry (or "", the current directory) depends on the child's directory.
    if (dir.empty() || dir.front() != '/') return "";
    std::string candidate(dir);
    if (candidate.back() != '/') candidate.push_back('/');
    candidate.append(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      found_.emplace(std::move(key), candidate);
      return candidate;
    }
    if (colon == std::string_view::npos) return "";
    dirs.remove_prefix(colon + 1);
  }
}

void ProgramCache::forget(const std::string& path_value, const std::string& name) {
  std::string key = path_value;
  key.push_back('\0');
  key.append(name);
  found_.erase(key);
}

namespace {

std::string_view key_of(const char* entry) {
  const char* eq = std::strchr(entry, '=');
  return eq != nullptr ? std::string_view(entry, static_cast<size_t>(eq - entry))
                       : std::string_view(entry);
}

}  // namespace

std::vector<const char*> merge_environment(const std::vector<std::string>& base,
                                           const std::vector<std::string>& overrides) {
  std::vector<const char*> extra;
  extra.reserve(overrides.size());
  for (const std::string& entry : overrides) extra.push_back(entry.c_str());
  std::stable_sort(extra.begin(), extra.end(),
                   [](const char* x, const char* y) { return key_of(x) < key_of(y); });
  std::vector<const char*> out;
  out.reserve(base.size() + extra.size() + 1);
  size_t next = 0;  // the first override not yet placed
  for (const std::string& entry : base) {
    const std::string_view key = key_of(entry.c_str());
    while (next < extra.size() && key_of(extra[next]) < key) out.push_back(extra[next++]);
    const bool replaced =
        std::binary_search(extra.begin(), extra.end(), entry.c_str(),
                           [](const char* x, const char* y) { return key_of(x) < key_of(y); });
    if (!replaced) out.push_back(entry.c_str());
  }
  while (next < extra.size()) out.push_back(extra[next++]);
  out.push_back(nullptr);
  return out;
}

std::string path_in(const std::vector<const char*>& envp) {
  for (const char* entry : envp) {
    if (entry != nullptr && std::strncmp(entry, "PATH=", 5) == 0) return entry + 5;
  }
  return "";
}

Result<LaunchResult> launch_child(const ChildLaunch& launch) {
  std::vector<char*> argv;
  argv.reserve(launch.argv.size() + 1);
  for (const std::string& arg : launch.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> sh_argv;
  if (!launch.program.empty()) {
    sh_argv.reserve(launch.argv.size() + 2);
    sh_argv.push_back(const_cast<char*>("/bin/sh"));
    sh_argv.push_back(const_cast<char*>(launch.program.c_str()));
    for (size_t i = 1; i < launch.argv.size(); ++i) sh_argv.push_back(argv[i]);
    sh_argv.push_back(nullptr);
  }
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  ChildArgs args{};
  args.argv = argv.data();
  args.sh_argv = sh_argv.empty() ? nullptr : sh_argv.data();
  args.envp = const_cast<char* const*>(launch.envp.data());
  args.program = launch.program.empty() ? nullptr : launch.program.c_str();
  args.cwd = launch.cwd.empty() ? nullptr : launch.cwd.c_str();
  args.in = launch.stdin_fd;
  args.out = launch.stdout_fd;
  args.err = launch.stderr_fd;
  args.restore = launch.restore.data();
  args.restore_count = launch.restore.size();
  args.limits = launch.rlimits.data();
  args.limit_count = launch.rlimits.size();
  args.umask = launch.umask;
  args.record_fd = launch.record_fd;
  args.head = launch.record_head.data();
  args.head_len = launch.record_head.size();
  args.parent = launch.parent_pid;
  // The child's start time as /proc/PID/stat field 22 will show it (CLOCK_BOOTTIME in
  // clock ticks, truncated), read before the clone: the same tick or one less.
  timespec boot{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  if (ticks_per_second > 0) {
    args.child_start = static_cast<long long>(boot.tv_sec) * ticks_per_second +
                       boot.tv_nsec / (1000000000L / ticks_per_second);
  }

  char** saved_environ = environ;
  int pid = ::clone(child_main, g_child_stack + sizeof g_child_stack,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  const int clone_errno = errno;
  environ = saved_environ;  // the child may have pointed it at its own environment
  if (pid < 0) return tl::unexpected(Error::from_errno("clone", clone_errno));

  LaunchResult result;
  result.exec_errno = args.exec_errno;
  if (args.stage == kNone) {
    result.pid = pid;
    return result;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  switch (args.stage) {
    case kChdir:
      result.error =
          "cannot enter working directory " + launch.cwd + ": " + std::strerror(args.error);
      break;
    case kRlimit:
      result.error = std::string("cannot set the resource limits: ") + std::strerror(args.error);
      break;
    case kExec:
      result.error = lower_strerror(args.error) + ": " + launch.argv[0];
      break;
    case kRecord:
      result.error =
          std::string("cannot write the attempt's started record: ") + std::strerror(args.error);
      break;
    default:
      result.error = std::string("cannot set up the child: ") + std::strerror(args.error);
      break;
  }
  return result;
}

}  // namespace baton::exec
