// Text and JSON renderings of a run, from what the store holds. `baton run` ends
// with write_summary(); `baton status RUN` prints the same.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/store.h"

namespace baton::cli {

/// A duration for people: "0.35s", "12.4s", "3m07s", "1h02m".
std::string format_duration(double seconds);

/// At most this many task rows, and as many failures, in a summary that does not list
/// every task (write_summary()).
inline constexpr size_t kSummaryRows = 40;

/// The run's summary, written to OUT: a header (id, workflow, status, wall time), tasks
/// by state, one row per task (status, attempts, agent, time, tokens, cost) followed,
/// when there is one, by its task_note() on a line of its own, token and cost totals
/// where known, and for each failed task its reason and log path. A run of more than
/// kSummaryRows tasks (hooks not counted) lists, unless EVERY_TASK, only the rows of
/// the tasks that did not succeed, the first kSummaryRows of them in declaration order,
/// then one line that counts the tasks left out by state and names the command that
/// lists them all (`baton status RUN --all`); its failures likewise stop after
/// kSummaryRows with a count of the rest. The hooks' rows are always listed. Read from
/// STORE as counts (Store::run_totals), then one record at a time: the tasks once, the
/// attempts once when some name an agent or report usage. So a run of any size costs
/// about the memory of its hooks' rows and its listed failed tasks' ids. Errors: a read
/// failed (the summary may be partly written).
Result<void> write_summary(store::Store& store, const store::RunRecord& run, std::FILE* out,
                           bool every_task = false);

/// One line about task T for the summary, "" when there is nothing to say: for an
/// agent task that succeeded, "answer: " and the first line of its answer; for any
/// other task with a recorded reason, "STATUS: REASON" ("skipped: condition is false:
/// ...", "cancelled: dependency 'x' failed", "failed: exited 3", "waiting: approval
/// required"). Cut at about 140 bytes with "...".
std::string task_note(const store::TaskRecord& t);

/// One line per run: id, workflow, status, start time (UTC), wall time, tasks by state.
std::string render_run_list(const std::vector<store::RunRecord>& runs);

/// The most bytes of a task's output that `status --json` and `run --json` print
/// (`output`); `output_bytes` gives the stored size and `output_truncated` says whether
/// `output` is less than the whole output.
inline constexpr size_t kOutputPreviewBytes = 4096;

/// JSON forms (documented in docs/state-and-logs.md). A task's `output` is a
/// preview of at most kOutputPreviewBytes (cut at a UTF-8 character boundary),
/// `output_bytes` the size of the stored output, `output_truncated` true when the
/// preview is shorter than it or the stored output was itself cut at
/// engine::kMaxTaskOutputBytes.
nlohmann::json to_json(const store::RunRecord& run);
nlohmann::json to_json(const store::TaskRecord& task);
nlohmann::json to_json(const store::AttemptRecord& attempt);

/// VALUE as the text `--json` prints (indent 2). Strings that are not valid UTF-8 (a
/// task's raw output) have each invalid byte replaced by U+FFFD, so the document is
/// always valid JSON and printing never fails; the bytes stay as they were in the
/// store and the log (`baton logs`).
std::string dump_json(const nlohmann::json& value);

}  // namespace baton::cli
