#include "isolation/command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace baton::isolation {

namespace {

// Closes the fds it holds on destruction (both ends of the pipes, on every path).
struct Fds {
  int fd[4] = {-1, -1, -1, -1};  // out read, out write, err read, err write
  ~Fds() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  void close_at(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

std::vector<std::string> child_env(const CommandOptions& options) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (options.env.count(name)) continue;
    if (std::find(options.unset_env.begin(), options.unset_env.end(), name) !=
        options.unset_env.end()) {
      continue;
    }
    bool dropped = false;
    for (const std::string& prefix : options.unset_env_prefixes) {
      dropped = dropped || name.compare(0, prefix.size(), prefix) == 0;
    }
    if (dropped) continue;
    out.push_back(std::move(entry));
  }
  for (const auto& [name, value] : options.env) out.push_back(name + "=" + value);
  return out;
}

std::string command_name(const std::vector<std::string>& argv) {
  std::string name = "'" + argv[0];
  if (argv.size() > 1) name += " " + argv[1];
  return name + "'";
}

}  // namespace

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const CommandOptions& options) {
  if (argv.empty()) return fail("run_command: empty argv");
  Fds fds;
  if (pipe2(fds.fd, O_CLOEXEC) != 0 || pipe2(fds.fd + 2, O_CLOEXEC) != 0) {
    return tl::unexpected(Error::from_errno("pipe2", errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!options.inherit_output) {
    posix_spawn_file_actions_adddup2(&actions, fds.fd[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds.fd[3], 2);
  }
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> env = child_env(options);
  std::vector<char*> envp, args;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::string where = options.cwd.empty() ? "" : " in " + options.cwd;
    return fail("cannot run '" + argv[0] + "'" + where + ": " + std::strerror(rc), rc);
  }
  fds.close_at(1);
  fds.close_at(3);

  CommandOutput result;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000));
  bool timed_out = false;
  char buf[65536];
  while (fds.fd[0] >= 0 || fds.fd[2] >= 0) {
    pollfd p[2] = {{fds.fd[0], POLLIN, 0}, {fds.fd[2], POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(p, 2, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      timed_out = true;  // cannot wait any more: treat like a timeout (kill, reap)
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      ssize_t got = read(p[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds.close_at(i * 2);
        continue;
      }
      std::string& sink = i == 0 ? result.out : result.err;
      size_t room = options.max_output_bytes - std::min(options.max_output_bytes, sink.size());
      sink.append(buf, std::min(room, static_cast<size_t>(got)));
    }
  }
  // The pipes are closed; the command may still run (it closed them, or they were
  // never its output): wait for its end, still within the time limit.
  if (!timed_out) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
      for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        pollfd p{pidfd, POLLIN, 0};
        int n = left > 0 ? poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000))) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n == 1) break;
        if (std::chrono::steady_clock::now() >= deadline) {
          timed_out = true;
          break;
        }
      }
      close(pidfd);
    }
  }
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    char secs[32];
    snprintf(secs, sizeof secs, "%gs", options.timeout_s);
    return fail(command_name(argv) + " timed out after " + secs);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace baton::isolation
