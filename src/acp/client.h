// The ACP client side of one prompt turn (agentclientprotocol.com, protocol version
// 1): baton talks JSON-RPC 2.0 with an agent over two file descriptors, one message a
// line, and records the whole conversation.
//
// The conversation: `initialize` (protocolVersion 1, clientCapabilities fs read/write
// and terminal, auth._meta.gateway), `authenticate` only when the agent answers
// session/new with "auth required" and offers a method in ClientOptions::auth_methods,
// `session/load` of ClientOptions::resume_session_id when the agent advertises
// loadSession (else `session/new`, cwd = the task's directory), then `session/prompt`
// with the prompt as one text block. While it waits, it serves the agent's requests:
// `session/request_permission` (acp/permission.h), `fs/read_text_file` and
// `fs/write_text_file` (paths confined to the task's directory, acp/confine.h) and
// `terminal/*` (acp/terminals.h); anything else gets "method not found".
//
// The answer kept is at most 16 MiB (the rest of a longer one is in the log only).
// Every message sent or received is one line on the log fd: {"acp":"send"|"recv",
// "message":M}; each permission decision {"acp":"permission", ...}; each refused fs
// access {"acp":"fs_denied", ...}; a line that is not JSON-RPC {"acp":"invalid", ...}.
//
// Failures are classified (acp/outcome.h): the agent closing its stdout mid-turn is
// transient, malformed JSON-RPC or an oversized message permanent, an auth error auth,
// a JSON-RPC error to session/prompt by its text (agents::classify_api_error), a cancel
// (the cancel fd becoming readable) cancelled after `session/cancel` and up to
// cancel_grace_s seconds for the agent to end the turn.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "acp/jsonrpc.h"
#include "acp/outcome.h"
#include "acp/permission.h"
#include "acp/terminals.h"

namespace baton::acp {

/// How the client behaves.
struct ClientOptions {
  std::string root;  ///< the task's directory: a realpath; session cwd and fs bound
  PermissionPolicy policy = PermissionPolicy::kAllowWorktree;
  std::string resume_session_id;  ///< "" = session/new
  double cancel_grace_s = 3;      ///< seconds the agent has to end a cancelled turn
  /// Auth method ids the client may call `authenticate` with, in preference order
  /// (e.g. "gemini-api-key", "openai"), when the agent demands authentication.
  std::vector<std::string> auth_methods;
  /// Whether to offer fs/read_text_file (clientCapabilities.fs.readTextFile). Off for
  /// gemini-cli 0.61: it turns any error of the client's (a file that does not exist
  /// yet) into "[object Object]" and so fails every write of a new file.
  bool offer_fs_read = true;
  /// decide_permission()'s COMMANDS_LEAVE_SANDBOX (Codex through codex-acp).
  bool commands_leave_sandbox = false;
  size_t max_message_bytes = kMaxMessageBytes;
  size_t max_read_bytes = 8 * 1024 * 1024;  ///< fs/read_text_file: largest file served
};

/// One ACP client. FROM_AGENT (the agent's stdout) and TO_AGENT (its stdin), both made
/// non-blocking, carry the protocol; LOG_FD gets the conversation; CANCEL_FD (-1 for
/// none) becoming readable asks for a cancel. No fd is owned. Not thread-safe.
class Client {
 public:
  Client(int from_agent, int to_agent, int log_fd, int cancel_fd, ClientOptions options);

  /// Runs the conversation for PROMPT to its end and returns its outcome (never
  /// throws on anything the agent sends). The caller writes the final line.
  Outcome run(const std::string& prompt);

 private:
  struct Failure {
    agents::ErrorClass error_class;
    std::string message;
  };
  // Sends a request and serves the agent until its response arrives: the result, or
  // nullopt with failure_ set (an error response sets rpc_error_ too).
  std::optional<nlohmann::json> call(const std::string& method, nlohmann::json params,
                                     bool prompt_turn);
  void send(const nlohmann::json& message);
  void log(const nlohmann::json& entry);
  void handle_request(const Message& m);
  void handle_update(const Message& m);
  nlohmann::json read_text_file(const Message& m);
  nlohmann::json write_text_file(const Message& m);
  void set_failure(agents::ErrorClass c, std::string message);

  int from_agent_, to_agent_, log_fd_, cancel_fd_;
  ClientOptions options_;
  LineReader reader_;
  Terminals terminals_;
  int64_t next_id_ = 1;
  std::optional<Failure> failure_;
  nlohmann::json rpc_error_;  // the last JSON-RPC error response's error
  bool cancelled_ = false;
  bool rejected_ = false;  // a permission request was rejected
  bool write_failed_ = false;
  Outcome outcome_;
  bool in_reply_ = false;
  void saw_tool_call(const nlohmann::json& tool_call);
  std::set<std::string>
      tool_call_ids_;  // counted once each (a tool_call update or a permission request)
};

}  // namespace baton::acp
