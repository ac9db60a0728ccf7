// Start-to-exit latency of one `true` run as an attempt: exec::Process (uv_spawn, a
// fork of this process) against exec::Supervised (posix_spawn of baton-supervise, which
// forks `true`, records its end durably and exits), both with a log file, while this
// process holds BALLAST MiB of resident memory. Each iteration is one start, run to its
// exit callback; `median_us` is the median of the iterations (200 by default), which
// the issue asks for (bench/RESULTS.md, "Attempt supervisors").
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "exec/loop.h"
#include "exec/process.h"
#include "exec/supervised.h"

namespace baton::bench {
namespace {

/// MIB mebibytes of touched heap, in 64 KiB blocks, freed at destruction.
class Heap {
 public:
  explicit Heap(int64_t mib) {
    malloc_trim(0);
    for (int64_t i = 0; i < mib * 16; ++i) {
      blocks_.emplace_back(64 * 1024);
      std::memset(blocks_.back().data(), 1, blocks_.back().size());
    }
  }

 private:
  std::vector<std::vector<char>> blocks_;
};

/// A scratch directory, removed at destruction.
class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/baton-supervised-bench-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~ScratchDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Runs `true` as one attempt per iteration with START (Process::start or
// Supervised::start) and reports the median start-to-callback time.
template <typename Start>
void run_attempts(benchmark::State& state, Start start) {
  Heap heap(state.range(0));
  ScratchDir dir;
  auto loop = exec::Loop::create();
  if (!loop || dir.path().empty()) {
    state.SkipWithError("no loop or scratch directory");
    return;
  }
  std::vector<double> times_us;
  int n = 0;
  for (auto _ : state) {
    exec::ProcessSpec spec;
    spec.argv = {"/usr/bin/true"};
    spec.log_path = dir.path() + "/t." + std::to_string(n++) + ".log";
    bool ok = false;
    auto t0 = std::chrono::steady_clock::now();
    auto handle = start((*loop)->get(), std::move(spec),
                        [&](const exec::ProcessResult& r) { ok = r.status.success(); });
    if (!handle) {
      state.SkipWithError(handle.error().message.c_str());
      return;
    }
    (*loop)->run();
    auto t1 = std::chrono::steady_clock::now();
    times_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (!ok) {
      state.SkipWithError("true did not succeed");
      return;
    }
  }
  state.counters["median_us"] = median(times_us);
  state.SetItemsProcessed(state.iterations());
}

void BM_AttemptProcess(benchmark::State& state) {
  run_attempts(state, [](uv_loop_s* loop, exec::ProcessSpec spec, exec::Process::ExitCallback cb) {
    return exec::Process::start(loop, std::move(spec), std::move(cb));
  });
}

void BM_AttemptSupervised(benchmark::State& state) {
  run_attempts(state,
               [](uv_loop_s* loop, exec::ProcessSpec spec, exec::Supervised::ExitCallback cb) {
                 return exec::Supervised::start(loop, std::move(spec), std::move(cb));
               });
}

BENCHMARK(BM_AttemptProcess)
    ->Arg(5)
    ->Arg(200)
    ->Iterations(200)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AttemptSupervised)
    ->Arg(5)
    ->Arg(200)
    ->Iterations(200)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace baton::bench
