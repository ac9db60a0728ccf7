// `baton __http-job [OPTIONS]`: one agent attempt run as a job of a hosted agent
// runtime (LangGraph Agent Server, a CrewAI crew, ...) through its HTTP job API, spoken
// as a profile says (httpjob/profile.h, docs/httpjob.md). It is the attempt's command,
// so the run supervisor, the log, redaction, timeouts, cancel and resume work for it
// as for any task.
//
// It reads the prompt from stdin (to EOF). Before dispatching it reads the logs of the
// task's earlier attempts (beside $BATON_ATTEMPT_LOG, named TASK.N.log, newest first):
// when one recorded a job of the same URL and profile that did not end (no result
// line, or a result marked "reattach": true after a lost connection), it re-attaches
// to that job instead of dispatching again; when one recorded only that it was about
// to dispatch ({"httpjob":"dispatch","key":K}) and the profile can find a job by key,
// it asks the server for K's job and re-attaches to it when there is one. Otherwise it
// dispatches with the idempotency key --key, the attempt's baton-RUN-TASK-ATTEMPT
// (agents::Invocation::idempotency_key, filled by the engine; without the option it is
// made from $BATON_RUN_ID, $BATON_TASK_ID, $BATON_ATTEMPT), sent where the profile puts
// it (LangGraph run and
// thread metadata, CrewAI `meta`). The job line {"httpjob":"job","id":ID,"vars":{...},
// "url":URL,"profile":P} is printed and flushed as soon as the id is known.
//
// Then it polls the status call, 0.2 s doubling to 5 s between polls; up to 5 failed
// polls in a row (connection lost, 5xx, 429) are retried with the same backoff before
// the attempt fails. In callback mode (the profile has a `webhook` and `baton serve`
// runs for the project; httpjob/callback.h) create's body carries the attempt's
// callback URL, the waits between polls watch the attempt's callback inbox and end at
// a new delivery about the job, and they grow to 30 s (a lost callback costs at most
// that). Once the job is final it reads the output (the result call, or the
// last status answer). On SIGTERM, SIGINT or SIGHUP it makes the profile's cancel call
// (3 s limit; a profile without one only notes that the job may go on) and exits.
//
// Its stdout is JSON lines ({"httpjob":"start"|"dispatch"|"job"|"status"|"note",...})
// ending in one {"httpjob":"result","success":B,"state":S,"job_id":S,"text":S,
// "error_class":S,"error":S,"reattach":B}. The output is data: it is never run, parsed
// as a path or written to a file. Every answer is bounded (16 MiB), every wait too
// (connect 5 s, a call 60 s); errors are classified: auth (401, 403, a missing secret),
// rate_limit (429), transient (5xx, connection lost), permanent (other 4xx, malformed
// JSON, a missing id or status, an unknown status), timeout (the job's own timeout
// status).
//
// A job that needs input (a LangGraph run stopped at interrupt(), a CrewAI kickoff
// awaiting human feedback) is not a failure when the profile has a resume call: the
// final line is {"httpjob":"result","success":false,"state":"needs_input","question":Q,
// "vars":{...},...} and the exit code 3; the engine makes the task wait for a person
// (httpjob/input.h). With --answer, stdin is the person's answer instead of the prompt:
// the client finds the job the earlier attempt left waiting, checks that it still waits
// (its status, and result, read again), makes the profile's resume call with the answer
// as {answer} (dispatch line {"httpjob":"dispatch","answer":true,"vars":{...}} first)
// and follows the job to its end as usual.
//
// Exit codes: 0 the job succeeded; 1 it did not; 2 bad options; 3 it waits for input.
#pragma once

#include <string>
#include <vector>

#include "util/error.h"

namespace baton::httpjob {

/// The options of `baton __http-job`.
struct JobArgs {
  std::string profile;  ///< --profile NAME (a built-in profile, or a declared one's name)
  /// --profile-json DOCUMENT: a profile declared in the config (httpjob/config_profile.h),
  /// checked again here; "" = the built-in profile NAME
  std::string profile_json;
  std::string url;           ///< --url http://HOST:PORT[/PATH]: the API's base
  std::string assistant_id;  ///< --assistant-id ID (the {assistant_id} variable)
  std::string input_key;     ///< --input-key KEY ("" = the profile's default)
  std::string output_key;    ///< --output-key KEY ("" = the profile's default)
  std::string auth_env;      ///< --auth-env VAR: the secret's variable ("" = no auth)
  std::string key;           ///< --key KEY: the attempt's idempotency key ("" = from the env)
  bool answer = false;       ///< --answer: stdin answers the job an earlier attempt left waiting
};

/// Parses ARGS (after "__http-job"). Errors: "unknown option X", "X needs a value",
/// "missing --url", "missing --profile", "--url must be an http:// URL", an unknown
/// profile, a --profile-json that is not JSON or not a good profile.
Result<JobArgs> parse_job_args(const std::vector<std::string>& args);

/// The hidden command: parses ARGS and runs the job (see above); returns its exit code.
/// Blocks SIGTERM, SIGINT and SIGHUP and handles them on a thread of its own: call it
/// only from the hidden command's main path.
int job_main(const std::vector<std::string>& args);

}  // namespace baton::httpjob
