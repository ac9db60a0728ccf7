#include "acp/terminals.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <string_view>

#include "acp/confine.h"
#include "agents/json_fields.h"

namespace baton::acp {

namespace {

// A command that is not one program's name or path: whitespace or a shell character.
bool is_shell_line(const std::string& command) {
  for (char c : command) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (std::string_view("_-./+=:,@%").find(c) == std::string_view::npos) return true;
  }
  return false;
}

constexpr int kInvalidParams = -32602;

using agents::string_field;

// Cuts the front of S so that it holds at most LIMIT bytes, at a UTF-8 character start.
bool keep_tail(std::string* s, size_t limit) {
  if (s->size() <= limit) return false;
  size_t cut = s->size() - limit;
  while (cut < s->size() && (static_cast<unsigned char>((*s)[cut]) & 0xC0) == 0x80) ++cut;
  s->erase(0, cut);
  return true;
}

}  // namespace

nlohmann::json Terminals::exit_status(const Terminal& t) {
  nlohmann::json s = {{"exitCode", nullptr}, {"signal", nullptr}};
  int st = t.child.status();
  if (WIFEXITED(st)) s["exitCode"] = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) {
    const char* name = sigabbrev_np(WTERMSIG(st));
    s["signal"] = name ? std::string("SIG") + name : std::to_string(WTERMSIG(st));
  }
  return s;
}

void Terminals::drain(Terminal& t) {
  exec::Fd& fd = t.child.stdout_fd();
  while (fd.valid()) {
    char buf[65536];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      fd.reset();
      break;
    }
    t.output.append(buf, static_cast<size_t>(n));
    if (keep_tail(&t.output, t.limit)) t.truncated = true;
  }
}

std::optional<nlohmann::json> Terminals::handle(const Message& m) {
  const nlohmann::json& p = m.params;
  if (m.method == "terminal/create") {
    std::string command = string_field(p, "command");
    if (command.empty()) return make_error(m.id, kInvalidParams, "terminal/create: no command");
    if (terminals_.size() >= kMaxTerminals) {
      return make_error(m.id, kInvalidParams, "terminal/create: too many terminals");
    }
    ChildSpec spec;
    spec.argv.push_back(command);
    bool has_args = p.contains("args") && p["args"].is_array() && !p["args"].empty();
    if (!has_args && is_shell_line(command)) {
      // Claude Code's adapter sends a whole shell line as the command, no args: the
      // agent's own command, allowed by the policy, run in the sandbox as its Bash
      // tool would.
      spec.argv = {"/bin/sh", "-c", command};
    }
    if (has_args) {
      for (const nlohmann::json& a : p["args"]) {
        if (!a.is_string()) return make_error(m.id, kInvalidParams, "terminal/create: bad args");
        spec.argv.push_back(a.get<std::string>());
      }
    }
    std::string cwd = string_field(p, "cwd");
    auto confined = confine(root_, cwd.empty() ? root_ : cwd);
    if (!confined)
      return make_error(m.id, kInvalidParams, "terminal/create: " + confined.error().message);
    spec.cwd = *confined;
    if (p.contains("env") && p["env"].is_array()) {
      for (const nlohmann::json& e : p["env"]) {
        std::string name = string_field(e, "name");
        if (name.empty() || name.find('=') != std::string::npos) continue;
        spec.env.emplace_back(name, string_field(e, "value"));
      }
    }
    spec.merge_stderr = true;
    for (const std::string& a : spec.argv) {
      if (a.find('\0') != std::string::npos) {
        return make_error(m.id, kInvalidParams, "terminal/create: NUL in the command");
      }
    }
    auto child = Child::start(spec);
    if (!child) return make_error(m.id, -32603, child.error().message);
    auto t = std::make_unique<Terminal>();
    t->child = std::move(*child);
    if (p.contains("outputByteLimit") && p["outputByteLimit"].is_number_unsigned()) {
      t->limit = std::min<size_t>(p["outputByteLimit"].get<uint64_t>(), kMaxTerminalOutputBytes);
    }
    std::string id = "term-" + std::to_string(next_id_++);
    terminals_[id] = std::move(t);
    return make_result(m.id, {{"terminalId", id}});
  }
  auto it = terminals_.find(string_field(p, "terminalId"));
  if (it == terminals_.end())
    return make_error(m.id, kInvalidParams, m.method + ": no such terminal");
  Terminal& t = *it->second;
  drain(t);
  t.child.reap(false);
  if (m.method == "terminal/output") {
    nlohmann::json r = {{"output", t.output}, {"truncated", t.truncated}};
    if (t.child.reaped()) r["exitStatus"] = exit_status(t);
    return make_result(m.id, r);
  }
  if (m.method == "terminal/wait_for_exit") {
    if (t.child.reaped()) return make_result(m.id, exit_status(t));
    t.waiting.push_back(m.id);
    return std::nullopt;
  }
  if (m.method == "terminal/kill") {
    t.child.signal_group(SIGKILL);
    return make_result(m.id, nlohmann::json::object());
  }
  if (m.method == "terminal/release") {
    t.child.signal_group(SIGKILL);
    t.child.reap(true);
    // Waits on a released terminal would otherwise never be answered: an error, sent
    // by the next pump().
    for (const nlohmann::json& wid : t.waiting) {
      released_.push_back(make_error(wid, kInvalidParams, "terminal/wait_for_exit: released"));
    }
    terminals_.erase(it);
    return make_result(m.id, nlohmann::json::object());
  }
  return make_error(m.id, -32601, "method not found: " + m.method);
}

void Terminals::add_poll_fds(std::vector<pollfd>* fds) const {
  for (const auto& [id, t] : terminals_) {
    if (t->child.stdout_fd().valid()) fds->push_back({t->child.stdout_fd().get(), POLLIN, 0});
    if (!t->child.reaped() && t->child.pidfd() >= 0) fds->push_back({t->child.pidfd(), POLLIN, 0});
  }
}

std::vector<nlohmann::json> Terminals::pump() {
  std::vector<nlohmann::json> out = std::move(released_);
  released_.clear();
  for (auto& [id, t] : terminals_) {
    drain(*t);
    if (t->child.reap(false)) {
      drain(*t);
      for (const nlohmann::json& wid : t->waiting) out.push_back(make_result(wid, exit_status(*t)));
      t->waiting.clear();
    }
  }
  return out;
}

void Terminals::kill_all() {
  for (auto& [id, t] : terminals_) {
    t->child.signal_group(SIGKILL);
    t->child.reap(true);
  }
  terminals_.clear();
}

}  // namespace baton::acp
