#include "isolation/docker_engine.h"

#include <cstdlib>

namespace baton::isolation {

namespace {

// The daemon's message of an error response ({"message": "..."}), else the body.
std::string message_of(const HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string m = j.is_object() && j.contains("message") && j["message"].is_string()
                      ? j["message"].get<std::string>()
                      : r.body;
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return "HTTP " + std::to_string(r.status) + ": " + m;
}

// Percent-encodes S for a URL path segment or query value (RFC 3986 unreserved kept).
std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

const char* backend_name(ContainerBackend backend) {
  return backend == ContainerBackend::kDocker ? "docker" : "podman";
}

std::string default_engine_socket(ContainerBackend backend) {
  const char* host =
      getenv(backend == ContainerBackend::kDocker ? "DOCKER_HOST" : "CONTAINER_HOST");
  if (host && std::string(host).rfind("unix://", 0) == 0) return std::string(host).substr(7);
  return backend == ContainerBackend::kDocker ? "/var/run/docker.sock" : "/run/podman/podman.sock";
}

nlohmann::json container_create_body(const ContainerSpec& spec) {
  nlohmann::json binds = nlohmann::json::array();
  for (const Bind& b : spec.binds) {
    binds.push_back(b.source + ":" + b.target + (b.read_only ? ":ro" : ":rw"));
  }
  nlohmann::json tmpfs = nlohmann::json::object();
  std::string tmp = "rw,nosuid,nodev,mode=1777";
  if (spec.tmp_bytes > 0) tmp += ",size=" + std::to_string(spec.tmp_bytes);
  tmpfs["/tmp"] = tmp;
  for (const std::string& h : spec.hidden) tmpfs[h] = "ro,nosuid,nodev,size=4096";
  nlohmann::json host = {
      {"Binds", binds},
      {"Tmpfs", tmpfs},
      {"ReadonlyRootfs", true},
      {"NetworkMode", spec.network ? "host" : "none"},
      {"CapDrop", {"ALL"}},
      {"SecurityOpt", {"no-new-privileges"}},
      {"PidsLimit", spec.pids_limit},
      {"Init", true},
  };
  if (spec.memory_bytes > 0) {
    host["Memory"] = spec.memory_bytes;
    host["MemorySwap"] = spec.memory_bytes;
  }
  nlohmann::json ulimits = nlohmann::json::array();
  // podman, given any ulimit, also sets nproc, to a value runc may not set (EPERM):
  // always say it. Counted per uid, like RLIMIT_NPROC under bwrap.
  if (spec.pids_limit > 0 && (spec.open_files > 0 || spec.cpu_seconds > 0)) {
    ulimits.push_back({{"Name", "nproc"}, {"Soft", spec.pids_limit}, {"Hard", spec.pids_limit}});
  }
  if (spec.open_files > 0) {
    ulimits.push_back({{"Name", "nofile"}, {"Soft", spec.open_files}, {"Hard", spec.open_files}});
  }
  if (spec.cpu_seconds > 0) {
    ulimits.push_back({{"Name", "cpu"}, {"Soft", spec.cpu_seconds}, {"Hard", spec.cpu_seconds}});
  }
  if (!ulimits.empty()) host["Ulimits"] = std::move(ulimits);
  nlohmann::json body = {
      {"Image", spec.image},
      {"Cmd", spec.argv},
      {"Entrypoint", {}},
      {"Env", spec.env},
      {"WorkingDir", spec.workdir},
      {"Tty", false},
      {"AttachStdout", true},
      {"AttachStderr", true},
      {"AttachStdin", spec.open_stdin},
      {"OpenStdin", spec.open_stdin},
      {"StdinOnce", spec.open_stdin},
      {"HostConfig", host},
  };
  if (!spec.user.empty()) body["User"] = spec.user;
  return body;
}

Result<void> EngineClient::ping() const {
  auto r = http_request(socket_, "GET", "/_ping", "", 10);
  if (!r) return fail(r.error().message + " (is the daemon running? see scripts/setup-containers)");
  if (r->status != 200) return fail("GET /_ping: " + message_of(*r));
  return ok();
}

Result<bool> EngineClient::has_image(const std::string& image) const {
  auto r = http_request(socket_, "GET", path("/images/" + url_encode(image) + "/json"), "", 30);
  if (!r) return tl::unexpected(r.error());
  if (r->status == 404) return false;
  if (r->status != 200) return fail("inspecting image " + image + ": " + message_of(*r));
  return true;
}

Result<std::string> EngineClient::create(const ContainerSpec& spec) const {
  std::string target = "/containers/create";
  if (!spec.name.empty()) target += "?name=" + url_encode(spec.name);
  auto r = http_request(socket_, "POST", path(target), container_create_body(spec).dump());
  if (!r) return tl::unexpected(r.error());
  if (r->status != 201)
    return fail("creating a container of " + spec.image + ": " + message_of(*r));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string()) {
    return fail("creating a container: no Id in the answer: " + r->body);
  }
  return j["Id"].get<std::string>();
}

Result<HttpStream> EngineClient::attach(const std::string& id, bool stdin) const {
  return http_upgrade(
      socket_, "POST",
      path("/containers/" + id + "/attach?stream=1&stdout=1&stderr=1" + (stdin ? "&stdin=1" : "")));
}

Result<void> EngineClient::start(const std::string& id) const {
  auto r = http_request(socket_, "POST", path("/containers/" + id + "/start"));
  if (!r) return tl::unexpected(r.error());
  if (r->status != 204 && r->status != 304)
    return fail("starting the container: " + message_of(*r));
  return ok();
}

Result<int> EngineClient::wait(const std::string& id) const {
  auto r = http_request(socket_, "POST", path("/containers/" + id + "/wait"), "", 0);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 200) return fail("waiting for the container: " + message_of(*r));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("StatusCode") || !j["StatusCode"].is_number_integer()) {
    return fail("waiting for the container: no StatusCode in the answer: " + r->body);
  }
  return j["StatusCode"].get<int>();
}

Result<void> EngineClient::stop(const std::string& id, int grace_s) const {
  auto r = http_request(socket_, "POST",
                        path("/containers/" + id + "/stop?t=" + std::to_string(grace_s)), "",
                        grace_s + 30);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 204 && r->status != 304 && r->status != 404) {
    return fail("stopping the container: " + message_of(*r));
  }
  return ok();
}

Result<void> EngineClient::remove(const std::string& id) const {
  auto r = http_request(socket_, "DELETE", path("/containers/" + id + "?force=1&v=1"), "", 60);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 204 && r->status != 200 && r->status != 404) {
    return fail("removing the container: " + message_of(*r));
  }
  return ok();
}

}  // namespace baton::isolation
