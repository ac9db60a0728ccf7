#include "cli/live_view.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <ctime>
#include <string>
#include <vector>

#include "cli/summary.h"

namespace baton::cli {

namespace {

using engine::Scheduler;
using engine::TaskStatus;

std::string clock_time() {
  time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  char buf[16];
  strftime(buf, sizeof buf, "%H:%M:%S", &local);
  return buf;
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

class PlainView : public engine::RunObserver {
 public:
  explicit PlainView(FILE* out) : out_(out) {}

  void on_run_started(const store::RunRecord& run, const Scheduler& s) override {
    width_ = 4;
    for (int i = 0; i < s.task_count(); ++i) width_ = std::max(width_, s.spec(i).id.size());
    fmt::print(out_, "{}  run {} of {} ({} tasks)\n", clock_time(), run.id, run.workflow_name,
               s.task_count());
    fflush(out_);
    run_id_ = run.id;
  }

  void on_transition(const Scheduler& s, const engine::Transition& t) override {
    const engine::TaskState& st = s.task(t.task);
    std::string detail;
    switch (t.to) {
      case TaskStatus::kRunning:
        detail = fmt::format("attempt {}", t.attempt);
        break;
      case TaskStatus::kSuccess:
        detail = format_duration(st.ended_at - st.started_at);
        break;
      case TaskStatus::kReady:
        return;  // too chatty: ready is followed by running or by waiting for a slot
      case TaskStatus::kWaiting:
        detail = fmt::format("{}  (baton approve {} {} [--reject --reason TEXT])", t.reason,
                             run_id_, s.spec(t.task).id);
        break;
      default:
        detail = t.reason;
    }
    fmt::print(out_, "{}  {:<{}}  {:<9}  {}\n", clock_time(), s.spec(t.task).id, width_,
               to_string(t.to), detail);
    fflush(out_);
  }

  void on_hook_finished(const std::string& id, bool ok, const std::string& reason) override {
    fmt::print(out_, "{}  {}  {}{}\n", clock_time(), id, ok ? "success" : "failed",
               ok ? "" : ": " + reason);
    fflush(out_);
  }

  void on_paused(const Scheduler& s) override {
    fmt::print(out_, "{}  pause requested: {} running, nothing new starts\n", clock_time(),
               s.running_count());
    fflush(out_);
  }

 private:
  FILE* out_;
  size_t width_ = 4;
  std::string run_id_;
};

class TableView : public engine::RunObserver {
 public:
  explicit TableView(FILE* out) : out_(out) {}

  void on_run_started(const store::RunRecord& run, const Scheduler& s) override {
    title_ = fmt::format("run {} of {}", run.id, run.workflow_name);
    run_id_ = run.id;
    started_ = now_s();
    draw(s);
  }
  // A frame costs O(tasks) and a terminal write, so drawing on every transition is
  // quadratic over a large run (bench/RESULTS.md): redraw at most every kRedrawS; the
  // tick draws what was skipped, and the run's last transition is always drawn.
  void on_transition(const Scheduler& s, const engine::Transition&) override {
    if (s.finished() || now_s() - drawn_at_ >= kRedrawS) draw(s);
  }
  void on_tick(const Scheduler& s) override { draw(s); }
  double tick_interval_s() const override { return 0.25; }
  ~TableView() override {
    if (lines_ > 0) fflush(out_);
  }

 private:
  static const char* color(TaskStatus st) {
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

  static constexpr double kRedrawS = 0.05;

  void draw(const Scheduler& s) {
    drawn_at_ = now_s();
    winsize ws{};
    int rows = 24;
    if (ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) rows = ws.ws_row;
    std::vector<int> shown;
    int finished = 0;
    for (int i = 0; i < s.task_count(); ++i) {
      if (engine::is_terminal(s.task(i).status)) ++finished;
    }
    const int room = std::max(4, rows - 4);
    bool fold = s.task_count() > room;
    for (int i = 0; i < s.task_count(); ++i) {
      TaskStatus st = s.task(i).status;
      if (!fold || st == TaskStatus::kRunning || st == TaskStatus::kFailed ||
          st == TaskStatus::kWaiting) {
        shown.push_back(i);
      }
      if (static_cast<int>(shown.size()) >= room) break;
    }
    size_t width = 4;
    for (int i : shown) width = std::max(width, s.spec(i).id.size());
    std::string frame;
    if (lines_ > 0) frame += fmt::format("\x1b[{}A", lines_);
    int lines = 0;
    auto line = [&](const std::string& text) {
      frame += "\x1b[2K" + text + "\n";
      ++lines;
    };
    double now = now_s();
    line(fmt::format("\x1b[1m{}\x1b[0m  {}/{} done  {}", title_, finished, s.task_count(),
                     format_duration(now - started_)));
    line(fmt::format("  {:<{}}  {:<9}  {:<8}  {:>7}  {:>8}", "TASK", width, "STATE", "AGENT",
                     "ATTEMPT", "ELAPSED"));
    for (int i : shown) {
      const engine::TaskState& t = s.task(i);
      std::string elapsed = "";
      if (t.started_at > 0) {
        elapsed =
            format_duration((engine::is_terminal(t.status) ? t.ended_at : now) - t.started_at);
      }
      line(fmt::format("  {:<{}}  {}{:<9}\x1b[0m  {:<8}  {:>7}  {:>8}", s.spec(i).id, width,
                       color(t.status), to_string(t.status), t.agent.empty() ? "-" : t.agent,
                       t.attempts ? std::to_string(t.attempts) : "", elapsed));
    }
    if (fold)
      line(fmt::format("  ... {} more tasks not shown",
                       s.task_count() - static_cast<int>(shown.size())));
    // A gate waits for a person: say what it asks and how to answer.
    for (int i = 0; i < s.task_count(); ++i) {
      if (s.task(i).status != TaskStatus::kWaiting) continue;
      line(fmt::format("  \x1b[35mwaiting\x1b[0m {}: {}", s.spec(i).id, s.task(i).reason));
      line(fmt::format("    baton approve {} {} [--comment TEXT | --reject --reason TEXT]", run_id_,
                       s.spec(i).id));
    }
    if (s.paused()) line("  pause requested: nothing new starts");
    // Clear lines left over from a taller previous frame.
    for (int i = lines; i < lines_; ++i) frame += "\x1b[2K\n";
    if (lines_ > lines) frame += fmt::format("\x1b[{}A", lines_ - lines);
    fputs(frame.c_str(), out_);
    fflush(out_);
    lines_ = lines;
  }

  FILE* out_;
  std::string title_;
  std::string run_id_;
  double started_ = 0;
  double drawn_at_ = 0;  // when the last frame was drawn, Unix s
  int lines_ = 0;
};

}  // namespace

std::unique_ptr<engine::RunObserver> make_view(bool tty, FILE* out) {
  if (tty) return std::make_unique<TableView>(out);
  return std::make_unique<PlainView>(out);
}

}  // namespace baton::cli
