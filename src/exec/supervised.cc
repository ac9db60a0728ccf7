// The orchestrator's side of attempts under the run supervisor (supervised.h): one
// connection (socket + pidfd of a `baton-supervise`) per loop that starts attempts,
// watched on that loop; attempts of an earlier orchestrator's supervisor re-attached
// through inotify on their control files. The libuv handles live in heap-allocated
// structs that outlive their owners: libuv needs them valid until their close callbacks.
#include "exec/supervised.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "exec/attempt_file.h"
#include "exec/child_env.h"
#include "exec/spawn.h"
#include "exec/supervisor.h"
#include "exec/supervisor_protocol.h"
#include "util/self_exe.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace baton::exec {
namespace {

// How long ~Supervised waits for an attempt told to stop at once before it KILLs the
// attempt's group itself.
constexpr int kDestroyWaitMs = 10000;
// How long pid() waits for the supervisor's answer (kStarted).
constexpr int kStartedWaitMs = 30000;
// How long attach() waits for the "started" record of an attempt whose control file is
// locked but has none yet (handed over an instant before the orchestrator died).
constexpr double kAttachStartWaitS = 2.0;

// A control file read together with the state of its lock.
struct ControlSnapshot {
  bool exists = false;
  bool locked = false;  // a live supervisor (or an orchestrator about to hand it over) holds it
  Result<ControlRecords> records = ControlRecords{};
};

ControlSnapshot read_control(const std::string& control_path) {
  ControlSnapshot snap;
  int raw = ::open(control_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno != ENOENT) {
      snap.exists = true;
      snap.records = tl::unexpected(Error::from_errno("cannot open " + control_path, errno));
    }
    return snap;
  }
  Fd fd(raw);
  snap.exists = true;
  // A shared lock is granted only when no supervisor holds its exclusive one; it is
  // released when FD closes, right after reading.
  snap.locked = ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      snap.records = tl::unexpected(Error::from_errno("cannot read " + control_path, errno));
      return snap;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  snap.records = parse_control_records(text, control_key_for(control_path));
  if (!snap.records) {
    snap.records = tl::unexpected(Error(control_path + ": " + snap.records.error().message));
  }
  return snap;
}

std::string read_file(const std::string& path) {
  std::string data;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return data;
  // Sized once: grown by doubling, a 64 MiB capture peaked at 192 MiB while copied.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

ProcessResult result_from(const ExitRecord& exit, const std::string& control_path) {
  ProcessResult result;
  result.status = exit.status;
  // A record that says no stdout was kept spares the file's lookup (most tasks).
  if (exit.status.kind != ExitStatus::Kind::kFailedToStart && exit.stdout_bytes != 0) {
    result.stdout_text = read_file(stdout_path_for_control(control_path));
  }
  result.stdout_truncated = exit.stdout_truncated;
  result.output_error = exit.output_error;
  result.stderr_tail = exit.stderr_tail;
  result.pid = exit.child_pid;
  result.started_at = exit.started_at;
  result.ended_at = exit.ended_at;
  return result;
}

AttemptState state_from(const ControlSnapshot& snap, const std::string& control_path) {
  AttemptState state;
  if (!snap.exists) {
    state.detail = "no control file";
    return state;
  }
  if (!snap.records) {
    state.kind = snap.locked ? AttemptState::Kind::kRunning : AttemptState::Kind::kLost;
    state.detail = snap.records.error().message;
    return state;
  }
  const ControlRecords& records = *snap.records;
  if (records.started) {
    state.supervisor_pid = records.started->supervisor_pid;
    state.child_pid = records.started->child_pid;
  }
  if (records.exit) {
    state.kind = AttemptState::Kind::kFinished;
    state.result = result_from(*records.exit, control_path);
    if (state.child_pid == 0) state.child_pid = records.exit->child_pid;
    state.detail = state.result.status.to_string();
  } else if (snap.locked && !(records.drained && !records.started)) {
    // Locked without "started": handed over an instant ago (or being handed over),
    // unless its journal's supervisor has drained its socket: then it never was.
    state.kind = AttemptState::Kind::kRunning;
    state.detail = records.started ? "running" : "starting";
  } else if (!records.started) {
    state.kind = AttemptState::Kind::kNotStarted;
    state.detail = "never handed to a supervisor";
  } else {
    state.kind = AttemptState::Kind::kLost;
    state.detail = records.cleaned ? "supervisor died before recording the end (cleaned up)"
                                   : "supervisor died before recording the end";
  }
  return state;
}

// A pidfd for the supervisor recorded in STARTED, checked to be that process (pid plus
// start time; checked after opening, since the pidfd pins the process it refers to).
Result<Fd> open_supervisor(const StartedRecord& started) {
  auto pidfd = open_pidfd(started.supervisor_pid);
  if (!pidfd) return tl::unexpected(pidfd.error());
  auto ticks = process_start_ticks(started.supervisor_pid);
  if (!ticks || *ticks != started.supervisor_start) {
    return fail("supervisor pid " + std::to_string(started.supervisor_pid) +
                " is no longer the attempt's supervisor");
  }
  return pidfd;
}

// Asks the supervisor behind PIDFD to stop the attempt STARTED names: with grace, or
// AT_ONCE. A supervisor of an earlier version (one per attempt, attempt_id 0) takes
// SIGTERM / SIGINT with baton's cookie.
Result<void> request_stop(int pidfd, uint64_t attempt_id, bool at_once) {
  if (attempt_id == 0) return request_pidfd(pidfd, at_once ? SIGINT : SIGTERM);
  return request_attempt_stop(pidfd, at_once ? kill_now_signal() : cancel_signal(), attempt_id);
}

// Where the supervisor program is and how to call it.
struct SupervisorCommand {
  std::string path;
  std::vector<std::string> argv;
};

SupervisorCommand supervisor_command() {
  if (const char* override_path = std::getenv("BATON_SUPERVISOR");
      override_path != nullptr && *override_path != '\0') {
    return {override_path, {override_path}};
  }
  static const SupervisorCommand found = [] {
    const std::string exe = self_executable().value_or("/proc/self/exe");
    std::string beside = exe.substr(0, exe.rfind('/') + 1) + "baton-supervise";
    if (::access(beside.c_str(), X_OK) == 0) return SupervisorCommand{beside, {beside}};
    return SupervisorCommand{exe, {exe, "__supervise"}};
  }();
  return found;
}

// Reaps the process behind PIDFD when it is our child (waitid P_PIDFD: exactly that
// process, never a reused pid). BLOCKING waits for it to exit.
void reap_pidfd(int pidfd, bool blocking) {
  siginfo_t info{};
  int options = WEXITED | (blocking ? 0 : WNOHANG);
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, options) < 0 &&
         errno == EINTR) {
  }
}

// The orchestrator's working directory, for specs that leave cwd empty (the supervisor
// runs in "/").
std::string current_directory() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) != nullptr ? std::string(buf) : std::string();
}

// A message read from a supervisor.
struct Message {
  MessageHeader header;
  std::string payload;
};

struct Connection;
struct AttachWatch;

// libuv handles that watch one connection's socket on one loop; deletes itself when
// both have closed.
struct LoopWatch {
  uv_poll_t poll{};
  uv_timer_t timer{};  // dispatches messages read during a blocking wait
  Connection* owner = nullptr;
  int open_handles = 0;

  void close();
  static void on_closed(uv_handle_t* handle);
};

// One run supervisor and what this process has handed it.
struct Connection {
  std::string program;
  Fd socket;
  Fd pidfd;
  int pid = 0;
  int owner = 0;  // the process that started it: a forked child must start its own
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, Supervised::Impl*> watched;  // started here, end not delivered
  size_t outstanding = 0;  // handed over, kEnded not seen (detached ones included)
  // Its journals by directory: the number the supervisor knows it by, and the path
  // the attempts' control files are linked to. One is new until handed over.
  struct Journal {
    int64_t number = 0;
    std::string path;
  };
  std::unordered_map<std::string, Journal> journals;
  int64_t next_journal = 1;
  // The base environment the supervisor has (kEnv): its number (0 = none sent yet) and
  // this process's environ as it was then, to see a change (setenv, unsetenv).
  uint64_t env_number = 0;
  std::vector<std::string> env_snapshot;
  uint64_t answered = 0;  // the attempt of the last kStarted (the answer to a kWhere)
  // The loop it is bound to while it has watched attempts, and whether its supervisor is
  // known to be gone: read by connection_for() of any thread (under the registry's lock),
  // written by the loop's thread. Everything else belongs to the bound loop's thread.
  std::atomic<uv_loop_t*> loop{nullptr};
  LoopWatch* handles = nullptr;
  std::deque<Message> deferred;         // kEnded read during a blocking wait, not yet dispatched
  std::unique_ptr<MessageBatch> batch;  // made with the first read
  std::atomic<bool> dead{false};

  Result<void> spawn(const SupervisorCommand& command);
  // Sends this process's environment as the base of the next attempts (kEnv) unless the
  // supervisor has it already. Errors: the socket failed (errno is sendmsg's).
  Result<void> send_environment();
  void bind(uv_loop_t* new_loop);
  void unbind_if_idle();
  // Reads every waiting message (BLOCK_MS: how long to wait for the first; 0 = none)
  // into the deferred queue, applying kStarted (and kEnded's pid) at once. False at EOF
  // or on an error.
  bool read_messages(int block_ms);
  // Delivers the deferred messages (callbacks run).
  void dispatch();
  // Reads messages, blocking up to TIMEOUT_MS in all, until DONE() holds, the kEnded of
  // attempt ID has been read (it stays in `deferred`; returns true then), or the
  // supervisor is gone. The kEnded messages read are delivered later, on the loop.
  bool wait_for_end_or(uint64_t id, int timeout_ms, const std::function<bool()>& done);
  void deliver(Message& message);
  // The supervisor is gone: every watched attempt ends as its control file says.
  void lost_supervisor();
  // Closes the socket; waits for the supervisor when it has nothing left to run.
  void drop();
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_timer(uv_timer_t* handle);
};

struct Registry {
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> connections;
};

Registry& registry() {
  // Never destroyed: at_exit() below ends the supervisors.
  static auto* r = new Registry();
  return *r;
}

void at_exit() {
  Registry& r = registry();
  std::unique_lock<std::mutex> lock(r.mu, std::try_to_lock);
  if (!lock.owns_lock()) return;
  for (auto& c : r.connections) {
    if (c->owner == ::getpid() && c->loop == nullptr) c->drop();
  }
}

}  // namespace

/// One attempt as this process sees it.
struct Supervised::Impl {
  uv_loop_t* loop = nullptr;
  std::string control_path;
  ExitCallback on_exit;
  int supervisor_pid = 0;
  int child_pid = 0;
  bool running = true;
  bool detached = false;
  // Started here: its connection and id.
  Connection* connection = nullptr;
  uint64_t id = 0;
  // Re-attached: the supervisor's pidfd, the attempt's id there, the inotify watch.
  Fd supervisor_pidfd;
  uint64_t attached_id = 0;
  AttachWatch* watch = nullptr;
  std::optional<ProcessResult> known_result;

  // Calls the callback once with RESULT; the callback may destroy this.
  void finish(ProcessResult result);
  // Stops watching (handles closed, connection forgets it).
  void forget();
  // For an attempt whose control file says it is no longer running: its result, or a
  // lost one (its group killed, the file marked "cleaned").
  ProcessResult settled_result();
};

namespace {

/// The libuv handles of a re-attached attempt: inotify on its control file (its "exit"
/// record, or the close of the supervisor's descriptor when it dies), or a zero timer
/// for an attempt that had ended already.
struct AttachWatch {
  uv_poll_t poll{};
  uv_timer_t timer{};
  Fd inotify;
  Supervised::Impl* owner = nullptr;
  int open_handles = 0;
  bool polling = false;

  void close() {
    owner = nullptr;
    if (polling) uv_close(reinterpret_cast<uv_handle_t*>(&poll), &AttachWatch::on_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), &AttachWatch::on_closed);
    polling = false;
  }
  static void on_closed(uv_handle_t* handle) {
    auto* w = static_cast<AttachWatch*>(handle->data);
    if (--w->open_handles == 0) delete w;
  }
};

void LoopWatch::close() {
  owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll), &LoopWatch::on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), &LoopWatch::on_closed);
}

void LoopWatch::on_closed(uv_handle_t* handle) {
  auto* w = static_cast<LoopWatch*>(handle->data);
  if (--w->open_handles == 0) delete w;
}

Result<void> Connection::spawn(const SupervisorCommand& command) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return tl::unexpected(Error::from_errno("supervisor: socketpair", errno));
  }
  Fd ours(pair[0]);
  Fd theirs(pair[1]);
  // The orchestrator's directory ends its argv, for ps(1) and for finding a project's
  // supervisors; the supervisor ignores it.
  std::vector<std::string> argv = command.argv;
  argv.push_back(current_directory());
  auto spawned = spawn_detached(command.path, argv, {{theirs.get(), kSupervisorSocketFd}},
                                {SIGTERM, SIGINT, cancel_signal(), kill_now_signal()});
  if (!spawned) return tl::unexpected(spawned.error());
  auto opened = open_pidfd(*spawned);
  if (!opened) {
    ::kill(*spawned, SIGKILL);
    int status = 0;
    while (::waitpid(*spawned, &status, 0) < 0 && errno == EINTR) {
    }
    return tl::unexpected(opened.error());
  }
  program = command.path;
  socket = std::move(ours);
  pidfd = std::move(*opened);
  pid = *spawned;
  owner = ::getpid();
  return ok();
}

// Whether environ is still SNAPSHOT, entry by entry.
bool environment_is(const std::vector<std::string>& snapshot) {
  size_t i = 0;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry, ++i) {
    if (i >= snapshot.size() || snapshot[i] != *entry) return false;
  }
  return i == snapshot.size();
}

Result<void> Connection::send_environment() {
  if (env_number != 0 && environment_is(env_snapshot)) return ok();
  std::vector<std::string> snapshot;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    snapshot.emplace_back(*entry);
  }
  std::string encoded = encode_env(build_child_env({}));
  Fd memfd;
  if (encoded.size() > kInlineSpecBytes) {
    auto made = memfd_with("baton-environment", encoded);
    if (!made) return tl::unexpected(made.error());
    memfd = std::move(*made);
    encoded.clear();
  }
  MessageHeader header;
  header.type = static_cast<uint32_t>(SupervisorMessage::kEnv);
  header.id = env_number + 1;
  const int fd = memfd.get();
  if (send_message(socket.get(), header, encoded, &fd, memfd.valid() ? 1 : 0) < 0) {
    return tl::unexpected(Error::from_errno("supervisor: cannot hand over the environment", errno));
  }
  env_number = header.id;
  env_snapshot = std::move(snapshot);
  return ok();
}

void Connection::bind(uv_loop_t* new_loop) {
  if (handles != nullptr) return;
  loop = new_loop;
  auto* w = new LoopWatch();
  w->owner = this;
  uv_poll_init(loop, &w->poll, socket.get());
  w->poll.data = w;
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  w->open_handles = 2;
  uv_poll_start(&w->poll, UV_READABLE, &Connection::on_poll);
  handles = w;
}

void Connection::unbind_if_idle() {
  if (!watched.empty() || handles == nullptr) return;
  handles->close();
  handles = nullptr;
  loop = nullptr;
  deferred.clear();  // ends of detached attempts: nobody waits for them
}

bool Connection::read_messages(int block_ms) {
  for (bool first = true;; first = false) {
    if (first && block_ms > 0) {
      pollfd p{socket.get(), POLLIN, 0};
      int rc;
      while ((rc = ::poll(&p, 1, block_ms)) < 0 && errno == EINTR) {
      }
      if (rc == 0) return true;
    }
    // Every waiting message at once (one recvmmsg, none just to hear EAGAIN).
    if (!batch) batch = std::make_unique<MessageBatch>(8, kMaxMessageBytes);
    const int n = batch->receive(socket.get());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    for (int i = 0; i < std::max(n, 1); ++i) {
      if (n <= 0 || (*batch)[i].eof) {
        dead = true;
        return false;
      }
      MessageBatch::Entry& e = (*batch)[i];
      for (int j = 0; j < e.fd_count; ++j) ::close(e.fds[j]);
      if (e.malformed) continue;
      if (e.header.type == static_cast<uint32_t>(SupervisorMessage::kStarted)) {
        answered = e.header.id;
        if (auto it = watched.find(e.header.id); it != watched.end() && e.header.value > 0) {
          it->second->child_pid = static_cast<int>(e.header.value);
        }
      } else if (e.header.type == static_cast<uint32_t>(SupervisorMessage::kEnded)) {
        if (auto it = watched.find(e.header.id); it != watched.end() && e.header.value > 0) {
          it->second->child_pid = static_cast<int>(e.header.value);
        }
        if (outstanding > 0) --outstanding;
        deferred.push_back(Message{e.header, std::string(e.payload)});
      }
    }
    if (static_cast<size_t>(n) < batch->capacity()) return true;  // nothing more was waiting
  }
}

bool Connection::wait_for_end_or(uint64_t id, int timeout_ms, const std::function<bool()>& done) {
  const double give_up = monotonic_now() + timeout_ms / 1000.0;
  bool ended = false;
  while (!ended && !done() && !dead && monotonic_now() < give_up) {
    const size_t before = deferred.size();
    if (!read_messages(static_cast<int>((give_up - monotonic_now()) * 1000) + 1)) break;
    for (size_t i = before; i < deferred.size(); ++i) ended |= deferred[i].header.id == id;
  }
  if (!deferred.empty() && handles != nullptr) {
    uv_timer_start(&handles->timer, &Connection::on_timer, 0, 0);
  }
  return ended;
}

void Connection::deliver(Message& message) {
  auto it = watched.find(message.header.id);
  if (it == watched.end()) return;  // detached, or destroyed
  Supervised::Impl* impl = it->second;
  watched.erase(it);
  impl->connection = nullptr;
  ProcessResult result;
  auto exit = decode_exit(message.payload);
  if (exit) {
    result = result_from(*exit, impl->control_path);
  } else {
    // A record that does not decode: what the control file says is the authority.
    result = impl->settled_result();
  }
  impl->finish(std::move(result));
}

void Connection::dispatch() {
  while (!deferred.empty()) {
    Message m = std::move(deferred.front());
    deferred.pop_front();
    deliver(m);
  }
}

void Connection::lost_supervisor() {
  dead = true;
  std::vector<uint64_t> ids;
  for (auto& [id, impl] : watched) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = watched.find(id);
    if (it == watched.end()) continue;
    Supervised::Impl* impl = it->second;
    watched.erase(it);
    impl->connection = nullptr;
    impl->finish(impl->settled_result());
  }
}

void Connection::drop() {
  socket.reset();
  // With nothing left to run it exits at the EOF; a dead one has exited already.
  if (pidfd.valid() && (outstanding == 0 || dead)) reap_pidfd(pidfd.get(), /*blocking=*/true);
  pidfd.reset();
  pid = 0;
}

void Connection::on_poll(uv_poll_t* handle, int, int) {
  auto* w = static_cast<LoopWatch*>(handle->data);
  Connection* c = w->owner;
  if (c == nullptr) return;
  const bool alive = c->read_messages(0);
  c->dispatch();  // may run callbacks that start or destroy attempts
  if (!alive && c->handles == w) {
    c->lost_supervisor();
  }
  c->unbind_if_idle();
}

void Connection::on_timer(uv_timer_t* handle) {
  auto* w = static_cast<LoopWatch*>(handle->data);
  Connection* c = w->owner;
  if (c == nullptr) return;
  c->dispatch();
  c->unbind_if_idle();
}

// The connection for LOOP: the one bound to it, else an idle one of this process for
// PROGRAM, else a new one. Drops dead ones. Call with the registry locked.
// This process's pid, kept (a getpid(2) per attempt otherwise); a fork(2) child finds
// its own through the pthread_atfork handler.
std::atomic<int> g_self_pid{0};

int self_pid() {
  static const bool registered =
      ::pthread_atfork(nullptr, nullptr, [] { g_self_pid.store(0); }) == 0;
  (void)registered;
  int pid = g_self_pid.load();
  if (pid == 0) {
    pid = ::getpid();
    g_self_pid.store(pid);
  }
  return pid;
}

Result<Connection*> connection_for(uv_loop_t* loop, const SupervisorCommand& command) {
  Registry& r = registry();
  const int self = self_pid();
  Connection* idle = nullptr;
  for (auto it = r.connections.begin(); it != r.connections.end();) {
    Connection* c = it->get();
    if (c->owner != self) {
      // Inherited through fork(2): the parent's, which the parent still uses.
      (void)c->socket.release();
      (void)c->pidfd.release();
      it = r.connections.erase(it);
      continue;
    }
    if (c->loop == nullptr && (c->dead || c->program != command.path)) {
      c->drop();
      it = r.connections.erase(it);
      continue;
    }
    if (c->loop == loop && !c->dead) return c;
    if (c->loop == nullptr && idle == nullptr) idle = c;
    ++it;
  }
  if (idle != nullptr) return idle;
  auto c = std::make_unique<Connection>();
  if (auto spawned = c->spawn(command); !spawned) return tl::unexpected(spawned.error());
  static const bool registered = std::atexit(at_exit) == 0;
  (void)registered;
  r.connections.push_back(std::move(c));
  return r.connections.back().get();
}

// Whether KEY can name an attempt in a journal: printable ASCII without '"' or '\\',
// short enough for the child's "started" record (child_spawn.cc's 1 KiB buffer).
bool journal_key_ok(const std::string& key) {
  if (key.empty() || key.size() > 200) return false;
  for (char ch : key) {
    if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') return false;
  }
  return true;
}

// Links CONTROL_PATH to C's journal in its directory (made when C has none there, or
// when the one it has is full: EMLINK). Returns the journal's number; NEW_JOURNAL is the
// descriptor of a new one (created, locked), to hand over with this attempt. LINK_ERRNO
// is link(2)'s errno when that failed (EEXIST: CONTROL_PATH is there already).
Result<int64_t> link_to_journal(Connection& c, const std::string& control_path, Fd& new_journal,
                                int& link_errno) {
  const std::string dir = control_path.substr(0, control_path.rfind('/') + 1);
  auto it = c.journals.find(dir);
  for (int round = 0; round < 2; ++round) {
    if (it == c.journals.end()) {
      Connection::Journal journal;
      journal.number = c.next_journal++;
      journal.path = dir + "supervisor-" + std::to_string(c.pid) + "-" +
                     std::to_string(journal.number) + ".journal";
      int raw =
          ::open(journal.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
      if (raw < 0) return tl::unexpected(Error::from_errno("cannot create " + journal.path, errno));
      Fd fd(raw);
      if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        return tl::unexpected(Error::from_errno("cannot lock " + journal.path, errno));
      }
      new_journal = std::move(fd);
      it = c.journals.emplace(dir, std::move(journal)).first;
    }
    if (::link(it->second.path.c_str(), control_path.c_str()) == 0) return it->second.number;
    const int err = errno;
    link_errno = err;
    if (new_journal.valid()) {
      // Never handed over: it goes.
      (void)::unlink(it->second.path.c_str());
      new_journal.reset();
      c.journals.erase(it);
      return tl::unexpected(Error::from_errno("cannot link " + control_path, err));
    }
    if (err != EMLINK) return tl::unexpected(Error::from_errno("cannot link " + control_path, err));
    c.journals.erase(it);  // full (ext4: 65,000 links): the next attempts get a new one
    it = c.journals.end();
  }
  return fail("cannot link " + control_path);
}

// A control file already at CONTROL_PATH is an earlier try of this attempt that never
// ran (the engine starts an attempt again only then): its records and its stdout file
// go, unless a live supervisor runs it.
Result<void> replace_earlier_try(const std::string& control_path) {
  struct stat st {};
  if (::lstat(control_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok();
    return tl::unexpected(Error::from_errno("cannot create control file " + control_path, errno));
  }
  if (inspect_attempt(control_path).kind == AttemptState::Kind::kRunning) {
    return fail("cannot start attempt " + control_path + ": a live supervisor holds it");
  }
  if (::unlink(control_path.c_str()) != 0 && errno != ENOENT) {
    return tl::unexpected(Error::from_errno("cannot replace " + control_path, errno));
  }
  const std::string stale = stdout_path_for_control(control_path);
  if (::unlink(stale.c_str()) != 0 && errno != ENOENT) {
    return tl::unexpected(Error::from_errno("cannot replace " + stale, errno));
  }
  return ok();
}

// A control file of one attempt (as before journals), created and locked.
Result<Fd> create_control_file(const std::string& control_path) {
  int raw = ::open(control_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    return tl::unexpected(Error::from_errno("cannot create control file " + control_path, errno));
  }
  Fd control(raw);
  if (::flock(control.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return fail("cannot start attempt " + control_path + ": a live supervisor holds it");
    }
    return tl::unexpected(Error::from_errno("cannot lock control file " + control_path, errno));
  }
  return control;
}

}  // namespace

void Supervised::Impl::finish(ProcessResult result) {
  if (child_pid == 0) child_pid = result.pid;
  forget();
  running = false;
  ExitCallback callback = std::move(on_exit);
  on_exit = nullptr;
  // The callback may destroy the Supervised (and `this`): nothing touches it after.
  if (callback) callback(result);
}

void Supervised::Impl::forget() {
  if (connection != nullptr) {
    connection->watched.erase(id);
    Connection* c = connection;
    connection = nullptr;
    c->unbind_if_idle();
  }
  if (watch != nullptr) {
    watch->close();
    watch = nullptr;
  }
}

ProcessResult Supervised::Impl::settled_result() {
  AttemptState state = inspect_attempt(control_path);
  if (state.kind == AttemptState::Kind::kFinished) return std::move(state.result);
  // The supervisor died without recording the end (SIGKILLed, OOM): the child died with
  // it (PR_SET_PDEATHSIG); what ran is unknown. The rest of the child's group is killed
  // here, at once, so that nothing runs on unsupervised.
  std::string detail = "pid " + std::to_string(supervisor_pid) + ", before recording the end";
  if (state.kind == AttemptState::Kind::kLost) {
    if (auto cleaned = clean_up_lost_attempt(control_path); !cleaned) {
      detail += "; clean-up: " + cleaned.error().message;
    }
  }
  ProcessResult result;
  result.status.kind = ExitStatus::Kind::kLost;
  result.status.error = detail;
  result.pid = state.child_pid != 0 ? state.child_pid : child_pid;
  result.ended_at = unix_now();
  return result;
}

namespace {

void on_attach_event(uv_poll_t* handle, int, int) {
  auto* w = static_cast<AttachWatch*>(handle->data);
  char buf[4096];
  while (::read(w->inotify.get(), buf, sizeof buf) > 0) {
  }
  Supervised::Impl* impl = w->owner;
  if (impl == nullptr) return;
  ControlSnapshot snap = read_control(impl->control_path);
  AttemptState state = state_from(snap, impl->control_path);
  if (state.kind == AttemptState::Kind::kRunning) return;
  impl->finish(impl->settled_result());
}

void on_attach_timer(uv_timer_t* handle) {
  auto* w = static_cast<AttachWatch*>(handle->data);
  Supervised::Impl* impl = w->owner;
  if (impl == nullptr || !impl->known_result) return;
  ProcessResult result = std::move(*impl->known_result);
  impl->known_result.reset();
  impl->finish(std::move(result));
}

}  // namespace

Result<std::unique_ptr<Supervised>> Supervised::start(uv_loop_s* loop, ProcessSpec spec,
                                                      ExitCallback on_exit) {
  if (spec.argv.empty()) return fail("cannot start an attempt with an empty argv");
  if (spec.log_path.empty()) return fail("a supervised attempt needs a log path");
  std::string control_path = control_path_for(spec.log_path);
  const std::string key = control_key_for(control_path);

  SupervisorSpec handoff;
  handoff.argv = std::move(spec.argv);
  handoff.cwd = spec.cwd.empty() ? current_directory() : std::move(spec.cwd);
  // Only the task's own entries: the rest is the base environment the supervisor got
  // once (kEnv, Connection::send_environment).
  handoff.env.reserve(spec.env.size());
  for (const auto& [name, value] : spec.env) handoff.env.push_back(name + "=" + value);
  handoff.stdin_data = std::move(spec.stdin_data);
  handoff.timeout_s = spec.timeout_s;
  handoff.kill_grace_s = spec.kill_grace_s;
  handoff.max_capture_bytes = spec.max_capture_bytes;
  handoff.redact = std::move(spec.redact);
  handoff.log_path = spec.log_path;
  handoff.rlimits = std::move(spec.rlimits);
  handoff.umask = spec.umask;
  handoff.stdout_path = stdout_path_for_control(control_path);
  if (journal_key_ok(key)) handoff.key = key;

  const SupervisorCommand command = supervisor_command();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  Connection* connection = nullptr;
  uint64_t id = 0;
  Error last_error("no supervisor");
  Fd control;  // a control file of its own, when the journal cannot take the attempt
  for (int tries = 0; tries < 2 && connection == nullptr; ++tries) {
    auto found = connection_for(loop, command);
    if (!found) return tl::unexpected(found.error());
    Connection* c = *found;
    auto sent_env = c->send_environment();
    MessageHeader header;
    header.type = static_cast<uint32_t>(SupervisorMessage::kStart);
    header.id = c->next_id++;
    Fd new_journal;  // handed over with this attempt, the journal's first
    if (sent_env && !handoff.key.empty() && !control.valid()) {
      // The link fails with EEXIST only for an earlier try (no lookup beforehand).
      int link_errno = 0;
      auto number = link_to_journal(*c, control_path, new_journal, link_errno);
      if (!number && link_errno == EEXIST) {
        if (auto replaced = replace_earlier_try(control_path); !replaced) {
          return tl::unexpected(replaced.error());
        }
        number = link_to_journal(*c, control_path, new_journal, link_errno);
      }
      if (number) header.value = *number;
    }
    if (sent_env && header.value == 0 && !control.valid()) {
      if (auto replaced = replace_earlier_try(control_path); !replaced) {
        return tl::unexpected(replaced.error());
      }
      auto own = create_control_file(control_path);
      if (!own) return tl::unexpected(own.error());
      control = std::move(*own);
      handoff.key.clear();  // its records go to a file of its own after all
    }
    ssize_t sent = -1;
    if (sent_env) {
      handoff.env_base = c->env_number;
      std::string encoded = encode_spec(handoff);
      Fd spec_fd;
      if (encoded.size() > kInlineSpecBytes) {
        auto memfd = memfd_with("baton-attempt-spec", encoded);
        if (!memfd) return tl::unexpected(memfd.error());
        spec_fd = std::move(*memfd);
        encoded.clear();
      }
      int fds[2];
      int count = 0;
      if (header.value == 0) fds[count++] = control.get();
      if (new_journal.valid()) fds[count++] = new_journal.get();
      if (spec_fd.valid()) fds[count++] = spec_fd.get();
      sent = send_message(c->socket.get(), header, encoded, fds, count);
      if (sent < 0)
        last_error = Error::from_errno("supervisor: cannot hand over the attempt", errno);
    } else {
      last_error = sent_env.error();
    }
    if (sent < 0) {
      // The supervisor is gone (EPIPE): its end is seen by whoever watches it; a new
      // one takes this attempt.
      if (header.value != 0) (void)::unlink(control_path.c_str());
      c->dead = true;
      if (c->loop == nullptr) {
        for (auto it = r.connections.begin(); it != r.connections.end(); ++it) {
          if (it->get() == c) {
            c->drop();
            r.connections.erase(it);
            break;
          }
        }
      }
      continue;
    }
    connection = c;
    id = header.id;
  }
  if (connection == nullptr) return tl::unexpected(last_error);
  // The supervisor holds the lock now (same open file description); ours goes (the
  // first attempt's copy of a new journal went at the end of its loop turn).
  control.reset();

  auto impl = std::make_unique<Impl>();
  impl->loop = loop;
  impl->control_path = std::move(control_path);
  impl->on_exit = std::move(on_exit);
  impl->supervisor_pid = connection->pid;
  impl->connection = connection;
  impl->id = id;
  ++connection->outstanding;
  connection->watched.emplace(id, impl.get());
  connection->bind(loop);
  return std::unique_ptr<Supervised>(new Supervised(std::move(impl)));
}

Result<std::unique_ptr<Supervised>> Supervised::attach(uv_loop_s* loop,
                                                       const std::string& control_path,
                                                       ExitCallback on_exit) {
  // The watch comes first, so that an end between the read below and the watch is seen.
  int raw = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (raw < 0) return tl::unexpected(Error::from_errno("inotify_init1", errno));
  Fd inotify(raw);
  if (::inotify_add_watch(inotify.get(), control_path.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
    return fail("cannot attach to attempt " + control_path + ": " + std::strerror(errno));
  }
  ControlSnapshot snap = read_control(control_path);
  // A supervisor handed the attempt an instant before its orchestrator died may hold the
  // lock without the "started" record yet: a bounded wait for it (cross-process).
  double give_up = monotonic_now() + kAttachStartWaitS;
  while (snap.locked && snap.records && !snap.records->started && !snap.records->exit &&
         !snap.records->drained && monotonic_now() < give_up) {
    pollfd p{inotify.get(), POLLIN, 0};
    (void)::poll(&p, 1, 10);
    snap = read_control(control_path);
  }
  AttemptState state = state_from(snap, control_path);
  auto impl = std::make_unique<Impl>();
  impl->loop = loop;
  impl->control_path = control_path;
  impl->on_exit = std::move(on_exit);
  impl->supervisor_pid = state.supervisor_pid;
  impl->child_pid = state.child_pid;

  if (state.kind == AttemptState::Kind::kRunning && snap.records->started) {
    auto opened = open_supervisor(*snap.records->started);
    if (opened) {
      impl->supervisor_pidfd = std::move(*opened);
      impl->attached_id = snap.records->started->attempt_id;
    } else {
      // It may have ended between the two reads.
      snap = read_control(control_path);
      state = state_from(snap, control_path);
      if (state.kind != AttemptState::Kind::kFinished) {
        return fail("cannot attach to attempt " + control_path + ": " + opened.error().message);
      }
    }
  }
  if (state.kind == AttemptState::Kind::kFinished) {
    impl->known_result = std::move(state.result);
  } else if (!impl->supervisor_pidfd.valid()) {
    return fail("cannot attach to attempt " + control_path + ": not running (" + state.detail +
                ")");
  }
  auto* w = new AttachWatch();
  w->owner = impl.get();
  w->inotify = std::move(inotify);
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  w->open_handles = 1;
  if (impl->known_result) {
    uv_timer_start(&w->timer, &on_attach_timer, 0, 0);
  } else {
    uv_poll_init(loop, &w->poll, w->inotify.get());
    w->poll.data = w;
    ++w->open_handles;
    w->polling = true;
    uv_poll_start(&w->poll, UV_READABLE, &on_attach_event);
  }
  impl->watch = w;
  return std::unique_ptr<Supervised>(new Supervised(std::move(impl)));
}

Supervised::Supervised(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Supervised::~Supervised() {
  if (!impl_ || impl_->detached) return;
  Impl& impl = *impl_;
  impl.on_exit = nullptr;
  if (impl.running && impl.connection != nullptr) {
    // Kill now, and wait for the end (bounded): no orphan.
    Connection* c = impl.connection;
    (void)request_attempt_stop(c->pidfd.get(), kill_now_signal(), impl.id);
    const bool ended = c->wait_for_end_or(impl.id, kDestroyWaitMs, [] { return false; });
    if (!ended && pid() > 0) ::kill(-impl.child_pid, SIGKILL);
    // Its end, read here, is nobody's to deliver.
  } else if (impl.running && impl.watch != nullptr && impl.supervisor_pidfd.valid()) {
    (void)request_stop(impl.supervisor_pidfd.get(), impl.attached_id, /*at_once=*/true);
    const double give_up = monotonic_now() + kDestroyWaitMs / 1000.0;
    while (monotonic_now() < give_up) {
      if (inspect_attempt(impl.control_path).kind != AttemptState::Kind::kRunning) break;
      pollfd p{impl.watch->inotify.get(), POLLIN, 0};
      (void)::poll(&p, 1, 100);
      char buf[4096];
      while (::read(impl.watch->inotify.get(), buf, sizeof buf) > 0) {
      }
    }
    if (inspect_attempt(impl.control_path).kind == AttemptState::Kind::kRunning &&
        impl.child_pid > 0) {
      ::kill(-impl.child_pid, SIGKILL);
    }
  }
  impl.forget();
}

void Supervised::terminate() {
  if (!impl_->running || impl_->detached) return;
  if (impl_->connection != nullptr) {
    (void)request_attempt_stop(impl_->connection->pidfd.get(), cancel_signal(), impl_->id);
  } else if (impl_->supervisor_pidfd.valid()) {
    (void)request_stop(impl_->supervisor_pidfd.get(), impl_->attached_id, /*at_once=*/false);
  }
}

void Supervised::kill_now() {
  if (!impl_->running || impl_->detached) return;
  if (impl_->connection != nullptr) {
    (void)request_attempt_stop(impl_->connection->pidfd.get(), kill_now_signal(), impl_->id);
  } else if (impl_->supervisor_pidfd.valid()) {
    (void)request_stop(impl_->supervisor_pidfd.get(), impl_->attached_id, /*at_once=*/true);
  }
}

void Supervised::detach() {
  impl_->detached = true;
  impl_->running = false;
  impl_->on_exit = nullptr;
  impl_->forget();
}

int Supervised::pid() const {
  Impl& impl = *impl_;
  if (impl.child_pid == 0 && impl.running && impl.connection != nullptr) {
    // Asks (kWhere; a start costs no message back otherwise) and waits for the answer,
    // kStarted, or the attempt's kEnded: events on the socket, never polling. Value 0
    // in either means it failed to start: no pid.
    Connection* c = impl.connection;
    MessageHeader header;
    header.type = static_cast<uint32_t>(SupervisorMessage::kWhere);
    header.id = impl.id;
    if (send_message(c->socket.get(), header, {}, nullptr, 0) >= 0) {
      c->wait_for_end_or(impl.id, kStartedWaitMs,
                         [&impl, c] { return impl.child_pid != 0 || c->answered == impl.id; });
    }
  }
  return impl.child_pid;
}

int Supervised::supervisor_pid() const { return impl_->supervisor_pid; }

bool Supervised::running() const { return impl_->running && !impl_->detached; }

const std::string& Supervised::control_path() const { return impl_->control_path; }

AttemptState inspect_attempt(const std::string& control_path) {
  return state_from(read_control(control_path), control_path);
}

Result<void> clean_up_lost_attempt(const std::string& control_path) {
  int raw = ::open(control_path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (raw < 0) {
    return tl::unexpected(Error::from_errno("cannot open control file " + control_path, errno));
  }
  Fd fd(raw);
  // Held for the clean-up, so that no supervisor starts on this file meanwhile.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return fail("cannot clean up attempt " + control_path + ": its supervisor is running");
  }
  ControlSnapshot snap = read_control(control_path);
  if (!snap.records) return tl::unexpected(snap.records.error());
  const ControlRecords& records = *snap.records;
  if (records.exit) return fail("cannot clean up attempt " + control_path + ": it finished");
  if (!records.started) return fail("cannot clean up attempt " + control_path + ": not started");
  int child = records.started->child_pid;
  if (child > 0) {
    // A pid that still runs with another start time was reused: the group is not ours.
    // While any member of the group lives its number cannot be reused (Linux keeps the
    // struct pid of a pgid), so a group without its leader is the attempt's.
    // The record's start time was read by the supervisor just before the clone: the
    // child's own, or one tick less (attempt_file.h); a reused pid started much later.
    auto ticks = process_start_ticks(child);
    const int64_t recorded = records.started->child_start;
    bool reused = ticks && recorded != 0 && (*ticks < recorded || *ticks > recorded + 1);
    if (!reused) ::kill(-child, SIGKILL);
  }
  if (!records.cleaned) {
    std::string line = format_cleaned_record(unix_now(), control_key_for(control_path));
    // A torn record (a supervisor killed mid-write) must not swallow this one.
    struct stat st {};
    char last = '\n';
    if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
      (void)::pread(fd.get(), &last, 1, st.st_size - 1);
    }
    if (last != '\n') line.insert(line.begin(), '\n');
    if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
        ::fsync(fd.get()) != 0) {
      return tl::unexpected(Error::from_errno("cannot write control file " + control_path, errno));
    }
  }
  return ok();
}

Result<void> cancel_attempt(const std::string& control_path) {
  ControlSnapshot snap = read_control(control_path);
  AttemptState state = state_from(snap, control_path);
  if (state.kind != AttemptState::Kind::kRunning || !snap.records || !snap.records->started) {
    return fail("cannot cancel attempt " + control_path + ": not running (" + state.detail + ")");
  }
  auto pidfd = open_supervisor(*snap.records->started);
  if (!pidfd) return fail("cannot cancel attempt " + control_path + ": " + pidfd.error().message);
  auto sent = request_stop(pidfd->get(), snap.records->started->attempt_id, /*at_once=*/false);
  if (!sent) return fail("cannot cancel attempt " + control_path + ": " + sent.error().message);
  return ok();
}

}  // namespace baton::exec
