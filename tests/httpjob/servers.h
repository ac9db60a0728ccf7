// The servers the HTTP job adapter's tests run against, as small reusable classes so
// that other suites (the adapter contract suite, tests/contract/) can start, script and
// stop the same servers:
//   - the real LangGraph Agent Server, `@langchain/langgraph-cli dev` with the
//     model-free graphs of tests/langgraph/graph.mjs (scripts/setup-langgraph installs
//     it into the build directory);
//   - a stand-in for a CrewAI deployed crew written from CrewAI's published OpenAPI
//     description (tests/crewai/server.mjs: CrewAI's service cannot run offline).
// Both bind 127.0.0.1 on a free port and run in a process group of their own, killed
// (the whole group) by the destructor.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace baton::testing {

/// A server process started for a test suite.
class ServerProcess {
 public:
  /// How to start one.
  struct Options {
    std::vector<std::string> argv;           ///< argv[0] is looked up in PATH
    std::string cwd;                         ///< "" = the current directory
    std::map<std::string, std::string> env;  ///< added to the environment
    std::string log_path;                    ///< stdout and stderr go here ("" = /dev/null)
    int port = 0;                            ///< 0: the server prints {"port":N} first
    std::string ready_path = "/";            ///< with a port: GET it until it answers 200
    double start_timeout_s = 120;            ///< how long it may take to be ready
  };

  /// Starts the server and waits until it is ready; nullptr with ERROR set otherwise.
  static std::unique_ptr<ServerProcess> start(const Options& options, std::string* error);

  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// The port it listens on (127.0.0.1).
  int port() const { return port_; }
  /// http://127.0.0.1:PORT (no trailing slash).
  std::string url() const;
  /// GET PATH, its answer parsed as JSON; null when it fails (10 s limit).
  nlohmann::json get_json(const std::string& path) const;
  /// POST BODY to PATH, its answer parsed as JSON; null when it fails (10 s limit).
  nlohmann::json post_json(const std::string& path, const nlohmann::json& body) const;
  /// Kills the process group (idempotent).
  void stop();

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
};

/// The CrewAI stand-in (tests/crewai/server.mjs). Its scenarios are chosen by the
/// prompt (SCENARIO:NAME); GET /stats counts kickoffs. Bearer token: crew-token.
std::unique_ptr<ServerProcess> start_crewai_standin(std::string* error);

/// The LangGraph dev server installed by scripts/setup-langgraph next to BATON_BINARY
/// (graphs "echo" and "chat"), with LangSmith tracing and CLI analytics turned off.
/// Its output goes to LOG_PATH. nullptr with ERROR naming the reason (not installed,
/// did not start in time).
std::unique_ptr<ServerProcess> start_langgraph_server(const std::string& log_path,
                                                      std::string* error);

}  // namespace baton::testing
