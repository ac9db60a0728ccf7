// Recording a run as cancelled when its orchestrator is gone (it crashed or was
// killed), so nothing else will ever record how the run ended. Used by
// `baton cancel` (cli/cmd_cancel.cc) after acquire_run_lock() proved that.
#pragma once

#include <string>

#include "store/store.h"
#include "util/error.h"

namespace baton::store {

/// What cancel_abandoned_run() changed.
struct CancelledRun {
  int tasks = 0;     ///< tasks moved from pending, ready or running to cancelled
  int attempts = 0;  ///< attempts moved from running to cancelled
};

/// In one transaction: run RUN_ID becomes cancelled (ended_at NOW, Unix seconds);
/// every task still pending, ready, running or waiting becomes cancelled with REASON; every
/// attempt still running becomes cancelled (error class "cancelled", error REASON,
/// exit status "" as it was never seen). Events, in this order: attempt.finished per
/// attempt, task.cancelled per task (data: from, reason), then run.finished (data:
/// status "cancelled", reason). The attempts' processes are not touched here: the caller
/// stops them first (exec::cancel_attempt on each one's control file). REQUIRES: the caller holds
/// the run lock (Store::acquire_run_lock). Errors: no such run ("no run 'ID'"), store failures.
Result<CancelledRun> cancel_abandoned_run(Store& store, const std::string& run_id,
                                          const std::string& reason, double now);

}  // namespace baton::store
