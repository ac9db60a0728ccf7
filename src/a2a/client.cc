#include "a2a/client.h"

#include <fcntl.h>
#include <httplib.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "a2a/protocol.h"
#include "acp/confine.h"
#include "agents/event_time.h"
#include "agents/invoker.h"
#include "util/callback_inbox.h"
#include "util/env_var.h"
#include "util/http_url.h"
#include "util/write_all.h"

namespace baton::a2a {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxPromptBytes = 64 * 1024 * 1024;
constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;
constexpr size_t kMaxLogScanBytes = 64 * 1024 * 1024;
constexpr int kConnectTimeoutS = 5;
constexpr int kCallTimeoutS = 60;
constexpr int kStreamIdleS = 300;
constexpr int kCancelTimeoutS = 3;
constexpr int kMaxPolls = 1000000;
constexpr size_t kMaxSaidBytes = 64 * 1024;
// Following by push notifications: with no notification for this long, tasks/get is
// asked (the server or `baton serve` may be gone); seconds.
constexpr int kPushQuietS = 30;
constexpr size_t kMaxSeenNotifications = 100000;
constexpr size_t kMaxStreamEvents = 1000000;

using agents::ErrorClass;

// An attempt's end: what the final line says.
struct Failure {
  ErrorClass error_class = ErrorClass::kPermanent;
  std::string error;
};

std::mutex g_out_mu;
std::string g_task_id;    // guarded by g_out_mu
bool g_finished = false;  // guarded by g_out_mu: the final line is written

// J as a log line, with its time stamp (agents/event_time.h).
std::string stamped_line(json j) {
  j[agents::kEventTimeKey] = agents::event_time_ms();
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

void emit(const json& j) {
  std::lock_guard lock(g_out_mu);
  if (g_finished) return;
  std::string line = stamped_line(j);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// The callback registration of this attempt (push_target()), marked ended with the
// result so that later deliveries are recorded as late (util/callback_inbox.h).
struct PushRegistration {
  std::string run_dir, task;
  int attempt = 0;
};
std::optional<PushRegistration> g_push_registration;  // guarded by g_out_mu

void emit_result(const json& result) {
  std::lock_guard lock(g_out_mu);
  if (g_finished) return;
  g_finished = true;
  std::string line = stamped_line(result);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  if (g_push_registration) {
    end_callback(g_push_registration->run_dir, g_push_registration->task,
                 g_push_registration->attempt);
  }
  if (!result.value("success", false)) {
    std::fprintf(stderr, "baton: a2a: %s: %s\n", result.value("error_class", "").c_str(),
                 result.value("error", "").c_str());
  }
}

json failed_result(const Failure& f, const std::string& state = "") {
  std::string task_id;
  {
    std::lock_guard lock(g_out_mu);
    task_id = g_task_id;
  }
  return {{"a2a", "result"},
          {"success", false},
          {"state", state},
          {"task_id", task_id},
          {"text", ""},
          {"files", json::array()},
          {"error_class", agents::to_string(f.error_class)},
          {"error", f.error}};
}

// True when URL and OTHER both split (split_http_url) and have the same origin: the
// check before the prompt, the credentials or a cancel go to an endpoint a card named.
bool same_origin(const std::string& url, const std::string& other) {
  auto a = split_http_url(url);
  auto b = split_http_url(other);
  return a && b && a->origin == b->origin;
}

ErrorClass class_of_status(int status) {
  if (status == 401 || status == 403) return ErrorClass::kAuth;
  if (status == 429) return ErrorClass::kRateLimit;
  if (status >= 500) return ErrorClass::kTransient;
  return ErrorClass::kPermanent;
}

// One HTTP connection to the agent's server with the auth headers. An https:// origin
// makes httplib::Client speak TLS, the server's certificate checked against the
// system's CA store: OpenSSL's default paths, which SSL_CERT_FILE and SSL_CERT_DIR
// override.
class Http {
 public:
  // TIMEOUT_S > 0 bounds connecting and each read and write instead of the defaults.
  Http(const std::string& origin, httplib::Headers headers, double timeout_s = 0)
      : client_(origin), headers_(std::move(headers)) {
    client_.set_connection_timeout(kConnectTimeoutS, 0);
    client_.set_read_timeout(kCallTimeoutS, 0);
    client_.set_write_timeout(kCallTimeoutS, 0);
    if (timeout_s > 0) {
      auto bound = std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6));
      client_.set_connection_timeout(bound);
      client_.set_read_timeout(bound);
      client_.set_write_timeout(bound);
    }
  }

  // GET PATH: (status, body); Failure when the server cannot be reached or the body
  // is larger than kMaxBodyBytes.
  Result<std::pair<int, std::string>> get(const std::string& path) {
    return send("GET", path, "", nullptr);
  }

  // POST BODY (JSON) to PATH. With ON_DATA, the body is handed to it as it arrives
  // (for SSE) and it returns false to stop reading.
  Result<std::pair<int, std::string>> post(
      const std::string& path, const std::string& body,
      const std::function<bool(const char*, size_t)>* on_data = nullptr, int read_timeout_s = 0) {
    if (read_timeout_s > 0) client_.set_read_timeout(read_timeout_s, 0);
    auto r = send("POST", path, body, on_data);
    client_.set_read_timeout(kCallTimeoutS, 0);
    return r;
  }

 private:
  Result<std::pair<int, std::string>> send(
      const std::string& method, const std::string& path, const std::string& body,
      const std::function<bool(const char*, size_t)>* on_data) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = headers_;
    if (method == "POST") {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    std::string received;
    bool too_big = false;
    bool stopped = false;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (on_data) {
        if (!(*on_data)(data, n)) {
          stopped = true;
          return false;
        }
        return true;
      }
      if (received.size() + n > kMaxBodyBytes) {
        too_big = true;
        return false;
      }
      received.append(data, n);
      return true;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    bool sent = client_.send(req, res, error);
    if (too_big) return fail("the answer is larger than 16 MiB");
    if (stopped) return std::make_pair(res.status, std::move(received));
    if (!sent) return fail(httplib::to_string(error));
    return std::make_pair(res.status, std::move(received));
  }

  httplib::Client client_;
  httplib::Headers headers_;
};

// What the client knows of the remote task as it follows it.
struct TaskView {
  TaskState state = TaskState::kUnknown;
  std::string status_text;
  std::string context_id;
  // What the agent said in its status messages since the last message baton sent (the
  // text of a streamed turn, Gemini CLI's A2A server), its last 64 KiB: the question
  // when the input-required status itself carries none.
  std::string said;
  std::vector<Artifact> artifacts;  // in arrival order, appends merged
};

void merge(const Update& u, TaskView* view, bool whole_task) {
  if (u.state) {
    view->state = *u.state;
    view->status_text = u.status_text;
  }
  if (whole_task && !u.artifacts.empty()) view->artifacts.clear();
  for (const Artifact& a : u.artifacts) {
    auto it = std::find_if(view->artifacts.begin(), view->artifacts.end(),
                           [&](const Artifact& b) { return !a.id.empty() && b.id == a.id; });
    if (it == view->artifacts.end()) {
      view->artifacts.push_back(a);
    } else if (a.append) {
      it->parts.insert(it->parts.end(), a.parts.begin(), a.parts.end());
    } else {
      *it = a;
    }
  }
}

class Session {
 public:
  Session(const ClientArgs& args, const Card& card, httplib::Headers headers)
      : args_(args), card_(card) {
    auto parts = split_http_url(card.rpc_url);
    http_ = std::make_unique<Http>(parts->origin, headers);
    path_ = parts->path;
    headers_ = std::move(headers);
  }

  // A JSON-RPC call: its result; a Failure naming METHOD otherwise.
  Result<json> call(Method method, const json& params, Failure* failure) {
    const char* name = method_name(card_.version, method);
    json request = {{"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", name}, {"params", params}};
    auto answer = http_->post(path_, request.dump());
    return read_answer(name, answer, failure);
  }

  // The client just answered the question ASKED: an interrupted state ends the
  // following only once the task was seen to move on (another state, or another
  // question), since the server may report the old state first.
  void answered(const std::string& asked) {
    moved_ = false;
    asked_ = asked;
  }

  // Whether following the task in VIEW is over: a terminal state, or an interrupted
  // one (input-required, auth-required) once the task moved past an answered question.
  bool finished(const TaskView& view) const {
    return is_terminal(view.state) || (is_interrupted(view.state) && moved_);
  }

  // Follows a stream of METHOD's events (message/stream or tasks/resubscribe) into
  // VIEW until a final state. True when the task reached a terminal or interrupted
  // state; false with FAILURE set otherwise.
  bool stream(Method method, const json& params, TaskView* view, Failure* failure) {
    const char* name = method_name(card_.version, method);
    json request = {{"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", name}, {"params", params}};
    std::string buffer;
    size_t events = 0;
    bool done = false;
    bool bad = false;
    std::function<bool(const char*, size_t)> on_data = [&](const char* data, size_t n) {
      buffer.append(data, n);
      for (;;) {
        // SSE (WHATWG HTML, "Server-sent events"): events end at a blank line.
        size_t end = buffer.find("\n\n");
        size_t sep = 2;
        if (size_t crlf = buffer.find("\r\n\r\n"); crlf != std::string::npos && crlf < end) {
          end = crlf;
          sep = 4;
        }
        if (end == std::string::npos) break;
        std::string event = buffer.substr(0, end);
        buffer.erase(0, end + sep);
        if (++events > kMaxStreamEvents) {
          *failure = {ErrorClass::kPermanent, std::string(name) + ": more than 1000000 events"};
          bad = true;
          return false;
        }
        std::string data_field;
        size_t at = 0;
        while (at < event.size()) {
          size_t eol = event.find('\n', at);
          std::string line =
              event.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.rfind("data:", 0) == 0) {
            std::string v = line.substr(5);
            if (!v.empty() && v[0] == ' ') v.erase(0, 1);
            data_field += (data_field.empty() ? "" : "\n") + v;
          }
          if (eol == std::string::npos) break;
          at = eol + 1;
        }
        if (data_field.empty()) continue;
        json message = json::parse(data_field, nullptr, false);
        if (message.is_discarded()) {
          *failure = {ErrorClass::kPermanent,
                      std::string(name) + ": malformed JSON in an SSE event"};
          bad = true;
          return false;
        }
        Result<json> result = result_of(name, message, failure);
        if (!result) {
          bad = true;
          return false;
        }
        if (!handle(*result, view, false, failure)) {
          bad = true;
          return false;
        }
        // A late or duplicate event after the final state is never read.
        if (finished(*view)) {
          done = true;
          return false;
        }
      }
      if (buffer.size() > kMaxBodyBytes) {
        *failure = {ErrorClass::kPermanent,
                    std::string(name) + ": an SSE event is larger than 16 MiB"};
        bad = true;
        return false;
      }
      return true;
    };
    auto answer = http_->post(path_, request.dump(), &on_data, kStreamIdleS);
    if (done) return true;
    if (bad) return false;
    if (!answer) {
      *failure = {ErrorClass::kTransient, std::string(name) + ": " + answer.error().message};
      return false;
    }
    if (answer->first != 200) {
      *failure = {class_of_status(answer->first),
                  std::string(name) + ": HTTP " + std::to_string(answer->first)};
      return false;
    }
    // A plain JSON answer instead of a stream: a JSON-RPC error, most likely.
    std::string rest = buffer;
    json message = json::parse(rest, nullptr, false);
    if (!message.is_discarded() && message.is_object()) {
      Result<json> result = result_of(name, message, failure);
      if (!result) return false;
    }
    *failure = {ErrorClass::kTransient, std::string(name) +
                                            ": the stream closed before the task ended (state " +
                                            to_string(view->state) + ")"};
    return false;
  }

  // Applies RESULT to VIEW; records the task id on its first sight. False with FAILURE
  // on a malformed result or another task's id.
  bool handle(const json& result, TaskView* view, bool whole_task, Failure* failure) {
    Result<Update> u = parse_result(card_.version, result);
    if (!u) {
      *failure = {ErrorClass::kPermanent, "malformed answer: " + u.error().message};
      return false;
    }
    if (u->is_message) {
      // A Message answer ends the exchange without a task: its text is the output.
      view->state = TaskState::kCompleted;
      Part text;
      text.text = u->status_text;
      view->artifacts.push_back(Artifact{"", {text}, false});
      return true;
    }
    if (!u->task_id.empty()) {
      std::lock_guard lock(g_out_mu);
      if (g_task_id.empty()) {
        g_task_id = u->task_id;
        std::string line = stamped_line({{"a2a", "task"}, {"id", u->task_id}, {"url", args_.url}});
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
      } else if (g_task_id != u->task_id) {
        *failure = {ErrorClass::kPermanent,
                    "the server answered about another task (" + u->task_id + ")"};
        return false;
      }
    }
    TaskState before = view->state;
    if (!u->context_id.empty()) view->context_id = u->context_id;
    if (u->state && (!is_interrupted(*u->state) || u->status_text != asked_)) moved_ = true;
    if (!whole_task && u->state && !u->status_text.empty() && !is_interrupted(*u->state)) {
      view->said += u->status_text;
      if (view->said.size() > kMaxSaidBytes) view->said.erase(0, view->said.size() - kMaxSaidBytes);
    }
    merge(*u, view, whole_task);
    if (u->state && (*u->state != before || !u->status_text.empty())) {
      emit({{"a2a", "status"}, {"state", to_string(*u->state)}, {"text", u->status_text}});
    }
    for (const Artifact& a : u->artifacts) {
      emit({{"a2a", "artifact"}, {"id", a.id}, {"parts", a.parts.size()}});
    }
    return true;
  }

  // Polls tasks/get for TASK_ID until a final state.
  bool poll(const std::string& task_id, TaskView* view, Failure* failure) {
    double delay = 0.2;
    for (int i = 0; i < kMaxPolls; ++i) {
      Result<json> r = call(Method::kGet, task_params(card_.version, task_id), failure);
      if (!r) return false;
      if (!handle(*r, view, true, failure)) return false;
      if (finished(*view)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(delay * 1000)));
      delay = std::min(2.0, delay * 2);
    }
    *failure = {ErrorClass::kTimeout, "tasks/get: the task did not end in 1000000 polls"};
    return false;
  }

  // Follows TASK_ID by the push notifications `baton serve` appends to INBOX (one JSON
  // line a delivery, util/callback_inbox.h), woken by inotify, until a final state.
  // A delivery seen before (at least once delivery) and one about another task are
  // noted and ignored; after kPushQuietS without one, tasks/get is asked.
  bool follow_inbox(const std::string& task_id, const std::string& inbox, TaskView* view,
                    Failure* failure) {
    int watch = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (watch >= 0 && ::inotify_add_watch(watch, inbox.c_str(), IN_MODIFY) < 0) {
      ::close(watch);
      watch = -1;
    }
    struct Closer {
      int fd;
      ~Closer() {
        if (fd >= 0) ::close(fd);
      }
    } closer{watch};
    std::set<std::string> seen;
    std::string partial;
    off_t offset = 0;
    for (int round = 0; round < kMaxPolls; ++round) {
      int fd = ::open(inbox.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        *failure = {ErrorClass::kTransient, "the callback inbox " + inbox + " is gone"};
        return false;
      }
      char buf[65536];
      for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, offset)) > 0;) {
        offset += n;
        partial.append(buf, static_cast<size_t>(n));
        if (partial.size() > kMaxBodyBytes) break;
      }
      ::close(fd);
      for (size_t eol; (eol = partial.find('\n')) != std::string::npos;) {
        std::string line = partial.substr(0, eol);
        partial.erase(0, eol + 1);
        json delivery = json::parse(line, nullptr, false);
        if (!delivery.is_object() || !delivery.contains("body")) continue;
        const json& body = delivery["body"];
        std::string key = body.dump();
        if (seen.count(key)) {
          emit({{"a2a", "note"}, {"text", "duplicate notification ignored"}});
          continue;
        }
        if (seen.size() < kMaxSeenNotifications) seen.insert(key);
        Result<Update> u = parse_result(card_.version, body);
        if (!u) {
          emit({{"a2a", "note"}, {"text", "malformed notification ignored: " + u.error().message}});
          continue;
        }
        if (u->task_id != task_id) {
          emit({{"a2a", "note"}, {"text", "notification about another task ignored"}});
          continue;
        }
        if (!handle(body, view, false, failure)) return false;
        if (finished(*view)) return true;
      }
      if (partial.size() > kMaxBodyBytes) {
        *failure = {ErrorClass::kPermanent, "a notification is larger than 16 MiB"};
        return false;
      }
      pollfd p{watch, POLLIN, 0};
      int ready = ::poll(watch >= 0 ? &p : nullptr, watch >= 0 ? 1 : 0,
                         watch >= 0 ? kPushQuietS * 1000 : 1000);
      if (ready > 0) {
        char events[4096];
        while (::read(watch, events, sizeof events) > 0) {
        }
        continue;
      }
      if (watch >= 0 || round % kPushQuietS == kPushQuietS - 1) {
        Result<json> r = call(Method::kGet, task_params(card_.version, task_id), failure);
        if (!r || !handle(*r, view, true, failure)) return false;
        if (finished(*view)) return true;
      }
    }
    *failure = {ErrorClass::kTimeout, "the task did not end in 1000000 waits for notifications"};
    return false;
  }

  const Card& card() const { return card_; }

 private:
  Result<json> read_answer(const char* name, const Result<std::pair<int, std::string>>& answer,
                           Failure* failure) {
    if (!answer) {
      *failure = {ErrorClass::kTransient, std::string(name) + ": " + answer.error().message};
      return fail(failure->error);
    }
    if (answer->first != 200) {
      *failure = {class_of_status(answer->first),
                  std::string(name) + ": HTTP " + std::to_string(answer->first)};
      return fail(failure->error);
    }
    json message = json::parse(answer->second, nullptr, false);
    if (message.is_discarded()) {
      *failure = {ErrorClass::kPermanent, std::string(name) + ": malformed JSON in the answer"};
      return fail(failure->error);
    }
    return result_of(name, message, failure);
  }

  Result<json> result_of(const char* name, const json& message, Failure* failure) {
    if (!message.is_object()) {
      *failure = {ErrorClass::kPermanent,
                  std::string(name) + ": the answer is not a JSON-RPC response"};
      return fail(failure->error);
    }
    if (message.contains("error")) {
      const json& e = message["error"];
      std::string text = e.is_object() && e.contains("message") && e["message"].is_string()
                             ? e["message"].get<std::string>()
                             : e.dump();
      int code = e.is_object() && e.contains("code") && e["code"].is_number_integer()
                     ? e["code"].get<int>()
                     : 0;
      *failure = {code == -32603 ? ErrorClass::kTransient : ErrorClass::kPermanent,
                  std::string(name) + ": error " + std::to_string(code) + ": " + text};
      return fail(failure->error);
    }
    if (!message.contains("result")) {
      *failure = {ErrorClass::kPermanent, std::string(name) + ": the answer has no result"};
      return fail(failure->error);
    }
    return message["result"];
  }

  const ClientArgs& args_;
  Card card_;
  std::unique_ptr<Http> http_;
  std::string path_;
  httplib::Headers headers_;
  int next_id_ = 0;
  bool moved_ = true;  // see answered()
  std::string asked_;
};

bool read_prompt(std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxPromptBytes) return false;
  }
}

// The remote task an earlier attempt of this task recorded and did not finish:
// $BATON_ATTEMPT_LOG is DIR/TASK.N.log; DIR/TASK.(N-1).log ... TASK.1.log are read,
// newest first, up to the first that recorded a task of URL. An attempt that ended
// with the task in input-required did not finish it either: its id is returned with
// `waiting` set.
struct Earlier {
  std::string id;        // "" = none to re-attach to
  bool waiting = false;  // it ended asking a question (input-required)
};

Earlier unfinished_task(const std::string& url) {
  std::string log = env_or("BATON_ATTEMPT_LOG", "");
  std::string task = env_or("BATON_TASK_ID", "");
  int attempt = std::atoi(env_or("BATON_ATTEMPT", "0").c_str());
  if (log.empty() || task.empty() || attempt <= 1) return {};
  fs::path dir = fs::path(log).parent_path();
  for (int n = attempt - 1; n >= 1; --n) {
    std::ifstream in(dir / (task + "." + std::to_string(n) + ".log"), std::ios::binary);
    if (!in) continue;
    std::string id;
    bool ended = false;
    bool waiting = false;
    size_t read = 0;
    for (std::string line; std::getline(in, line) && read < kMaxLogScanBytes;) {
      read += line.size() + 1;
      if (line.rfind("{\"a2a\":", 0) != 0) continue;
      json j = json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      std::string kind = j.value("a2a", "");
      if (kind == "task" && j.value("url", "") == url && j["id"].is_string()) id = j["id"];
      if (kind == "result" && !id.empty()) {
        waiting = j.value("state", "") == to_string(TaskState::kInputRequired);
        ended = !waiting;
      }
    }
    if (!id.empty()) return ended ? Earlier{} : Earlier{id, waiting};
  }
  return {};
}

// Writes the file parts of ARTIFACTS under ROOT; their paths relative to ROOT.
Result<std::vector<std::string>> write_files(const std::string& root,
                                             const std::vector<Artifact>& artifacts) {
  std::vector<std::string> written;
  char real[PATH_MAX];
  if (!::realpath(root.c_str(), real)) return fail("cannot resolve the task's directory " + root);
  std::string real_root = real;
  for (const Artifact& a : artifacts) {
    for (const Part& p : a.parts) {
      if (!p.is_file) continue;
      if (!p.uri.empty() && p.bytes.empty()) {
        emit({{"a2a", "note"}, {"text", "file part by reference not fetched: " + p.uri}});
        continue;
      }
      if (p.bad) return fail("file part '" + p.file_name + "': its content is not valid base64");
      if (p.file_name.empty()) return fail("a file part has no name");
      if (p.file_name.front() == '/') {
        return fail("file part '" + p.file_name + "': an absolute path is refused");
      }
      if (p.file_name.find('\0') != std::string::npos)
        return fail("a file part's name has a NUL byte");
      fs::path target = fs::path(real_root) / p.file_name;
      // Parents are created only once confine() saw the whole path lies in the root.
      Result<std::string> confined = acp::confine(real_root, target.lexically_normal().string());
      if (!confined || target.lexically_normal().string().rfind(real_root + "/", 0) != 0) {
        return fail("file part '" + p.file_name + "': " +
                    (confined ? "the path leaves the task's directory" : confined.error().message));
      }
      // Missing directories are made and none on the way is followed if it became a
      // symlink since confine() looked (open_beneath()).
      // O_NONBLOCK: a FIFO left there fails or is refused, never stalls the client.
      auto out = acp::open_beneath(real_root, *confined, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK,
                                   0644, /*create_parents=*/true);
      if (!out) return fail("file part '" + p.file_name + "': " + out.error().message);
      if (struct stat st; ::fstat(out->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return fail("file part '" + p.file_name + "': not a regular file: " + *confined);
      }
      if (!write_all(out->get(), p.bytes)) {
        return fail("file part '" + p.file_name + "': cannot write " + *confined);
      }
      std::string rel = fs::path(*confined).lexically_relative(real_root).string();
      emit({{"a2a", "file"}, {"path", rel}, {"bytes", p.bytes.size()}});
      written.push_back(rel);
    }
  }
  return written;
}

// Fetches and parses the card under BASE_URL (TIMEOUT_S > 0: each request bounded so).
Result<Card> discover(const std::string& base_url, const httplib::Headers& headers,
                      Failure* failure, double timeout_s = 0) {
  auto parts = split_http_url(base_url);
  Http http(parts->origin, headers, timeout_s);
  std::string base_path = parts->path;
  if (base_path.empty() || base_path.back() != '/') base_path += "/";
  std::string last;
  for (const char* name : {".well-known/agent-card.json", ".well-known/agent.json"}) {
    auto answer = http.get(base_path + name);
    if (!answer) {
      *failure = {ErrorClass::kTransient, "agent card: " + answer.error().message};
      return fail(failure->error);
    }
    if (answer->first == 404) {
      last = base_url + name + ": HTTP 404";
      continue;
    }
    if (answer->first != 200) {
      *failure = {class_of_status(answer->first),
                  "agent card: HTTP " + std::to_string(answer->first)};
      return fail(failure->error);
    }
    json j = json::parse(answer->second, nullptr, false);
    if (j.is_discarded()) {
      *failure = {ErrorClass::kPermanent, "agent card: malformed JSON"};
      return fail(failure->error);
    }
    Result<Card> card = parse_card(j);
    if (!card) {
      *failure = {ErrorClass::kPermanent, "agent card: " + card.error().message};
      return fail(failure->error);
    }
    return card;
  }
  *failure = {ErrorClass::kPermanent,
              "no agent card at " + base_path + ".well-known/agent-card.json or agent.json"};
  return fail(failure->error);
}

// Set before the signal thread starts: what it needs to cancel.
struct CancelTarget {
  std::mutex mu;
  std::optional<Card> card;
  httplib::Headers headers;
};
CancelTarget g_cancel;

void signal_thread(sigset_t set) {
  int sig = 0;
  if (sigwait(&set, &sig) != 0) return;
  std::string task_id;
  {
    std::lock_guard lock(g_out_mu);
    task_id = g_task_id;
  }
  std::string note = "cancelled (signal " + std::to_string(sig) + ")";
  std::optional<Card> card;
  httplib::Headers headers;
  {
    std::lock_guard lock(g_cancel.mu);
    card = g_cancel.card;
    headers = g_cancel.headers;
  }
  if (card && !task_id.empty()) {
    auto parts = split_http_url(card->rpc_url);
    httplib::Client c(parts->origin);
    c.set_connection_timeout(kCancelTimeoutS, 0);
    c.set_read_timeout(kCancelTimeoutS, 0);
    json request = {{"jsonrpc", "2.0"},
                    {"id", "cancel"},
                    {"method", method_name(card->version, Method::kCancel)},
                    {"params", task_params(card->version, task_id)}};
    auto res = c.Post(parts->path, headers, request.dump(), "application/json");
    note += res ? "; " + std::string(method_name(card->version, Method::kCancel)) +
                      " answered HTTP " + std::to_string(res->status)
                : "; " + std::string(method_name(card->version, Method::kCancel)) +
                      " failed: " + httplib::to_string(res.error());
  }
  emit_result(failed_result({ErrorClass::kCancelled, note}));
  std::_Exit(1);
}

// Where the remote task's push notifications go: `baton serve`'s callback endpoint for
// this attempt, and the inbox it appends them to.
struct PushTarget {
  std::string url;    // SERVE/v1/callbacks/RUN/TASK/ATTEMPT
  std::string token;  // the attempt's secret
  std::string inbox;
};

// A push target when `baton serve` runs for this project: $BATON_ATTEMPT_LOG is
// STATE/runs/RUN/logs/TASK.N.log, serve writes its URL to STATE/serve/url and must
// answer /healthz. nullopt (a note says why, when it matters) otherwise.
std::optional<PushTarget> push_target() {
  std::optional<CallbackSite> site = callback_site();
  if (!site) return std::nullopt;
  const std::string& base = site->serve_url;
  auto parts = split_http_url(base);
  if (!parts) return std::nullopt;
  httplib::Client c(parts->origin);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(2, 0);
  auto health = c.Get("/healthz");
  if (!health || health->status != 200) {
    emit({{"a2a", "note"}, {"text", "baton serve at " + base + " does not answer: polling"}});
    return std::nullopt;
  }
  Result<std::string> secret = random_secret();
  if (!secret) return std::nullopt;
  Result<CallbackPaths> paths =
      register_callback(site->run_dir, site->task, site->attempt, *secret);
  if (!paths) {
    emit({{"a2a", "note"}, {"text", paths.error().message + ": polling"}});
    return std::nullopt;
  }
  {
    std::lock_guard lock(g_out_mu);
    g_push_registration = PushRegistration{site->run_dir, site->task, site->attempt};
  }
  return PushTarget{parts->origin + site->path(), *secret, paths->inbox};
}

// The auth headers ARGS names, their values read from the environment; nullopt (and an
// auth FAILURE naming the variable) when one is not set.
std::optional<httplib::Headers> auth_headers(const ClientArgs& args, Failure* failure) {
  httplib::Headers headers;
  auto secret = [&](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  if (!args.bearer_env.empty()) {
    auto v = secret(args.bearer_env);
    if (!v) {
      *failure = {ErrorClass::kAuth,
                  "the environment variable " + args.bearer_env + " (auth.bearer.env) is not set"};
      return std::nullopt;
    }
    headers.emplace("Authorization", "Bearer " + *v);
  }
  if (!args.header.empty()) {
    auto v = secret(args.header_env);
    if (!v) {
      *failure = {ErrorClass::kAuth,
                  "the environment variable " + args.header_env + " (auth.env) is not set"};
      return std::nullopt;
    }
    headers.emplace(args.header, *v);
  }
  return headers;
}

int run(const ClientArgs& args) {
  emit({{"a2a", "start"}, {"url", args.url}, {"pid", ::getpid()}});
  std::string prompt;
  if (!read_prompt(&prompt)) {
    emit_result(
        failed_result({ErrorClass::kPermanent, "cannot read the prompt (or it is over 64 MiB)"}));
    return 1;
  }
  Failure failure;
  std::optional<httplib::Headers> auth = auth_headers(args, &failure);
  if (!auth) {
    emit_result(failed_result(failure));
    return 1;
  }
  httplib::Headers headers = std::move(*auth);
  Result<Card> card = discover(args.url, headers, &failure);
  if (!card) {
    emit_result(failed_result(failure));
    return 1;
  }
  // The card names the endpoint the prompt and the credentials go to: a card that
  // sends them to another origin than the configured URL's is refused.
  if (!same_origin(card->rpc_url, args.url)) {
    emit_result(
        failed_result({ErrorClass::kPermanent, "the agent card's endpoint " + card->rpc_url +
                                                   " is not on the configured origin " +
                                                   split_http_url(args.url)->origin}));
    return 1;
  }
  if (card->version == Version::k10) headers.emplace("A2A-Version", "1.0");
  {
    std::lock_guard lock(g_cancel.mu);
    g_cancel.card = *card;
    g_cancel.headers = headers;
  }
  emit({{"a2a", "card"},
        {"name", card->name},
        {"version", card->version == Version::k10 ? "1.0" : "0.3"},
        {"streaming", card->streaming},
        {"endpoint", card->rpc_url}});
  Session session(args, *card, headers);
  TaskView view;
  bool ended = false;
  Earlier earlier = unfinished_task(args.url);
  const std::string& attach = earlier.id;
  if (args.answer && !earlier.waiting) {
    emit_result(failed_result({ErrorClass::kPermanent,
                               "an answer was given, but no earlier attempt of this task left a "
                               "remote task of " +
                                   args.url + " waiting for input"}));
    return 1;
  }
  std::string message_id = !args.message_id.empty()
                               ? args.message_id
                               : "baton-" + env_or("BATON_RUN_ID", "run") + "-" +
                                     env_or("BATON_TASK_ID", "task") + "-" +
                                     env_or("BATON_ATTEMPT", std::to_string(::getpid()));
  bool fresh = attach.empty();
  if (!attach.empty()) {
    emit({{"a2a", "note"},
          {"text", "re-attaching to remote task " + attach + " of an earlier attempt"}});
    Result<json> r = session.call(Method::kGet, task_params(card->version, attach), &failure);
    ended = r && session.handle(*r, &view, true, &failure);
    if (ended && earlier.waiting && !args.answer && is_terminal(view.state)) {
      // The question's task ended meanwhile (rejected, then `baton retry`): a new turn.
      emit({{"a2a", "note"},
            {"text", "the remote task of the earlier question ended " +
                         std::string(to_string(view.state)) + ": sending the prompt anew"}});
      view = TaskView{};
      std::lock_guard lock(g_out_mu);
      g_task_id.clear();
      fresh = true;
    } else if (ended && view.state == TaskState::kInputRequired && args.answer) {
      // The person's answer goes to the same task (taskId, contextId): the agent
      // continues it; the server sees no new task.
      emit({{"a2a", "note"}, {"text", "answering the agent's question"}});
      session.answered(view.status_text);
      view.said.clear();
      json params =
          send_params(card->version, prompt, message_id, !card->streaming, attach, view.context_id);
      if (card->streaming) {
        ended = session.stream(Method::kStream, params, &view, &failure);
      } else {
        Result<json> sent = session.call(Method::kSend, params, &failure);
        ended = sent && session.handle(*sent, &view, true, &failure);
        if (ended && !session.finished(view)) ended = session.poll(attach, &view, &failure);
      }
    } else if (ended && !session.finished(view)) {
      ended = card->streaming ? session.stream(Method::kResubscribe,
                                               task_params(card->version, attach), &view, &failure)
                              : session.poll(attach, &view, &failure);
    }
  }
  if (fresh) {
    std::optional<PushTarget> push = card->push ? push_target() : std::nullopt;
    if (push) {
      // Followed by notifications through `baton serve` instead of a stream or polling.
      emit({{"a2a", "note"}, {"text", "following by push notifications to " + push->url}});
      json params = with_push(card->version, send_params(card->version, prompt, message_id, true),
                              push->url, push->token, message_id);
      Result<json> r = session.call(Method::kSend, params, &failure);
      ended = r && session.handle(*r, &view, true, &failure);
      std::string id;
      {
        std::lock_guard lock(g_out_mu);
        id = g_task_id;
      }
      if (ended && !session.finished(view)) {
        if (id.empty()) {
          failure = {ErrorClass::kPermanent, "message/send answered neither a task nor a message"};
          ended = false;
        } else {
          ended = session.follow_inbox(id, push->inbox, &view, &failure);
        }
      }
    } else if (card->streaming) {
      ended = session.stream(Method::kStream, send_params(card->version, prompt, message_id, false),
                             &view, &failure);
    } else {
      Result<json> r = session.call(Method::kSend,
                                    send_params(card->version, prompt, message_id, true), &failure);
      ended = r && session.handle(*r, &view, true, &failure);
      std::string id;
      {
        std::lock_guard lock(g_out_mu);
        id = g_task_id;
      }
      if (ended && !session.finished(view)) {
        if (id.empty()) {
          failure = {ErrorClass::kPermanent, "message/send answered neither a task nor a message"};
          ended = false;
        } else {
          ended = session.poll(id, &view, &failure);
        }
      }
    }
  }
  if (!ended) {
    emit_result(failed_result(failure, to_string(view.state)));
    return 1;
  }
  if (view.state == TaskState::kInputRequired) {
    // Not a failure: the agent asks; the engine makes the task wait for a person, and
    // the next attempt answers on this task (--answer).
    std::string question = view.status_text;
    if (question.empty()) {
      size_t a = view.said.find_first_not_of(" \t\r\n");
      size_t b = view.said.find_last_not_of(" \t\r\n");
      if (a != std::string::npos) question = view.said.substr(a, b - a + 1);
    }
    std::string task_id;
    {
      std::lock_guard lock(g_out_mu);
      task_id = g_task_id;
    }
    emit_result({{"a2a", "result"},
                 {"success", false},
                 {"state", to_string(view.state)},
                 {"task_id", task_id},
                 {"question", question},
                 {"text", ""},
                 {"files", json::array()},
                 {"error_class", ""},
                 {"error", "the agent needs input: " + question}});
    return 3;
  }
  if (view.state != TaskState::kCompleted) {
    std::string why = is_interrupted(view.state)
                          ? "the agent needs input (" + std::string(to_string(view.state)) + ")"
                          : "the remote task ended " + std::string(to_string(view.state));
    if (!view.status_text.empty()) why += ": " + view.status_text;
    ErrorClass c =
        view.state == TaskState::kAuthRequired ? ErrorClass::kAuth : ErrorClass::kPermanent;
    emit_result(failed_result({c, why}, to_string(view.state)));
    return 1;
  }
  std::string text;
  for (const Artifact& a : view.artifacts) {
    for (const Part& p : a.parts) {
      if (p.is_file || p.text.empty()) continue;
      text += (text.empty() ? "" : "\n") + p.text;
    }
  }
  Result<std::vector<std::string>> files = write_files(args.cwd, view.artifacts);
  if (!files) {
    emit_result(failed_result({ErrorClass::kPermanent, files.error().message}, "completed"));
    return 1;
  }
  std::string task_id;
  {
    std::lock_guard lock(g_out_mu);
    task_id = g_task_id;
  }
  emit_result({{"a2a", "result"},
               {"success", true},
               {"state", "completed"},
               {"task_id", task_id},
               {"text", text},
               {"files", *files},
               {"error_class", ""},
               {"error", ""}});
  return 0;
}

}  // namespace

Result<std::string> probe_card(const ClientArgs& args, double timeout_s) {
  if (!split_http_url(args.url)) return fail("the URL must be an http:// or https:// URL");
  Failure failure;
  std::optional<httplib::Headers> headers = auth_headers(args, &failure);
  if (!headers) return fail(failure.error);
  Result<Card> card = discover(args.url, *headers, &failure, timeout_s);
  if (!card) return fail(args.url + ": " + failure.error);
  if (!same_origin(card->rpc_url, args.url)) {
    return fail("the agent card's endpoint " + card->rpc_url + " is not on the configured origin");
  }
  return std::string("A2A ") + (card->version == Version::k10 ? "1.0" : "0.3") + " at " +
         card->rpc_url;
}

std::string cancel_waiting_task(std::string_view log,
                                const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string url, endpoint, task_id;
  Version version = Version::k10;
  size_t at = 0;
  while (at < log.size()) {
    size_t eol = log.find('\n', at);
    std::string_view line = log.substr(at, eol == std::string_view::npos ? log.npos : eol - at);
    at = eol == std::string_view::npos ? log.size() : eol + 1;
    if (line.rfind("{\"a2a\":", 0) != 0) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    std::string kind = j.value("a2a", "");
    if (kind == "card") {
      endpoint = j.value("endpoint", "");
      version = j.value("version", "") == "0.3" ? Version::k03 : Version::k10;
    } else if (kind == "task") {
      url = j.value("url", "");
    } else if (kind == "result") {
      task_id = j.value("state", "") == to_string(TaskState::kInputRequired)
                    ? j.value("task_id", "")
                    : "";
    }
  }
  if (task_id.empty() || endpoint.empty()) return "";
  if (!same_origin(endpoint, url)) {
    return "remote task " + task_id + " not cancelled: the endpoint is not on " + url;
  }
  auto target = split_http_url(endpoint);
  httplib::Client c(target->origin);
  c.set_connection_timeout(kCancelTimeoutS, 0);
  c.set_read_timeout(kCancelTimeoutS, 0);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  if (version == Version::k10) h.emplace("A2A-Version", "1.0");
  const char* method = method_name(version, Method::kCancel);
  json request = {{"jsonrpc", "2.0"},
                  {"id", "cancel"},
                  {"method", method},
                  {"params", task_params(version, task_id)}};
  auto res = c.Post(target->path, h, request.dump(), "application/json");
  return std::string(method) + " of remote task " + task_id +
         (res ? " answered HTTP " + std::to_string(res->status)
              : " failed: " + httplib::to_string(res.error()));
}

Result<ClientArgs> parse_client_args(const std::vector<std::string>& args) {
  ClientArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "--answer") {
      out.answer = true;
      continue;
    }
    std::string* target = nullptr;
    if (a == "--url") target = &out.url;
    if (a == "--cwd") target = &out.cwd;
    if (a == "--bearer-env") target = &out.bearer_env;
    if (a == "--header") target = &out.header;
    if (a == "--header-env") target = &out.header_env;
    if (a == "--message-id") target = &out.message_id;
    if (!target) return fail("unknown option " + a);
    auto v = value();
    if (!v) return fail(a + " needs a value");
    *target = *v;
  }
  if (out.url.empty()) return fail("missing --url");
  if (!split_http_url(out.url)) return fail("--url must be an http:// or https:// URL");
  if (out.header.empty() != out.header_env.empty()) {
    return fail("--header and --header-env go together");
  }
  return out;
}

int client_main(const std::vector<std::string>& args) {
  ::signal(SIGPIPE, SIG_IGN);
  Result<ClientArgs> parsed = parse_client_args(args);
  if (!parsed) {
    std::fprintf(stderr, "baton: __a2a-client: %s\n", parsed.error().message.c_str());
    emit_result(failed_result({ErrorClass::kPermanent, parsed.error().message}));
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(signal_thread, set).detach();
  return run(*parsed);
}

}  // namespace baton::a2a
