#include "isolation/docker_sandbox.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

namespace baton::isolation {

namespace fs = std::filesystem;

namespace {

std::string normal(const std::string& path) {
  std::string p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

Result<void> wrap_in_container(exec::ProcessSpec& process, const SandboxSpec& spec,
                               const ContainerOptions& options) {
  if (spec.workdir.empty()) return fail("sandbox: no working directory");
  if (process.argv.empty()) return fail("sandbox: nothing to run");
  if (options.launcher.empty()) return fail("sandbox: no launcher for __container-run");
  std::error_code ec;
  if (!spec.home.empty()) {
    fs::create_directories(spec.home, ec);
    if (ec) return fail("sandbox: cannot create " + spec.home + ": " + ec.message());
  }
  SandboxSpec granted = spec;
  if (auto r = grant_sandbox_access(granted); !r) return r;
  std::string user = spec.user
                         ? std::to_string(spec.user->uid) + ":" + std::to_string(spec.user->gid)
                         : std::to_string(getuid()) + ":" + std::to_string(getgid());
  std::vector<std::string> a = {options.launcher, "__container-run",
                                "--backend",      backend_name(options.backend),
                                "--socket",       options.socket,
                                "--image",        options.image,
                                "--workdir",      spec.workdir,
                                "--user",         user,
                                "--tmp-size",     std::to_string(spec.tmp_bytes),
                                "--stop-timeout", std::to_string(options.stop_grace_s),
                                "--pids",         std::to_string(spec.limits.pids),
                                "--memory",       std::to_string(spec.limits.memory_bytes),
                                "--open-files",   std::to_string(spec.limits.open_files)};
  if (spec.limits.cpu_seconds > 0) {
    a.insert(a.end(), {"--cpu-seconds", std::to_string(spec.limits.cpu_seconds)});
  }
  if (spec.network) a.push_back("--network");
  std::set<std::string> writable;
  for (const std::string& p : spec.writable) {
    std::string n = normal(p);
    if (!fs::exists(n, ec)) return fail("sandbox: " + n + " does not exist");
    writable.insert(n);
  }
  if (!spec.home.empty()) writable.insert(normal(spec.home));
  for (const std::string& p : writable) a.insert(a.end(), {"--mount", p + ":" + p});
  // A path listed twice (a checkout's .git is also its git and common directory) is
  // one mount: the Engine API refuses a duplicate mount point.
  std::set<std::string> readable;
  for (const std::string& p : granted.readable) {
    std::string n = normal(p);
    if (writable.count(n) || !fs::exists(n, ec) || !readable.insert(n).second) continue;
    a.insert(a.end(), {"--mount", n + ":" + n + ":ro"});
  }
  for (const auto& [host, relative] : granted.home_files) {
    if (spec.home.empty() || !fs::is_regular_file(host, ec)) continue;
    a.insert(a.end(), {"--mount", host + ":" + (fs::path(spec.home) / relative).string() + ":ro"});
  }
  for (const auto& [copy, inside] : granted.copied) {
    a.insert(a.end(), {"--mount", copy + ":" + inside + ":ro"});
  }
  for (const std::string& p : spec.hidden) a.insert(a.end(), {"--hide", normal(p)});
  if (!spec.home.empty()) process.env["HOME"] = spec.home;
  process.env["TMPDIR"] = "/tmp";
  for (const auto& [name, value] : process.env) {
    if (name != "PATH") a.insert(a.end(), {"--env", name});
  }
  a.push_back("--");
  a.insert(a.end(), process.argv.begin(), process.argv.end());
  process.argv = std::move(a);
  return ok();
}

Result<ContainerRunArgs> parse_container_run_args(const std::vector<std::string>& args) {
  ContainerRunArgs out;
  out.spec.env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  size_t i = 0;
  auto value = [&](const std::string& option) -> Result<std::string> {
    if (i + 1 >= args.size()) return fail("__container-run: " + option + " needs a value");
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.spec.argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "--network") {
      out.spec.network = true;
      continue;
    }
    auto v = value(a);
    if (!v) return tl::unexpected(v.error());
    if (a == "--backend") {
      if (*v == "docker") {
        out.backend = ContainerBackend::kDocker;
      } else if (*v == "podman") {
        out.backend = ContainerBackend::kPodman;
      } else {
        return fail("__container-run: unknown backend '" + *v + "' (docker or podman)");
      }
    } else if (a == "--socket") {
      out.socket = *v;
    } else if (a == "--image") {
      out.spec.image = *v;
    } else if (a == "--workdir") {
      out.spec.workdir = *v;
    } else if (a == "--user") {
      out.spec.user = *v;
    } else if (a == "--tmp-size") {
      out.spec.tmp_bytes = std::atoll(v->c_str());
    } else if (a == "--stop-timeout") {
      out.stop_grace_s = std::atoi(v->c_str());
    } else if (a == "--pids") {
      out.spec.pids_limit = std::atoll(v->c_str());
    } else if (a == "--memory") {
      out.spec.memory_bytes = std::atoll(v->c_str());
    } else if (a == "--cpu-seconds") {
      out.spec.cpu_seconds = std::atoll(v->c_str());
    } else if (a == "--open-files") {
      out.spec.open_files = std::atoll(v->c_str());
    } else if (a == "--mount") {
      size_t colon = v->find(':');
      if (colon == std::string::npos || colon == 0) {
        return fail("__container-run: --mount '" + *v + "': expected SRC:DST[:ro]");
      }
      Bind b{v->substr(0, colon), v->substr(colon + 1), false};
      if (b.target.size() > 3 && b.target.compare(b.target.size() - 3, 3, ":ro") == 0) {
        b.target.resize(b.target.size() - 3);
        b.read_only = true;
      }
      out.spec.binds.push_back(std::move(b));
    } else if (a == "--hide") {
      out.spec.hidden.push_back(*v);
    } else if (a == "--env") {
      const char* set = getenv(v->c_str());
      if (set) out.spec.env.push_back(*v + "=" + set);
    } else {
      return fail("__container-run: unknown option '" + a + "'");
    }
  }
  if (out.spec.argv.empty()) return fail("__container-run: no command after '--'");
  if (out.spec.image.empty()) out.spec.image = kDefaultSandboxImage;
  if (out.socket.empty()) out.socket = default_engine_socket(out.backend);
  return out;
}

Result<void> check_container_backend(ContainerBackend backend, const std::string& socket,
                                     const std::string& image) {
  EngineClient client(socket);
  std::string name = backend_name(backend);
  if (auto r = client.ping(); !r)
    return fail(name + " does not answer on " + socket + ": " + r.error().message);
  auto has = client.has_image(image);
  if (!has) return fail(name + ": " + has.error().message);
  if (!*has) {
    return fail(name + " has no image '" + image +
                "' (build baton's default with scripts/setup-containers, or set 'image')");
  }
  return ok();
}

}  // namespace baton::isolation
