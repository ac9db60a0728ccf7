// baton logs RUN [TASK] [-f] [--raw]: an attempt's output, optionally followed live.
// A finished agent attempt is printed as a readable transcript rendered from the CLI's
// JSON events (agents::Invoker::transcript); --raw and -f print the log as recorded.
// Without TASK, each task that has no attempt gets a line saying why, after the output.
// Exit codes: 0 printed (also for a task that never ran: a line on stderr says why;
// with -f: the run ended, was paused or is waiting); 2 no such run or task; 4 the
// store failed; 8 with -f: the run's orchestrator is gone while the run is recorded
// running (it crashed or was killed; `baton resume` continues it).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "a2a/invoker.h"
#include "acp/invoker.h"
#include "acp/step.h"
#include "agents/invoker.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/paths.h"
#include "httpjob/invoker.h"
#include "store/process_identity.h"
#include "store/store.h"

namespace baton::cli {

namespace {

// Bytes copied per read: the memory `baton logs` needs whatever the log's size.
constexpr size_t kChunkBytes = 64 * 1024;

// The largest log rendered as a transcript (held in memory whole, with its events
// parsed); a larger one is printed as recorded, in chunks.
constexpr size_t kMaxTranscriptLogBytes = 64 * 1024 * 1024;

// Prints bytes of PATH from *OFFSET on, each line prefixed by PREFIX; advances *OFFSET
// past what was printed (a trailing partial line waits for its end unless FLUSH).
// Copies in kChunkBytes chunks, so a log of any size costs a constant amount of memory.
void print_new(const std::string& path, size_t* offset, const std::string& prefix, bool flush) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) <= *offset) {
    ::close(fd);
    return;
  }
  std::vector<char> buf(kChunkBytes);
  // Reads up to N bytes at AT into buf; the count read (0 at the end or on an error).
  auto read_at = [&](size_t at, size_t n) -> size_t {
    for (;;) {
      ssize_t got = ::pread(fd, buf.data(), std::min(n, buf.size()), static_cast<off_t>(at));
      if (got < 0 && errno == EINTR) continue;
      return got < 0 ? 0 : static_cast<size_t>(got);
    }
  };
  size_t end = static_cast<size_t>(st.st_size);
  if (!flush) {
    // Up to the last newline: searched backwards, a chunk at a time.
    size_t scan = end;
    size_t last_newline = std::string::npos;
    while (scan > *offset && last_newline == std::string::npos) {
      const size_t from = scan - std::min(kChunkBytes, scan - *offset);
      const size_t got = read_at(from, scan - from);
      if (got != scan - from) break;
      for (size_t i = got; i-- > 0;) {
        if (buf[i] == '\n') {
          last_newline = from + i;
          break;
        }
      }
      scan = from;
    }
    if (last_newline == std::string::npos) {
      ::close(fd);
      return;
    }
    end = last_newline + 1;
  }
  bool at_line_start = true;  // *offset is always at the start of a line
  size_t pos = *offset;
  while (pos < end) {
    const size_t got = read_at(pos, end - pos);
    if (got == 0) break;
    std::string_view chunk(buf.data(), got);
    if (prefix.empty()) {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    } else {
      while (!chunk.empty()) {
        if (at_line_start) std::fputs(prefix.c_str(), stdout);
        size_t nl = chunk.find('\n');
        size_t stop = nl == std::string_view::npos ? chunk.size() : nl + 1;
        std::fwrite(chunk.data(), 1, stop, stdout);
        at_line_start = nl != std::string_view::npos;
        chunk.remove_prefix(stop);
      }
    }
    pos += got;
  }
  ::close(fd);
  if (!prefix.empty() && !at_line_start) std::fputc('\n', stdout);
  std::fflush(stdout);
  *offset = pos;
}

// The whole of PATH; nullopt when it cannot be read or is larger than MAX_BYTES.
std::optional<std::string> read_whole(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  std::vector<char> buf(kChunkBytes);
  for (;;) {
    ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text.append(buf.data(), static_cast<size_t>(got));
  }
  ::close(fd);
  return text;
}

// Prints TEXT with each line prefixed by PREFIX.
void print_prefixed(std::string_view text, const std::string& prefix) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    std::fputs(prefix.c_str(), stdout);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// Prints the transcript of agent attempt A (its invoker's rendering of the log) and,
// when it failed, the recorded reason. False when A is no agent attempt whose invoker
// is known, or its log cannot be read or is larger than kMaxTranscriptLogBytes: the
// caller prints the log as it is.
// A running attempt over ACP gets its transcript so far and a "now: STEP" line.
bool print_transcript(const store::AttemptRecord& a, const std::string& prefix) {
  if (a.agent.empty()) return false;
  const agents::Invoker* invoker = agents::find_invoker(a.agent);
  std::optional<std::string> log = read_whole(a.log_path, kMaxTranscriptLogBytes);
  if (!log) return false;
  // A remote agent over A2A (a custom agent the config declares, not loaded here).
  if (a2a::is_a2a_log(*log)) {
    std::string text = a2a::a2a_transcript(a.agent, *log);
    if (a.status == "running") {
      std::string step = a2a::current_step(*log);
      text += "now: " + (step.empty() ? std::string("(starting)") : step) + " (running)\n";
    } else if (a.status != "success" && !a.error.empty()) {
      text += a.status + ": " + a.error + "\n";
    }
    print_prefixed(text, prefix);
    std::fflush(stdout);
    return true;
  }
  // A job of a hosted agent runtime (httpjob/invoker.h), likewise declared in the config.
  if (httpjob::is_http_job_log(*log)) {
    std::string text = httpjob::http_job_transcript(a.agent, *log);
    if (a.status == "running") {
      std::string step = httpjob::current_step(*log);
      text += "now: " + (step.empty() ? std::string("(starting)") : step) + " (running)\n";
    } else if (a.status != "success" && !a.error.empty()) {
      text += a.status + ": " + a.error + "\n";
    }
    print_prefixed(text, prefix);
    std::fflush(stdout);
    return true;
  }
  if (!invoker) return false;
  // An attempt over ACP (its record names the agent only): the bridge's conversation.
  bool over_acp = acp::is_acp_log(*log);
  if (over_acp) {
    if (const agents::Invoker* acp_inv = acp::acp_invoker(a.agent, acp::PermissionPolicy::kDeny)) {
      invoker = acp_inv;
    }
  }
  if (a.status == "running" && !over_acp) return false;
  std::string text = invoker->transcript(*log);
  if (a.status == "running") {
    std::string step = acp::current_step(
        std::string_view(*log).substr(log->size() - std::min(log->size(), acp::kStepTailBytes)));
    text += "now: " + (step.empty() ? std::string("(starting)") : step) + " (running)\n";
    print_prefixed(text, prefix);
    std::fflush(stdout);
    return true;
  }
  if (a.status != "success" && !a.error.empty()) {
    text += a.status + ": " + a.error + "\n";
  }
  print_prefixed(text, prefix);
  std::fflush(stdout);
  return true;
}

// Why TASK has no attempt: "never ran: skipped: condition is false: ..." for a task
// that ended without one, "has not run yet (pending)" for one that may still run.
std::string no_attempt_reason(const store::TaskRecord& task) {
  static const char* kEnded[] = {"skipped", "cancelled", "failed", "success"};
  bool ended = std::find(std::begin(kEnded), std::end(kEnded), task.status) != std::end(kEnded);
  std::string what = task.status + (task.reason.empty() ? "" : ": " + task.reason);
  return ended ? "never ran: " + what : "has not run yet (" + what + ")";
}

int logs_command(std::string run_id, const std::string& task, bool follow, bool raw) {
  auto opened = open_run(run_id);
  if (!opened) return opened.error();
  store::Store& store = *opened->store;
  run_id = opened->run.id;
  std::optional<store::TaskRecord> task_record;
  if (!task.empty()) {
    auto t = store.get_task(run_id, task);
    if (!t || !*t) {
      std::fprintf(stderr, "baton: run %s has no task '%s'\n", run_id.c_str(), task.c_str());
      return kExitUsage;
    }
    task_record = **t;
  }
  std::map<std::string, size_t> offsets;
  const bool prefix = task.empty();
  for (;;) {
    auto attempts = store.list_attempts(run_id, task);
    if (!attempts) {
      std::fprintf(stderr, "baton: %s\n", attempts.error().message.c_str());
      return kExitInternal;
    }
    auto now_run = store.get_run(run_id);
    // Live means the recorded orchestrator itself (pid plus start time), never a
    // process that reused its pid after a crash.
    bool live = now_run && *now_run && (*now_run)->status == "running" &&
                store::process_is_running((*now_run)->orchestrator_pid,
                                          (*now_run)->orchestrator_start_time);
    if (!follow && task_record && attempts->empty()) {
      std::fprintf(stderr, "baton: task '%s' %s\n", task.c_str(),
                   no_attempt_reason(*task_record).c_str());
      return kExitSuccess;
    }
    for (const auto& a : *attempts) {
      bool first = !offsets.count(a.log_path);
      size_t& off = offsets[a.log_path];
      if (first && !prefix && attempts->size() > 1) {
        std::printf("==> %s attempt %d%s <==\n", a.task_id.c_str(), a.number,
                    a.exit_status.empty() ? "" : (" (" + a.exit_status + ")").c_str());
      }
      std::string p =
          prefix ? "[" + a.task_id + (a.number > 1 ? "#" + std::to_string(a.number) : "") + "] "
                 : "";
      if (!follow && !raw && print_transcript(a, p)) continue;
      print_new(a.log_path, &off, p, !follow || a.status != "running");
    }
    if (!follow && prefix) {
      // Every task: those without an attempt say why, after the output.
      auto tasks = store.list_tasks(run_id);
      if (tasks) {
        std::set<std::string_view> ran;
        for (const auto& a : *attempts) ran.insert(a.task_id);
        for (const auto& t : *tasks) {
          if (ran.count(t.task_id)) continue;
          std::printf("[%s] %s\n", t.task_id.c_str(), no_attempt_reason(t).c_str());
        }
      }
    }
    if (!follow) break;
    if (!live) {
      // Not live: ended (the orchestrator records the final status before it exits),
      // or its orchestrator is gone. Read again so an end recorded just now counts.
      auto again = store.get_run(run_id);
      if (again && *again && (*again)->status == "running") {
        std::fprintf(stderr,
                     "baton: the orchestrator of run %s (pid %d) is gone: the run did not end "
                     "and nothing more will be logged; continue it with: baton resume %s\n",
                     run_id.c_str(), (*again)->orchestrator_pid, run_id.c_str());
        return kExitOrchestratorGone;
      }
      break;
    }
    timespec pause{0, 200'000'000};  // the log files are polled five times a second
    nanosleep(&pause, nullptr);
  }
  return kExitSuccess;
}

}  // namespace

void add_logs(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("logs", "Print a run's output (all tasks, or one)");
  auto run_id = std::make_shared<std::string>();
  auto task = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  auto raw = std::make_shared<bool>(false);
  cmd->add_option("RUN", *run_id, kRunHelp)->required();
  cmd->add_option("TASK", *task, "a task id (default: every task, lines prefixed)");
  cmd->add_flag("-f,--follow", *follow,
                "keep printing while the run is live (the output as recorded)");
  cmd->add_flag("--raw", *raw,
                "print an agent's output as its CLI wrote it (JSON events), not a transcript");
  cmd->callback([=] { *exit_code = logs_command(*run_id, *task, *follow, *raw); });
}

}  // namespace baton::cli
