// MetricsSnapshot: the aggregate state of a whole store database, for `baton serve`'s
// GET /metrics (serve/metrics.h renders it in the Prometheus text format).
//
// Every figure is counted and bucketed in SQL (Store::metrics_snapshot), so its cost
// in memory does not grow with the database: a database of many runs of 100,000
// tasks is read as a few aggregate queries, never row by row into C++. Counts are
// totals over the database, so a restarted server reports the same values.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace baton::store {

/// The upper bounds (seconds, inclusive: `le`) of the duration histograms' buckets,
/// chosen for agent tasks (a second to an hour); +Inf is implied after the last.
inline constexpr std::array<double, 10> kDurationBucketsSeconds = {1,   5,   15,  30,   60,
                                                                   120, 300, 600, 1800, 3600};

/// A cumulative histogram of durations: buckets[i] counts the durations
/// <= kDurationBucketsSeconds[i]; count is every duration (the +Inf bucket), sum
/// their total in seconds.
struct DurationHistogram {
  std::array<int64_t, kDurationBucketsSeconds.size()> buckets{};
  int64_t count = 0;
  double sum = 0;
};

/// Aggregates over every run, task and attempt in the database.
struct MetricsSnapshot {
  /// Runs by their status (running, success, failed, cancelled, paused, waiting); a
  /// status with no run is absent.
  std::map<std::string, int64_t> runs_by_status;
  /// Durations (ended_at - created_at) of the runs that ended, by their status
  /// (success, failed, cancelled); a run that ended before it was created (a clock
  /// set back) has none.
  std::map<std::string, DurationHistogram> run_durations;
  /// Durations (ended_at - started_at) of the tasks that started and ended, by their
  /// status (success, failed, cancelled), as for run_durations.
  std::map<std::string, DurationHistogram> task_durations;
  /// Tasks by their status (pending, ready, running, success, failed, skipped,
  /// cancelled, waiting: a gate or an escalation awaits `baton approve`); a status
  /// with no task is absent.
  std::map<std::string, int64_t> tasks_by_status;
  int64_t attempts = 0;  ///< attempt rows
  int64_t retries = 0;   ///< attempt rows with number > 1
  /// Tokens summed over attempts, as floating point (the values come from agents'
  /// output: an absurd one must not overflow the sum, and Prometheus values are doubles).
  double input_tokens = 0;
  double output_tokens = 0;
  double cached_tokens = 0;
  double cost_usd = 0;  ///< summed over attempts whose cost is known (USD)
  /// Workflow name -> the latest ended_at (Unix seconds) of its runs that succeeded.
  std::map<std::string, double> last_success_by_workflow;
};

}  // namespace baton::store
