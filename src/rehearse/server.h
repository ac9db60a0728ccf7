// The scripted model server behind `baton run --rehearse SCRIPT`.
//
// A loopback HTTP server that speaks the Anthropic Messages API, the OpenAI
// Responses and Chat Completions APIs and the Gemini generateContent API, each
// streaming (server-sent events) and not, and answers from a Script
// (script.h) instead of a model. baton gives every agent attempt its own API key,
// session_api_key(task, agent, attempt); the server reads it from `x-api-key`,
// `Authorization: Bearer`, `x-goog-api-key` or `?key=` and so knows which step
// list to play and where the session is in it.
//
// Per session (one API key): every request that offers tools takes the next
// step. A tool step answers with a call of the CLI's own tool for the action
// (tools.h); the CLI runs it and sends the result in its next request, which
// takes the step after. A text step ends the agent's turn. A fault step answers
// `times` consecutive requests with the failure, then the script moves on. Past
// the end of the list, the last step is repeated when it is a text, else the
// answer is "done". Requests without tools (titles, routers, summaries) do not
// move the script: they get "ok", or a minimal instance of the JSON schema they
// ask for ("{}" without a schema).
//
// Other endpoints: POST .../messages/count_tokens ({"input_tokens": N}),
// Gemini :countTokens ({"totalTokens": N}), GET .../models (a one-model list);
// anything else gets a 404 with a JSON error body.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rehearse/script.h"
#include "util/error.h"

namespace baton::rehearse {

/// The API key that names one agent attempt: "baton-rehearse:TASK:AGENT:ATTEMPT"
/// (AGENT: claude, codex, gemini, qwen, opencode, kilocode, copilot; ATTEMPT from 1).
std::string session_api_key(const std::string& task, const std::string& agent, int attempt);

/// The parts of a session API key.
struct SessionKey {
  std::string task;
  std::string agent;
  std::string attempt;
};

/// Splits "baton-rehearse:TASK:AGENT:ATTEMPT" (TASK may contain ':'; AGENT and
/// ATTEMPT may not). nullopt for any other key.
std::optional<SessionKey> parse_session_key(const std::string& api_key);

/// One request the server received, as logged.
struct RequestRecord {
  double time = 0;           ///< when it arrived, seconds since the Unix epoch
  std::string session;       ///< the API key it carried ("" if none)
  std::string protocol;      ///< anthropic, openai-responses, openai-chat, gemini, or "" (other)
  std::string path;          ///< the request path, without the query
  int status = 0;            ///< HTTP status answered; 0 = none (drop, hang)
  bool had_tools = false;    ///< whether it offered tools (and so took a step)
  std::string body_excerpt;  ///< the start of its last message (or of the body), <= 400 bytes
  std::string method;        ///< GET, POST, ...
  std::string action;        ///< what the server did: "text", "tool Write", "fault http 500",
                             ///< "fault drop|hang|stall", "plain", "json", "count_tokens",
                             ///< "models", "not_found", "bad_request"
  int step = -1;             ///< 0-based index of the script step served, -1 = none
  bool stream = false;       ///< answered with server-sent events
};

/// The record as one JSON object (the log file's line format): {"time", "session",
/// "protocol", "method", "path", "status", "had_tools", "stream", "step", "action",
/// "body_excerpt"}.
std::string record_json(const RequestRecord& record);

/// Options of a server beyond its script.
struct ServerOptions {
  int port = 0;          ///< 0 = a free port chosen by the OS
  std::string log_path;  ///< append every RequestRecord as JSON Lines here; "" = the
                         ///< BATON_REHEARSE_LOG environment variable, if set
  int threads = 64;      ///< requests served at once (a hanging one holds a thread)
  std::string dump_dir;  ///< when set, every request is also written whole to
                         ///< DIR/NNNN-METHOD.txt (headers, blank line, body), for
                         ///< looking at what a new CLI version sends
};

/// The scripted model server. Binds 127.0.0.1 only and serves on its own
/// threads. All public member functions are thread-safe.
class ModelServer {
 public:
  /// Binds 127.0.0.1:PORT (0 = a free port) and starts serving SCRIPT. Fails
  /// when the port cannot be bound ("cannot listen on 127.0.0.1:PORT").
  static Result<std::unique_ptr<ModelServer>> start(Script script, int port = 0);
  /// As above, with OPTIONS.
  static Result<std::unique_ptr<ModelServer>> start(Script script, const ServerOptions& options);

  /// The TCP port it listens on.
  int port() const;
  /// "http://127.0.0.1:PORT" (no trailing slash; clients append /v1/...).
  std::string base_url() const;

  /// Every request so far, in the order they arrived. A request is recorded when
  /// the server has decided its answer (a hanging one before it hangs).
  std::vector<RequestRecord> requests() const;

  /// Blocks until at least COUNT requests are recorded or TIMEOUT passes;
  /// returns whether COUNT was reached. For tests and for callers that wait for
  /// an agent to reach the server.
  bool wait_for_requests(size_t count, std::chrono::milliseconds timeout) const;

  /// Paths of tool calls for session API_KEY resolve against DIR instead of the
  /// working directory stated in the requests (tools.h). Optional.
  void set_workdir(const std::string& api_key, const std::string& dir);

  /// Stops serving: hanging and stalled requests are released (their connections
  /// closed without an answer), open connections closed, threads joined. Returns
  /// within about two seconds (the keep-alive poll). Idempotent. (A hanging or
  /// stalled request is also let go as soon as its client closes the connection.)
  void stop();
  ~ModelServer();

  ModelServer(const ModelServer&) = delete;
  ModelServer& operator=(const ModelServer&) = delete;

  struct Impl;

 private:
  explicit ModelServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::rehearse
