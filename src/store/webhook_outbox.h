// The webhook outbox's producing side: which stored events become webhook
// deliveries, and their bodies. Store::apply() (sqlite_store.cc) inserts the
// deliveries of each event it appends in the SAME transaction as the event, one row
// per active endpoint subscribed to the type (kEnqueueDeliveries), so a delivery
// exists exactly when its event does. Tables: store/SCHEMA.md (version 4).
//
// Mapping (the event kinds engine/run.cc and cli/cmd_approve.cc record):
//   run.created                         -> run.started
//   run.finished data.status success    -> run.succeeded
//   run.finished data.status failed     -> run.failed
//   run.finished data.status cancelled  -> run.cancelled
//   task.failed                         -> task.failed
//   task.waiting                        -> approval.requested
//   task.approved, task.rejected        -> approval.resolved
// Every other kind (run.resumed, run.paused, task.success, ...) sends nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/store.h"

namespace baton::store {

/// The webhook type of stored event E (kind and data), or nullopt when E sends none.
std::optional<std::string> webhook_type_of(const Event& e);

/// The exact body bytes of E's webhook of TYPE, a "thin" payload (Standard Webhooks):
///   {"type": TYPE, "timestamp": "2026-12-05T17:30:00.123Z" (E.time, UTC, ms),
///    "data": {"run_id", "event_seq": SEQ, "task_id" (task events only),
///             "status" (run.succeeded/failed/cancelled), "decision" (approval.resolved:
///             "approve" | "reject")}}
/// Compact JSON, keys in that order. Receivers read the rest through the API.
std::string webhook_body(const std::string& type, const Event& e, int64_t seq);

/// "2026-12-05T17:30:00.123Z" for Unix time SECONDS (UTC, milliseconds).
std::string iso8601_utc(double seconds);

/// Inserts one pending delivery per active endpoint subscribed to ?3 (its `events`
/// column is "*" or ",type,type,"): ?1 run id, ?2 event seq, ?3 type, ?4 body, ?5 the
/// event's time (created_at and next_attempt_at: due at once). Each row gets a fresh
/// webhook-id "msg_" + 32 random hex digits, kept across its retries.
inline constexpr const char* kEnqueueDeliveries = R"sql(
INSERT INTO webhook_deliveries (webhook_id, endpoint_id, run_id, event_seq, type, body, status,
                                attempts, created_at, next_attempt_at)
SELECT 'msg_' || lower(hex(randomblob(16))), id, ?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5
FROM webhook_endpoints
WHERE status = 'active' AND (events = '*' OR instr(events, ',' || ?3 || ',') > 0))sql";

}  // namespace baton::store
