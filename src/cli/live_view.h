// What `baton run` shows while a run is live.
//
// - PlainView (no TTY, or --plain): one line per transition, e.g.
//   "14:02:07  build      running   attempt 1"
//   "14:02:09  build      success   2.01s"
//   "14:02:09  lint       failed    exited 1 (log: .baton/runs/.../lint.1.log)"
//   and what Ctrl-C does on stderr ("baton: interrupted (Ctrl-C): stopping 3 tasks: ...").
// - TableView (a TTY): a table of tasks (task, state, agent, attempt, elapsed, note)
//   redrawn in place at most every 50 ms on transitions (always on the last one),
//   every 0.25 s, and on SIGWINCH (cleared and drawn at the new size). The frame fits
//   the terminal (cli/live_table.h): lines are cut to its width, and with more tasks
//   than rows the ones that matter now are shown and the rest counted on one line.
//   What Ctrl-C does is a line at the bottom of the frame.
#pragma once

#include <cstdio>
#include <memory>

#include "engine/run.h"

namespace baton::cli {

/// A view for `baton run`: TableView when TTY, else PlainView. Writes to OUT.
std::unique_ptr<engine::RunObserver> make_view(bool tty, FILE* out);

}  // namespace baton::cli
