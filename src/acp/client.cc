#include "acp/client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "acp/confine.h"
#include "agents/event_time.h"
#include "agents/json_fields.h"
#include "agents/output_parsing.h"
#include "util/write_all.h"

namespace baton::acp {

namespace {

using agents::ErrorClass;
constexpr int kInvalidParams = -32602;
constexpr int kNotFound = -32002;                     // ACP's "resource not found"
constexpr size_t kMaxAnswerBytes = 16 * 1024 * 1024;  // the answer kept, bytes

using agents::string_field;

int64_t num(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// "3 s", "0.5 s".
std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

// A failure to reach the model (Node's fetch and socket errors, as gemini-cli and Qwen
// Code pass them on): worth a retry.
bool is_network_error(std::string_view text) {
  for (const char* s : {"fetch failed", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN",
                        "ENOTFOUND", "socket hang up", "Connection error", "network error"}) {
    if (text.find(s) != std::string_view::npos) return true;
  }
  return false;
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// ACP's auth-required error (-32000), or a message that says so.
bool is_auth_error(const nlohmann::json& error) {
  if (num(error, "code") == -32000) return true;
  std::string m = string_field(error, "message");
  return m.find("uthenticat") != std::string::npos || m.find("API key") != std::string::npos;
}

}  // namespace

Client::Client(int from_agent, int to_agent, int log_fd, int cancel_fd, ClientOptions options)
    : from_agent_(from_agent),
      to_agent_(to_agent),
      log_fd_(log_fd),
      cancel_fd_(cancel_fd),
      options_(std::move(options)),
      reader_(from_agent, options_.max_message_bytes),
      terminals_(options_.root) {
  ::fcntl(from_agent_, F_SETFL, ::fcntl(from_agent_, F_GETFL) | O_NONBLOCK);
  ::fcntl(to_agent_, F_SETFL, ::fcntl(to_agent_, F_GETFL) | O_NONBLOCK);
}

void Client::log(const nlohmann::json& entry) {
  nlohmann::json stamped = entry;
  stamped[agents::kEventTimeKey] = agents::event_time_ms();
  (void)write_line(log_fd_, to_line(stamped));
}

void Client::send(const nlohmann::json& message) {
  log({{"acp", "send"}, {"message", message}});
  if (write_failed_) return;
  // Non-blocking, so that an agent that stops reading its stdin cannot keep a cancel
  // waiting: a blocked write gives way to a cancel request (or, once cancelled, to the
  // end of the grace).
  std::string data = to_line(message) + "\n";
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(to_agent_, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      write_failed_ = true;
      return;
    }
    std::vector<pollfd> fds = {{to_agent_, POLLOUT, 0}};
    if (cancel_fd_ >= 0 && !cancelled_) fds.push_back({cancel_fd_, POLLIN, 0});
    int timeout_ms = cancelled_ ? static_cast<int>(options_.cancel_grace_s * 1000) : -1;
    int r = ::poll(fds.data(), fds.size(), timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    bool cancel_now = fds.size() > 1 && (fds[1].revents & (POLLIN | POLLHUP));
    if (r <= 0 || cancel_now) {
      if (cancel_now) cancelled_ = true;
      set_failure(ErrorClass::kCancelled, "cancelled while the agent was not reading its stdin");
      write_failed_ = true;
      return;
    }
  }
}

void Client::set_failure(ErrorClass c, std::string message) {
  if (!failure_) failure_ = Failure{c, std::move(message)};
}

nlohmann::json Client::read_text_file(const Message& m) {
  auto path = confine(options_.root, string_field(m.params, "path"));
  if (!path) {
    log({{"acp", "fs_denied"},
         {"method", m.method},
         {"path", string_field(m.params, "path")},
         {"reason", path.error().message}});
    return make_error(m.id, kInvalidParams, path.error().message);
  }
  // Opened so that a directory the agent swapped for a symlink since confine() looked
  // cannot lead the read out of the task's directory.
  auto opened = open_beneath(options_.root, *path, O_RDONLY | O_NONBLOCK);
  if (!opened) {
    if (opened.error().code == ENOENT) {
      return make_error(m.id, kNotFound,
                        "Resource not found: " + *path + ": " + std::strerror(ENOENT));
    }
    log({{"acp", "fs_denied"},
         {"method", m.method},
         {"path", *path},
         {"reason", opened.error().message}});
    return make_error(m.id, kInvalidParams, opened.error().message);
  }
  const int fd = opened->get();
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(m.id, kInvalidParams, *path + ": not a regular file");
  }
  if (static_cast<size_t>(st.st_size) > options_.max_read_bytes) {
    return make_error(
        m.id, kInvalidParams,
        *path + ": larger than " + std::to_string(options_.max_read_bytes) + " bytes");
  }
  std::string content;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > options_.max_read_bytes) {
      return make_error(m.id, kInvalidParams, *path + ": grew past the read limit");
    }
  }
  // line (1-based) and limit select lines.
  int64_t line = num(m.params, "line"), limit = num(m.params, "limit");
  if (line > 1 || limit > 0) {
    std::istringstream in(content);
    std::string l, out;
    int64_t n = 0, taken = 0;
    while (std::getline(in, l)) {
      if (++n < line) continue;
      if (limit > 0 && taken >= limit) break;
      out += l + "\n";
      ++taken;
    }
    content = out;
  }
  return make_result(m.id, {{"content", content}});
}

nlohmann::json Client::write_text_file(const Message& m) {
  auto path = confine(options_.root, string_field(m.params, "path"));
  if (!path || !m.params.contains("content") || !m.params["content"].is_string()) {
    std::string reason = path ? "no content" : path.error().message;
    log({{"acp", "fs_denied"},
         {"method", m.method},
         {"path", string_field(m.params, "path")},
         {"reason", reason}});
    return make_error(m.id, kInvalidParams, reason);
  }
  // The missing directories are made and every one on the way is opened without
  // following a symlink: one the agent swapped in since confine() looked is refused
  // (open_beneath()), so the write cannot land outside the task's directory.
  // O_NONBLOCK: a FIFO without a reader fails the open (ENXIO) instead of stalling the
  // client; one with a reader is refused below.
  auto opened = open_beneath(options_.root, *path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK, 0644,
                             /*create_parents=*/true);
  if (!opened) {
    if (opened.error().code == ELOOP) {
      log({{"acp", "fs_denied"},
           {"method", m.method},
           {"path", *path},
           {"reason", opened.error().message}});
      return make_error(m.id, kInvalidParams, opened.error().message);
    }
    return make_error(m.id, -32603, opened.error().message);
  }
  const int fd = opened->get();
  if (struct stat st; ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(m.id, kInvalidParams, *path + ": not a regular file");
  }
  if (!write_all(fd, m.params["content"].get<std::string>())) {
    return make_error(m.id, -32603, *path + ": write failed");
  }
  return make_result(m.id, nlohmann::json::object());
}

void Client::saw_tool_call(const nlohmann::json& tool_call) {
  in_reply_ = false;
  std::string id = string_field(tool_call, "toolCallId");
  if (tool_call_ids_.size() < 100000 && tool_call_ids_.insert(id).second) ++outcome_.tool_calls;
}

void Client::handle_request(const Message& m) {
  if (m.method == "session/request_permission") {
    if (m.params.is_object() && m.params.contains("toolCall")) saw_tool_call(m.params["toolCall"]);
    if (cancelled_) {
      send(make_result(m.id, {{"outcome", {{"outcome", "cancelled"}}}}));
      return;
    }
    PermissionDecision d = decide_permission(options_.policy, options_.root, m.params,
                                             options_.commands_leave_sandbox);
    log({{"acp", "permission"},
         {"tool", d.tool},
         {"decision", d.allow ? "allow" : "reject"},
         {"option_id", d.option_id},
         {"paths", d.paths},
         {"reason", d.reason},
         {"policy", to_string(options_.policy)}});
    if (!d.allow) rejected_ = true;
    nlohmann::json outcome =
        d.option_id.empty() ? nlohmann::json{{"outcome", "cancelled"}}
                            : nlohmann::json{{"outcome", "selected"}, {"optionId", d.option_id}};
    send(make_result(m.id, {{"outcome", outcome}}));
  } else if (m.method == "fs/read_text_file") {
    send(read_text_file(m));
  } else if (m.method == "fs/write_text_file") {
    send(write_text_file(m));
  } else if (m.method.rfind("terminal/", 0) == 0) {
    if (auto r = terminals_.handle(m)) send(*r);
  } else {
    send(make_error(m.id, -32601, "method not found: " + m.method));
  }
}

void Client::handle_update(const Message& m) {
  if (m.method != "session/update" || !m.params.is_object()) return;
  const nlohmann::json& u =
      m.params.contains("update") ? m.params["update"] : nlohmann::json::object();
  std::string kind = string_field(u, "sessionUpdate");
  // Qwen Code: _meta.usage{inputTokens, outputTokens, cachedReadTokens} on the last
  // update of each model request: summed.
  if (u.is_object() && u.contains("_meta") && u["_meta"].is_object() &&
      u["_meta"].contains("usage")) {
    const nlohmann::json& usage = u["_meta"]["usage"];
    outcome_.usage.input_tokens += num(usage, "inputTokens");
    outcome_.usage.output_tokens += num(usage, "outputTokens");
    outcome_.usage.cached_tokens += num(usage, "cachedReadTokens");
  }
  if (kind == "agent_message_chunk") {
    if (!in_reply_) outcome_.text.clear();
    in_reply_ = true;
    // Bounded: an agent that streams without end cannot grow the answer past this.
    if (u.contains("content") && outcome_.text.size() < kMaxAnswerBytes) {
      outcome_.text += string_field(u["content"], "text");
      if (outcome_.text.size() > kMaxAnswerBytes) outcome_.text.resize(kMaxAnswerBytes);
    }
  } else if (kind == "tool_call") {
    saw_tool_call(u);
  } else if (kind == "tool_call_update" &&
             (string_field(u, "status") == "completed" || string_field(u, "status") == "failed")) {
    // A message between a call and its end is about the call (Copilot CLI says
    // "Info: PATH" there), not the answer.
    in_reply_ = false;
  } else if (kind == "usage_update" || u.contains("usage")) {
    const nlohmann::json& usage = u.contains("usage") ? u["usage"] : u;
    if (int64_t n = num(usage, "inputTokens")) outcome_.usage.input_tokens = n;
    if (int64_t n = num(usage, "outputTokens")) outcome_.usage.output_tokens = n;
    if (int64_t n = num(usage, "cachedReadTokens")) outcome_.usage.cached_tokens = n;
  }
}

std::optional<nlohmann::json> Client::call(const std::string& method, nlohmann::json params,
                                           bool prompt_turn) {
  if (failure_) return std::nullopt;
  int64_t id = next_id_++;
  send(make_request(id, method, std::move(params)));
  double cancel_deadline = -1;
  for (;;) {
    if (write_failed_) {
      set_failure(ErrorClass::kTransient, "the agent stopped reading its stdin (it exited?)");
      return std::nullopt;
    }
    // A cancel and its grace are checked before every message, so that an agent that
    // keeps talking cannot hold them off.
    if (cancel_deadline >= 0 && now_s() >= cancel_deadline) {
      set_failure(ErrorClass::kCancelled, "cancelled; the agent did not end its turn within " +
                                              seconds_text(options_.cancel_grace_s) +
                                              " of session/cancel");
      return std::nullopt;
    }
    if (cancel_fd_ >= 0 && !cancelled_) {
      pollfd c = {cancel_fd_, POLLIN, 0};
      if (::poll(&c, 1, 0) > 0 && (c.revents & (POLLIN | POLLHUP))) {
        cancelled_ = true;
        if (!prompt_turn) {
          set_failure(ErrorClass::kCancelled, "cancelled during " + method);
          return std::nullopt;
        }
        send(make_notification("session/cancel", {{"sessionId", outcome_.session_id}}));
        cancel_deadline = now_s() + options_.cancel_grace_s;
        continue;
      }
    }
    std::string line;
    int err = 0;
    LineReader::Status st = reader_.next_line(&line, &err);
    if (st == LineReader::Status::kLine) {
      auto m = parse_message(line);
      if (!m) {
        log({{"acp", "invalid"}, {"line", line.substr(0, 512)}, {"reason", m.error().message}});
        set_failure(ErrorClass::kPermanent,
                    "malformed JSON-RPC from the agent: " + m.error().message);
        return std::nullopt;
      }
      log({{"acp", "recv"}, {"message", m->raw}});
      if (m->kind == MessageKind::kRequest) {
        handle_request(*m);
      } else if (m->kind == MessageKind::kNotification) {
        handle_update(*m);
      } else if (m->id == id) {
        if (m->error) {
          rpc_error_ = *m->error;
          std::string text = string_field(*m->error, "message");
          std::string data = m->error->contains("data") ? to_line((*m->error)["data"]) : "";
          // An API error passed on whole ({"error":{"code","message"}}, gemini-cli):
          // its status and message.
          if (auto inner = nlohmann::json::parse(text, nullptr, false);
              inner.is_object() && inner.contains("error") && inner["error"].is_object()) {
            int64_t code = num(inner["error"], "code");
            std::string message = string_field(inner["error"], "message");
            if (!message.empty()) {
              text = (code >= 400 && code < 600 ? "API error " + std::to_string(code) + ": " : "") +
                     message;
            }
          }
          // data.details (gemini-cli) or data itself says more than "Internal error".
          const nlohmann::json& d =
              m->error->contains("data") ? (*m->error)["data"] : nlohmann::json();
          if (!string_field(d, "details").empty()) {
            text += ": " + string_field(d, "details");
            data.clear();
          } else if (d.is_string()) {
            text += ": " + d.get<std::string>();
            data.clear();
          }
          std::string full = text + (data.empty() || data == "null" ? "" : " " + data);
          ErrorClass c = is_auth_error(*m->error)
                             ? ErrorClass::kAuth
                             : agents::classify_api_error(agents::http_status_in(full), full);
          if (c == ErrorClass::kNone || c == ErrorClass::kPermanent) {
            c = is_network_error(full) ? ErrorClass::kTransient : ErrorClass::kPermanent;
          }
          set_failure(c, method + ": " + agents::last_line(text.empty() ? full : text));
          return std::nullopt;
        }
        return *m->result;
      }
      // A response to an id never sent (or sent long ago): logged above, ignored.
      continue;
    }
    if (st == LineReader::Status::kTooLong) {
      set_failure(ErrorClass::kPermanent, "malformed JSON-RPC from the agent: a message over " +
                                              std::to_string(options_.max_message_bytes) +
                                              " bytes");
      return std::nullopt;
    }
    if (st == LineReader::Status::kEof || st == LineReader::Status::kError) {
      if (cancelled_) {
        set_failure(ErrorClass::kCancelled, "cancelled; the agent exited");
        return std::nullopt;
      }
      set_failure(
          ErrorClass::kTransient,
          std::string("the agent closed its stdout ") +
              (prompt_turn ? "mid-turn" : "during " + method) +
              (st == LineReader::Status::kError ? ": " + std::string(std::strerror(err)) : ""));
      return std::nullopt;
    }
    // Nothing buffered: wait for the agent, a cancel, or a terminal.
    for (const nlohmann::json& r : terminals_.pump()) send(r);
    std::vector<pollfd> fds = {{from_agent_, POLLIN, 0}};
    if (cancel_fd_ >= 0 && !cancelled_) fds.push_back({cancel_fd_, POLLIN, 0});
    terminals_.add_poll_fds(&fds);
    int timeout_ms = -1;
    if (cancel_deadline >= 0) {
      timeout_ms = std::max(0, static_cast<int>((cancel_deadline - now_s()) * 1000) + 1);
    }
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) {
      set_failure(ErrorClass::kTransient, std::string("poll: ") + std::strerror(errno));
      return std::nullopt;
    }
    // A cancel that woke the poll is handled at the top of the loop.
  }
}

Outcome Client::run(const std::string& prompt) {
  nlohmann::json init_params = {
      {"protocolVersion", 1},
      {"clientCapabilities",
       {{"fs", {{"readTextFile", options_.offer_fs_read}, {"writeTextFile", true}}},
        {"terminal", true},
        {"auth", {{"_meta", {{"gateway", true}}}}}}},
      {"clientInfo", {{"name", "baton"}, {"version", BATON_VERSION}}}};
  std::optional<nlohmann::json> init = call("initialize", init_params, false);
  bool can_load = false;
  std::vector<std::string> offered;
  if (init) {
    if (!init->is_object()) {
      set_failure(ErrorClass::kPermanent,
                  "malformed JSON-RPC from the agent: initialize result is not an object");
    } else {
      if (num(*init, "protocolVersion") != 1) {
        set_failure(ErrorClass::kPermanent, "the agent speaks ACP protocol version " +
                                                to_line((*init)["protocolVersion"]) +
                                                ", baton speaks 1");
      }
      const nlohmann::json& caps = init->contains("agentCapabilities")
                                       ? (*init)["agentCapabilities"]
                                       : nlohmann::json::object();
      can_load = caps.is_object() && caps.contains("loadSession") && caps["loadSession"] == true;
      if (init->contains("authMethods") && (*init)["authMethods"].is_array()) {
        for (const nlohmann::json& a : (*init)["authMethods"])
          offered.push_back(string_field(a, "id"));
      }
    }
  }
  nlohmann::json session_params = {{"cwd", options_.root}, {"mcpServers", nlohmann::json::array()}};
  auto open_session = [&]() -> std::optional<nlohmann::json> {
    if (!options_.resume_session_id.empty() && can_load) {
      nlohmann::json p = session_params;
      p["sessionId"] = options_.resume_session_id;
      auto r = call("session/load", p, false);
      if (r) outcome_.session_id = options_.resume_session_id;
      if (!r && failure_ && failure_->error_class != ErrorClass::kCancelled &&
          failure_->message.find("closed its stdout") == std::string::npos &&
          failure_->message.rfind("malformed", 0) != 0) {
        // The agent kept no such session (gemini-cli saves one only after a model
        // answer): the retry starts afresh rather than failing.
        log({{"acp", "note"}, {"text", failure_->message + "; starting a new session"}});
        failure_.reset();
        r = call("session/new", session_params, false);
        if (r) outcome_.session_id = string_field(*r, "sessionId");
      }
      // Updates replaying the old conversation are not this turn's answer.
      outcome_.text.clear();
      outcome_.tool_calls = 0;
      tool_call_ids_.clear();
      in_reply_ = false;
      return r;
    }
    auto r = call("session/new", session_params, false);
    if (r) outcome_.session_id = string_field(*r, "sessionId");
    return r;
  };
  std::optional<nlohmann::json> session = open_session();
  if (!session && failure_ && failure_->error_class == ErrorClass::kAuth) {
    // Authenticate with the first method both sides know, then try once more.
    for (const std::string& method : options_.auth_methods) {
      if (std::find(offered.begin(), offered.end(), method) == offered.end()) continue;
      failure_.reset();
      if (call("authenticate", {{"methodId", method}}, false)) session = open_session();
      break;
    }
  }
  if (session && outcome_.session_id.empty()) {
    set_failure(ErrorClass::kPermanent,
                "malformed JSON-RPC from the agent: session/new gave no sessionId");
  }
  if (!failure_) {
    outcome_.text.clear();
    nlohmann::json p = {{"sessionId", outcome_.session_id},
                        {"prompt", nlohmann::json::array({{{"type", "text"}, {"text", prompt}}})}};
    std::optional<nlohmann::json> r = call("session/prompt", p, true);
    if (r) {
      outcome_.stop_reason = string_field(*r, "stopReason");
      if (r->contains("usage")) {  // ACP's (unstable) PromptResponse.usage
        handle_update(Message{MessageKind::kNotification,
                              nullptr,
                              "session/update",
                              {{"update", {{"usage", (*r)["usage"]}}}},
                              {},
                              {},
                              {}});
      }
      // gemini-cli: _meta.quota.token_count{input_tokens, output_tokens}.
      const nlohmann::json& meta = r->contains("_meta") ? (*r)["_meta"] : nlohmann::json();
      if (meta.is_object() && meta.contains("quota") && meta["quota"].is_object() &&
          meta["quota"].contains("token_count")) {
        const nlohmann::json& tc = meta["quota"]["token_count"];
        if (int64_t n = num(tc, "input_tokens")) outcome_.usage.input_tokens = n;
        if (int64_t n = num(tc, "output_tokens")) outcome_.usage.output_tokens = n;
        if (int64_t n = num(tc, "cached_tokens")) outcome_.usage.cached_tokens = n;
      }
      if (outcome_.stop_reason == "end_turn") {
        outcome_.success = true;
      } else if (cancelled_) {
        set_failure(ErrorClass::kCancelled,
                    "cancelled (the turn ended: " + outcome_.stop_reason + ")");
      } else if (outcome_.stop_reason == "cancelled") {
        // Not asked by baton: codex-acp ends the turn so when a command is rejected.
        set_failure(ErrorClass::kPermanent,
                    "the agent cancelled its turn itself (stopReason cancelled)" +
                        std::string(rejected_ ? " after a rejected tool call" : ""));
      } else if (outcome_.stop_reason == "refusal") {
        set_failure(ErrorClass::kPermanent, "the agent refused to continue (stopReason refusal)");
      } else if (outcome_.stop_reason == "max_tokens" ||
                 outcome_.stop_reason == "max_turn_requests") {
        set_failure(ErrorClass::kPermanent,
                    "the turn hit a limit (stopReason " + outcome_.stop_reason + ")");
      } else {
        set_failure(
            ErrorClass::kPermanent,
            "malformed JSON-RPC from the agent: unknown stopReason " + to_line((*r)["stopReason"]));
      }
    }
  }
  terminals_.kill_all();
  if (failure_) {
    outcome_.success = false;
    outcome_.error_class = failure_->error_class;
    outcome_.error = failure_->message;
  }
  return outcome_;
}

}  // namespace baton::acp
