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

ssize_t receive_message(int socket, MessageHeader& header, std::string& payload, int* fds,
                        int& count, int flags) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMessageFds)];
  // One buffer per thread, reused: most messages are a header and a line.
  thread_local std::string buffer;
  buffer.resize(kMaxMessageBytes);
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | flags)) < 0 && errno == EINTR) {
  }
  count = 0;
  if (n <= 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int k = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < k; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (count < kMaxMessageFds) {
        fds[count++] = fd;
      } else {
        ::close(fd);
      }
    }
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
      static_cast<size_t>(n) < sizeof(MessageHeader)) {
    for (int i = 0; i < count; ++i) ::close(fds[i]);
    count = 0;
    errno = EMSGSIZE;
    return -1;
  }
  std::memcpy(&header, buffer.data(), sizeof header);
  payload.assign(buffer.data() + sizeof header, static_cast<size_t>(n) - sizeof header);
  return n;
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
