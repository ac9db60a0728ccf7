#include "exec/supervisor_protocol.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exec/spawn.h"

namespace baton::exec {

ssize_t send_message(int socket, const MessageHeader& header, std::string_view payload,
                     const int* fds, int count, int flags) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMessageFds)];
  std::memset(control, 0, sizeof control);
  iovec iov[2] = {{const_cast<MessageHeader*>(&header), sizeof header},
                  {const_cast<char*>(payload.data()), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  if (count > 0) {
    if (count > kMaxMessageFds) {
      errno = EINVAL;
      return -1;
    }
    const size_t fd_bytes = sizeof(int) * static_cast<size_t>(count);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(fd_bytes);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fd_bytes);
    std::memcpy(CMSG_DATA(c), fds, fd_bytes);
  }
  ssize_t n;
  while ((n = ::sendmsg(socket, &msg, MSG_NOSIGNAL | flags)) < 0 && errno == EINTR) {
  }
  return n;
}

namespace {
constexpr size_t kControlBytes = CMSG_SPACE(sizeof(int) * kMaxMessageFds);
}  // namespace

MessageBatch::MessageBatch(size_t capacity, size_t slot_bytes)
    : slot_bytes_(slot_bytes),
      buffer_(new char[capacity * slot_bytes]),
      control_(new char[capacity * kControlBytes]),
      entries_(capacity),
      headers_(capacity),
      iovs_(capacity) {
  for (size_t i = 0; i < capacity; ++i) {
    iovs_[i] = {buffer_.get() + i * slot_bytes_, slot_bytes_};
    headers_[i].msg_hdr.msg_iov = &iovs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
    headers_[i].msg_hdr.msg_control = control_.get() + i * kControlBytes;
  }
}

int MessageBatch::receive(int socket) {
  const size_t n = entries_.size();
  for (mmsghdr& h : headers_) {
    h.msg_hdr.msg_controllen = kControlBytes;
    h.msg_hdr.msg_flags = 0;
    h.msg_len = 0;
  }
  int got;
  while ((got = ::recvmmsg(socket, headers_.data(), static_cast<unsigned>(n),
                           MSG_DONTWAIT | MSG_CMSG_CLOEXEC, nullptr)) < 0 &&
         errno == EINTR) {
  }
  if (got <= 0) return got;
  for (int i = 0; i < got; ++i) {
    Entry& e = entries_[static_cast<size_t>(i)];
    const msghdr& msg = headers_[static_cast<size_t>(i)].msg_hdr;
    const size_t length = headers_[static_cast<size_t>(i)].msg_len;
    e = Entry{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const int k = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int j = 0; j < k; ++j) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
        if (e.fd_count < kMaxMessageFds) {
          e.fds[e.fd_count++] = fd;
        } else {
          ::close(fd);
        }
      }
    }
    if (length == 0 && e.fd_count == 0) {
      // SEQPACKET: a zero-length record is the peer's close (every message has a header).
      e.eof = true;
      continue;
    }
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || length < sizeof(MessageHeader)) {
      for (int j = 0; j < e.fd_count; ++j) ::close(e.fds[j]);
      e.fd_count = 0;
      e.malformed = true;
      continue;
    }
    const char* data = buffer_.get() + static_cast<size_t>(i) * slot_bytes_;
    std::memcpy(&e.header, data, sizeof e.header);
    e.payload = std::string_view(data + sizeof e.header, length - sizeof e.header);
  }
  return got;
}

int cancel_signal() { return SIGRTMIN + 2; }
int kill_now_signal() { return SIGRTMIN + 3; }

Result<void> request_attempt_stop(int pidfd, int signo, uint64_t id) {
  siginfo_t info{};
  info.si_signo = signo;
  info.si_code = SI_QUEUE;  // negative: allowed for another process, unlike SI_USER
  info.si_pid = ::getpid();
  info.si_uid = ::getuid();
  const uint64_t value = (static_cast<uint64_t>(kBatonRequestCookie) << 32) | (id & 0xffffffffu);
  info.si_value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(value));
  if (::syscall(SYS_pidfd_send_signal, pidfd, signo, &info, 0) != 0) {
    return tl::unexpected(Error::from_errno("pidfd_send_signal", errno));
  }
  return ok();
}

uint64_t stop_request_id(int32_t code, uint64_t value) {
  if (code != SI_QUEUE) return 0;
  if ((value >> 32) != static_cast<uint64_t>(static_cast<uint32_t>(kBatonRequestCookie))) return 0;
  return value & 0xffffffffu;
}

}  // namespace baton::exec
