// The time stamp baton's own adapter clients put on the log lines they write
// (`baton __acp-bridge`, `__a2a-client`, `__http-job`): "time_ms", Unix time in
// milliseconds from the real-time clock when the line was written. Log lines of an
// agent CLI carry no time; these do, so that "dispatch -> first event of the agent" can
// be read from the log itself (bench/adapters_bench.py). Header-only: the ACP fuzzer
// (scripts/fuzz) builds without the agents library.
#pragma once

#include <chrono>
#include <cstdint>

namespace baton::agents {

/// The key of the time stamp in a log line.
inline constexpr const char* kEventTimeKey = "time_ms";

/// Now, as Unix time in milliseconds (system_clock).
inline int64_t event_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace baton::agents
