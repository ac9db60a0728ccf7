#include "exec/process_group.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace baton::exec {
namespace {

// Reads /proc/PID/stat and reports its process group and state ('Z' for a zombie).
// False when the process vanished or the line cannot be parsed.
bool read_stat(const char* pid, int* pgrp, char* state) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')', so parse after
  // the last ')'.
  const char* close_paren = std::strrchr(buf, ')');
  if (close_paren == nullptr) return false;
  int ppid = 0;
  return std::sscanf(close_paren + 1, " %c %d %d", state, &ppid, pgrp) == 3;
}

}  // namespace

bool group_has_live_members(int pgid) {
  if (pgid <= 0 || ::kill(-pgid, 0) != 0) return false;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return true;
  bool alive = false;
  while (dirent* entry = ::readdir(proc)) {
    std::string_view name(entry->d_name);
    if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) continue;
    int pgrp = 0;
    char state = 0;
    if (read_stat(entry->d_name, &pgrp, &state) && pgrp == pgid && state != 'Z' && state != 'X') {
      alive = true;
      break;
    }
  }
  ::closedir(proc);
  return alive;
}

}  // namespace baton::exec
