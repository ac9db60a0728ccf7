// Workspaces: where each task of a run works and what confines it. The driver
// (run.cc) asks at four moments of a run:
//   begin()     at the run's start: the repository and its base commit (HEAD), and
//               whether bwrap works when a task wants it;
//   prepare()   before each attempt: the task's worktree (created from the base or
//               from the merge of its dependencies' branches; reset on a retry);
//   confine()   once the attempt's process is built: the bwrap sandbox around it;
//   commit()    after a successful attempt: its changes committed on its branch;
//   integrate_task() right after commit(), with settings.integrate_at: task: the
//               task's branch merged into baton/<run> at once;
//   integrate() when every task has ended: the branches merged into baton/<run>
//               (with integrate_at: task, only the report of what was merged).
// A resumed run (`baton resume`) calls restore() after begin(): the places of the
// tasks that started before baton died are rebuilt from the run's event log and the
// worktrees and branches on disk, so that the moments above carry on as if the run
// had never stopped.
// Tasks with isolation none and no sandbox are untouched by all of these. Every git
// call is synchronous and bounded (isolation/command.h): a task's start and end
// wait for them, the run's other processes keep running.
// Thread safety: one Workspaces belongs to its run's loop thread.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "exec/process.h"
#include "isolation/sandbox.h"
#include "isolation/worktree.h"
#include "store/store.h"
#include "util/error.h"
#include "workflow/model.h"

namespace baton::engine {

/// What a run's isolation will use, checked before the run starts.
struct IsolationCheck {
  bool worktrees = false;                ///< some task runs in a worktree
  isolation::Repository repository;      ///< when worktrees
  std::string base;                      ///< the base commit (HEAD), when worktrees
  std::vector<std::string> uncommitted;  ///< tracked files with changes tasks will not see
  bool bwrap = false;                    ///< some task runs under bwrap
  std::string warning;                   ///< sandbox auto without a working bwrap: why, else ""
};

/// Checks what WF's isolation needs in ROOT_DIR. Errors: worktrees in a directory
/// that is not a git work tree or a repository without commits; `sandbox: bwrap`
/// where bwrap does not work. `auto` without bwrap is a warning, not an error.
Result<IsolationCheck> check_isolation(const workflow::Workflow& wf, const std::string& root_dir);

/// Human notes about CHECK for the start of `baton run` (one line each, no prefix):
/// the uncommitted files tasks will not see, the sandbox warning.
std::vector<std::string> isolation_notes(const IsolationCheck& check);

/// How integrate() went, for the run's event log and its summary.
struct IntegrationReport {
  bool attempted = false;  ///< false: no worktree task succeeded, or integrate: none
  bool failed = false;     ///< a conflict or a git error: the run fails
  std::string event;       ///< "run.integrated" or "run.integration_failed"
  nlohmann::json data = nlohmann::json::object();
  std::string text;  ///< one line for people: "2 tasks merged into baton/R" / the failure
};

/// The worktrees, sandboxes and commits of one run.
class Workspaces {
 public:
  /// WF must outlive this. ROOT_DIR: the project root; STATE_DIR: its .baton.
  Workspaces(const workflow::Workflow& wf, std::string run_id, std::string root_dir,
             std::string state_dir);

  /// At the run's start, before anything is recorded: as check_isolation(). Returns
  /// the data of the run's "run.isolation" event, or null when no task is isolated
  /// or sandboxed.
  Result<nlohmann::json> begin();

  /// On `baton resume`, after begin(): rebuilds the run's workspaces from EVENTS, the
  /// run's event log in seq order (store::Store::list_events), and from git:
  ///  - the base commit is the one `run.isolation` recorded (not today's HEAD);
  ///  - each task's place comes from its latest `attempt.started` (worktree, branch,
  ///    start); a `task.committed` after it marks it committed (its branch is what
  ///    integrate() and the task's dependants start from);
  ///  - with integrate_at: task, the `task.integrated` events give what baton/<run>
  ///    already holds and its tip;
  ///  - FRESH (task indices: the tasks `baton retry` made pending again) lose their
  ///    worktree and branch: they start again from their dependencies' new results.
  /// A place whose worktree is gone is kept only when it was committed (its branch
  /// suffices); otherwise prepare() makes it anew. A scratch worktree left by an
  /// interrupted integration is removed. A task that was running keeps its worktree
  /// as the attempt left it (a re-attached attempt goes on working in it; its success
  /// is committed as usual); a new attempt of it resets it to its start (prepare()).
  /// Errors: git's.
  Result<void> restore(const std::vector<store::Event>& events, const std::vector<int>& fresh);

  /// After restore(), for a task `baton iterate` runs again (engine/iteration.h): its
  /// attempts from now on start from its last commit (task.committed), not from its
  /// start, so the agent finds the work it is asked to change; its branch keeps the
  /// commit, and its next commit() goes on from it (the stat still counts from the
  /// start). Nothing happens for a task without a committed place.
  void continue_from_result(int task);

  /// True when task TASK (an index of wf.tasks) runs in a worktree.
  bool in_worktree(int task) const;

  /// The directory TASK ran in, where its file outputs are (engine/typed_outputs.h):
  /// its worktree (`STATE_DIR/worktrees/RUN/TASK`, whether it still exists or not), else
  /// ROOT_DIR. Pure: no I/O.
  std::string task_directory(int task) const;

  /// Before attempt ATTEMPT of TASK: the directory the task runs in (its worktree,
  /// else ROOT_DIR). Creates the worktree on the first attempt, resets it to its
  /// start on later ones (after a resume too: `reset --hard` to the recorded start,
  /// `clean -ffdx`). A worktree or branch of TASK left by a crash before its
  /// attempt was recorded is removed and made anew. Errors: git's, or conflicting
  /// dependency changes.
  Result<std::string> prepare(int task, int attempt);

  /// Before a review or a rework attempt of TASK (docs/review.md): the directory it runs
  /// in, its worktree as its latest commit left it (the work under review): what an
  /// earlier attempt changed since that commit (a reviewer's edits, a failed rework's)
  /// is undone (reset_worktree to the commit, `clean -ffdx`). A task that was never
  /// committed is reset to its start, as prepare() does. Not in a worktree: ROOT_DIR,
  /// untouched. Errors: git's.
  Result<std::string> reopen(int task);

  /// The changes of TASK's work for its reviewer: in a worktree, `git diff START COMMIT`
  /// of its latest commit (empty when it changed nothing); in the project root of a git
  /// repository, `git diff HEAD` and the untracked files; else a note saying that there
  /// is no diff. Bounded by git's output limit (isolation/command.h). Errors: git's.
  Result<std::string> review_diff(int task);

  /// Wraps PROCESS (built for TASK, run by AGENT, "" for a command) in the task's
  /// sandbox, if it has one. Returns what the attempt's event should say about
  /// its workspace ({"worktree": ..., "branch": ..., "start": ..., "sandbox": "bwrap",
  /// "network": false}), empty when nothing applies. READ_ONLY (a review attempt,
  /// docs/review.md): under bwrap the task's worktree (or, without one, the project
  /// root) is bound read-only instead of read-write, and the event data says
  /// "read_only": true; other sandboxes and unsandboxed tasks are unchanged (their
  /// reviewer's edits are undone by reopen()). Errors: wrap_in_bwrap()'s.
  Result<nlohmann::json> confine(int task, const std::string& agent, exec::ProcessSpec& process,
                                 bool read_only = false);

  /// After TASK succeeded with AGENT ("" for commands): commits its worktree.
  /// Returns the "task.committed" event's data (branch, start, commit, changed,
  /// files_changed, insertions, deletions, stat: `git diff --stat`, cut after 16 KiB),
  /// or null when not in a worktree.
  Result<nlohmann::json> commit(int task, const std::string& agent);

  /// After an attempt of TASK that did not succeed (failed, timed out, cancelled):
  /// its worktree's `.git` file is put back when the task changed it, so that git
  /// the user runs there later reads the repository (isolation::check_worktree).
  /// Nothing to report: the attempt has failed already.
  void settle(int task);

  /// With settings.integrate_at: task (and integrate not none): merges TASK's
  /// committed branch into baton/<run> now (creating it at the base commit first);
  /// tasks whose worktrees are made afterwards start from the run branch's new tip.
  /// Returns the "task.integrated" event's data (branch, head, mode), or null when
  /// there is nothing to merge (not in a worktree, no change, integrate_at: end).
  /// Errors: a conflict ("integration conflict in a.txt, b.txt: branch
  /// baton/tasks/R/t is kept; baton/R keeps a, b") or git's; baton/<run> keeps
  /// everything merged before.
  Result<nlohmann::json> integrate_task(int task);

  /// Merges the committed branches of SUCCEEDED (task indices) into baton/<run>
  /// in dependency order (settings.integrate), unless integrate is none. With
  /// integrate_at: task, reports what integrate_task() merged instead.
  IntegrationReport integrate(const std::vector<int>& succeeded);

  /// The run's branch ("baton/<run>"), or "" when nothing was integrated.
  const std::string& run_branch() const { return run_branch_; }

 private:
  struct TaskPlace {
    isolation::Worktree worktree;
    bool created = false;
    std::optional<isolation::CommitInfo> committed;
  };
  workflow::Sandbox sandbox_of(int task) const;
  std::string worktree_path(int task) const;
  std::string scratch_path() const;
  // baton's private index of TASK's worktree: .baton/runs/<run>/git/<task>.index,
  // outside every sandbox (isolation/worktree.h).
  std::string index_path(int task) const;
  Result<void> remove_place(int task);

  const workflow::Workflow& wf_;
  std::string run_id_, root_dir_, state_dir_;
  isolation::Repository repo_;
  // Read-only inside a sandboxed task without a worktree: the project root's git
  // metadata (isolation::git_metadata_paths), found at the first such task.
  std::optional<std::vector<std::string>> root_git_paths_;
  isolation::GitAuthor author_;
  std::string base_;
  bool bwrap_works_ = false;
  /// As root: the host ids sandboxed tasks run as (BATON_SANDBOX_IDS, read by begin()).
  std::optional<isolation::SandboxIdRange> sandbox_ids_;
  // dependency_indices(wf), made at the first start of a worktree task (a run without
  // worktrees does not hold a list per task: bench/RESULTS.md, memory)
  std::vector<std::vector<int>> deps_;
  std::map<int, TaskPlace> places_;
  std::map<int, std::string> continue_from_;  // task -> the commit its attempts start from
  std::string run_branch_;
  bool per_task_ = false;                    // integrate_at: task and integrate not none
  std::string run_head_;                     // per task: the run branch's tip; "" = not made
  std::vector<std::string> integrated_ids_;  // per task: merged so far, in order
};

}  // namespace baton::engine
