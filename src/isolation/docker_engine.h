// A container sandbox through the Docker Engine API (v1.41), as served by dockerd
// and by `podman system service`: what a container is made of (ContainerSpec), the
// create body, the multiplexed stream of an attach, and the calls baton makes
// (ping, image inspect, create, attach, start, wait, stop, remove).
//
// Sources: Docker Engine API v1.41 reference: "Create a container" (HostConfig
// Binds, Tmpfs, ReadonlyRootfs, NetworkMode, CapDrop, SecurityOpt, PidsLimit, Init),
// "Attach to a container" (stream format: 8-byte frame headers
// {STREAM_TYPE, 0, 0, 0, SIZE1..SIZE4 big-endian}), "Wait for a container".
// Thread safety: every function opens its own connection; none keeps state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "isolation/docker_http.h"
#include "util/error.h"

namespace baton::isolation {

/// The daemon that serves the Engine API.
enum class ContainerBackend { kDocker, kPodman };

/// "docker" or "podman".
const char* backend_name(ContainerBackend backend);

/// The Engine API version baton speaks (path prefix "/v1.41").
constexpr const char* kEngineApiVersion = "v1.41";

/// The image a container sandbox uses unless the workflow says `image:` (built by
/// scripts/setup-containers).
constexpr const char* kDefaultSandboxImage = "baton-sandbox:latest";

/// The daemon's socket: the path of DOCKER_HOST (docker) or CONTAINER_HOST (podman)
/// when it is `unix://PATH`, else /var/run/docker.sock or /run/podman/podman.sock.
std::string default_engine_socket(ContainerBackend backend);

/// A path of the host bound into the container.
struct Bind {
  std::string source;  ///< host path (must exist)
  std::string target;  ///< path inside
  bool read_only = false;
};

/// What one container is made of. Binds land on a read-only root file system; /tmp
/// is a tmpfs of tmp_bytes; the network is "none" unless `network` ("host" then).
struct ContainerSpec {
  std::string name;  ///< the container's name ("" = the daemon picks one)
  std::string image;
  std::vector<std::string> argv;  ///< the command (Cmd); the image's Entrypoint is cleared
  std::string workdir;            ///< working directory inside
  std::vector<std::string> env;   ///< NAME=VALUE
  std::vector<Bind> binds;
  std::vector<std::string> hidden;  ///< paths covered by an empty tmpfs
  long long tmp_bytes = 0;          ///< size of /tmp's tmpfs, bytes (0: the daemon's default)
  bool network = false;
  std::string user;           ///< "UID:GID" the command runs as
  int64_t pids_limit = 1024;  ///< processes at once inside (HostConfig.PidsLimit)
  int64_t memory_bytes = 0;   ///< memory of the whole container, bytes; 0 = none
  int64_t cpu_seconds = 0;    ///< CPU seconds per process (ulimit cpu); 0 = none
  int64_t open_files = 0;     ///< open files per process (ulimit nofile); 0 = the daemon's
  bool open_stdin = false;    ///< stdin attached (then closed after the data is written)
};

/// The JSON body of `POST /containers/create` for SPEC: every capability dropped,
/// no-new-privileges, an init process (so a stop's SIGTERM reaches the command), the
/// limits as HostConfig PidsLimit, Memory and MemorySwap (equal: no swap beyond it),
/// Ulimits nofile and cpu (soft = hard) and, with either, nproc = pids_limit.
nlohmann::json container_create_body(const ContainerSpec& spec);

/// Splits the multiplexed stream of an attach (or logs) into stdout and stderr.
/// Feed bytes as they come; frames may be split anywhere.
class StreamDemuxer {
 public:
  /// Appends DATA; calls ON_FRAME(stream, bytes) for each complete frame payload,
  /// stream 0 = stdin, 1 = stdout, 2 = stderr.
  template <typename F>
  void feed(const std::string& data, F&& on_frame) {
    pending_ += data;
    size_t at = 0;
    while (pending_.size() - at >= 8) {
      const auto* h = reinterpret_cast<const unsigned char*>(pending_.data() + at);
      size_t size = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | h[7];
      if (pending_.size() - at - 8 < size) break;
      on_frame(static_cast<int>(h[0]), pending_.substr(at + 8, size));
      at += 8 + size;
    }
    pending_.erase(0, at);
  }
  /// Bytes of an unfinished frame (non-empty at EOF: the stream was cut).
  size_t pending() const { return pending_.size(); }

 private:
  std::string pending_;
};

/// The Engine API of one daemon, reached over its unix socket.
class EngineClient {
 public:
  explicit EngineClient(std::string socket) : socket_(std::move(socket)) {}
  const std::string& socket() const { return socket_; }

  /// GET /_ping. Error: the daemon does not answer ("... is the daemon running?").
  Result<void> ping() const;
  /// Whether IMAGE exists on the daemon (GET /images/IMAGE/json).
  Result<bool> has_image(const std::string& image) const;
  /// POST /containers/create; returns the container's id. Error: the daemon's message.
  Result<std::string> create(const ContainerSpec& spec) const;
  /// POST /containers/ID/attach (stream, stdout, stderr, and stdin when STDIN):
  /// the hijacked connection. Attach before start, so no output is missed.
  Result<HttpStream> attach(const std::string& id, bool stdin) const;
  /// POST /containers/ID/start.
  Result<void> start(const std::string& id) const;
  /// POST /containers/ID/wait: blocks until it exits; returns its exit code.
  Result<int> wait(const std::string& id) const;
  /// POST /containers/ID/stop?t=GRACE_S: SIGTERM, then SIGKILL after GRACE_S seconds.
  Result<void> stop(const std::string& id, int grace_s) const;
  /// DELETE /containers/ID?force=1&v=1: kills it if running, removes it and its
  /// anonymous volumes. A container already gone is not an error.
  Result<void> remove(const std::string& id) const;

 private:
  std::string path(const std::string& p) const { return "/" + std::string(kEngineApiVersion) + p; }
  std::string socket_;
};

}  // namespace baton::isolation
