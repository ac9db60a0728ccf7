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
// transient for 5xx and lost connections, permanent otherwise). auth-required ends the
// attempt as failed (auth) with the agent's message.
//
// input-required is not a failure: the final line is {"a2a":"result","success":false,
// "state":"input-required","task_id":ID,"question":TEXT,...} and the exit code 3; the
// engine makes the task wait for a person (docs/agents.md). The question is the
// input-required status's message, or when it has none what the agent said in the
// status messages of its turn (a streamed answer, as Gemini CLI's A2A server ends every
// turn in input-required). The next attempt, run
// with --answer and the person's answer on stdin, finds that task in the earlier log,
// checks (tasks/get) that it still waits, and sends the answer as a message on it
// (message.taskId and contextId, messageId baton-RUN-TASK-ATTEMPT), then follows it
// again; an interrupted state ends the following only once the task moved past the
// answered question. A later attempt without --answer (a crash before the answer was
// sent) re-attaches: still waiting, it ends with the same question again; ended
// meanwhile (the question was rejected, then `baton retry`), it sends the prompt anew.
//
// Exit codes: 0 the remote task completed; 1 it did not; 2 bad options; 3 the agent
// waits for input.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace baton::a2a {

/// The options of `baton __a2a-client`.
struct ClientArgs {
  std::string url;         ///< --url: the agent's base URL (http(s)://HOST:PORT/PATH/)
  std::string cwd = ".";   ///< --cwd: where file parts are written
  std::string bearer_env;  ///< --bearer-env NAME: "Authorization: Bearer $NAME"
  std::string header;      ///< --header NAME: an API key header ...
  std::string header_env;  ///< --header-env ENV: ... whose value is $ENV
  /// --answer: stdin holds a person's answer to the question the task's previous
  /// attempt ended with, sent on that attempt's remote task instead of a new message.
  bool answer = false;
  std::string message_id;  ///< --message-id KEY: the message's messageId, or ""
};

/// Parses ARGS (after "__a2a-client"). Errors: "unknown option X", "missing --url",
/// "--url must be an http:// or https:// URL", "--header and --header-env go together".
Result<ClientArgs> parse_client_args(const std::vector<std::string>& args);

/// Cancels (tasks/cancel, 3 s limit) the remote task that LOG, the output of an
/// `__a2a-client` attempt that ended in input-required, left waiting, with HEADERS
/// (the auth headers; A2A-Version is added for a 1.0 card). Returns a one-line note
/// ("tasks/cancel of remote task ID answered HTTP 200"), "" when LOG holds no such
/// task. The endpoint is the one the log's card line names, refused unless on the
/// origin of the log's task line's URL.
std::string cancel_waiting_task(std::string_view log,
                                const std::vector<std::pair<std::string, std::string>>& headers);
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
