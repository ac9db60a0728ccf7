// The JSON bodies of `baton serve`'s API (docs/openapi.json names their schemas):
// store records as the API shows them, and the runs list's opaque page token.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store/store.h"

namespace baton::serve {

/// RunSummary: id, workflow, workflow_path, status, created_at, ended_at (Unix
/// seconds, 0 while running), tasks_total, tasks_by_status, input_tokens,
/// output_tokens, cached_tokens, cost_usd (USD; null when no attempt knows its cost).
nlohmann::json run_summary_json(const store::RunRecord& run, const store::RunTotals& totals);

/// TaskSummary: id, status, attempts, agent, reason, gate, exit_code (null when the
/// last attempt did not exit), started_at, ended_at.
nlohmann::json task_summary_json(const store::TaskRecord& task);

/// Attempt: number, agent, status, exit_status, exit_code, error_class, error,
/// started_at, ended_at, input_tokens, output_tokens, cached_tokens, cost_usd,
/// log_bytes (LOG_BYTES: the log's size now, 0 when it has none).
nlohmann::json attempt_json(const store::AttemptRecord& attempt, int64_t log_bytes);

/// FeedEvent as sent on the SSE stream: id (global), run_id, seq, task_id, kind, time,
/// data.
nlohmann::json feed_event_json(const store::FeedEvent& event);

/// EVENT as one SSE message: `id:` its global id, `data:` feed_event_json() (sse.h).
/// Invalid UTF-8 in its strings becomes U+FFFD.
std::string feed_event_message(const store::FeedEvent& event);

/// The page token after RUN (the last run of a page): base64url of
/// "<created_at as %.17g>|<id>". Opaque to clients.
std::string encode_page_token(const store::RunRecord& run);

/// Reads a page token into QUERY's cursor. False when TOKEN is not one
/// encode_page_token() made (the caller answers 400).
bool decode_page_token(const std::string& token, store::RunPageQuery* query);

}  // namespace baton::serve
