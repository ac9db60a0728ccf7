#include "store/process_identity.h"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace baton::store {

namespace {

struct ProcStat {
  char state = '?';
  int64_t start_time = 0;
};

// Parses /proc/PID/stat. Field 2 (comm) is in parentheses and may itself hold
// spaces and parentheses, so fields are counted from the last ')'.
Result<ProcStat> read_stat(int pid) {
  if (pid <= 0) return fail("no process " + std::to_string(pid), ESRCH);
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  if (!in) return fail("no process " + std::to_string(pid), ESRCH);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return fail(path + ": malformed");
  std::istringstream fields(text.substr(close + 1));
  ProcStat stat;
  fields >> stat.state;  // field 3
  std::string skipped;
  for (int field = 4; field < 22 && fields; ++field) fields >> skipped;
  fields >> stat.start_time;  // field 22
  if (!fields) return fail(path + ": malformed");
  return stat;
}

// argv[0] of PID, without its directory; "" when unreadable.
std::string program_name(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(in, argv0, '\0');
  const size_t slash = argv0.rfind('/');
  return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

}  // namespace

Result<int64_t> process_start_time(int pid) {
  auto stat = read_stat(pid);
  if (!stat) return tl::unexpected(stat.error());
  return stat->start_time;
}

int64_t self_start_time() { return process_start_time(static_cast<int>(getpid())).value_or(0); }

bool process_is_running(int pid, int64_t start_time) {
  auto stat = read_stat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') return false;
  if (start_time != 0) return stat->start_time == start_time;
  return program_name(pid) == "baton";
}

}  // namespace baton::store
