// libFuzzer target: what an ACP agent sends `baton __acp-bridge` (issue 14, acp/).
// The agent is hostile; nothing it sends may crash the bridge or let a path out of the
// task's directory.
//
// The input is one message line, also read as:
//   - parse_message(): never throws; a message it accepts is re-serialised (to_line)
//     to one line that parses back to the same message;
//   - current_step() of the input as a log tail: never throws, at most 120 bytes + "...";
//   - decide_permission() of its JSON (as session/request_permission params) under
//     allow-worktree for a root that does not exist: nothing is allowed that names a
//     path (no path can be inside a directory that is not there).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "acp/jsonrpc.h"
#include "acp/permission.h"
#include "acp/step.h"

namespace {

using namespace baton::acp;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = parse_message(text);
  if (m) {
    std::string line = to_line(m->raw);
    check(line.find('\n') == std::string::npos);
    auto again = parse_message(line);
    check(again.has_value());
    check(again->kind == m->kind && again->method == m->method && again->id == m->id);
  }
  std::string step = current_step(text);
  check(step.size() <= 123);
  nlohmann::json params = nlohmann::json::parse(text, nullptr, false);
  if (!params.is_discarded()) {
    PermissionDecision d =
        decide_permission(PermissionPolicy::kAllowWorktree, "/nonexistent-baton-fuzz-root", params);
    check(d.paths.empty() || !d.allow);
  }
  return 0;
}
