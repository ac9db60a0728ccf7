// ExitStatus::to_string: the one place that words how a process ended.
#include <string.h>

#include <cstdio>

#include "exec/process.h"

namespace baton::exec {
namespace {

// "SIGTERM" for 15; "signal 99" for numbers glibc has no name for.
std::string signal_name(int signo) {
  if (const char* abbrev = sigabbrev_np(signo)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(signo);
}

// Seconds, compactly: 30 -> "30s", 0.5 -> "0.5s".
std::string compact_seconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", seconds);
  return std::string(buf) + "s";
}

}  // namespace

std::string ExitStatus::to_string() const {
  switch (kind) {
    case Kind::kExited:
      return "exited " + std::to_string(code);
    case Kind::kSignaled:
      return "killed by signal " + std::to_string(signal) +
             (error.empty() ? "" : " (" + error + ")");
    case Kind::kTimedOut:
      return "timed out after " + compact_seconds(timeout_s) + " (" + signal_name(signal) + ")";
    case Kind::kCancelled:
      return "cancelled (" + signal_name(signal) + ")";
    case Kind::kFailedToStart:
      return "failed to start: " + error;
    case Kind::kLost:
      return "supervisor died" + (error.empty() ? "" : " (" + error + ")");
  }
  return "unknown exit status";
}

}  // namespace baton::exec
