// Rows written more than once in one transaction: only the last write of each is ever
// visible, so the earlier ones can be left out before it is written.
//
// A wide run's grouped transaction (ARCHITECTURE.md, "Transactions nothing waits for
// are grouped") records most tasks twice (running, then success) and their attempts
// twice (started, then finished): four upserts where two leave the same rows.
#pragma once

#include <cstddef>
#include <vector>

#include "store/store.h"

namespace baton::store {

/// Drops from PARTS (the parts of one transaction, in order: Store::apply_parts) every
/// task record that a later task record of the same row (run_id, task_id) replaces, and
/// every attempt record that a later one of the same row (run_id, task_id, number)
/// replaces, as the back ends' upserts would: the later record's values win, except
/// that a task record without dependencies keeps those of the record it replaces
/// (the upsert's coalesce()). The survivors keep their order; runs and events are left
/// as they are (every event is its own row). Returns how many records were dropped.
size_t coalesce_rows(std::vector<Batch>& parts);

}  // namespace baton::store
