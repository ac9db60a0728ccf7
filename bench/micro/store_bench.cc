// The SQLite store: creating a run of 10,000 tasks, and the transaction the driver
// commits for every task end (attempt end + task success + the next task's start),
// durable (synchronous=FULL). Arg 0: the database on disk ($TMPDIR or /var/tmp);
// arg 1: on tmpfs (/dev/shm), which separates SQLite's CPU cost from fsync latency.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/store.h"

namespace baton::bench {
namespace {

namespace fs = std::filesystem;

/// A scratch directory, removed with everything in it at destruction.
class ScratchDir {
 public:
  explicit ScratchDir(bool tmpfs) {
    const char* env = getenv("TMPDIR");
    std::string base = tmpfs ? "/dev/shm" : (env ? env : "/var/tmp");
    std::string pattern = base + "/baton-micro-XXXXXX";
    if (mkdtemp(pattern.data())) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

store::TaskRecord task(int i, const std::string& status) {
  store::TaskRecord t;
  t.run_id = "run";
  t.task_id = "t" + std::to_string(i);
  t.position = i;
  t.status = status;
  return t;
}

store::Event event(const std::string& task_id, const std::string& kind, nlohmann::json data) {
  store::Event e;
  e.time = 1e9;
  e.run_id = "run";
  e.task_id = task_id;
  e.kind = kind;
  e.data = std::move(data);
  return e;
}

store::Batch create_run(int n) {
  store::Batch b;
  store::RunRecord run;
  run.id = "run";
  run.workflow_name = "micro";
  run.status = "running";
  b.run = run;
  for (int i = 0; i < n; ++i) b.tasks.push_back(task(i, "pending"));
  b.events.push_back(event("", "run.created", {{"tasks", n}}));
  return b;
}

void BM_StoreCreateRun(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  ScratchDir dir(state.range(1) != 0);
  auto store = store::open_sqlite_store(dir.path() + "/state.db");
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  store::Batch batch = create_run(n);
  int k = 0;
  for (auto _ : state) {
    batch.run->id = "run" + std::to_string(k++);
    for (auto& t : batch.tasks) t.run_id = batch.run->id;
    for (auto& e : batch.events) e.run_id = batch.run->id;
    if (auto r = (*store)->apply(batch); !r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_StoreTaskEnd(benchmark::State& state) {
  const int n = 10000;
  ScratchDir dir(state.range(0) != 0);
  auto store = store::open_sqlite_store(dir.path() + "/state.db");
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  if (auto r = (*store)->apply(create_run(n)); !r) {
    state.SkipWithError(r.error().message.c_str());
    return;
  }
  int i = 0;
  for (auto _ : state) {
    // Task i ends; task i+1 starts: what Driver::pump() commits per task at -j 1.
    int next = (i + 1) % n;
    store::Batch b;
    store::TaskRecord done = task(i, "success");
    done.attempts = 1;
    done.exit_code = 0;
    b.tasks.push_back(done);
    store::TaskRecord started = task(next, "running");
    started.attempts = 1;
    b.tasks.push_back(started);
    store::AttemptRecord a;
    a.run_id = "run";
    a.task_id = done.task_id;
    a.number = 1;
    a.status = "success";
    a.exit_status = "exited 0";
    a.exit_code = 0;
    a.log_path = "/x/.baton/runs/run/logs/" + done.task_id + ".1.log";
    b.attempts.push_back(a);
    store::AttemptRecord s = a;
    s.task_id = started.task_id;
    s.status = "running";
    s.exit_status.clear();
    s.exit_code.reset();
    b.attempts.push_back(s);
    b.events.push_back(event(done.task_id, "attempt.finished", {{"attempt", 1}, {"exit", "ok"}}));
    b.events.push_back(event(done.task_id, "task.success", {{"from", "running"}}));
    b.events.push_back(event(started.task_id, "task.running", {{"from", "ready"}}));
    b.events.push_back(event(started.task_id, "attempt.started", {{"attempt", 1}}));
    if (auto r = (*store)->apply(b); !r) state.SkipWithError(r.error().message.c_str());
    i = next;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["transactions/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_StoreCreateRun)->Args({10000, 0})->Args({10000, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreTaskEnd)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace baton::bench
