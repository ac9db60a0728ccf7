// baton shell RUN TASK: an interactive shell ($SHELL, else /bin/sh) in TASK's worktree,
// inside the task's sandbox when it ran in one (bwrap or a container, built as for its
// attempts: Workspaces::confine), to look at or try what the agent left (Rover's
// `rover shell`). baton is replaced by the shell (exec), so the shell owns the terminal;
// its exit status is the command's. Edits made there are not committed by baton, and the
// task's next attempt (`baton iterate`, `baton retry`) resets the worktree.
//
// Exit codes: the shell's; 2 when TASK has no worktree of its own (isolation none, never
// started, or removed by `baton clean`) or the run has no such task; 7 while an
// orchestrator runs the run; 4 when the shell cannot be started.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/open_run.h"
#include "cli/orchestrator.h"
#include "cli/run_tasks.h"
#include "engine/workspaces.h"

extern char** environ;

namespace baton::cli {

namespace {

// Replaces this process with PROCESS (its limits, umask, directory and environment on
// top of baton's). Returns only on failure, with the exit code.
int exec_process(const exec::ProcessSpec& process) {
  for (const exec::ResourceLimit& l : process.rlimits) {
    struct rlimit value {
      static_cast<rlim_t>(l.value), static_cast<rlim_t>(l.value)
    };
    if (::setrlimit(l.resource, &value) != 0) {
      std::fprintf(stderr, "baton: setrlimit: %s\n", std::strerror(errno));
      return kExitInternal;
    }
  }
  if (process.umask >= 0) ::umask(static_cast<mode_t>(process.umask));
  if (!process.cwd.empty() && ::chdir(process.cwd.c_str()) != 0) {
    std::fprintf(stderr, "baton: cannot enter %s: %s\n", process.cwd.c_str(), std::strerror(errno));
    return kExitInternal;
  }
  for (const auto& [key, value] : process.env) ::setenv(key.c_str(), value.c_str(), 1);
  std::vector<char*> argv;
  for (const std::string& a : process.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execvp(argv[0], argv.data());
  std::fprintf(stderr, "baton: cannot run %s: %s\n", argv[0], std::strerror(errno));
  return kExitInternal;
}

int shell_command(const std::string& run_arg, const std::string& task_id) {
  auto opened = open_run(run_arg);
  if (!opened) return opened.error();
  store::Store& store = *opened->store;
  const store::RunRecord& run = opened->run;
  Orchestrator holder(run.orchestrator_pid, run.orchestrator_start_time);
  if (holder.alive()) {
    std::fprintf(stderr,
                 "baton: run %s is being run by baton (pid %d); open a shell once it has ended\n",
                 run.id.c_str(), run.orchestrator_pid);
    return kExitBusy;
  }
  const std::string file = workflow_file(run, opened->db_path);
  auto loaded = load_for_command(file, run.root_dir, {}, false);
  if (!loaded) {
    std::fprintf(stderr, "baton: cannot load %s, the workflow of run %s\n", file.c_str(),
                 run.id.c_str());
    return kExitUsage;
  }
  const workflow::Workflow& wf = loaded->workflow;
  int index = wf.task_index(task_id);
  if (index < 0) {
    std::fprintf(stderr, "baton: run %s has no task '%s'\n", run.id.c_str(), task_id.c_str());
    return kExitUsage;
  }
  auto worktree = last_worktree(store, run.id, task_id);
  if (!worktree) {
    std::fprintf(stderr, "baton: %s\n", worktree.error().message.c_str());
    return kExitInternal;
  }
  std::error_code ec;
  if (worktree->empty() || !std::filesystem::is_directory(*worktree, ec)) {
    std::fprintf(stderr,
                 "baton: task '%s' of run %s has no directory of its own to open a shell in (%s)\n",
                 task_id.c_str(), run.id.c_str(),
                 worktree->empty() ? "it never ran in a worktree" : "its worktree is gone");
    return kExitUsage;
  }
  // The task's place and sandbox, rebuilt from the event log as `baton resume` does.
  const std::string state = std::filesystem::path(opened->db_path).parent_path().string();
  engine::Workspaces workspaces(wf, run.id, run.root_dir, state);
  if (auto r = workspaces.begin(); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitUsage;
  }
  auto events = store.list_events(run.id, 0);
  if (!events) {
    std::fprintf(stderr, "baton: %s\n", events.error().message.c_str());
    return kExitInternal;
  }
  if (auto r = workspaces.restore(*events, {}); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  const char* shell = std::getenv("SHELL");
  exec::ProcessSpec process;
  process.argv = {shell && *shell ? shell : "/bin/sh"};
  process.cwd = *worktree;
  process.env = {{"BATON_RUN_ID", run.id}, {"BATON_TASK_ID", task_id}};
  auto confined = workspaces.confine(index, "", process);
  if (!confined) {
    std::fprintf(stderr, "baton: %s\n", confined.error().message.c_str());
    return kExitInternal;
  }
  std::string sandbox = confined->value("sandbox", "");
  std::fprintf(stderr,
               "baton: shell in %s%s; baton does not commit what you change here, and the "
               "task's next attempt resets it\n",
               worktree->c_str(), sandbox.empty() ? "" : (" (sandbox: " + sandbox + ")").c_str());
  opened->store.reset();
  return exec_process(process);
}

}  // namespace

void add_shell(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("shell", "Open a shell in a task's worktree, in its sandbox");
  auto run = std::make_shared<std::string>();
  auto task = std::make_shared<std::string>();
  cmd->add_option("RUN", *run, kRunHelp)->required();
  cmd->add_option("TASK", *task, "a task that ran in a worktree")->required();
  cmd->callback([=] { *exit_code = shell_command(*run, *task); });
}

}  // namespace baton::cli
