#include "cli/live_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "cli/summary.h"

namespace baton::cli {

namespace {

using engine::Scheduler;
using engine::TaskState;
using engine::TaskStatus;

constexpr const char* kEllipsis = "\xe2\x80\xa6";  // U+2026, one column
constexpr int kMaxGatesShown = 2;
constexpr size_t kMaxNoticesShown = 4;

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the escape sequence at TEXT[I] (TEXT[I] == ESC): CSI up to its final byte,
// else the ESC and the next byte.
size_t escape_length(std::string_view text, size_t i) {
  if (i + 1 < text.size() && text[i + 1] == '[') {
    size_t j = i + 2;
    while (j < text.size() && !(text[j] >= 0x40 && text[j] <= 0x7E)) ++j;
    return std::min(text.size(), j + 1) - i;
  }
  return std::min<size_t>(2, text.size() - i);
}

const char* color(TaskStatus st) {
  switch (st) {
    case TaskStatus::kRunning:
      return "\x1b[36m";
    case TaskStatus::kSuccess:
      return "\x1b[32m";
    case TaskStatus::kFailed:
      return "\x1b[31m";
    case TaskStatus::kSkipped:
    case TaskStatus::kCancelled:
      return "\x1b[33m";
    case TaskStatus::kWaiting:
      return "\x1b[35m";
    default:
      return "\x1b[2m";
  }
}

// A cell of exactly WIDTH columns: TEXT cut with an ellipsis, or padded (left-aligned
// unless RIGHT).
std::string cell(const std::string& text, size_t width, bool right = false) {
  std::string cut = fit_line(text, static_cast<int>(width));
  size_t w = display_width(cut);
  std::string pad(width > w ? width - w : 0, ' ');
  return right ? pad + cut : cut + pad;
}

bool waiting_for_retry(const TaskState& t) {
  return t.status == TaskStatus::kPending && t.attempts > 0 && t.retry_at > 0;
}

// "retry in 4s" for a task waiting for its retry.
std::string retry_text(const TaskState& t, double now) {
  double left = std::ceil(t.retry_at - now);
  if (left <= 0) return "retry now";
  if (left < 60) return fmt::format("retry in {}s", static_cast<long>(left));
  return "retry in " + format_duration(left);
}

// The STATE column: the status, "timed out" for a task whose attempt hit its timeout.
std::string state_text(const TaskState& t) {
  if (t.timed_out && (t.status == TaskStatus::kFailed || waiting_for_retry(t))) {
    return "timed out";
  }
  return to_string(t.status);
}

// The AGENT column: the agents its attempts ran, in order ("claude>codex"), with the
// current one while it runs; "-" for a command.
std::string agent_text(const TaskState& t) {
  std::string chain;
  const std::vector<std::string>& tried = t.agents_tried();
  for (const std::string& a : tried) chain += (chain.empty() ? "" : ">") + a;
  if (!t.agent.empty() && (tried.empty() || tried.back() != t.agent)) {
    chain += (chain.empty() ? "" : ">") + t.agent;
  }
  return chain.empty() ? "-" : chain;
}

// The NOTE column: what the state does not say.
std::string note_text(const TaskState& t, double now, const std::string* step) {
  if (waiting_for_retry(t)) {
    return t.reason.empty() ? retry_text(t, now) : retry_text(t, now) + ": " + one_line(t.reason);
  }
  // A reviewed task's running attempt says which part of its cycle it is: "in review
  // (cycle 1/3)", "changes requested (cycle 2/3)" (its reason; "" for other tasks).
  if (t.status == TaskStatus::kRunning && step) {
    return t.reason.empty() ? one_line(*step) : one_line(t.reason) + ": " + one_line(*step);
  }
  if (t.status == TaskStatus::kRunning) return one_line(t.reason);
  if (t.status == TaskStatus::kSuccess) return "";
  return one_line(t.reason);
}

// The current step of task ID in INPUT, or null.
const std::string* step_of(const TableInput& input, const std::string& id) {
  auto it = input.steps.find(id);
  return it == input.steps.end() ? nullptr : &it->second;
}

// Which tasks a folded table shows first: lower is more important.
int priority(const TaskState& t) {
  switch (t.status) {
    case TaskStatus::kRunning:
      return 0;
    case TaskStatus::kWaiting:
      return 1;
    case TaskStatus::kFailed:
      return 3;
    default:
      break;
  }
  if (waiting_for_retry(t)) return 2;
  if (engine::is_terminal(t.status)) return 4;
  return 5;  // pending, ready
}

// The word a hidden task is counted under.
const char* hidden_kind(TaskStatus st) {
  switch (st) {
    case TaskStatus::kSuccess:
    case TaskStatus::kSkipped:
      return "done";
    case TaskStatus::kReady:
      return "pending";
    default:
      return to_string(st);
  }
}

}  // namespace

size_t display_width(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\x1b') {
      i += escape_length(text, i);
      continue;
    }
    if (!is_continuation(static_cast<unsigned char>(text[i]))) ++width;
    ++i;
  }
  return width;
}

std::string fit_line(std::string_view text, int width) {
  if (width <= 0) return "";
  if (display_width(text) <= static_cast<size_t>(width)) return std::string(text);
  std::string out;
  bool escapes = false;
  int used = 0;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\x1b') {
      size_t n = escape_length(text, i);
      out.append(text.substr(i, n));
      escapes = true;
      i += n;
      continue;
    }
    // One code point: its lead byte and continuation bytes.
    size_t n = 1;
    while (i + n < text.size() && is_continuation(static_cast<unsigned char>(text[i + n]))) ++n;
    if (used + 1 > width - 1) break;
    out.append(text.substr(i, n));
    ++used;
    i += n;
  }
  out += kEllipsis;
  if (escapes) out += "\x1b[0m";
  return out;
}

std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

std::vector<std::string> render_table(const Scheduler& s, const TableInput& in, TermSize size) {
  const int cols = std::max(1, size.cols);
  const int max_lines = std::max(1, size.rows - 1);
  const int n = s.task_count();
  int ended = 0;
  for (int i = 0; i < n; ++i) ended += engine::is_terminal(s.task(i).status);
  auto sgr = [&](const char* code) { return in.color ? std::string(code) : std::string(); };

  std::vector<std::string> lines;
  lines.push_back(fmt::format("{}{}{}  {}/{} done  {}", sgr("\x1b[1m"), one_line(in.title),
                              sgr("\x1b[0m"), ended, n, format_duration(in.elapsed_s)));

  // The bottom: gate hints, the pause line, notices. They outrank task rows.
  std::vector<std::string> bottom;
  std::vector<int> waiting = s.waiting_tasks();
  for (size_t k = 0; k < waiting.size() && k < kMaxGatesShown; ++k) {
    int i = waiting[k];
    bottom.push_back(fmt::format("  {}waiting{} {}: {}", sgr("\x1b[35m"), sgr("\x1b[0m"),
                                 s.spec(i).id, one_line(s.task(i).reason)));
    bottom.push_back(
        fmt::format("    baton approve {} {} [--comment TEXT | --reject --reason TEXT]", in.run_id,
                    s.spec(i).id));
  }
  if (waiting.size() > kMaxGatesShown) {
    bottom.push_back(fmt::format("  {} more waiting: baton status {}",
                                 waiting.size() - kMaxGatesShown, in.run_id));
  }
  if (s.paused()) bottom.push_back("  pause requested: nothing new starts");
  size_t first_notice =
      in.notices.size() > kMaxNoticesShown ? in.notices.size() - kMaxNoticesShown : 0;
  for (size_t k = first_notice; k < in.notices.size(); ++k) {
    bottom.push_back("  " + one_line(in.notices[k]));
  }
  // Too few rows: the newest bottom lines win (the notices, then the gates' hints).
  int room = max_lines - 1;
  if (static_cast<int>(bottom.size()) > room) {
    bottom.erase(bottom.begin(), bottom.end() - std::max(0, room));
  }
  room -= static_cast<int>(bottom.size());

  // The table: its header and as many tasks as fit; the rest on one counts line.
  if (room >= 2 && n > 0) {
    int task_rows = room - 1;
    std::vector<int> shown;
    if (n <= task_rows) {
      for (int i = 0; i < n; ++i) shown.push_back(i);
    } else {
      int keep = std::max(0, task_rows - 1);  // one row for "… N more"
      std::vector<int> order(n);
      for (int i = 0; i < n; ++i) order[i] = i;
      auto more_important = [&](int a, int b) {
        const TaskState& x = s.task(a);
        const TaskState& y = s.task(b);
        int px = priority(x), py = priority(y);
        if (px != py) return px < py;
        if (px == 3 || px == 4) {  // ended: the most recent first
          if (x.ended_at != y.ended_at) return x.ended_at > y.ended_at;
        }
        return a < b;
      };
      keep = std::min(keep, n);
      std::partial_sort(order.begin(), order.begin() + keep, order.end(), more_important);
      shown.assign(order.begin(), order.begin() + keep);
      std::sort(shown.begin(), shown.end());
    }
    const double now = in.now;
    size_t id_w = 4, agent_w = 5;
    std::vector<std::string> agents;
    for (int i : shown) {
      id_w = std::max(id_w, display_width(s.spec(i).id));
      agents.push_back(agent_text(s.task(i)));
      agent_w = std::max(agent_w, display_width(agents.back()));
    }
    // Long ids and agent chains are cut so that the other columns stay in view.
    agent_w = std::min<size_t>(agent_w, 16);
    const int fixed = 2 + 2 + 9 + 2 + static_cast<int>(agent_w) + 2 + 7 + 2 + 8 + 2 + 12;
    id_w = std::min(id_w, static_cast<size_t>(std::max(12, cols - fixed)));
    lines.push_back(
        fit_line(fmt::format("  {}  {:<9}  {}  {:>7}  {:>8}  {}", cell("TASK", id_w), "STATE",
                             cell("AGENT", agent_w), "ATTEMPT", "ELAPSED", "NOTE"),
                 cols));
    for (size_t k = 0; k < shown.size(); ++k) {
      int i = shown[k];
      const TaskState& t = s.task(i);
      std::string elapsed;
      if (t.started_at > 0) {
        elapsed =
            format_duration((engine::is_terminal(t.status) ? t.ended_at : now) - t.started_at);
      }
      std::string line =
          fmt::format("  {}  {}{}{}  {}  {:>7}  {:>8}  {}", cell(s.spec(i).id, id_w),
                      sgr(color(t.status)), cell(state_text(t), 9), sgr("\x1b[0m"),
                      cell(agents[k], agent_w), t.attempts ? std::to_string(t.attempts) : "",
                      elapsed, note_text(t, now, step_of(in, s.spec(i).id)));
      line.erase(line.find_last_not_of(' ') + 1);
      lines.push_back(std::move(line));
    }
    if (static_cast<int>(shown.size()) < n) {
      std::vector<bool> is_shown(n, false);
      for (int i : shown) is_shown[i] = true;
      std::map<std::string, int> hidden;
      for (int i = 0; i < n; ++i) {
        if (!is_shown[i]) ++hidden[hidden_kind(s.task(i).status)];
      }
      std::string counts;
      for (const char* kind : {"running", "waiting", "failed", "cancelled", "done", "pending"}) {
        auto it = hidden.find(kind);
        if (it == hidden.end()) continue;
        counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", it->second, kind);
      }
      lines.push_back(
          fmt::format("  {} {} more ({})", kEllipsis, n - static_cast<int>(shown.size()), counts));
    }
  }
  for (std::string& b : bottom) lines.push_back(std::move(b));
  for (std::string& line : lines) line = fit_line(line, cols);
  return lines;
}

}  // namespace baton::cli
