// The ACP client's terminals (agentclientprotocol.com, "Terminals"): `terminal/create`
// starts a command as a child of the bridge (so inside the attempt's sandbox), with
// its cwd confined to the task's directory and its output bounded; `terminal/output`,
// `terminal/wait_for_exit`, `terminal/kill` and `terminal/release` act on it by id.
// A command without args that is a shell line (whitespace or shell characters in it:
// Claude Code's adapter sends `echo x > f` so) runs as `/bin/sh -c COMMAND`.
#pragma once

#include <poll.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "acp/child.h"
#include "acp/jsonrpc.h"

namespace baton::acp {

/// The most output kept of one terminal, bytes (its outputByteLimit, if smaller, wins).
inline constexpr size_t kMaxTerminalOutputBytes = 1024 * 1024;
/// Terminals at once; terminal/create beyond this is an error.
inline constexpr size_t kMaxTerminals = 16;

/// The terminals of one bridge. Not thread-safe. Destruction kills every terminal's
/// process group and reaps it.
class Terminals {
 public:
  /// ROOT: the task's directory (a realpath); the default and the bound of every cwd.
  explicit Terminals(std::string root) : root_(std::move(root)) {}

  /// Handles request M (method terminal/...): the response to send now, or nullopt
  /// when it is answered later (wait_for_exit of a running command; see pump()).
  /// Bad params and unknown ids give JSON-RPC errors (-32602).
  std::optional<nlohmann::json> handle(const Message& m);

  /// Adds to FDS what to poll for: each terminal's output pipe and pidfd.
  void add_poll_fds(std::vector<pollfd>* fds) const;

  /// Reads what output is ready, reaps exited commands, and returns the responses of
  /// deferred wait_for_exit requests whose command has now ended.
  std::vector<nlohmann::json> pump();

  /// Kills and reaps every terminal.
  void kill_all();

 private:
  struct Terminal {
    Child child;
    std::string output;
    size_t limit = kMaxTerminalOutputBytes;
    bool truncated = false;
    std::vector<nlohmann::json> waiting;  // ids of wait_for_exit requests
  };
  static nlohmann::json exit_status(const Terminal& t);
  void drain(Terminal& t);

  std::string root_;
  std::map<std::string, std::unique_ptr<Terminal>> terminals_;
  std::vector<nlohmann::json> released_;  // answers to waits on released terminals
  int next_id_ = 1;
};

}  // namespace baton::acp
