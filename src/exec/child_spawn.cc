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
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

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

// Field 22 of /proc/self/stat (the start time in clock ticks), 0 when unreadable.
long long own_start_ticks() {
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = nullptr;
  for (const char* q = buf; *q != '\0'; ++q) {
    if (*q == ')') p = q;  // comm may hold ')': fields count from the last one
  }
  if (p == nullptr) return 0;
  ++p;
  for (int field = 3; field < 22; ++field) {
    while (*p == ' ') ++p;
    while (*p != ' ' && *p != '\0') ++p;
  }
  while (*p == ' ') ++p;
  long long ticks = 0;
  while (*p >= '0' && *p <= '9') ticks = ticks * 10 + (*p++ - '0');
  return ticks;
}

[[noreturn]] void child_fail(ChildArgs* a, Stage stage, int error) {
  a->stage = stage;
  a->error = error;
  ::_exit(127);
}

int child_main(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  if (::setsid() < 0) child_fail(a, kSetsid, errno);
  // Dies with the supervisor; the check closes the race with a supervisor that died
  // before the prctl.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != a->parent) child_fail(a, kSetsid, ESRCH);
  // The supervisor ignores SIGPIPE and blocks the signals it reads from its signalfd;
  // the child starts with every disposition at its default and an empty mask.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(a->in, 0) < 0 || ::dup2(a->out, 1) < 0 || ::dup2(a->err, 2) < 0) {
    child_fail(a, kSetsid, errno);
  }
  // The "started" record, before anything of the task's can run: an attempt whose
  // record is missing never ran.
  char record[1024];
  if (a->head_len + 64 > sizeof record) child_fail(a, kRecord, E2BIG);
  std::memcpy(record, a->head, a->head_len);
  char* end = put_number(record + a->head_len, ::getpid());
  static constexpr char kStart[] = ",\"child_start\":";
  std::memcpy(end, kStart, sizeof kStart - 1);
  end = put_number(end + sizeof kStart - 1, own_start_ticks());
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
  std::vector<char*> envp;
  envp.reserve(launch.env.size() + 1);
  for (const std::string& entry : launch.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  ChildArgs args{};
  args.argv = argv.data();
  args.sh_argv = sh_argv.empty() ? nullptr : sh_argv.data();
  args.envp = envp.data();
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
  args.parent = ::getpid();

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
