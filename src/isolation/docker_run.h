// Running one command in a container to its end, as a process would run it: the
// body of the hidden `baton __container-run` that a sandboxed task's argv becomes
// (docker_sandbox.h), so that timeouts, cancellation and logs work as for any task.
//
// run_container() creates the container, attaches to it (before starting, so no
// output is lost), starts it, writes the stdin data and closes stdin, copies the
// multiplexed output to its own stdout and stderr, waits for the exit code and
// removes the container: always, also after an error.
// Signals: SIGTERM, SIGINT and SIGHUP stop the whole container (its init gets
// SIGTERM, SIGKILL after the grace period); a second one kills it at once.
// SIGKILL of the client cannot be caught, so a guard process (its own session,
// holding only a pipe from the client, told the container's name before it is
// created: "baton-" and 16 random hex digits unless ContainerSpec::name is set)
// force-removes the container when the client ends without saying it removed it.
#pragma once

#include <string>

#include "isolation/docker_engine.h"
#include "util/error.h"

namespace baton::isolation {

/// How run_container() behaves around the container.
struct ContainerRunOptions {
  int stop_grace_s = 10;   ///< seconds between a stop's SIGTERM and SIGKILL
  std::string stdin_data;  ///< written to the command's stdin (none attached when empty)
  int out_fd = 1;          ///< where the container's stdout goes
  int err_fd = 2;          ///< where its stderr goes
};

/// Runs SPEC on CLIENT's daemon; returns the container's exit code (128+N when its
/// command was killed by signal N). The container is removed before this returns.
/// REQUIRES: called before the process starts any thread (it forks the guard and
/// blocks SIGTERM, SIGINT and SIGHUP in the calling thread). Errors: the daemon's
/// (no such image, bad bind source), or the connection's.
Result<int> run_container(const EngineClient& client, ContainerSpec spec,
                          const ContainerRunOptions& options);

}  // namespace baton::isolation
