// Integration tests: `baton run` in a terminal (issue 18). The live table in a real
// terminal (tmux at 80x24 and 160x45, a resize), and what Ctrl-C does: the message, a
// second Ctrl-C that kills at once, the resume hint, and a gate that stays waiting.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int count_containing(const std::string& text, const std::string& needle) {
  int n = 0;
  for (const std::string& line : split_lines(text)) n += line.find(needle) != std::string::npos;
  return n;
}

// Columns of LINE as capture-pane prints it (UTF-8, no escapes).
size_t columns(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xC0) != 0x80;
  return n;
}

// The stderr of the one BatonProcess started in DIR so far (harness_util.cc writes it to
// DIR/.out/N.stderr); "" until it exists.
std::string stderr_of_only_process(const ScratchDir& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() + "/.out", ec)) {
    if (entry.path().extension() == ".stderr") return read_file(entry.path().string());
  }
  return "";
}

// A tmux server of its own (a socket in the scratch directory) running one session;
// the server is killed on destruction, whatever the test did.
class Tmux {
 public:
  Tmux(const ScratchDir& dir, int cols, int rows, const std::string& command)
      : dir_(dir), socket_(dir.path() + "/tmux.sock") {
    Outcome o = tmux({"new-session", "-d", "-s", "t", "-x", std::to_string(cols), "-y",
                      std::to_string(rows), "-c", dir.path(), command});
    started_ = o.exit_code == 0;
    EXPECT_TRUE(started_) << o.err;
    if (started_) tmux({"set-option", "-t", "t", "remain-on-exit", "on"});
  }
  ~Tmux() { tmux({"kill-server"}); }

  bool started() const { return started_; }
  /// The visible screen (HISTORY: and the scrollback above it).
  std::string capture(bool history = false) {
    std::vector<std::string> args{"capture-pane", "-p", "-t", "t"};
    if (history) args.insert(args.end(), {"-S", "-"});
    return tmux(args).out;
  }
  /// Polls the screen until it contains NEEDLE; the last capture in *SCREEN.
  bool wait_for(const std::string& needle, std::string* screen, double timeout_s = 30) {
    return eventually(
        [&] {
          *screen = capture();
          return screen->find(needle) != std::string::npos;
        },
        timeout_s);
  }
  Outcome tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-S", socket_, "-f", "/dev/null"});
    return run_command(args, dir_.path());
  }

 private:
  const ScratchDir& dir_;
  std::string socket_;
  bool started_ = false;
};

// 40 tasks with ids too long for 80 columns, and a gate with a long message.
std::string forty_and_a_gate() {
  std::string flow = "name: forty\nsettings: {max_parallel: 4}\ntasks:\n";
  for (int i = 0; i < 40; ++i) {
    char id[96];
    std::snprintf(id, sizeof id, "t%02d-a-task-id-long-enough-to-be-cut-at-eighty-columns-xxxxx",
                  i);
    flow += std::string("  - id: ") + id + "\n    run: \"true\"\n";
  }
  flow += "  - id: ship\n    gate: {message: \"ship it? " + std::string(120, 'm') +
          " END\"}\n    run: \"echo shipped >> ledger\"\n";
  return flow;
}

void expect_fits(const std::string& screen, size_t cols) {
  for (const std::string& line : split_lines(screen)) {
    EXPECT_LE(columns(line), cols) << line;
  }
}

bool tmux_installed() { return run_command({"tmux", "-V"}, "/").exit_code == 0; }

TEST(TerminalTest, LiveTableFitsTheTerminalRedrawsOnResizeAndCtrlCKeepsTheGate) {
  if (!tmux_installed()) GTEST_SKIP() << "tmux is not installed (scripts/setup)";
  ScratchDir dir;
  dir.write("flow.yaml", forty_and_a_gate());
  Tmux term(dir, 80, 24, std::string("'") + BATON_BINARY + "' run flow.yaml");
  ASSERT_TRUE(term.started());

  // 80x24: all 40 tasks done, the gate waiting. The hint and the fold are on the screen.
  std::string screen;
  ASSERT_TRUE(term.wait_for("40/41 done", &screen)) << screen;
  ASSERT_TRUE(term.wait_for("baton approve", &screen)) << screen;
  expect_fits(screen, 80);
  EXPECT_LE(split_lines(screen).size(), 24u);
  EXPECT_EQ(count_containing(screen, "of forty"), 1) << screen;
  EXPECT_EQ(count_containing(screen, "TASK"), 1) << screen;
  EXPECT_EQ(count_containing(screen, "waiting ship: ship it?"), 1) << screen;
  EXPECT_EQ(count_containing(screen, " more ("), 1) << screen;
  // Redrawn every 0.25 s for a while: still no copy of the header, also in the scrollback.
  std::string with_history = term.capture(/*history=*/true);
  EXPECT_EQ(count_containing(with_history, "of forty"), 1) << with_history;
  EXPECT_EQ(count_containing(with_history, "TASK"), 1) << with_history;

  // 160x45: redrawn at the new width, so a whole task id is visible again.
  ASSERT_EQ(term.tmux({"resize-window", "-t", "t", "-x", "160", "-y", "45"}).exit_code, 0);
  ASSERT_TRUE(term.wait_for("t39-a-task-id-long-enough-to-be-cut-at-eighty-columns-xxxxx", &screen))
      << screen;
  expect_fits(screen, 160);
  EXPECT_EQ(count_containing(screen, "of forty"), 1) << screen;
  EXPECT_EQ(count_containing(screen, "TASK"), 1) << screen;
  EXPECT_EQ(count_containing(screen, "baton approve"), 1) << screen;

  // Back to 80x24: cut again.
  ASSERT_EQ(term.tmux({"resize-window", "-t", "t", "-x", "80", "-y", "24"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    screen = term.capture();
    return screen.find("t39-a-task-id-long-enough-to-be-cut-at-eighty-columns-xxxxx") ==
               std::string::npos &&
           screen.find("baton approve") != std::string::npos;
  })) << screen;
  expect_fits(screen, 80);
  EXPECT_EQ(count_containing(screen, "TASK"), 1) << screen;

  // Ctrl-C at the gate: said at the bottom of the table; the run ends with the resume hint.
  ASSERT_EQ(term.tmux({"send-keys", "-t", "t", "C-c"}).exit_code, 0);
  ASSERT_TRUE(term.wait_for("baton resume", &screen)) << screen;
  // The last frame, on the screen or pushed up into the scrollback by the summary, once.
  with_history = term.capture(/*history=*/true);
  EXPECT_EQ(count_containing(with_history, "interrupted (Ctrl-C): nothing running"), 1)
      << with_history;
  EXPECT_EQ(count_containing(with_history, "1 task stays waiting for approval"), 1) << with_history;
  json run = last_run(dir);
  EXPECT_EQ(run["status"], "cancelled");
  EXPECT_EQ(task_of(run, "ship")["status"], "waiting");
  const std::string id = run["id"];
  Outcome o = run_baton({"approve", id, "ship"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  o = run_baton({"resume", id, "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "shipped\n");
}

// A terminal that reflows (tmux does) rewraps the old frame's wide lines when it
// narrows: the next frame must start above all of them, leaving no stale row on the
// screen above the frame.
TEST(TerminalTest, NarrowingTheTerminalLeavesNoPieceOfTheOldFrame) {
  if (!tmux_installed()) GTEST_SKIP() << "tmux is not installed (scripts/setup)";
  ScratchDir dir;
  std::string flow = "name: small\ntasks:\n";
  for (int i = 0; i < 3; ++i) {
    flow += "  - id: t" + std::to_string(i) + "-" + std::string(100, 'x') + "\n    run: \"true\"\n";
  }
  flow += "  - id: ship\n    gate: {message: \"ship it?\"}\n    run: \"true\"\n";
  dir.write("flow.yaml", flow);
  Tmux term(dir, 160, 45,
            std::string("echo BEFORE-THE-RUN; exec '") + BATON_BINARY + "' run flow.yaml");
  ASSERT_TRUE(term.started());
  const std::string whole_id = "t2-" + std::string(100, 'x');
  std::string screen;
  ASSERT_TRUE(term.wait_for("baton approve", &screen)) << screen;
  ASSERT_NE(screen.find(whole_id), std::string::npos) << screen;
  ASSERT_EQ(term.tmux({"resize-window", "-t", "t", "-x", "80", "-y", "24"}).exit_code, 0);
  // Redrawn: the ids are cut (the terminal's rewrapped copy of the old frame shows them
  // whole, over two rows).
  ASSERT_TRUE(term.wait_for("x\xe2\x80\xa6  success", &screen)) << screen;
  expect_fits(screen, 80);
  // Above the frame: only what was there before the run (tmux may have scrolled part of
  // its rewrapped screen into the history: the cursor cannot go there).
  std::vector<std::string> lines = split_lines(screen);
  size_t title = 0;
  while (title < lines.size() && lines[title].find(" of small") == std::string::npos) ++title;
  ASSERT_LT(title, lines.size()) << screen;
  for (size_t i = 0; i < title; ++i) EXPECT_EQ(lines[i], "BEFORE-THE-RUN") << screen;
  EXPECT_EQ(count_containing(screen, "of small"), 1) << screen;
  EXPECT_EQ(count_containing(screen, "xxxxxxxxxx"), 3) << screen;  // the three task rows
}

// Seconds in the live table's title line ("run ID of NAME  1/3 done  3.52s", "1m02s");
// -1 when there is none.
double title_elapsed(const std::string& screen, const std::string& name) {
  for (const std::string& line : split_lines(screen)) {
    if (line.find(" of " + name + "  ") == std::string::npos) continue;
    std::string last = line.substr(line.find_last_of(' ') + 1);
    double minutes = 0, seconds = 0;
    if (std::sscanf(last.c_str(), "%lfm%lfs", &minutes, &seconds) == 2) {
      return minutes * 60 + seconds;
    }
    if (std::sscanf(last.c_str(), "%lfs", &seconds) == 1) return seconds;
  }
  return -1;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A resumed run's elapsed time is the time orchestrators ran it: the first one's (at
// least the 2 s its first task took) plus the resumed one's, without the time between
// the kill and the resume.
TEST(TerminalTest, ElapsedTimeLeavesOutTheTimeBatonWasDown) {
  if (!tmux_installed()) GTEST_SKIP() << "tmux is not installed (scripts/setup)";
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: downtime
tasks:
  - id: first
    run: "sleep 2"
  - id: long
    dependencies: [first]
    run: "echo $$ > pid; exec sleep 300"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/pid"));
  ASSERT_TRUE(eventually([&] { return !dir.read("pid").empty(); }));
  // The attempt outlives a killed baton: whatever happens below, it does not outlive us.
  struct KillGroup {
    pid_t group;
    ~KillGroup() { ::kill(-group, SIGKILL); }
  } task_group{static_cast<pid_t>(std::stoi(dir.read("pid")))};
  run.signal(SIGKILL);
  run.wait();
  const double killed_at = unix_now();
  json r = last_run(dir);
  const std::string id = r["id"];
  const double created_at = r["created_at"];
  // Baton is down for 2 s: the time to leave out (a deliberate gap, not a wait for an event).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double resumed_at = unix_now();
  Tmux term(dir, 80, 24, std::string("'") + BATON_BINARY + "' resume " + id);
  ASSERT_TRUE(term.started());
  std::string screen;
  ASSERT_TRUE(term.wait_for("1/2 done", &screen)) << screen;
  const double captured_at = unix_now();
  const double elapsed = title_elapsed(screen, "downtime");
  ASSERT_GE(elapsed, 0) << screen;
  // At least the first orchestrator's 2 s (its task "first" slept 2 s before "long" ran).
  EXPECT_GE(elapsed, 2.0) << screen;
  // At most the wall time since the run was created, less the time baton was down.
  EXPECT_LE(elapsed, (captured_at - created_at) - (resumed_at - killed_at) + 0.01) << screen;
  ASSERT_EQ(term.tmux({"send-keys", "-t", "t", "C-c"}).exit_code, 0);
  EXPECT_TRUE(term.wait_for("baton resume " + id, &screen)) << screen;
}

// A task that timed out says so, and while it waits for its retry the table counts down.
TEST(TerminalTest, TimedOutTaskWaitingForItsRetrySaysBoth) {
  if (!tmux_installed()) GTEST_SKIP() << "tmux is not installed (scripts/setup)";
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: slow
tasks:
  - id: slow
    timeout: 0.5s
    retry: {max_attempts: 2, delay: 30s}
    run: "exec sleep 30"
)");
  Tmux term(dir, 80, 24, std::string("'") + BATON_BINARY + "' run flow.yaml");
  ASSERT_TRUE(term.started());
  std::string screen;
  ASSERT_TRUE(term.wait_for("retry in ", &screen)) << screen;
  std::string row;
  for (const std::string& line : split_lines(screen)) {
    if (line.rfind("  slow ", 0) == 0) row = line;
  }
  EXPECT_NE(row.find("timed out"), std::string::npos) << screen;
  // Seconds left of the 30 s delay, counting down.
  EXPECT_TRUE(std::regex_search(row, std::regex("retry in [0-9]+s: attempt 1 failed"))) << screen;
  expect_fits(screen, 80);
  ASSERT_EQ(term.tmux({"send-keys", "-t", "t", "C-c"}).exit_code, 0);
  EXPECT_TRUE(term.wait_for("baton resume", &screen)) << screen;
}

TEST(TerminalTest, CtrlCSaysWhatHappensAndASecondOneKillsAtOnce) {
  ScratchDir dir;
  // The task ignores SIGTERM, and the grace is long: only a SIGKILL ends it soon.
  dir.write("flow.yaml", R"(name: stubborn
settings: {kill_grace: 120s}
tasks:
  - id: stubborn
    timeout: 60s  # bounded even if a failed test leaves it to its supervisor
    run: "trap '' TERM; echo $$ > pid; exec sleep 300"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/pid"));
  ASSERT_TRUE(eventually([&] { return !dir.read("pid").empty(); }));
  const pid_t task = std::stoi(dir.read("pid"));
  run.signal(SIGINT);
  const std::string first =
      "baton: interrupted (Ctrl-C): stopping 1 task: SIGTERM sent, SIGKILL in 120 s; Ctrl-C "
      "again to kill now\n";
  ASSERT_TRUE(eventually([&] {
    return stderr_of_only_process(dir).find(first) != std::string::npos;
  })) << stderr_of_only_process(dir);
  EXPECT_TRUE(process_alive(task));  // it ignores SIGTERM
  run.signal(SIGINT);
  // Well within the 120 s grace: the second Ctrl-C did not wait for it.
  Outcome o = run.wait(60);
  EXPECT_EQ(o.exit_code, 130) << o.out << o.err;
  EXPECT_NE(o.err.find("baton: killing 1 task now (SIGKILL)\n"), std::string::npos) << o.err;
  EXPECT_TRUE(eventually([&] { return !process_alive(task); }, 10));
  json r = last_run(dir);
  const std::string id = r["id"];
  EXPECT_NE(o.err.find("baton: interrupted; continue with: baton resume " + id + "\n"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(task_of(r, "stubborn")["status"], "cancelled");
  json attempts = r["attempts"];
  ASSERT_TRUE(attempts.is_array()) << r;
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0]["exit_status"], "cancelled (SIGKILL)") << attempts[0];
}

TEST(TerminalTest, CtrlCAtAGateLeavesItWaitingForApproveAndResume) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: gated
tasks:
  - id: build
    run: echo v1
  - id: ship
    dependencies: [build]
    gate: {message: "ship ${build.output}?"}
    run: "echo shipped >> ledger"
  - id: other
    timeout: 60s  # bounded even if a failed test leaves it to its supervisor
    run: "sleep 300"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/.baton/state.db"));
  ASSERT_TRUE(eventually([&] { return task_of(last_run(dir), "ship")["status"] == "waiting"; }));
  run.signal(SIGINT);
  Outcome o = run.wait(60);
  EXPECT_EQ(o.exit_code, 130) << o.out << o.err;
  EXPECT_NE(o.err.find("baton: interrupted (Ctrl-C): stopping 1 task: SIGTERM sent, SIGKILL in "
                       "10 s; Ctrl-C again to kill now; 1 task stays waiting for approval\n"),
            std::string::npos)
      << o.err;
  json r = last_run(dir);
  const std::string id = r["id"];
  EXPECT_NE(o.out.find("approve: baton approve " + id + " ship"), std::string::npos) << o.out;
  EXPECT_EQ(task_of(r, "ship")["status"], "waiting");
  EXPECT_EQ(task_of(r, "ship")["reason"], "ship v1?");
  EXPECT_EQ(task_of(r, "other")["status"], "cancelled");
  EXPECT_EQ(run_baton({"approve", id, "ship"}, dir.path()).exit_code, 0);
  BatonProcess resumed({"resume", id, "--plain"}, dir.path());
  ASSERT_TRUE(eventually([&] { return task_of(last_run(dir), "ship")["status"] == "success"; }));
  EXPECT_EQ(dir.read("ledger"), "shipped\n");
  // `other` runs again (it was cancelled); the run goes on until it is interrupted again.
  resumed.signal(SIGINT);
  o = resumed.wait(60);
  EXPECT_EQ(o.exit_code, 130) << o.out << o.err;
  EXPECT_EQ(task_of(last_run(dir), "ship")["status"], "success");
}

}  // namespace
}  // namespace baton::testing
