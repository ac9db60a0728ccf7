// What `baton run` shows while a run is live.
//
// - PlainView (no TTY, or --plain): one line per transition, e.g.
//   "14:02:07  build      running   attempt 1"
//   "14:02:09  build      success   2.01s"
//   "14:02:09  lint       failed    exited 1 (log: .baton/runs/.../lint.1.log)"
// - TableView (a TTY): a table of tasks (task, state, agent, attempt, elapsed)
//   redrawn in place at most every 50 ms on transitions (always on the last one)
//   and every 0.25 s. With more tasks than
//   fit, finished tasks fold into a counts line and running ones stay visible.
#pragma once

#include <cstdio>
#include <memory>

#include "engine/run.h"

namespace baton::cli {

/// A view for `baton run`: TableView when TTY, else PlainView. Writes to OUT.
std::unique_ptr<engine::RunObserver> make_view(bool tty, FILE* out);

}  // namespace baton::cli
