// Probing the agent CLIs installed here (`baton agents`, `baton init`): every
// `--version` at once up to a bound, each with a time limit, and a progress line on a
// terminal so that the wait is never silent.
#pragma once

#include <string>
#include <vector>

#include "agents/invoker.h"

namespace baton::cli {

/// Seconds each `--version` may take by default; `--probe-timeout` changes it.
inline constexpr double kDefaultProbeTimeoutS = 10;

/// Probes at a time. An npm-installed CLI costs no process (agents::detect reads its
/// package.json); the others' `--version` mostly burns CPU starting node (0.2 to 2 s
/// each), so the bound keeps a few from starving each other past their time limit.
inline constexpr size_t kMaxParallelProbes = 8;

/// agents::detect_all() of EXECUTABLES with TIMEOUT_S seconds per `--version`, at most
/// kMaxParallelProbes at a time. While it runs, when stderr is a terminal, one line on
/// stderr is rewritten after each probe ("probing agent CLIs: 3/9, waiting for gemini,
/// qwen") and erased at the end; nothing is printed otherwise. Results are in the
/// order of EXECUTABLES.
std::vector<agents::Detection> probe_agent_clis(const std::vector<std::string>& executables,
                                                double timeout_s);

/// The VERSION column for D: its version, "no answer to --version in Ns" when it timed
/// out, "-" when unknown.
std::string version_text(const agents::Detection& d, double timeout_s);

}  // namespace baton::cli
