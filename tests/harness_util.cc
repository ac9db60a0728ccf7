#include "harness_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace baton::testing {

namespace fs = std::filesystem;

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/baton-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) std::abort();
  path_ = fs::canonical(buf.data()).string();
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ScratchDir::write(const std::string& name, const std::string& content) const {
  fs::path p = fs::path(path_) / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

std::string ScratchDir::read(const std::string& name) const {
  return read_file((fs::path(path_) / name).string());
}

bool ScratchDir::exists(const std::string& name) const {
  return fs::exists(fs::path(path_) / name);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<nlohmann::json> control_records(const std::string& path) {
  std::string key = std::filesystem::path(path).filename().string();
  if (key.ends_with(".attempt")) key.resize(key.size() - std::string_view(".attempt").size());
  std::vector<nlohmann::json> out;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("key") && j["key"] != key) continue;  // another attempt's, in the journal
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json started_record(const std::string& path) {
  nlohmann::json found;
  eventually([&] {
    for (const nlohmann::json& r : control_records(path)) {
      if (r.value("record", "") == "started") found = r;
    }
    return !found.is_null();
  });
  return found;
}

std::string source_dir() { return BATON_SOURCE_DIR; }

std::map<std::string, std::string> agent_path() {
  std::string bin = source_dir() + "/.agents/node_modules/.bin";
  const char* path = std::getenv("PATH");
  return {{"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")}};
}

BatonProcess::BatonProcess(const std::vector<std::string>& args, const std::string& cwd,
                           const std::map<std::string, std::string>& env) {
  fs::create_directories(fs::path(cwd) / ".out");
  static int counter = 0;
  std::string stem = (fs::path(cwd) / ".out" / std::to_string(++counter)).string();
  out_path_ = stem + ".stdout";
  err_path_ = stem + ".stderr";
  std::vector<std::string> argv_s{BATON_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_s;
  for (auto& [k, v] : merged) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << strerror(rc);
    pid_ = -1;
  }
}

BatonProcess::~BatonProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void BatonProcess::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

Outcome BatonProcess::wait(double timeout_s) {
  Outcome out;
  if (pid_ <= 0) return out;
  int status = 0;
  // Wait for the exit as an event: a pidfd becomes readable when the process ends.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  bool exited = false;
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    exited = poll(&pfd, 1, static_cast<int>(timeout_s * 1000)) == 1;
    close(pidfd);
  }
  bool reaped = false;
  if (!exited) {
    reaped = waitpid(pid_, &status, WNOHANG) == pid_;
    if (!reaped) {
      kill(pid_, SIGKILL);
      ADD_FAILURE() << "baton did not exit within " << timeout_s << " s";
    }
  }
  if (!reaped) waitpid(pid_, &status, 0);
  reaped_ = true;
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out.out = read_file(out_path_);
  out.err = read_file(err_path_);
  return out;
}

Outcome run_baton(const std::vector<std::string>& args, const std::string& cwd,
                  const std::map<std::string, std::string>& env, double timeout_s) {
  BatonProcess p(args, cwd, env);
  return p.wait(timeout_s);
}

Outcome run_command(const std::vector<std::string>& argv, const std::string& cwd) {
  std::string out_path = cwd + "/.command.stdout";
  std::string err_path = cwd + "/.command.stderr";
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  Outcome out;
  int rc = posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    out.err = std::string("posix_spawnp: ") + strerror(rc);
    return out;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out.out = read_file(out_path);
  out.err = read_file(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return out;
}

std::string git_sh(const std::string& dir, const std::string& script) {
  Outcome o = run_command({"/bin/sh", "-c",
                           "export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t "
                           "GIT_COMMITTER_EMAIL=t@t; " +
                               script},
                          dir);
  EXPECT_EQ(o.exit_code, 0) << script << "\n" << o.err;
  return o.out;
}

void make_flow_repo(const ScratchDir& dir, const std::string& flow) {
  dir.write("flow.yaml", flow);
  dir.write("README", "base\n");
  git_sh(dir.path(), "git init -q -b main && git add flow.yaml README && git commit -q -m init");
}

bool wait_for_file(const std::string& path, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fs::exists(path);
}

bool eventually(const std::function<bool()>& fn, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

bool process_alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  // A zombie still answers kill(0); look at its state.
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
}

nlohmann::json status_json(const ScratchDir& dir, const std::string& run_id) {
  std::vector<std::string> args{"status", "--json"};
  if (!run_id.empty()) args.insert(args.begin() + 1, run_id);
  Outcome o = run_baton(args, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  return nlohmann::json::parse(o.out, nullptr, false);
}

nlohmann::json last_run(const ScratchDir& dir) {
  nlohmann::json runs = status_json(dir);
  if (!runs.is_array() || runs.empty()) return nlohmann::json();
  return status_json(dir, runs[0]["id"].get<std::string>());
}

nlohmann::json task_of(const nlohmann::json& run, const std::string& id) {
  if (!run.contains("tasks")) return nlohmann::json::object();
  for (const auto& t : run["tasks"]) {
    if (t["id"] == id) return t;
  }
  return nlohmann::json::object();
}

std::vector<nlohmann::json> events_of(const ScratchDir& dir, const std::string& run_id) {
  Outcome o = run_baton({"audit", "export", run_id}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  std::vector<nlohmann::json> out;
  std::istringstream lines(o.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

int count_kind(const std::vector<nlohmann::json>& events, const std::string& kind) {
  int n = 0;
  for (const nlohmann::json& e : events) n += e.value("kind", "") == kind;
  return n;
}

}  // namespace baton::testing
