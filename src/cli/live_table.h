// The frame of `baton run`'s live table (cli/live_view.h), as lines that fit a terminal.
//
// A frame never wraps and never scrolls: every line is cut to the terminal's width
// with an ellipsis, and the frame has at most rows - 1 lines (the cursor's line below
// it stays on the screen), so redrawing it in place leaves no stale copy. When the
// tasks do not fit, the ones that matter now are shown (running, waiting, waiting for
// a retry, then the most recently ended) in declaration order, and the rest are counted
// on one line: "… 25 more (12 done, 13 pending)". Gate hints and notices (Ctrl-C,
// pause) come before task rows when rows are scarce.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/scheduler.h"

namespace baton::cli {

/// A terminal's size in character cells.
struct TermSize {
  int cols = 80;
  int rows = 24;
};

/// What a frame shows besides the scheduler's tasks.
struct TableInput {
  std::string title;     ///< "run ID of WORKFLOW"
  std::string run_id;    ///< for the `baton approve RUN TASK` hints
  double now = 0;        ///< Unix seconds: task elapsed times, "retry in 4s"
  double elapsed_s = 0;  ///< the run's elapsed time (orchestrators' time, run.h active_seconds)
  std::vector<std::string> notices;  ///< shown at the bottom (Ctrl-C), newest last; the last 4
  bool color = true;                 ///< SGR colours on the state column and the title
  /// Task id -> what its running attempt does now (an agent over ACP: its last tool
  /// call or plan entry, acp/step.h), shown in the NOTE column of a running task.
  std::map<std::string, std::string> steps;
};

/// The frame for SCHEDULER's tasks on a terminal of SIZE: at most max(1, rows - 1)
/// lines, none wider than cols columns (display_width). Lines carry no newline.
std::vector<std::string> render_table(const engine::Scheduler& scheduler, const TableInput& input,
                                      TermSize size);

/// The columns TEXT takes on a terminal: UTF-8 code points outside escape sequences
/// (CSI "ESC [ ... final"), each counted as one column (wide CJK characters are
/// counted as one: baton's own text has none).
size_t display_width(std::string_view text);

/// TEXT cut to at most WIDTH columns: when it is wider, its first WIDTH - 1 columns and
/// "…", then an SGR reset when TEXT had escape sequences. Escape sequences are kept.
std::string fit_line(std::string_view text, int width);

/// TEXT on one line: newlines, tabs and other control characters become spaces (an
/// escape sequence in a task's reason or a gate message would move the cursor).
std::string one_line(std::string_view text);

}  // namespace baton::cli
