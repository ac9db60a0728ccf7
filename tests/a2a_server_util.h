// The scripted A2A server of tests/a2a/server.mjs (installed into the build directory
// by scripts/setup-a2a) as a process of the test: the A2A client tests
// (tests/a2a_test.cc) and the adapter contract suite (tests/contract/) use it.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>

namespace baton::testing {

/// The scripted A2A server, started by the constructor (node, 127.0.0.1, a free port)
/// and killed by stop() or the destructor. A server that cannot start fails the test.
class A2aServer {
 public:
  /// EXTRA_ENV: "NAME=VALUE" variables for the server besides the test's environment
  /// (A2A_TLS_CERT and A2A_TLS_KEY make it serve HTTPS; A2A_TEST_CA then names the CA
  /// that stats() trusts).
  explicit A2aServer(const std::vector<std::string>& extra_env = {});
  ~A2aServer();
  A2aServer(const A2aServer&) = delete;
  A2aServer& operator=(const A2aServer&) = delete;
  /// Whether it started and printed its port.
  bool running() const { return pid_ > 0 && port_ > 0; }
  /// Kills it (SIGKILL) and reaps it; idempotent.
  void stop();
  /// The base URL of the scripted agent AGENT ("v1-stream", "v03-poll", ...), with '/'.
  std::string url(const std::string& agent, const std::string& scheme = "http") const;
  /// GET /stats: {"calls":{METHOD:N},"cancels":N,"auth":[...],"running":N,"late":N};
  /// an empty object when it does not answer.
  nlohmann::json stats() const;
  /// How many calls of METHOD it answered.
  int calls(const std::string& method) const;
  /// POST /fault BODY ({"status":S,"times":K}, "reset":true first empties the queue).
  void fault(const nlohmann::json& body) const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string ca_;  // serving HTTPS: the CA of its certificate (A2A_TEST_CA), else ""
};

}  // namespace baton::testing
