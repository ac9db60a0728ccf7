// The scripted model server: routing, sessions, faults and the request log.
#include "rehearse/server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "rehearse/connection.h"
#include "rehearse/player.h"
#include "rehearse/protocol.h"
#include "rehearse/schema.h"
#include "util/http_server.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

// Idle keep-alive connections are polled this long before the server lets them
// go, which bounds how long stop() takes. Node clients (undici) subtract one
// second from the hint and so reuse a connection for at most one second.
constexpr time_t kKeepAliveSeconds = 2;
// How often a held (hanging, stalled) request checks whether its client left.
constexpr std::chrono::milliseconds kClientCheckInterval{200};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string api_key_of(const httplib::Request& req) {
  if (req.has_header("x-api-key")) return req.get_header_value("x-api-key");
  if (req.has_header("Authorization")) {
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0 || auth.rfind("bearer ", 0) == 0) return auth.substr(7);
    return auth;
  }
  if (req.has_header("x-goog-api-key")) return req.get_header_value("x-goog-api-key");
  if (req.has_param("key")) return req.get_param_value("key");
  if (req.has_header("api-key")) return req.get_header_value("api-key");
  return "";
}

std::string default_fault_message(int status) {
  switch (status) {
    case 429:
      return "Rate limited (injected by the rehearsal script)";
    case 529:
      return "Overloaded (injected by the rehearsal script)";
    case 401:
      return "Invalid API key (injected by the rehearsal script)";
    default:
      return "HTTP " + std::to_string(status) + " (injected by the rehearsal script)";
  }
}

std::string excerpt(const std::string& text, size_t limit = 400) {
  return content_text(json(text.substr(0, std::min(text.size(), limit + 8))), limit);
}

}  // namespace

struct ModelServer::Impl {
  explicit Impl(Script s) : script(std::move(s)), player(script) {}

  const Script script;
  std::string log_path;
  std::string dump_dir;
  std::string id_prefix;
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::atomic<bool> listen_returned{false};

  mutable std::mutex mu;
  mutable std::condition_variable cv;           // signalled on stop and on every new record
  bool stopping = false;                        // guarded by mu
  bool stopped = false;                         // guarded by mu
  ScriptPlayer player;                          // guarded by mu
  std::map<std::string, std::string> workdirs;  // guarded by mu
  std::vector<RequestRecord> records;           // guarded by mu
  uint64_t next_id = 0;                         // guarded by mu
  uint64_t dumped = 0;                          // guarded by mu

  void handle(const httplib::Request& req, httplib::Response& res);
  void dump_request(const httplib::Request& req);
  void handle_model(const WireProtocol& proto, ModelRequest request, const httplib::Request& req,
                    httplib::Response& res, RequestRecord& rec);
  void handle_fault(const Fault& fault, const WireProtocol& proto, ModelReply reply,
                    const ModelRequest& request, const httplib::Request& req,
                    httplib::Response& res, RequestRecord& rec);
  std::string new_id();
  void record(RequestRecord rec);
  // Blocks until stop() or until the client of the connection LOCAL_PORT,
  // REMOTE_ADDR:REMOTE_PORT has closed it (a CLI's own timeout), so requests held
  // by hang and stall faults do not pile up and take every thread.
  void hold(int local_port, const std::string& remote_addr, int remote_port) {
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, kClientCheckInterval, [&] { return stopping; })) {
      lock.unlock();
      bool gone = connection_closed(local_port, remote_addr, remote_port);
      lock.lock();
      if (gone) return;
    }
  }
};

std::string ModelServer::Impl::new_id() {
  std::lock_guard<std::mutex> lock(mu);
  return id_prefix + std::to_string(++next_id);
}

void ModelServer::Impl::record(RequestRecord rec) {
  std::lock_guard<std::mutex> lock(mu);
  if (!log_path.empty()) {
    std::ofstream out(log_path, std::ios::app);
    out << record_json(rec) << "\n";
  }
  records.push_back(std::move(rec));
  cv.notify_all();
}

void ModelServer::Impl::dump_request(const httplib::Request& req) {
  uint64_t n;
  {
    std::lock_guard<std::mutex> lock(mu);
    n = ++dumped;
  }
  char name[32];
  std::snprintf(name, sizeof name, "/%04llu-", static_cast<unsigned long long>(n));
  std::ofstream out(dump_dir + name + req.method + ".txt", std::ios::binary);
  out << req.method << " " << req.target << "\n";
  for (const auto& [key, value] : req.headers) out << key << ": " << value << "\n";
  out << "\n" << req.body;
}

void ModelServer::Impl::handle(const httplib::Request& req, httplib::Response& res) {
  if (!dump_dir.empty()) dump_request(req);
  RequestRecord rec;
  rec.time = now_seconds();
  rec.session = api_key_of(req);
  rec.method = req.method;
  rec.path = req.path;
  const std::string& path = req.path;
  auto answer = [&](int status, const json& body, const char* action) {
    res.status = status;
    res.set_content(dump(body), "application/json");
    rec.status = status;
    rec.action = action;
    if (rec.body_excerpt.empty()) rec.body_excerpt = excerpt(req.body);
    record(std::move(rec));
  };
  const json not_found{{"error", {{"message", "not found: " + path}, {"type", "not_found_error"}}}};

  if (req.method == "GET" || req.method == "HEAD") {
    if (ends_with(path, "/models")) {
      if (path.find("v1beta") != std::string::npos) {
        return answer(
            200,
            {{"models", json::array({{{"name", "models/rehearse"},
                                      {"displayName", "baton rehearsal"},
                                      {"supportedGenerationMethods",
                                       json::array({"generateContent", "countTokens"})}}})}},
            "models");
      }
      return answer(200,
                    {{"object", "list"},
                     {"data", json::array({{{"id", "rehearse"},
                                            {"object", "model"},
                                            {"created", 0},
                                            {"owned_by", "baton"}}})}},
                    "models");
    }
    if (path == "/") return answer(200, {{"ok", true}}, "root");  // connectivity checks
    return answer(404, not_found, "not_found");
  }

  const WireProtocol* proto = nullptr;
  std::string gemini_model;
  bool gemini_stream = false;
  if (ends_with(path, "/messages/count_tokens")) {
    return answer(200, {{"input_tokens", static_cast<int>(req.body.size() / 4 + 1)}},
                  "count_tokens");
  } else if (ends_with(path, "/messages")) {
    proto = &anthropic_protocol();
  } else if (ends_with(path, "/responses")) {
    proto = &openai_responses_protocol();
  } else if (ends_with(path, "/chat/completions")) {
    proto = &openai_chat_protocol();
  } else if (size_t at = path.find("models/"); at != std::string::npos) {
    size_t colon = path.find(':', at);
    std::string method = colon == std::string::npos ? "" : path.substr(colon + 1);
    if (colon != std::string::npos) gemini_model = path.substr(at + 7, colon - at - 7);
    if (method == "generateContent" || method == "streamGenerateContent") {
      proto = &gemini_protocol();
      gemini_stream = method == "streamGenerateContent";
    } else if (method == "countTokens") {
      return answer(200, {{"totalTokens", static_cast<int>(req.body.size() / 4 + 1)}},
                    "count_tokens");
    }
  }
  if (!proto) return answer(404, not_found, "not_found");

  rec.protocol = protocol_name(proto->protocol);
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  Result<ModelRequest> parsed = fail("the body is not JSON");
  if (!body.is_discarded()) parsed = proto->parse(body);
  if (!parsed) {
    return answer(400, proto->error(400, parsed.error().message), "bad_request");
  }
  ModelRequest request = std::move(*parsed);
  if (proto->protocol == Protocol::kGemini) {
    request.model = gemini_model;
    request.stream = gemini_stream;
  }
  handle_model(*proto, std::move(request), req, res, rec);
}

void ModelServer::Impl::handle_model(const WireProtocol& proto, ModelRequest request,
                                     const httplib::Request& req, httplib::Response& res,
                                     RequestRecord& rec) {
  rec.had_tools = !request.tools.empty();
  rec.stream = request.stream;
  rec.body_excerpt = request.last_message.empty() ? excerpt(req.body) : request.last_message;
  ModelReply reply;
  reply.id = new_id();
  reply.usage = script.usage;

  if (request.tools.empty()) {
    // Titles, routers, summaries, checks: answered, but the script does not move.
    bool json_asked = request.wants_json || request.last_message.find("JSON") != std::string::npos;
    if (json_asked) {
      reply.text =
          dump(request.json_schema ? minimal_instance(*request.json_schema) : json::object());
      rec.action = "json";
    } else {
      reply.text = "ok";
      rec.action = "plain";
    }
  } else {
    ScriptPlayer::Turn turn;
    {
      std::lock_guard<std::mutex> lock(mu);
      turn = player.next(rec.session);
    }
    const Step* step = turn.step;
    rec.step = turn.index;
    if (step->usage) reply.usage = *step->usage;
    if (step->fault)
      return handle_fault(*step->fault, proto, std::move(reply), request, req, res, rec);
    if (step->is_text()) {
      reply.text = step->text;
      rec.action = "text";
    } else {
      // A stated directory that does not exist here was misread: leave paths relative.
      std::string workdir = request.workdir;
      std::error_code ec;
      if (!workdir.empty() && !std::filesystem::is_directory(workdir, ec)) workdir.clear();
      {
        std::lock_guard<std::mutex> lock(mu);
        auto it = workdirs.find(rec.session);
        if (it != workdirs.end()) workdir = it->second;
      }
      Result<ToolCall> call = plan_tool_call(*step, request.tools, workdir);
      if (call) {
        rec.action = "tool " + call->name;
        reply.tool_call = std::move(*call);
      } else {
        // The turn ends with the reason as the answer; the log says why.
        reply.text = "[baton rehearse] " + call.error().message;
        rec.action = "text (" + call.error().message + ")";
      }
    }
  }

  rec.status = 200;
  res.status = 200;
  if (request.stream) {
    auto events = std::make_shared<std::vector<std::string>>(proto.stream(reply, request));
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream",
                                     [events](size_t, httplib::DataSink& sink) {
                                       for (const std::string& e : *events) {
                                         if (!sink.write(e.data(), e.size())) return false;
                                       }
                                       sink.done();
                                       return true;
                                     });
  } else {
    res.set_content(dump(proto.response(reply, request)), "application/json");
  }
  record(std::move(rec));
}

void ModelServer::Impl::handle_fault(const Fault& fault, const WireProtocol& proto,
                                     ModelReply reply, const ModelRequest& request,
                                     const httplib::Request& req, httplib::Response& res,
                                     RequestRecord& rec) {
  rec.action = std::string("fault ") + fault_kind_name(fault.kind);
  switch (fault.kind) {
    case FaultKind::kHttp: {
      rec.action += " " + std::to_string(fault.status);
      rec.status = fault.status;
      res.status = fault.status;
      std::string message =
          fault.message.empty() ? default_fault_message(fault.status) : fault.message;
      res.set_content(dump(proto.error(fault.status, message)), "application/json");
      if (fault.retry_after_s > 0) {
        res.set_header("retry-after",
                       std::to_string(static_cast<long long>(std::ceil(fault.retry_after_s))));
        res.set_header("retry-after-ms", std::to_string(std::llround(fault.retry_after_s * 1000)));
      }
      record(std::move(rec));
      return;
    }
    case FaultKind::kDrop: {
      rec.status = 0;
      record(std::move(rec));
      if (!shutdown_connection(req.local_port, req.remote_addr, req.remote_port)) {
        // Not found: a response cut off right after its headers instead.
        res.set_chunked_content_provider("text/event-stream",
                                         [](size_t, httplib::DataSink&) { return false; });
      }
      return;
    }
    case FaultKind::kHang: {
      rec.status = 0;
      record(std::move(rec));
      hold(req.local_port, req.remote_addr, req.remote_port);
      shutdown_connection(req.local_port, req.remote_addr, req.remote_port);
      return;
    }
    case FaultKind::kStall: {
      rec.status = 200;
      rec.stream = request.stream;
      record(std::move(rec));
      reply.text = "stalled";
      res.status = 200;
      if (request.stream) {
        std::string first = proto.stream(reply, request).front();
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream", [this, first, port = req.local_port, addr = req.remote_addr,
                                  peer = req.remote_port](size_t, httplib::DataSink& sink) {
              sink.write(first.data(), first.size());
              hold(port, addr, peer);
              return false;
            });
      } else {
        std::string body = dump(proto.response(reply, request));
        res.set_content_provider(
            body.size(), "application/json",
            [this, body, port = req.local_port, addr = req.remote_addr, peer = req.remote_port](
                size_t offset, size_t, httplib::DataSink& sink) {
              if (offset == 0) sink.write(body.data(), body.size() / 2);
              hold(port, addr, peer);
              return false;
            });
      }
      return;
    }
  }
}

ModelServer::ModelServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ModelServer::~ModelServer() { stop(); }

Result<std::unique_ptr<ModelServer>> ModelServer::start(Script script, int port) {
  ServerOptions options;
  options.port = port;
  return start(std::move(script), options);
}

Result<std::unique_ptr<ModelServer>> ModelServer::start(Script script,
                                                        const ServerOptions& options) {
  auto impl = std::make_unique<Impl>(std::move(script));
  impl->log_path = options.log_path;
  impl->dump_dir = options.dump_dir;
  if (impl->log_path.empty()) {
    if (const char* env = std::getenv("BATON_REHEARSE_LOG")) impl->log_path = env;
  }
  std::random_device rd;
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%06x_", rd() & 0xffffff);
  impl->id_prefix = prefix;

  Impl* p = impl.get();
  httplib::Server& http = impl->http;
  size_t threads = static_cast<size_t>(std::max(1, options.threads));
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_timeout(kKeepAliveSeconds);
  http.set_tcp_nodelay(true);
  // httplib's default adds SO_REUSEPORT, which lets a second server share the
  // port and take some of its connections.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  auto handler = [p](const httplib::Request& req, httplib::Response& res) {
    try {
      p->handle(req, res);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(
          dump({{"error", {{"message", std::string("rehearsal server: ") + e.what()}}}}),
          "application/json");
    }
  };
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Delete(".*", handler);
  http.Patch(".*", handler);

  bind_port_alone(http);
  int port = options.port;
  if (port == 0) {
    port = http.bind_to_any_port("127.0.0.1");
  } else if (!http.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) {
    return fail("cannot listen on 127.0.0.1:" + std::to_string(options.port));
  }
  impl->port = port;
  impl->thread = std::thread([p] {
    p->http.listen_after_bind();
    p->listen_returned = true;
  });
  // httplib has no "listening" event; stop() is a no-op before is_running().
  while (!http.is_running() && !impl->listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!http.is_running()) {
    impl->thread.join();
    return fail("cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  return std::unique_ptr<ModelServer>(new ModelServer(std::move(impl)));
}

int ModelServer::port() const { return impl_->port; }

std::string ModelServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::vector<RequestRecord> ModelServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->records;
}

bool ModelServer::wait_for_requests(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->records.size() >= count; });
}

void ModelServer::set_workdir(const std::string& api_key, const std::string& dir) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->workdirs[api_key] = dir;
}

void ModelServer::stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace baton::rehearse
