// Hosted agent runtimes reached through their HTTP job API (docs/httpjob.md), declared
// in .baton/config.yaml:
//
//   custom_agents:
//     researcher:
//       http_job:
//         profile: langgraph            # or langgraph-stateless, crewai (httpjob/profile.h)
//         url: http://127.0.0.1:2024    # the API's base
//         assistant_id: agent           # LangGraph: the graph or assistant to run
//         input_key: messages           # where the prompt goes (profile default)
//         output_key: messages          # what of the result is the output (profile default)
//         auth: {env: LANGGRAPH_KEY}    # the secret, by environment variable only
//
// and used as `agent: researcher`. The attempt's command is `baton __http-job`
// (httpjob/client.h); this invoker builds it and reads its final line.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agents/invoker.h"
#include "util/error.h"

namespace baton::httpjob {

/// A hosted agent as declared in custom_agents (http_job: ...).
struct HttpJobSpec {
  std::string profile;       ///< a built-in profile's name
  std::string url;           ///< http://HOST:PORT[/PATH]
  std::string assistant_id;  ///< {assistant_id}, or ""
  std::string input_key;     ///< "" = the profile's default
  std::string output_key;    ///< "" = the profile's default
  std::string auth_env;      ///< the variable holding the secret, or ""
};

/// The invoker of the hosted agent NAME: build_command() is `baton __http-job
/// --profile P --url URL [--assistant-id A] [--input-key K] [--output-key K]
/// [--auth-env V] [--key IDEMPOTENCY_KEY]` with the prompt on stdin (the key is the
/// invocation's idempotency_key; with Invocation::answer, `--answer` and the answer on
/// stdin instead); parse() reads its {"httpjob":"result"} line (a missing
/// line, as after a SIGKILL, is a transient failure: the next attempt re-attaches to the
/// job; exit 3 with state needs_input sets AgentResult::question, a gate); abandon()
/// only notes what stays waiting (httpjob/input.h); health() makes the profile's health call
/// (httpjob/health.h). Errors: a URL that is not http://, an unknown profile, a LangGraph profile
/// without an assistant_id.
Result<std::unique_ptr<agents::Invoker>> make_http_job_invoker(const std::string& name,
                                                               const HttpJobSpec& spec);

/// make_http_job_invoker() registered as the agent NAME (agents::register_agent_invoker).
Result<void> register_http_job_agent(const std::string& name, const HttpJobSpec& spec);

/// True when LOG is the output of `baton __http-job` (it holds {"httpjob":"start"}).
bool is_http_job_log(std::string_view log);

/// The job's current step in TAIL (the end of an `__http-job` log, possibly starting
/// mid-line), for the live view and `baton logs` of a running attempt: its last status
/// and that status's detail ("running: research_task"); "" when no status was logged
/// yet. One line, at most 120 bytes. Never throws on any input.
std::string current_step(std::string_view tail);

/// The readable transcript (agents/transcript.h) of LOG, the output of `baton
/// __http-job` for the agent AGENT: the dispatch, the job, its states, then the answer.
std::string http_job_transcript(const std::string& agent, std::string_view log);

}  // namespace baton::httpjob
