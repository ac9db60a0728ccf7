// Remote agents over A2A, declared in .baton/config.yaml:
//
//   custom_agents:
//     reviewer-svc:
//       a2a:
//         url: http://127.0.0.1:8080/         # the agent card is under URL/.well-known/
//         auth: {bearer: {env: REVIEW_TOKEN}}  # or {header: X-API-Key, env: NAME}
//
// and used as `agent: reviewer-svc`. The attempt's command is `baton __a2a-client`
// (a2a/client.h); this invoker builds it and reads its final line.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agents/invoker.h"
#include "util/error.h"

namespace baton::a2a {

/// Where a remote agent is and how baton authenticates to it. Secrets are named by
/// environment variable, never written in the config.
struct RemoteAgentSpec {
  std::string url;         ///< http(s)://HOST:PORT/PATH/ (the card is under it)
  std::string bearer_env;  ///< "Authorization: Bearer $bearer_env", or ""
  std::string header;      ///< an API key header's name ("X-API-Key"), or ""
  std::string header_env;  ///< ... and the variable holding its value
};

/// The invoker of the remote agent NAME: build_command() is `baton __a2a-client --url
/// URL --cwd WORKDIR [--bearer-env V | --header H --header-env V]` with the prompt on
/// stdin; parse() reads its {"a2a":"result"} line (a missing line, as after a
/// SIGKILL, is a transient failure: the next attempt re-attaches to the remote task).
/// Errors: a URL that is not http:// or https://, a header without its variable.
Result<std::unique_ptr<agents::Invoker>> make_a2a_invoker(const std::string& name,
                                                          const RemoteAgentSpec& spec);

/// make_a2a_invoker() registered as the agent NAME (agents::register_agent_invoker).
Result<void> register_a2a_agent(const std::string& name, const RemoteAgentSpec& spec);

/// True when LOG is the output of `baton __a2a-client` (it holds {"a2a":"start"}).
bool is_a2a_log(std::string_view log);

/// The remote task's current step in TAIL (the end of an `__a2a-client` log, possibly
/// starting mid-line), for the live view and `baton logs` of a running attempt: its
/// last state and that state's message ("working: reviewing main.c"); "" when no state
/// was logged yet. One line, at most 120 bytes. Never throws on any input.
std::string current_step(std::string_view tail);

/// The readable transcript (agents/transcript.h) of LOG, the output of `baton
/// __a2a-client` for the agent AGENT: the card, the remote task, its states, the files
/// written, then the answer. For `baton logs`, which needs no config to read a log.
std::string a2a_transcript(const std::string& agent, std::string_view log);

}  // namespace baton::a2a
