#include "serve/launcher.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "isolation/command.h"

extern char** environ;

namespace baton::serve {

namespace {

std::mutex g_mu;
std::set<int> g_running;  // detached children not reaped yet

}  // namespace

Result<CommandResult> run_baton(const std::string& baton, const std::vector<std::string>& args,
                                const std::string& cwd, double timeout_s) {
  std::vector<std::string> argv{baton};
  argv.insert(argv.end(), args.begin(), args.end());
  isolation::CommandOptions options;
  options.cwd = cwd;
  options.timeout_s = timeout_s;
  options.max_output_bytes = 64u << 10;
  auto out = isolation::run_command(argv, options);
  if (!out) return tl::unexpected(out.error());
  return CommandResult{out->exit_code, out->err + out->out};
}

Result<int> start_baton_detached(const std::string& baton, const std::vector<std::string>& args,
                                 const std::string& cwd, const std::string& log_path) {
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log < 0) return fail(log_path + ": " + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log, 1);
  posix_spawn_file_actions_adddup2(&actions, log, 2);
  // Nothing else of the server's: cpp-httplib's sockets are not close-on-exec, and a
  // run that held a client's connection (an SSE stream) would keep it open after the
  // server died, so the client would never reconnect.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session: the server's terminal, signals and death never reach it; and the
  // signal mask and dispositions are the defaults, not the server's.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> argv_s{baton};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, baton.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(log);
  if (rc != 0) return fail("cannot start " + baton + ": " + std::strerror(rc));
  {
    std::lock_guard lock(g_mu);
    g_running.insert(pid);
  }
  std::thread([pid] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::lock_guard lock(g_mu);
    g_running.erase(pid);
  }).detach();
  return static_cast<int>(pid);
}

bool detached_running(int pid) {
  std::lock_guard lock(g_mu);
  return g_running.count(pid) > 0;
}

}  // namespace baton::serve
