#include "a2a_server_util.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

extern char** environ;

namespace baton::testing {

using nlohmann::json;
namespace fs = std::filesystem;

A2aServer::A2aServer(const std::vector<std::string>& extra_env) {
  std::string dir = (fs::path(BATON_BINARY).parent_path() / "a2a-server").string();
  std::string script = dir + "/server.mjs";
  if (!fs::exists(dir + "/node_modules/@a2a-js/sdk")) {
    ADD_FAILURE() << "the A2A test server is not installed: run scripts/setup-a2a";
    return;
  }
  int out[2];
  if (::pipe(out) != 0) return;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::vector<std::string> args = {"node", script};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = extra_env;
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  if (posix_spawnp(&pid_, "node", &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
  for (const std::string& e : extra_env) {
    if (e.rfind("A2A_TEST_CA=", 0) == 0) ca_ = e.substr(12);
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  std::string line;
  char c;
  while (line.size() < 200 && ::read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  ::close(out[0]);
  json j = json::parse(line, nullptr, false);
  if (j.is_object() && j.contains("port")) port_ = j["port"].get<int>();
  EXPECT_GT(port_, 0) << "the A2A server printed: " << line;
}

A2aServer::~A2aServer() { stop(); }

void A2aServer::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

std::string A2aServer::url(const std::string& agent, const std::string& scheme) const {
  return scheme + "://127.0.0.1:" + std::to_string(port_) + "/" + agent + "/";
}

json A2aServer::stats() const {
  if (!ca_.empty()) {  // over TLS, trusting the test's CA
    httplib::Client c("https://127.0.0.1:" + std::to_string(port_));
    c.set_ca_cert_path(ca_.c_str());
    auto res = c.Get("/stats");
    if (!res) return json::object();
    json j = json::parse(res->body, nullptr, false);
    return j.is_object() ? j : json::object();
  }
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(5, 0);
  auto res = c.Get("/stats");
  if (!res) return json::object();
  json j = json::parse(res->body, nullptr, false);
  return j.is_object() ? j : json::object();
}

int A2aServer::calls(const std::string& method) const {
  json s = stats();
  return s.contains("calls") ? s["calls"].value(method, 0) : 0;
}

void A2aServer::fault(const json& body) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(5, 0);
  auto res = c.Post("/fault", body.dump(), "application/json");
  EXPECT_TRUE(res && res->status == 200) << "POST /fault " << body.dump();
}

}  // namespace baton::testing
