// Profiles of the generic HTTP job adapter (docs/httpjob.md): how one hosted agent
// runtime's job API is called, kept as data (a JSON document) so that one client,
// `baton __http-job` (httpjob/client.h), speaks every such API. A profile says which
// calls dispatch a job (an optional `prepare` call, then `create`), how its id and
// other values are captured from the answers (JSON pointers, RFC 6901), how its status
// is read and mapped onto baton's states, where the output and the error are, how it
// is cancelled, how a job dispatched by a crashed attempt is found again by its
// idempotency key, and which header carries the secret.
//
// Templates: a string "{NAME}" in a path, a body or a pointer is replaced by the
// variable NAME (prompt, key, assistant_id, thread_id, output_key, and what calls
// captured, such as id); in a path the value is percent-encoded (RFC 3986 unreserved
// characters only), so an id a server sent can never add a path segment or a query. A
// body string that is exactly "{input}" becomes the job's input as JSON.
//
// Built in (builtin_profile()): "langgraph" (LangGraph Agent Server, runs on a thread
// POST /threads + POST /threads/{thread_id}/runs, GET .../runs/{id}, GET .../join,
// POST .../cancel, x-api-key), "langgraph-stateless" (POST /runs with
// on_completion: keep) and "crewai" (CrewAI AMP deployed crew: POST /kickoff,
// GET /status/{id}, bearer auth). Pure functions, no I/O.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "httpjob/webhook.h"
#include "util/error.h"

namespace baton::httpjob {

/// A job's state in baton's terms; each profile maps its status strings onto these.
enum class JobState { kPending, kRunning, kSucceeded, kFailed, kTimedOut, kCancelled, kNeedsInput };

/// "pending", "running", "succeeded", "failed", "timed_out", "cancelled", "needs_input".
const char* to_string(JobState state);

/// The state named NAME (as to_string() spells it); nullopt otherwise.
std::optional<JobState> parse_job_state(const std::string& name);

/// succeeded, failed, timed_out, cancelled, needs_input: polling stops.
bool is_final(JobState state);

/// One HTTP call of a profile.
struct Call {
  std::string method = "GET";  ///< "GET" or "POST"
  std::string path;            ///< a template, relative to the configured URL's path
  nlohmann::json body;         ///< a template (POST only); null = no body
  /// variable -> JSON pointer into the answer: the values this call captures
  std::map<std::string, std::string> capture;
};

/// A job API as data (see above).
struct Profile {
  std::string name;
  std::string auth_header;         ///< the header that carries the secret ("x-api-key")
  std::string auth_prefix;         ///< put before the secret ("Bearer "), or ""
  std::string default_input_key;   ///< where the prompt goes in the input (settings override)
  std::string default_output_key;  ///< what of the result is the output (settings override)
  std::optional<Call> prepare;     ///< made before create, e.g. POST /threads
  Call create;                     ///< dispatches the job; must capture "id"
  /// finds the job an earlier attempt dispatched with the same key: an array answer
  /// (at find_list, "" = the answer itself) whose element with find_match == key
  /// gives the captures; absent when the API cannot look a job up by key
  std::optional<Call> find;
  std::string find_list;
  std::string find_match;
  Call status;                             ///< reads the job's status
  std::string status_field;                ///< pointer to the status string in its answer
  std::string detail_field;                ///< pointer to a progress text in it ("" = none)
  std::map<std::string, JobState> states;  ///< status string -> state
  std::optional<Call> result;  ///< fetched once the job is final (else the status answer is read)
  std::string output_field;    ///< pointer to the output in that answer (a template)
  std::string error_field;     ///< pointer to the error text in it
  /// pointer to the questions of a job that stopped for human input in that answer
  /// (LangGraph: /__interrupt__, a run that ends "success" with the thread interrupted):
  /// a final job with a non-empty value there needs input ("" = none)
  std::string needs_input_field;
  /// answers a job that stopped for human input (state needs_input) with the variable
  /// {answer}, the person's text; the job goes on (under the id it captures, else the
  /// same id) and is polled again. Variables the status call's `capture` took from the
  /// waiting job's last status answer are set (CrewAI: task_id). Absent = a job that
  /// needs input cannot be answered (the attempt fails, permanent).
  std::optional<Call> resume;
  /// made before resume (required with it): the job still waits for input when the
  /// string at resume_check_field of its answer is resume_check_waiting (LangGraph: GET
  /// /threads/{thread_id} is "interrupted"; CrewAI: GET /status/{id} is
  /// "awaiting_human_feedback"); else the answer is not sent
  std::optional<Call> resume_check;
  std::string resume_check_field;
  std::string resume_check_waiting;
  /// pointer to the question in the check's answer, or "": when set, a job that ends
  /// succeeded is checked too (LangGraph: a run stopped at interrupt() ends "success",
  /// and its /join shows __interrupt__ only to its first reader, so a client that
  /// re-attaches after a crash asks the thread: status "interrupted", question in
  /// "interrupts" {task id: [{value}]})
  std::string resume_check_question;
  std::optional<Call> cancel;  ///< asks the server to stop the job; absent = none
  /// a cheap authenticated call that answers 2xx when the API can take work (`baton
  /// agents --health`); absent = the health is not known
  std::optional<Call> health;
  /// callback mode (httpjob/webhook.h): where create's body takes the callback URL and
  /// how callbacks are verified; absent = polling only
  std::optional<Webhook> webhook;
};

/// The profile in J (the shape of builtin_profile()'s documents, docs/httpjob.md).
/// Errors name the field: "create: missing 'path'", "states: 'x' is not a state", a
/// create call that captures no "id", a method other than GET or POST.
Result<Profile> parse_profile(const nlohmann::json& j);

/// The built-in profile NAME ("langgraph", "langgraph-stateless", "crewai").
/// Errors: an unknown name (the message lists the known ones).
Result<Profile> builtin_profile(const std::string& name);

/// "http://HOST:PORT/PATH" split into ("http://HOST:PORT", "/PATH" without a trailing
/// slash, "" for the root; a query stays in it) by split_http_url() (util/http_url.h);
/// nullopt when URL is not http:// with a host.
std::optional<std::pair<std::string, std::string>> split_url(const std::string& url);

/// The document of the built-in profile NAME (the JSON parse_profile() reads); null when
/// there is none.
nlohmann::json builtin_profile_document(const std::string& name);

/// The names of the built-in profiles, sorted.
std::vector<std::string> builtin_profile_names();

/// Variables of one job: the settings and what calls captured.
using Vars = std::map<std::string, std::string>;

/// TEMPLATE with every "{NAME}" replaced by VARS[NAME] ("" when unset); with
/// PERCENT_ENCODE each value is percent-encoded (for paths).
std::string expand(const std::string& text, const Vars& vars, bool percent_encode);

/// BODY (a template) with its strings expanded; a string that is exactly "{input}"
/// becomes INPUT.
nlohmann::json expand_body(const nlohmann::json& body, const Vars& vars,
                           const nlohmann::json& input);

/// The job's input for PROMPT under INPUT_KEY: {"messages": [{"role": "user",
/// "content": PROMPT}]} when INPUT_KEY is "messages", else {INPUT_KEY: PROMPT}.
nlohmann::json make_input(const std::string& prompt, const std::string& input_key);

/// The question in VALUE (what needs_input_field points at): the first element's
/// "value" of an array (LangGraph's interrupts), then a string as it is and anything
/// else as compact JSON; "" for null or an empty array.
std::string question_text(const nlohmann::json& value);

/// The output text in VALUE (what output_field points at): a string as it is; an
/// array of messages -> the last one's "content"; anything else as compact JSON; ""
/// for null.
std::string output_text(const nlohmann::json& value);

/// A UUID (8-4-4-4-12 hex, version 5 and RFC 4122 variant bits) derived from KEY by
/// SHA-1: the same key gives the same id, so a thread named after an idempotency key
/// is created once and found again after a crash.
std::string uuid_from_key(const std::string& key);

}  // namespace baton::httpjob
