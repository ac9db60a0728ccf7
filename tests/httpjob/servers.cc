#include "servers.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "util/held_port.h"

extern char** environ;

namespace baton::testing {

namespace fs = std::filesystem;
using nlohmann::json;

std::unique_ptr<ServerProcess> ServerProcess::start(const Options& options, std::string* error) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  int out[2] = {-1, -1};
  if (options.port == 0 && ::pipe(out) != 0) {
    *error = "pipe failed";
    return nullptr;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int log = ::open(options.log_path.empty() ? "/dev/null" : options.log_path.c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  posix_spawn_file_actions_adddup2(&fa, out[1] >= 0 ? out[1] : log, 1);
  posix_spawn_file_actions_adddup2(&fa, log, 2);
  if (out[0] >= 0) posix_spawn_file_actions_addclose(&fa, out[0]);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (!options.env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawnp(&server->pid_, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(log);
  if (out[1] >= 0) ::close(out[1]);
  if (rc != 0) {
    if (out[0] >= 0) ::close(out[0]);
    server->pid_ = -1;
    *error = "cannot start " + options.argv[0];
    return nullptr;
  }
  if (options.port == 0) {
    std::string line;
    char c;
    while (line.size() < 200 && ::read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    ::close(out[0]);
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("port")) {
      *error = options.argv.back() + " printed '" + line + "' instead of {\"port\":N}";
      return nullptr;
    }
    server->port_ = j["port"].get<int>();
    return server;
  }
  server->port_ = options.port;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(options.start_timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    httplib::Client c("127.0.0.1", server->port_);
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(5, 0);
    if (auto res = c.Get(options.ready_path); res && res->status == 200) return server;
    if (::waitpid(server->pid_, nullptr, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      *error = options.argv[0] + " exited before it was ready (see " + options.log_path + ")";
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *error = options.argv[0] + " was not ready in " + std::to_string(options.start_timeout_s) +
           " s (see " + options.log_path + ")";
  return nullptr;
}

ServerProcess::~ServerProcess() { stop(); }

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string ServerProcess::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

json ServerProcess::get_json(const std::string& path) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(10, 0);
  auto res = c.Get(path);
  if (!res) return json();
  return json::parse(res->body, nullptr, false);
}

json ServerProcess::post_json(const std::string& path, const json& body) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(10, 0);
  auto res = c.Post(path, body.dump(), "application/json");
  if (!res) return json();
  return json::parse(res->body, nullptr, false);
}

std::unique_ptr<ServerProcess> start_crewai_standin(std::string* error) {
  ServerProcess::Options o;
  o.argv = {"node", std::string(BATON_SOURCE_DIR) + "/tests/crewai/server.mjs"};
  return ServerProcess::start(o, error);
}

std::unique_ptr<ServerProcess> start_langgraph_server(const std::string& log_path,
                                                      std::string* error) {
  std::string dir = (fs::path(BATON_BINARY).parent_path() / "langgraph-server").string();
  std::string cli = dir + "/node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs";
  if (!fs::exists(cli)) {
    *error = "the LangGraph server is not installed (" + cli + "): run scripts/setup-langgraph";
    return nullptr;
  }
  ServerProcess::Options o;
  o.port = free_port();
  o.argv = {"node",   cli,         "dev",          "--port",   std::to_string(o.port),
            "--host", "127.0.0.1", "--no-browser", "--config", dir + "/langgraph.json"};
  o.cwd = dir;
  o.env = {{"LANGGRAPH_CLI_NO_ANALYTICS", "1"}, {"LANGSMITH_TRACING", "false"},
           {"LANGCHAIN_TRACING_V2", "false"},   {"LANGSMITH_TRACING_V2", "false"},
           {"LANGCHAIN_TRACING", "false"},      {"NO_COLOR", "1"}};
  o.log_path = log_path;
  o.ready_path = "/ok";
  return ServerProcess::start(o, error);
}

}  // namespace baton::testing
