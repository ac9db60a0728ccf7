#include "agents/invoker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "agents/builtin.h"
#include "agents/custom.h"
#include "agents/output_parsing.h"

extern char** environ;

namespace baton::agents {

const char* to_string(ErrorClass error_class) {
  switch (error_class) {
    case ErrorClass::kNone:
      return "";
    case ErrorClass::kAuth:
      return "auth";
    case ErrorClass::kRateLimit:
      return "rate_limit";
    case ErrorClass::kTimeout:
      return "timeout";
    case ErrorClass::kTransient:
      return "transient";
    case ErrorClass::kPermanent:
      return "permanent";
    case ErrorClass::kCancelled:
      return "cancelled";
  }
  return "";
}

ErrorClass error_class_named(std::string_view name) {
  for (ErrorClass c :
       {ErrorClass::kNone, ErrorClass::kAuth, ErrorClass::kRateLimit, ErrorClass::kTimeout,
        ErrorClass::kTransient, ErrorClass::kPermanent, ErrorClass::kCancelled}) {
    if (name == to_string(c)) return c;
  }
  return ErrorClass::kPermanent;
}

const Invoker* builtin_invoker(const std::string& name) {
  static const std::map<std::string, const Invoker*> invokers = {
      {"auggie", &auggie_invoker()},     {"claude", &claude_invoker()},
      {"codex", &codex_invoker()},       {"copilot", &copilot_invoker()},
      {"cursor", &cursor_invoker()},     {"gemini", &gemini_invoker()},
      {"kilocode", &kilocode_invoker()}, {"opencode", &opencode_invoker()},
      {"qwen", &qwen_invoker()}};
  auto it = invokers.find(name);
  return it == invokers.end() ? nullptr : it->second;
}

const std::vector<std::string>& builtin_agent_names() {
  // Seed 004's list (WP02/WP03/WP07).
  static const std::vector<std::string> names = {
      "auggie", "claude", "codex", "copilot", "cursor", "gemini", "kilocode", "opencode", "qwen"};
  return names;
}

const Invoker* find_invoker(const std::string& name) {
  if (const Invoker* builtin = builtin_invoker(name)) return builtin;
  return find_custom_invoker(name);
}

namespace {

// Built-in and registered custom names, sorted; custom.cc refreshes it on
// registration (under its registry's mutex).
std::vector<std::string>& known_names() {
  static std::vector<std::string>* names = new std::vector<std::string>(builtin_agent_names());
  return *names;
}

}  // namespace

void refresh_known_agent_names(const std::vector<std::string>& custom_names) {
  std::vector<std::string> names = builtin_agent_names();
  names.insert(names.end(), custom_names.begin(), custom_names.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  known_names() = std::move(names);
}

const std::vector<std::string>& known_agent_names() { return known_names(); }

namespace {

std::string find_in_path(const std::string& executable) {
  auto is_exec = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (executable.find('/') != std::string::npos) return is_exec(executable) ? executable : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + executable;
    if (is_exec(candidate)) return candidate;
  }
  return "";
}

// Runs PATH --version with stdin from /dev/null, collecting stdout and stderr for
// at most TIMEOUT_S seconds; the process group is killed and reaped after that, and
// *TIMED_OUT set.
std::string run_version(const std::string& path, double timeout_s, bool* timed_out_out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::string arg0 = path;
  std::string arg1 = "--version";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return "";
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  bool timed_out = false;
  while (out.size() < 65536) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    char buf[4096];
    ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  *timed_out_out = timed_out;
  if (timed_out) return "";
  size_t b = out.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = out.find('\n', b);
  std::string line = out.substr(b, e == std::string::npos ? std::string::npos : e - b);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// The version of the npm package PATH belongs to, as "VERSION (npm NAME)", when PATH's
// real path lies in node_modules/NAME/ (NAME may be @scope/name) and that package's
// package.json gives a name and a version; "" otherwise. Reading one small file costs
// nothing next to starting node for `--version` (0.2 to 4 s of CPU each).
std::string npm_package_version(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return "";
  std::string resolved = real;
  ::free(real);
  const std::string marker = "/node_modules/";
  size_t at = resolved.rfind(marker);
  if (at == std::string::npos) return "";
  size_t start = at + marker.size();
  size_t slash = resolved.find('/', start);
  if (slash == std::string::npos) return "";
  if (resolved[start] == '@') {  // a scoped package: @scope/name
    slash = resolved.find('/', slash + 1);
    if (slash == std::string::npos) return "";
  }
  std::ifstream in(resolved.substr(0, slash) + "/package.json");
  if (!in) return "";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto package = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  std::string name = string_field(package, "name");
  std::string version = string_field(package, "version");
  if (name.empty() || version.empty()) return "";
  return version + " (npm " + name + ")";
}

}  // namespace

std::string find_executable(const std::string& executable) { return find_in_path(executable); }

Detection detect(const std::string& executable) { return detect(executable, 5.0); }

Detection detect(const std::string& executable, double timeout_s) {
  Detection d;
  d.path = find_in_path(executable);
  if (d.path.empty()) return d;
  d.installed = true;
  d.version = npm_package_version(d.path);
  if (d.version.empty()) d.version = run_version(d.path, timeout_s, &d.timed_out);
  return d;
}

Health health_of(const Detection& detection, double timeout_s) {
  Health h;
  if (!detection.installed) {
    h.detail = "not found in PATH";
  } else if (detection.timed_out) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout_s);
    h.detail = "`--version` did not answer within " + std::string(seconds) + " s";
  } else {
    h.healthy = true;
    h.detail = detection.version.empty() ? detection.path : detection.version;
  }
  return h;
}

Health Invoker::health(double timeout_s) const {
  return health_of(detect(executable(), timeout_s), timeout_s);
}

std::vector<Detection> detect_all(const std::vector<std::string>& executables,
                                  const ProbeOptions& options) {
  std::vector<Detection> out(executables.size());
  std::mutex mu;  // guards running, done and the on_progress calls
  std::vector<bool> running(executables.size(), false);
  size_t done = 0;
  auto report = [&] {
    if (!options.on_progress) return;
    ProbeProgress p;
    p.done = done;
    p.total = executables.size();
    for (size_t i = 0; i < executables.size(); ++i) {
      if (running[i]) p.running.push_back(executables[i]);
    }
    options.on_progress(p);
  };
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < executables.size(); i = next++) {
      {
        std::lock_guard<std::mutex> lock(mu);
        running[i] = true;
      }
      Detection d = detect(executables[i], options.timeout_s);
      std::lock_guard<std::mutex> lock(mu);
      out[i] = std::move(d);
      running[i] = false;
      ++done;
      report();
    }
  };
  size_t workers = std::min(std::max<size_t>(options.max_parallel, 1), executables.size());
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (size_t w = 0; w < workers; ++w) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
  return out;
}

}  // namespace baton::agents
