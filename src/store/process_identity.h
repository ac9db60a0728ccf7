// Which process is a run's orchestrator: a pid plus the process's start time, so a
// pid reused by an unrelated process after a crash is never mistaken for it.
//
// Linux only: reads /proc/PID/stat (proc(5)). Nothing here signals a process.
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>

#include "util/error.h"

namespace baton::store {

/// The start time of process PID: field 22 of /proc/PID/stat, in clock ticks since
/// boot (sysconf(_SC_CLK_TCK) per second). Errors: no such process ("no process
/// PID", errno ESRCH), /proc unreadable or malformed.
Result<int64_t> process_start_time(int pid);

/// process_start_time(getpid()); 0 if /proc cannot be read.
int64_t self_start_time();

/// True when a process with PID exists, is not a zombie, and is the one that
/// started at START_TIME. START_TIME 0 (unknown: a run recorded by schema v1) falls
/// back to "its argv[0] is named baton" (/proc/PID/cmdline). PID <= 0 → false.
bool process_is_running(int pid, int64_t start_time);

}  // namespace baton::store
