#include "store/cancel.h"

namespace baton::store {

namespace {

bool is_unfinished(const std::string& task_status) {
  return task_status == "pending" || task_status == "ready" || task_status == "running" ||
         task_status == "waiting";
}

Event make_event(const std::string& run_id, const std::string& task_id, std::string kind,
                 nlohmann::json data, double now) {
  Event e;
  e.time = now;
  e.run_id = run_id;
  e.task_id = task_id;
  e.kind = std::move(kind);
  e.data = std::move(data);
  return e;
}

}  // namespace

Result<CancelledRun> cancel_abandoned_run(Store& store, const std::string& run_id,
                                          const std::string& reason, double now) {
  auto run = store.get_run(run_id);
  if (!run) return tl::unexpected(run.error());
  if (!*run) return fail("no run '" + run_id + "'");
  auto tasks = store.list_tasks(run_id);
  if (!tasks) return tl::unexpected(tasks.error());
  auto attempts = store.list_attempts(run_id, "");
  if (!attempts) return tl::unexpected(attempts.error());

  CancelledRun changed;
  Batch batch;
  for (AttemptRecord a : *attempts) {
    if (a.status != "running") continue;
    a.status = "cancelled";
    a.error_class = "cancelled";
    a.error = reason;
    a.ended_at = now;
    batch.events.push_back(make_event(run_id, a.task_id, "attempt.finished",
                                      {{"attempt", a.number}, {"exit", ""}, {"reason", reason}},
                                      now));
    batch.attempts.push_back(std::move(a));
    ++changed.attempts;
  }
  for (TaskRecord t : *tasks) {
    if (!is_unfinished(t.status)) continue;
    batch.events.push_back(make_event(run_id, t.task_id, "task.cancelled",
                                      {{"from", t.status}, {"reason", reason}}, now));
    t.status = "cancelled";
    t.reason = reason;
    t.ended_at = now;
    batch.tasks.push_back(std::move(t));
    ++changed.tasks;
  }
  RunRecord record = std::move(**run);
  record.status = "cancelled";
  record.ended_at = now;
  batch.run = std::move(record);
  batch.events.push_back(
      make_event(run_id, "", "run.finished", {{"status", "cancelled"}, {"reason", reason}}, now));
  if (auto r = store.apply(batch); !r) return tl::unexpected(r.error());
  return changed;
}

}  // namespace baton::store
