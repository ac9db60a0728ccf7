#include "cli/live_view.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <string>
#include <vector>

#include "a2a/invoker.h"
#include "acp/step.h"
#include "cli/live_table.h"
#include "cli/summary.h"
#include "executor/slurm.h"
#include "httpjob/invoker.h"

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

// What a Ctrl-C (or SIGTERM) does, in words, one clause each: "interrupted (Ctrl-C):
// stopping 3 tasks: SIGTERM sent, SIGKILL in 10 s", "Ctrl-C again to kill now", "1 task
// stays waiting for approval". The plain view joins them with "; ", the table shows a
// line each (so that none is cut at 80 columns).
std::vector<std::string> interrupt_text(const engine::Interrupt& in) {
  const bool ctrl_c = in.signo == SIGINT;
  const std::string tasks = fmt::format("{} {}", in.stopping, in.stopping == 1 ? "task" : "tasks");
  if (in.kill_now) {
    return {in.stopping == 0 ? "nothing left to kill"
                             : fmt::format("killing {} now (SIGKILL)", tasks)};
  }
  std::vector<std::string> parts;
  const std::string what = ctrl_c ? "interrupted (Ctrl-C): " : "terminated (SIGTERM): ";
  if (in.stopping == 0) {
    parts.push_back(what + "nothing running");
  } else {
    parts.push_back(what +
                    fmt::format("stopping {}: SIGTERM sent, SIGKILL in {:g} s", tasks, in.grace_s));
    parts.push_back(fmt::format("{} again to kill now", ctrl_c ? "Ctrl-C" : "SIGTERM"));
  }
  if (in.waiting > 0) {
    parts.push_back(fmt::format("{} {} waiting for approval", in.waiting,
                                in.waiting == 1 ? "task stays" : "tasks stay"));
  }
  return parts;
}

class PlainView : public engine::RunObserver {
 public:
  explicit PlainView(FILE* out) : out_(out) {}

  void on_run_started(const store::RunRecord& run, const Scheduler& s, double) override {
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
      case TaskStatus::kRunning: {
        detail = fmt::format("attempt {}", t.attempt);
        // A review runs on the reviewer; its reason says so ("in review (cycle 1/3)").
        const engine::ReviewProgress& review = st.agent_state().review;
        const bool reviewing =
            s.spec(t.task).review && review.phase == engine::ReviewProgress::Phase::kReview;
        const std::string& agent = reviewing ? review.reviewer : st.agent;
        if (!agent.empty()) detail += " (" + agent + ")";
        if (!t.reason.empty()) detail += ": " + t.reason;
        break;
      }
      case TaskStatus::kSuccess:
        detail = format_duration(st.ended_at - st.started_at);
        if (!t.reason.empty()) detail += "  " + t.reason;  // "approved by codex (cycle 1/3)"
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

  // On stderr: it is about baton, not a task, and stays out of a --json stdout.
  void on_interrupt(const Scheduler&, const engine::Interrupt& interrupt) override {
    fflush(out_);
    fmt::print(stderr, "baton: {}\n", fmt::join(interrupt_text(interrupt), "; "));
    fflush(stderr);
  }

 private:
  FILE* out_;
  size_t width_ = 4;
  std::string run_id_;
};

class TableView : public engine::RunObserver {
 public:
  explicit TableView(FILE* out) : out_(out) {}

  void on_run_started(const store::RunRecord& run, const Scheduler& s,
                      double active_before_s) override {
    input_.title = fmt::format("run {} of {}", run.id, run.workflow_name);
    input_.run_id = run.id;
    run_dir_ = run.run_dir;
    started_ = now_s();
    active_before_s_ = active_before_s;
    draw(s);
  }
  // A frame costs O(tasks) and a terminal write, so drawing on every transition is
  // quadratic over a large run (bench/RESULTS.md): redraw at most every kRedrawS; the
  // tick draws what was skipped, and the run's last transition is always drawn.
  void on_transition(const Scheduler& s, const engine::Transition&) override {
    if (s.settled() || now_s() - drawn_at_ >= kRedrawS) draw(s);
  }
  void on_tick(const Scheduler& s) override { draw(s); }
  double tick_interval_s() const override { return 0.25; }
  void on_paused(const Scheduler& s) override { draw(s); }
  void on_interrupt(const Scheduler& s, const engine::Interrupt& interrupt) override {
    for (std::string& part : interrupt_text(interrupt)) input_.notices.push_back(std::move(part));
    draw(s);
  }
  // Terminals that reflow (tmux, VTE, kitty, iTerm2) rewrap each line of the old frame
  // wider than the new width onto several rows: the next frame starts as many rows up as
  // the old one now takes, so no piece of it stays on the screen.
  void on_resize(const Scheduler& s) override {
    resized_ = true;
    draw(s);
  }
  ~TableView() override { fflush(out_); }

 private:
  static constexpr double kRedrawS = 0.05;

  TermSize size() const {
    TermSize size;
    winsize ws{};
    if (ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
      size.rows = ws.ws_row;
      size.cols = ws.ws_col;
    }
    return size;
  }

  // The current step of each running task over ACP, from the end of its log.
  void read_steps(const Scheduler& s) {
    input_.steps.clear();
    if (run_dir_.empty()) return;
    for (int i = 0; i < s.task_count(); ++i) {
      const engine::TaskState& t = s.task(i);
      const workflow::TaskSpec& spec = s.spec(i);
      if (t.status != engine::TaskStatus::kRunning) continue;
      std::string path = fmt::format("{}/logs/{}.{}.log", run_dir_, spec.id, t.attempts);
      // A job waiting in Slurm's queue (executor/slurm.h).
      if (std::string queued = executor::slurm_queue_note(path); !queued.empty()) {
        input_.steps[spec.id] = std::move(queued);
        continue;
      }
      // Any running agent task: the step is read only from a bridge's or A2A client's log.
      if (spec.agent.empty()) continue;
      std::string tail = read_tail(path, acp::kStepTailBytes);
      std::string step = acp::current_step(tail);
      if (step.empty()) step = a2a::current_step(tail);      // a remote agent over A2A
      if (step.empty()) step = httpjob::current_step(tail);  // a hosted runtime's job
      if (!step.empty()) input_.steps[spec.id] = std::move(step);
    }
  }

  // The last MAX bytes of the file at PATH ("" when it cannot be read).
  static std::string read_tail(const std::string& path, size_t max) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    std::string out;
    off_t size = ::lseek(fd, 0, SEEK_END);
    off_t from = size > static_cast<off_t>(max) ? size - static_cast<off_t>(max) : 0;
    out.resize(static_cast<size_t>(size - from));
    ssize_t n = size > 0 ? ::pread(fd, out.data(), out.size(), from) : 0;
    ::close(fd);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }

  void draw(const Scheduler& s) {
    const double now = now_s();
    read_steps(s);
    drawn_at_ = now;
    input_.now = now;
    input_.elapsed_s = active_before_s_ + (now - started_);
    const TermSize term = size();
    std::vector<std::string> lines = render_table(s, input_, term);
    // Rows the frame on the screen takes: one per line, unless a resize rewrapped them.
    int up = static_cast<int>(widths_.size());
    if (resized_ || term.cols != cols_) {  // also a resize whose SIGWINCH is yet to come
      up = 0;
      for (size_t w : widths_) {
        up += std::max<int>(1, (static_cast<int>(w) + term.cols - 1) / term.cols);
      }
      resized_ = false;
      cols_ = term.cols;
    }
    std::string frame;
    if (up > 0) frame += fmt::format("\r\x1b[{}A", up);
    widths_.clear();
    for (const std::string& line : lines) {
      frame += "\x1b[2K" + line + "\n";
      widths_.push_back(display_width(line));
    }
    // What is left of the old frame (a taller one, a rewrapped one). Never at the top
    // left corner: there tmux takes "erase below" for a clear screen and scrolls the
    // screen into its history.
    frame += "\x1b[J";
    fputs(frame.c_str(), out_);
    fflush(out_);
  }

  std::string run_dir_;  // .baton/runs/<id>: the logs of running tasks
  FILE* out_;
  TableInput input_;
  double started_ = 0;          // when this orchestrator started showing the run, Unix s
  double active_before_s_ = 0;  // how long earlier orchestrators ran it, s
  double drawn_at_ = 0;         // when the last frame was drawn, Unix s
  std::vector<size_t> widths_;  // columns of each line of the frame on the screen
  bool resized_ = false;        // SIGWINCH since the last frame
  int cols_ = 0;                // the terminal's width at the last frame
};

}  // namespace

std::unique_ptr<engine::RunObserver> make_view(bool tty, FILE* out) {
  if (tty) return std::make_unique<TableView>(out);
  return std::make_unique<PlainView>(out);
}

}  // namespace baton::cli
