#include "acp/bridge.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "acp/child.h"
#include "acp/client.h"
#include "acp/outcome.h"
#include "agents/event_time.h"

namespace baton::acp {

namespace {

constexpr size_t kMaxPromptBytes = 64 * 1024 * 1024;
constexpr double kAgentStopGraceS = 2;

int g_cancel_write = -1;

void on_signal(int) {
  if (g_cancel_write >= 0) {
    int saved = errno;
    char c = 1;
    (void)!::write(g_cancel_write, &c, 1);
    errno = saved;
  }
}

bool read_prompt(std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxPromptBytes) return false;
  }
}

void finish(const Outcome& o) {
  (void)write_line(1, to_line(outcome_to_json(o)));
  if (!o.success) {
    std::fprintf(stderr, "baton: acp: %s: %s\n", agents::to_string(o.error_class), o.error.c_str());
  }
}

// Waits up to SECONDS for CHILD to exit (its pidfd), reaping it.
void wait_for(Child& child, double seconds) {
  if (child.reap(false)) return;
  if (child.pidfd() >= 0) {
    pollfd p = {child.pidfd(), POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(seconds * 1000));
    } while (r < 0 && errno == EINTR);
  }
  child.reap(false);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

}  // namespace

Result<BridgeArgs> parse_bridge_args(const std::vector<std::string>& args) {
  BridgeArgs out;
  size_t i = 0;
  auto value = [&](const std::string& name) -> Result<std::string> {
    if (i + 1 >= args.size()) return fail(name + " needs a value");
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.agent_argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "--no-fs-read") {
      out.offer_fs_read = false;
      continue;
    }
    if (a == "--commands-leave-sandbox") {
      out.commands_leave_sandbox = true;
      continue;
    }
    auto v = value(a);
    if (a != "--cwd" && a != "--permission" && a != "--resume" && a != "--cancel-grace" &&
        a != "--auth") {
      return fail("unknown option " + a);
    }
    if (!v) return tl::unexpected(v.error());
    if (a == "--cwd") {
      out.cwd = *v;
    } else if (a == "--permission") {
      auto p = parse_permission_policy(*v);
      if (!p) return fail("--permission must be allow-worktree, allow-all or deny");
      out.policy = *p;
    } else if (a == "--resume") {
      out.resume_session_id = *v;
    } else if (a == "--cancel-grace") {
      char* end = nullptr;
      double s = std::strtod(v->c_str(), &end);
      if (v->empty() || *end != '\0' || !(s >= 0 && s <= 600)) {
        return fail("--cancel-grace must be a number of seconds in 0..600");
      }
      out.cancel_grace_s = s;
    } else {
      out.auth_methods.push_back(*v);
    }
  }
  if (out.agent_argv.empty()) return fail("no agent command after --");
  return out;
}

int run_bridge(const BridgeArgs& args) {
  Outcome failed;
  failed.error_class = agents::ErrorClass::kPermanent;
  std::string prompt;
  if (!read_prompt(&prompt)) {
    failed.error = "cannot read the prompt from stdin (or it is over 64 MiB)";
    finish(failed);
    return 1;
  }
  char root[PATH_MAX];
  if (!::realpath(args.cwd.empty() ? "." : args.cwd.c_str(), root)) {
    failed.error = "the task's directory " + args.cwd + ": " + std::strerror(errno);
    finish(failed);
    return 1;
  }
  int cancel_pipe[2];
  if (::pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    failed.error = std::string("pipe: ") + std::strerror(errno);
    finish(failed);
    return 1;
  }
  exec::Fd cancel_r(cancel_pipe[0]), cancel_w(cancel_pipe[1]);
  g_cancel_write = cancel_w.get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(s, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Orphans of the agent become the bridge's children, so that it can reap them.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ChildSpec spec;
  spec.argv = args.agent_argv;
  spec.cwd = root;
  spec.pipe_stdin = true;
  auto agent = Child::start(spec);
  if (!agent) {
    failed.error = agent.error().message;
    finish(failed);
    return 1;
  }
  (void)write_line(1, to_line({{"acp", "start"},
                               {"agent", args.agent_argv},
                               {"agent_pid", agent->pid()},
                               {"cwd", root},
                               {"permission", to_string(args.policy)},
                               {"resume", args.resume_session_id},
                               {agents::kEventTimeKey, agents::event_time_ms()}}));
  ClientOptions options;
  options.root = root;
  options.policy = args.policy;
  options.resume_session_id = args.resume_session_id;
  options.cancel_grace_s = args.cancel_grace_s;
  options.auth_methods = args.auth_methods;
  options.offer_fs_read = args.offer_fs_read;
  options.commands_leave_sandbox = args.commands_leave_sandbox;
  Client client(agent->stdout_fd().get(), agent->stdin_fd().get(), 1, cancel_r.get(), options);
  Outcome outcome = client.run(prompt);

  // The end: EOF on its stdin, then TERM, a grace, KILL, of its whole group.
  agent->stdin_fd().reset();
  wait_for(*agent, outcome.error_class == agents::ErrorClass::kTransient ? kAgentStopGraceS : 0.2);
  if (!agent->reaped()) {
    agent->signal_group(SIGTERM);
    wait_for(*agent, kAgentStopGraceS);
  }
  // What is left of its group (its leader may be gone): killed, and reaped here, since
  // the bridge is their subreaper, so that nothing of it outlives the bridge.
  ::kill(-agent->pid(), SIGKILL);
  agent->reap(true);
  for (int i = 0; i < 200 && ::kill(-agent->pid(), 0) == 0; ++i) {
    ::kill(-agent->pid(), SIGKILL);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    ::poll(nullptr, 0, 10);
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  if (outcome.error_class == agents::ErrorClass::kTransient &&
      outcome.error.find("closed its stdout") != std::string::npos) {
    outcome.error += " (" + describe(agent->status()) + ")";
  }
  finish(outcome);
  return outcome.success ? 0 : 1;
}

int bridge_main(const std::vector<std::string>& args) {
  auto parsed = parse_bridge_args(args);
  if (!parsed) {
    std::fprintf(stderr, "baton: __acp-bridge: %s\n", parsed.error().message.c_str());
    Outcome o;
    o.error_class = agents::ErrorClass::kPermanent;
    o.error = "__acp-bridge: " + parsed.error().message;
    (void)write_line(1, to_line(outcome_to_json(o)));
    return 2;
  }
  return run_bridge(*parsed);
}

}  // namespace baton::acp
