// Container sandboxes (docker, podman): a task's process rewritten to run through
// the hidden `baton __container-run`, which runs it in a container through the
// Docker Engine API (docker_run.h). The task stays a process of baton's: its
// timeout, cancellation and log work as for any task.
//
// What the container holds (docs/sandboxes.md): the image's file system read-only
// (ReadonlyRootfs); SandboxSpec::writable and HOME bound read-write at the same
// paths; SandboxSpec::readable and the credentials files read-only; /tmp a tmpfs of
// SandboxSpec::tmp_bytes; `hidden` paths covered by an empty tmpfs; no network
// unless SandboxSpec::network (then the host's). It runs as SandboxSpec::user (as
// root: the task's own unprivileged uid, grant_sandbox_access done as for bwrap),
// else baton's own uid and gid, with every capability dropped, no-new-privileges, and
// SandboxSpec::limits through the daemon: pids and memory for the whole container
// (its cgroup), open files and CPU seconds per process (ulimits).
#pragma once

#include <string>
#include <vector>

#include "exec/process.h"
#include "isolation/docker_engine.h"
#include "isolation/sandbox.h"
#include "util/error.h"

namespace baton::isolation {

/// Where and how a container sandbox runs.
struct ContainerOptions {
  ContainerBackend backend = ContainerBackend::kDocker;
  std::string socket;                        ///< the daemon's unix socket
  std::string image = kDefaultSandboxImage;  ///< the image to run
  std::string launcher;                      ///< the baton executable (`__container-run`)
  int stop_grace_s = 10;                     ///< seconds from a stop's SIGTERM to SIGKILL
};

/// Rewrites PROCESS to run its argv in a container per SPEC and OPTIONS: argv becomes
/// `LAUNCHER __container-run --backend B --socket S --image I --workdir W --user U:G
/// --tmp-size N --pids N --memory BYTES --open-files N [--cpu-seconds N] [--network]
/// [--mount SRC:DST[:ro]]... [--hide P]... [--env NAME]... -- ARGV`. Variables PROCESS sets are
/// passed by name (their values are read from the launcher's environment, so no secret is on a
/// command line); HOME becomes SPEC.home and TMPDIR /tmp. Errors: as wrap_in_bwrap (SPEC.home
/// cannot be made, a writable path missing, no workdir), no launcher.
Result<void> wrap_in_container(exec::ProcessSpec& process, const SandboxSpec& spec,
                               const ContainerOptions& options);

/// The parsed arguments of `__container-run` (everything but the stop grace and
/// stdin): the container to run and on which daemon.
struct ContainerRunArgs {
  ContainerBackend backend = ContainerBackend::kDocker;
  std::string socket;
  ContainerSpec spec;
  int stop_grace_s = 10;
};

/// Parses ARGS (what follows `__container-run`), reading the values of `--env NAME`
/// from this process's environment (a name not set is left out). Errors: an unknown
/// option, a missing value, no command after `--`, a mount without ':'.
Result<ContainerRunArgs> parse_container_run_args(const std::vector<std::string>& args);

/// Whether BACKEND can run sandboxes of IMAGE on SOCKET: the daemon answers and has
/// the image. Error: why not, with how to fix it (scripts/setup-containers).
Result<void> check_container_backend(ContainerBackend backend, const std::string& socket,
                                     const std::string& image);

}  // namespace baton::isolation
