// Needs input as a gate for `baton __http-job` (docs/httpjob.md, "Needs input"): a job
// that stops for a person (a LangGraph run at `interrupt()`, a CrewAI kickoff
// `awaiting_human_feedback`) ends its attempt with exit code 3 and a result line
// {"httpjob":"result","state":"needs_input","question":Q,"vars":{...},...}; the engine
// makes the task wait (agents::AgentResult::question), and `baton approve --comment
// ANSWER` starts the next attempt with `--answer` and ANSWER on stdin, which finds the
// waiting job here, checks that it still waits and answers it with the profile's
// `resume` call (httpjob/profile.h). Pure log reading and text shaping; no I/O besides
// reading the earlier attempts' logs.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "httpjob/profile.h"

namespace baton::httpjob {

/// Exit code of `baton __http-job` when the job waits for a person's input.
inline constexpr int kExitNeedsInput = 3;

/// QUESTION made safe to show and store: control characters other than newline and tab
/// (ESC, CR, NUL, DEL, ...) become spaces, invalid UTF-8 is kept as it is but cut at a
/// character boundary, and a question over 4096 bytes is cut there with "... (N bytes)"
/// appended. The text stays data: nothing ever runs it.
std::string safe_question(const std::string& question);

/// The question in VALUE, what a profile's question pointer points at: an object of
/// arrays without a "value" of its own (LangGraph's thread `interrupts`, {task id:
/// [{value, id}]}) gives its first array's question, anything else question_text()'s.
std::string question_of(const nlohmann::json& value);

/// The job an earlier attempt of this task left waiting for input: the newest of the
/// logs beside $BATON_ATTEMPT_LOG (DIR/TASK.(N-1).log ... TASK.1.log, N =
/// $BATON_ATTEMPT) that dispatched to URL with PROFILE (or re-attached to a job there:
/// its job line), when its result line says
/// needs_input: that line's variables (id, thread_id, task_id, key, ...). nullopt when
/// there is none or the newest such attempt ended otherwise.
std::optional<Vars> waiting_job(const std::string& url, const std::string& profile);

/// A one-line note for the event log when the question of the attempt whose log is LOG
/// will not be answered (the gate was rejected or the run cancelled; agents::Invoker::
/// abandon). Nothing is sent: nothing runs on the server while a job waits (LangGraph's
/// run has ended, its thread keeps the checkpoint at the interrupt, which only deleting
/// the thread and the agent's state with it would end; CrewAI's kickoff is paused and its
/// API has no call that ends it); the note names the job left waiting there. "" when LOG
/// did not end waiting for input.
std::string abandoned_job_note(std::string_view log);

}  // namespace baton::httpjob
