// The wire between an orchestrator and its run supervisor (supervisor.h): messages on
// an AF_UNIX SOCK_SEQPACKET socket pair, and the signals that ask the supervisor to
// stop one attempt. Linked into `baton` and into `baton-supervise`; libc only.
//
// Messages (one SEQPACKET record each; a fixed header, then a payload):
//   orchestrator -> supervisor
//     kEnv      id = E (> 0, increasing): the base environment of the attempts that
//               name E (attempt_file.h, encode_env), sent before the first of them and
//               again whenever the orchestrator's own environment changed; the payload,
//               or, when larger than kInlineSpecBytes, a memfd (SCM_RIGHTS). The
//               supervisor keeps the latest only: an attempt names the latest E.
//     kStart    id = the attempt's id (unique per supervisor, > 0); payload = the spec
//               (attempt_file.h, format 1: the task's own entries on top of base
//               environment E) when it fits in kInlineSpecBytes, else empty and the
//               spec comes in a memfd. value 0: SCM_RIGHTS = the attempt's
//               control file (opened and flock'ed LOCK_EX by the orchestrator), then the
//               memfd if any. value J > 0: the records go to journal J (the spec's "key"
//               names the attempt); SCM_RIGHTS = the journal (O_APPEND, flock'ed
//               LOCK_EX) the first time J is named, then the memfd if any.
//               (The log is created by the supervisor with the first byte of output.)
//     kWhere    id = an attempt: asks for its child's pid (answered by kStarted). Only
//               Supervised::pid() asks; an attempt's start costs no message back.
//   supervisor -> orchestrator
//     kStarted  id, value = the child's pid (it has exec'd; the "started" record is in
//               the control file), or 0 when it failed to start or has ended (its
//               kEnded came first). Only as the answer to kWhere (since issue 17: it
//               was sent for every attempt, a message and a wake-up of the
//               orchestrator per task that only pid() read).
//     kEnded    id, value = the child's pid (0: it did not start); payload = the
//               attempt's "exit" record as appended to its control file (attempt_file.h,
//               format 2), in binary (encode_exit: no JSON to parse per task). Sent
//               after the record was written, the group left behind was cleaned up and
//               the control file was closed (its lock released).
// Stop requests travel as queued real-time signals through a pidfd of the supervisor
// (request_attempt_stop), so that any process (a resumed orchestrator, `baton cancel`)
// can send them and none is merged with another: si_code SI_QUEUE, si_value's pointer
// = kBatonRequestCookie << 32 | the attempt's id.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace baton::exec {

/// What a message is (the header's `type`).
enum class SupervisorMessage : uint32_t {
  kStart = 1,
  kStarted = 2,
  kEnded = 3,
  kEnv = 4,
  kWhere = 5
};

/// The fixed start of every message.
struct MessageHeader {
  uint32_t type = 0;  ///< a SupervisorMessage
  uint32_t reserved = 0;
  uint64_t id = 0;  ///< the attempt
  int64_t value =
      0;  ///< kStart: the journal's number (0 = own control file); kStarted, kEnded: pid
};

/// Specs up to this many bytes travel inside the kStart message; larger ones (a long
/// prompt on stdin) in a memfd.
inline constexpr size_t kInlineSpecBytes = 48 * 1024;
/// The largest message the orchestrator reads (header plus payload). An exit record is
/// at most ~200 KiB (a 64 KiB stderr tail, each bad byte made a 3-byte U+FFFD).
inline constexpr size_t kMaxMessageBytes = 512 * 1024;
/// Most descriptors one message carries.
inline constexpr int kMaxMessageFds = 4;

/// Sends one message: HEADER, PAYLOAD and FDS (COUNT of them, as SCM_RIGHTS).
/// Returns sendmsg(2)'s result (-1 with errno set on failure). MSG_NOSIGNAL: a closed
/// peer is EPIPE, never SIGPIPE. FLAGS adds MSG_DONTWAIT and the like.
ssize_t send_message(int socket, const MessageHeader& header, std::string_view payload,
                     const int* fds, int count, int flags = 0);

/// Messages received together (MessageBatch::receive).
class MessageBatch {
 public:
  /// One received message. PAYLOAD points into the batch (valid until the next
  /// receive); the descriptors (close-on-exec) belong to whoever handles the entry.
  struct Entry {
    MessageHeader header;
    std::string_view payload;
    int fds[kMaxMessageFds];
    int fd_count = 0;
    bool eof = false;        ///< the peer closed the socket (a zero-length record)
    bool malformed = false;  ///< truncated or shorter than a header (fds closed already)
  };

  /// Room for CAPACITY messages of up to SLOT_BYTES each (header included); the memory
  /// is reserved, not touched, until messages land in it.
  MessageBatch(size_t capacity, size_t slot_bytes);

  /// Receives every waiting message up to the capacity with one recvmmsg(2)
  /// (MSG_DONTWAIT). Returns how many entries were filled: fewer than capacity() means
  /// none was left waiting then. -1 with errno (EAGAIN: none was waiting).
  int receive(int socket);
  Entry& operator[](size_t i) { return entries_[i]; }
  size_t capacity() const { return entries_.size(); }

 private:
  size_t slot_bytes_;
  std::unique_ptr<char[]> buffer_;
  std::unique_ptr<char[]> control_;
  std::vector<Entry> entries_;
  std::vector<mmsghdr> headers_;
  std::vector<iovec> iovs_;
};

/// The real-time signals of stop requests: cancel with grace (TERM to the group, grace,
/// KILL; recorded kCancelled) and kill now (KILL to the group; also ends a grace under way).
int cancel_signal();
int kill_now_signal();

/// Sends SIGNO (cancel_signal() or kill_now_signal()) for attempt ID to the supervisor
/// behind PIDFD (pidfd_send_signal(2) with a queued siginfo, see above).
/// Errors: ESRCH once the supervisor has exited.
Result<void> request_attempt_stop(int pidfd, int signo, uint64_t id);

/// For a received siginfo of a stop signal: the attempt's id when its value carries
/// baton's cookie (SI_QUEUE), else 0 (a plain kill(2) or someone else's sigqueue).
uint64_t stop_request_id(int32_t code, uint64_t value);

}  // namespace baton::exec
