// baton __container-run OPTIONS -- ARGV: runs ARGV in a container (docker or podman,
// through the Docker Engine API) and exits with its exit code. Hidden: a task's argv
// becomes this when its sandbox is docker or podman (isolation/docker_sandbox.h), so
// the task is still a process of baton's and its timeout, cancellation and log work
// unchanged. Its stdin is read to EOF and given to the command; its stdout and stderr
// are the command's.
//
// Exit codes: the container's (128+N when the command died of signal N); 125 when
// the container could not be run (bad arguments, no daemon, no image), as `docker run`.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "isolation/docker_run.h"
#include "isolation/docker_sandbox.h"

namespace baton::cli {

namespace {

constexpr int kExitContainerFailed = 125;

std::string read_stdin() {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

int container_run(const std::vector<std::string>& args) {
  auto parsed = isolation::parse_container_run_args(args);
  if (!parsed) {
    std::fprintf(stderr, "baton: %s\n", parsed.error().message.c_str());
    return kExitContainerFailed;
  }
  isolation::ContainerRunOptions options;
  options.stop_grace_s = parsed->stop_grace_s;
  options.stdin_data = read_stdin();
  isolation::EngineClient client(parsed->socket);
  auto code = isolation::run_container(client, std::move(parsed->spec), options);
  if (!code) {
    std::fprintf(stderr, "baton: sandbox %s: %s\n", isolation::backend_name(parsed->backend),
                 code.error().message.c_str());
    return kExitContainerFailed;
  }
  return *code;
}

}  // namespace baton::cli
