#include "cli/agent_probe.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace baton::cli {

namespace {

// "probing agent CLIs: DONE/TOTAL, waiting for A, B" with the line erased first.
void print_progress(const agents::ProbeProgress& p) {
  std::string line = fmt::format("probing agent CLIs: {}/{}", p.done, p.total);
  if (!p.running.empty()) {
    line += ", waiting for ";
    for (size_t i = 0; i < p.running.size(); ++i) line += (i ? ", " : "") + p.running[i];
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

}  // namespace

std::vector<agents::Detection> probe_agent_clis(const std::vector<std::string>& executables,
                                                double timeout_s) {
  agents::ProbeOptions options;
  options.timeout_s = timeout_s;
  options.max_parallel = kMaxParallelProbes;
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  if (terminal) {
    options.on_progress = print_progress;
    print_progress({0, executables.size(), {}});
  }
  std::vector<agents::Detection> out = agents::detect_all(executables, options);
  if (terminal) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
  return out;
}

std::string version_text(const agents::Detection& d, double timeout_s) {
  if (d.timed_out) return fmt::format("no answer to --version in {:g}s", timeout_s);
  return d.version.empty() ? "-" : d.version;
}

}  // namespace baton::cli
