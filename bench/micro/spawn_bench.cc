// Starting a process while the parent holds BALLAST MiB of resident memory: fork+exec
// (what libuv's uv_spawn does), posix_spawn (vfork semantics), and baton's own
// exec::Process::start of `true` on a libuv loop. fork copies the parent's page tables,
// so its cost grows with the parent's resident memory; posix_spawn's does not
// (bench/RESULTS.md, "Process start"). Items are processes started and reaped.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "exec/loop.h"
#include "exec/process.h"

extern char** environ;

namespace baton::bench {
namespace {

/// This process's resident memory, MiB (/proc/self/statm).
double resident_mib() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

/// MIB mebibytes of touched heap memory, in 64 KiB blocks (below glibc's mmap
/// threshold, as the heap of a loaded workflow is), freed at destruction. First returns
/// what earlier benchmarks freed, so that the process holds about MIB plus its base.
class Ballast {
 public:
  explicit Ballast(benchmark::State& state) {
    malloc_trim(0);
    const int64_t mib = state.range(0);
    for (int64_t i = 0; i < mib * 16; ++i) {
      blocks_.emplace_back(64 * 1024);
      std::memset(blocks_.back().data(), 1, blocks_.back().size());
    }
    state.counters["resident_MiB"] = resident_mib();
  }

 private:
  std::vector<std::vector<char>> blocks_;
};

char* const kArgv[] = {const_cast<char*>("/usr/bin/true"), nullptr};

void BM_ForkExec(benchmark::State& state) {
  Ballast ballast(state);
  for (auto _ : state) {
    pid_t pid = fork();
    if (pid == 0) {
      execve(kArgv[0], kArgv, environ);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PosixSpawn(benchmark::State& state) {
  Ballast ballast(state);
  for (auto _ : state) {
    pid_t pid = 0;
    if (posix_spawn(&pid, kArgv[0], nullptr, nullptr, kArgv, environ) != 0) {
      state.SkipWithError("posix_spawn failed");
      return;
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ProcessStart(benchmark::State& state) {
  Ballast ballast(state);
  auto loop = exec::Loop::create();
  if (!loop) {
    state.SkipWithError(loop.error().message.c_str());
    return;
  }
  exec::ProcessSpec spec;
  spec.argv = {"/usr/bin/true"};
  for (auto _ : state) {
    bool ok = false;
    auto process = exec::Process::start(
        (*loop)->get(), spec, [&](const exec::ProcessResult& r) { ok = r.status.success(); });
    if (!process) {
      state.SkipWithError(process.error().message.c_str());
      return;
    }
    (*loop)->run();
    if (!ok) state.SkipWithError("true did not succeed");
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ForkExec)->Arg(5)->Arg(50)->Arg(200)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PosixSpawn)->Arg(5)->Arg(50)->Arg(200)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ProcessStart)->Arg(5)->Arg(50)->Arg(200)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace baton::bench
