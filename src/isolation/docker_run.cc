#include "isolation/docker_run.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "util/write_all.h"

namespace baton::isolation {

namespace {

// A reader that is gone loses the rest; the container is drained all the same.
void write_or_drop(int fd, const std::string& data) { (void)write_all(fd, data); }

// What the signal thread and the main thread share; guarded by `mu`.
struct Shared {
  std::mutex mu;
  std::string id;  // the container, once created
  bool started = false;
  int signals = 0;  // how many stop signals arrived
  int first_signal = 0;
};

// The guard: in a session of its own, so the task's process group signals miss
// it; reads the container id, then "removed"; at EOF without "removed" it
// force-removes the container. Never returns.
[[noreturn]] void guard_main(int read_fd, const std::string& socket) {
  setsid();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
  }
  std::string data;
  char buf[256];
  for (;;) {
    ssize_t n = read(read_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  // The first line is the container's name, sent before it was created.
  size_t eol = data.find('\n');
  if (eol != std::string::npos && data.find("removed\n") == std::string::npos) {
    EngineClient(socket).remove(data.substr(0, eol));
  }
  _exit(0);
}

}  // namespace

Result<int> run_container(const EngineClient& client, ContainerSpec spec,
                          const ContainerRunOptions& options) {
  signal(SIGPIPE, SIG_IGN);
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stops, nullptr);

  int guard_pipe[2];
  if (pipe2(guard_pipe, O_CLOEXEC) != 0) return tl::unexpected(Error::from_errno("pipe", errno));
  pid_t guard = fork();
  if (guard < 0) return tl::unexpected(Error::from_errno("fork", errno));
  if (guard == 0) {
    close(guard_pipe[1]);
    guard_main(guard_pipe[0], client.socket());
  }
  close(guard_pipe[0]);
  int to_guard = guard_pipe[1];
  auto tell_guard = [&](const std::string& line) { write_or_drop(to_guard, line + "\n"); };

  auto shared = std::make_shared<Shared>();
  std::thread([shared, stops, client, grace = options.stop_grace_s] {
    for (;;) {
      int sig = 0;
      if (sigwait(&stops, &sig) != 0) continue;
      std::string id;
      int count;
      {
        std::lock_guard<std::mutex> lock(shared->mu);
        count = ++shared->signals;
        if (count == 1) shared->first_signal = sig;
        if (shared->started) id = shared->id;
      }
      if (id.empty()) continue;  // not started: the main thread sees `signals`
      if (count == 1) {
        client.stop(id, grace);
      } else {
        client.remove(id);
      }
    }
  }).detach();

  spec.open_stdin = !options.stdin_data.empty();
  if (spec.name.empty()) {
    // Named before it exists, so the guard can remove it even if this process dies
    // while the daemon is creating it.
    std::random_device rd;
    char name[32];
    std::snprintf(name, sizeof name, "baton-%08x%08x", rd(), rd());
    spec.name = name;
  }
  tell_guard(spec.name);
  auto id = client.create(spec);
  if (!id) {
    close(to_guard);  // the guard's removal of a container never made is a 404
    return tl::unexpected(id.error());
  }
  auto finish = [&](Result<int> result) -> Result<int> {
    auto removed = client.remove(*id);
    if (removed) tell_guard("removed");
    close(to_guard);
    if (result && !removed) return tl::unexpected(removed.error());
    return result;
  };

  auto stream = client.attach(*id, spec.open_stdin);
  if (!stream) return finish(tl::unexpected(stream.error()));
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->id = *id;
    if (shared->signals > 0) return finish(128 + shared->first_signal);
    auto started = client.start(*id);
    if (!started) return finish(tl::unexpected(started.error()));
    shared->started = true;
  }
  int fd = stream->socket.fd();
  if (spec.open_stdin) {
    write_or_drop(fd, options.stdin_data);
  }
  // Closing our half ends the command's stdin (StdinOnce); its output still comes.
  shutdown(fd, SHUT_WR);

  StreamDemuxer demux;
  auto on_frame = [&](int kind, const std::string& bytes) {
    write_or_drop(kind == 2 ? options.err_fd : options.out_fd, bytes);
  };
  demux.feed(stream->rest, on_frame);
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    demux.feed(std::string(buf, static_cast<size_t>(n)), on_frame);
  }
  return finish(client.wait(*id));
}

}  // namespace baton::isolation
