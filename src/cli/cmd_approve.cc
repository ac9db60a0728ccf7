// baton approve RUN TASK [--comment TEXT] | --reject [--reason TEXT]: decide a task that
// waits for a person (a `gate`, or a failure escalated by `on_failure: escalate`).
//
// Approving a gate lets its work run (a gate without work succeeds, output = the
// comment); approving an escalated task marks it succeeded (a person fixed it), output
// = the comment; approving a task whose agent asked a question (an A2A agent's
// input-required, docs/agents.md) answers it with the comment. Rejecting fails the
// task with reason "rejected: REASON".
// When the run's orchestrator is alive, the decision is recorded as a gate.decision
// event and the orchestrator gets SIGUSR1 (cli/orchestrator.h); it applies the decision
// and continues; `baton approve` waits (up to --timeout) until the task has moved on.
// When no orchestrator runs (the run is waiting after --no-wait, or baton was killed),
// `baton approve` takes the run lock and records the decision itself; `baton resume
// RUN` then continues the run.
//
// Exit codes: 0 decided; 2 no state database, no such run or task, or the task is not
// waiting; 4 the store failed, the signal could not be sent, or the orchestrator did
// not act within the timeout.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/orchestrator.h"
#include "engine/review.h"
#include "store/process_identity.h"

namespace baton::cli {

namespace {

struct ApproveArgs {
  std::string run_id;
  std::string task_id;
  std::string comment;
  bool reject = false;
  std::string reason;
  double timeout_s = 30;
};

double now_s() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

store::Event make_event(const std::string& run_id, const std::string& task_id,
                        const std::string& kind, nlohmann::json data) {
  store::Event e;
  e.time = now_s();
  e.run_id = run_id;
  e.task_id = task_id;
  e.kind = kind;
  e.data = std::move(data);
  return e;
}

// No orchestrator: under the run lock, the task's row takes the decision itself.
int decide_offline(store::Store& store, const store::RunRecord& run, store::TaskRecord task,
                   const ApproveArgs& args, const nlohmann::json& decision) {
  auto lock = store.acquire_run_lock(run.id, static_cast<int>(getpid()), store::self_start_time());
  if (!lock) {
    std::fprintf(stderr, "baton: %s\n", lock.error().message.c_str());
    return kExitInternal;
  }
  if (!lock->acquired) {
    std::fprintf(stderr, "baton: run %s is now run by another baton (pid %d); try again\n",
                 run.id.c_str(), lock->holder_pid);
    return kExitInternal;
  }
  auto again = store.get_task(run.id, task.task_id);  // under the lock
  if (!again || !*again || (*again)->status != "waiting") {
    std::fprintf(stderr, "baton: task '%s' is no longer waiting\n", task.task_id.c_str());
    return kExitUsage;
  }
  task = **again;
  const double now = now_s();
  store::Batch batch;
  batch.events.push_back(make_event(run.id, task.task_id, "gate.decision", decision));
  if (args.reject) {
    task.status = "failed";
    task.reason = "rejected" + (args.reason.empty() ? std::string() : ": " + args.reason);
    task.ended_at = now;
    batch.events.push_back(make_event(run.id, task.task_id, "task.rejected", decision));
  } else if (task.gate == "escalated") {
    task.status = "success";
    // An exhausted review (docs/review.md): the work under review is the task's output.
    if (task.reason.rfind(engine::kReviewExhaustedReason, 0) != 0) task.output = args.comment;
    task.reason.clear();
    task.ended_at = now;
    batch.events.push_back(make_event(run.id, task.task_id, "task.approved", decision));
  } else {
    // A gate: its work (or, with none, its success) comes when the run resumes. A task
    // whose agent asked a question (gate "input"): its next attempt carries the answer,
    // kept as its output until then (gate "answered", engine/run.cc).
    task.status = "pending";
    task.gate = task.gate == "input" ? "answered" : "approved";
    task.output = args.comment;
    task.reason.clear();
    batch.events.push_back(make_event(run.id, task.task_id, "task.approved", decision));
  }
  batch.events.push_back(make_event(run.id, task.task_id, "task." + task.status,
                                    {{"from", "waiting"}, {"reason", "baton approve"}}));
  batch.tasks.push_back(task);
  if (auto r = store.apply(batch); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  std::printf("task %s %s; continue the run with: baton resume %s\n", task.task_id.c_str(),
              args.reject ? "rejected" : "approved", run.id.c_str());
  return kExitSuccess;
}

int approve_command(const ApproveArgs& args) {
  auto opened = open_run(args.run_id);
  if (!opened) return opened.error();
  store::Store& store = *opened->store;
  const store::RunRecord& run = opened->run;
  auto task = store.get_task(run.id, args.task_id);
  if (!task) {
    std::fprintf(stderr, "baton: %s\n", task.error().message.c_str());
    return kExitInternal;
  }
  if (!*task) {
    std::fprintf(stderr, "baton: run %s has no task '%s'\n", run.id.c_str(), args.task_id.c_str());
    return kExitUsage;
  }
  if ((*task)->status != "waiting") {
    std::fprintf(stderr, "baton: task '%s' of run %s is %s, not waiting for approval\n",
                 args.task_id.c_str(), run.id.c_str(), (*task)->status.c_str());
    return kExitUsage;
  }
  nlohmann::json decision{{"decision", args.reject ? "reject" : "approve"},
                          {"pid", static_cast<int>(getpid())}};
  if (const char* user = std::getenv("USER")) decision["by"] = user;
  if (args.reject) {
    decision["reason"] = args.reason;
  } else {
    decision["comment"] = args.comment;
  }
  Orchestrator orchestrator(run.orchestrator_pid, run.orchestrator_start_time);
  if (!orchestrator.alive()) return decide_offline(store, run, **task, args, decision);

  store::Batch request;
  request.events.push_back(make_event(run.id, args.task_id, "gate.decision", decision));
  if (auto r = store.apply(request); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  switch (orchestrator.signal(SIGUSR1)) {
    case Signalled::kGone:
      return decide_offline(store, run, **task, args, decision);
    case Signalled::kFailed:
      std::fprintf(stderr, "baton: %s\n", orchestrator.error().c_str());
      return kExitInternal;
    case Signalled::kSent:
      break;
  }
  // Bounded wait for the orchestrator to act (a cross-process wait: poll the row).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(args.timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = store.get_task(run.id, args.task_id);
    if (now && *now && (*now)->status != "waiting") {
      std::printf("task %s %s; run %s continues (now %s)\n", args.task_id.c_str(),
                  args.reject ? "rejected" : "approved", run.id.c_str(), (*now)->status.c_str());
      return kExitSuccess;
    }
    if (!orchestrator.alive()) return decide_offline(store, run, **task, args, decision);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "baton: the orchestrator of run %s (pid %d) has not acted after %g s\n",
               run.id.c_str(), run.orchestrator_pid, args.timeout_s);
  return kExitInternal;
}

}  // namespace

void add_approve(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "approve", "Approve (or --reject) a task waiting at a gate or after an escalation");
  auto args = std::make_shared<ApproveArgs>();
  cmd->add_option("RUN", args->run_id, kRunHelp)->required();
  cmd->add_option("TASK", args->task_id, "the waiting task")->required();
  cmd->add_option("--comment", args->comment, "the approver's note: the task's output");
  auto* reject = cmd->add_flag("--reject", args->reject, "fail the task instead");
  cmd->add_option("--reason", args->reason, "why it is rejected")->needs(reject);
  cmd->add_option("--timeout", args->timeout_s,
                  "seconds to wait for a live orchestrator to act on the decision")
      ->check(CLI::PositiveNumber);
  cmd->callback([=] { *exit_code = approve_command(*args); });
}

}  // namespace baton::cli
