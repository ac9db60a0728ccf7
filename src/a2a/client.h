// `baton __a2a-client [OPTIONS]`: one agent attempt sent to a remote agent over A2A
// (docs/agents.md, "Agents over A2A"), run as the attempt's command so that the run
// supervisor, the log, redaction, timeouts and resume work for it as for any task.
//
// It reads the prompt from stdin (to EOF), discovers the agent card
// (URL/.well-known/agent-card.json, then URL/.well-known/agent.json), and speaks the
// card's version (a2a/protocol.h); a card whose JSON-RPC endpoint is on another origin
// (scheme, host, port) than --url is refused, since the prompt and the credentials
// would go there. Before it sends anything it looks at the logs of
// the task's earlier attempts (beside $BATON_ATTEMPT_LOG, named TASK.N.log): when one
// recorded a remote task of the same URL and no final line, it re-attaches to that
// task (GetTask, then the stream or polling) instead of sending the message again.
// Otherwise it sends the prompt with messageId --message-id, the attempt's idempotency
// key baton-RUN-TASK-ATTEMPT (engine::idempotency_key; without the option it is made
// from $BATON_RUN_ID, $BATON_TASK_ID, $BATON_ATTEMPT). The first thing it prints
// after learning the remote task's id is {"a2a":"task","id":ID,"url":URL}, flushed.
// Then it follows the task through SSE (message/stream, when the card offers
// streaming) or by polling tasks/get (0.2 s doubling to 2 s). On SIGTERM, SIGINT or
// SIGHUP it sends tasks/cancel (3 s limit) and exits.
//
// Its stdout is JSON lines ({"a2a":"start"|"card"|"task"|"status"|"artifact"|"file"|
// "note",...}) ending in one {"a2a":"result","success":B,"state":S,"task_id":S,
// "text":S,"files":[PATH],"error_class":S,"error":S}. The text is the artifacts' text
// parts, joined by newlines; file parts are written in --cwd under their name, which
// must be relative and stay inside it (acp/confine.h), else the attempt fails.
//
// Every response is bounded (16 MiB a body or an SSE event), every wait is bounded
// (connect 5 s; a call 60 s; the stream idle 300 s); a server that does not answer,
// closes the stream before a final state or sends malformed JSON fails the attempt
// with a classified error (auth for 401/403 or a missing secret, rate_limit for 429,
// transient for 5xx and lost connections, permanent otherwise). input-required and
// auth-required end the attempt as failed (permanent) with the agent's question.
//
// Exit codes: 0 the remote task completed; 1 it did not; 2 bad options.
#pragma once

#include <string>
#include <vector>

#include "util/error.h"

namespace baton::a2a {

/// The options of `baton __a2a-client`.
struct ClientArgs {
  std::string url;         ///< --url: the agent's base URL (http://HOST:PORT/PATH/)
  std::string cwd = ".";   ///< --cwd: where file parts are written
  std::string bearer_env;  ///< --bearer-env NAME: "Authorization: Bearer $NAME"
  std::string header;      ///< --header NAME: an API key header ...
  std::string header_env;  ///< --header-env ENV: ... whose value is $ENV
  std::string message_id;  ///< --message-id KEY: the message's messageId, or ""
};

/// Parses ARGS (after "__a2a-client"). Errors: "unknown option X", "missing --url",
/// "--url must be an http:// URL", "--header and --header-env go together".
Result<ClientArgs> parse_client_args(const std::vector<std::string>& args);

/// Whether the agent at ARGS.url answers: its card is fetched (agent-card.json, then
/// agent.json) with the auth headers ARGS names (read from the environment) and parsed,
/// each HTTP request bounded by TIMEOUT_S seconds (connect and read). Returns "A2A
/// VERSION at ENDPOINT"; errors: a missing secret, an unreachable server, an HTTP
/// error, a malformed card (these three "URL: agent card: REASON"), a card whose
/// endpoint is on another origin.
Result<std::string> probe_card(const ClientArgs& args, double timeout_s);

/// The hidden command: parses ARGS and runs the client (see above); returns its exit
/// code. Blocks SIGTERM, SIGINT and SIGHUP and handles them on a thread of its own:
/// call it only from the hidden command's main path.
int client_main(const std::vector<std::string>& args);

}  // namespace baton::a2a
