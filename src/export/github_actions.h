// `baton export github-actions`: a validated workflow compiled into a GitHub Actions
// workflow (docs/github-actions.md; GitHub's workflow syntax:
// docs.github.com/actions/writing-workflows/workflow-syntax-for-github-actions).
//
// One job per task, `needs:` mirroring the DAG. Each job checks the repository out,
// downloads the artifact of every task upstream of it (its result and the files it
// left in the work tree), runs `baton run FLOW --only TASK` and uploads its own
// result, files and state (`.baton/`). A final job (`baton_finish`) imports every
// result, runs the workflow's end hooks (`baton run FLOW --finish`) and exports each
// job's audit chain as the artifact `baton-audit`.
//
// Nothing a workflow says becomes shell code or a GitHub expression: every `run:`
// script is a constant of this file, reading its values from the environment; the
// values baton writes into the file (task ids, input names and defaults, labels,
// the flow's path) are emitted as quoted YAML strings and refused when they contain
// `${{` (GitHub would evaluate it) or are not what GitHub accepts there.
// The threat model: ARCHITECTURE.md, docs/security.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "workflow/diagnostic.h"
#include "workflow/model.h"

namespace baton::exporter {

/// The name of the job that imports every result, runs the end hooks and exports
/// the audit chains. A task whose id would map to it gets another id (gha_job_id).
inline constexpr const char* kFinishJob = "baton_finish";

/// Minutes added to each job's timeout-minutes for the checkout, the artifacts and
/// baton's own start and end.
inline constexpr int kJobOverheadMinutes = 10;

/// What the caller decides about the exported workflow.
struct GithubActionsOptions {
  /// runs-on of every job: labels of the self-hosted runners that have baton and the
  /// agent CLIs (each a non-empty string without `${{`). Empty: the workflow's
  /// settings.github_actions.runs_on, else ["self-hosted"].
  std::vector<std::string> runs_on;
  /// The workflow file as the jobs name it: relative to the repository's root, '/'
  /// separated (e.g. "flows/ci.yaml").
  std::string flow_path;
};

/// The job id of task TASK_ID: the id itself when it is a valid GitHub job id
/// (`^[A-Za-z_][A-Za-z0-9_-]*$`) and does not start with "baton_" (kept for baton's
/// own jobs), else "task_" + the id ("9lives" -> "task_9lives"; baton's task ids are
/// letters, digits, '_' and '-', so that is always valid). Deterministic; two tasks
/// whose job ids are equal ignoring case are an error of compile_github_actions().
std::string gha_job_id(const std::string& task_id);

/// Minutes for timeout-minutes of TASK's job: every attempt the task may make
/// (retry.max_attempts, times the agents of its role for agent tasks) at its timeout
/// (its own, else settings.timeout) plus settings.kill_grace, the retry delays at their
/// longest (backoff, max_delay, jitter), rounded up to whole minutes, plus
/// kJobOverheadMinutes.
int job_timeout_minutes(const workflow::Workflow& wf, const workflow::TaskSpec& task);

/// Compiles WF (validated by the loader) into the text of a GitHub Actions workflow
/// (YAML, emitted by yaml-cpp). What GitHub Actions cannot express is either refused,
/// as an error at its place in SINK (gates, on_failure: escalate, worktree isolation
/// and integration, on_start hooks, a value containing `${{`, an input or secret name
/// GitHub does not accept, two tasks with one job id), or translated and reported as a
/// warning in SINK (max_parallel above 1, agent and role limits, on_failure: stop,
/// max_cost_usd, secrets read from files). nullopt when SINK received an error.
std::optional<std::string> compile_github_actions(const workflow::Workflow& wf,
                                                  const GithubActionsOptions& options,
                                                  workflow::DiagnosticSink& sink);

}  // namespace baton::exporter
