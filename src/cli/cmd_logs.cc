// baton logs RUN [TASK] [-f]: an attempt's output, optionally followed live.
// Exit codes: 0 printed (with -f: the run ended, was paused or is waiting); 2 no such
// run or task; 4 the store failed; 8 with -f: the run's orchestrator is gone while the
// run is recorded running (it crashed or was killed; `baton resume` continues it).
#include <signal.h>
#include <time.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/paths.h"
#include "store/process_identity.h"
#include "store/store.h"

namespace baton::cli {

namespace {

// Prints bytes of PATH from *OFFSET on, each line prefixed by PREFIX; advances *OFFSET
// past what was printed (a trailing partial line waits for its end unless FLUSH).
void print_new(const std::string& path, size_t* offset, const std::string& prefix, bool flush) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(*offset));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t end = flush ? data.size() : data.rfind('\n');
  if (end == std::string::npos) return;
  if (!flush) ++end;
  std::string chunk = data.substr(0, end);
  if (prefix.empty()) {
    std::fwrite(chunk.data(), 1, chunk.size(), stdout);
  } else {
    size_t pos = 0;
    while (pos < chunk.size()) {
      size_t nl = chunk.find('\n', pos);
      size_t stop = nl == std::string::npos ? chunk.size() : nl + 1;
      std::fputs(prefix.c_str(), stdout);
      std::fwrite(chunk.data() + pos, 1, stop - pos, stdout);
      if (nl == std::string::npos) std::fputc('\n', stdout);
      pos = stop;
    }
  }
  std::fflush(stdout);
  *offset += chunk.size();
}

int logs_command(std::string run_id, const std::string& task, bool follow) {
  auto opened = open_run(run_id);
  if (!opened) return opened.error();
  store::Store& store = *opened->store;
  run_id = opened->run.id;
  if (!task.empty()) {
    auto t = store.get_task(run_id, task);
    if (!t || !*t) {
      std::fprintf(stderr, "baton: run %s has no task '%s'\n", run_id.c_str(), task.c_str());
      return kExitUsage;
    }
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
      print_new(a.log_path, &off, p, !follow || a.status != "running");
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
  cmd->add_option("RUN", *run_id, "a run id, or 'last'")->required();
  cmd->add_option("TASK", *task, "a task id (default: every task, lines prefixed)");
  cmd->add_flag("-f,--follow", *follow, "keep printing while the run is live");
  cmd->callback([=] { *exit_code = logs_command(*run_id, *task, *follow); });
}

}  // namespace baton::cli
