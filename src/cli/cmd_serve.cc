// baton serve [--listen HOST:PORT] [--token-file F]: the project as a service (HTTP
// API, live events, dashboard, metrics) until SIGINT or SIGTERM. serve/server.h does
// the work; this file reads the options, the token and the signals.
//
// Exit codes: 0 after SIGINT/SIGTERM; 2 bad options (a non-loopback address without
// --token-file, an unreadable token file); 4 the store or the socket failed.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "agents/invoker.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/paths.h"
#include "cli/store_location.h"
#include "serve/auth.h"
#include "serve/server.h"
#include "util/self_exe.h"
#include "webhooks/worker.h"

namespace baton::cli {

namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8470";
  std::string token_file;
  std::vector<std::string> allow_hosts;
  size_t max_body_bytes = 1u << 20;
  size_t max_sse_clients = 256;
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (127.0.0.1). False when it is none of them.
bool split_listen(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->empty()) *host = "127.0.0.1";
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  const std::string p = listen.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *port = std::stoi(p);
  return *port <= 65535;
}

int serve_command(const ServeArgs& args) {
  serve::ServeOptions options;
  if (!split_listen(args.listen, &options.host, &options.port)) {
    std::fprintf(stderr, "baton: --listen %s: use HOST:PORT, e.g. 127.0.0.1:8470\n",
                 args.listen.c_str());
    return kExitUsage;
  }
  if (!serve::is_loopback(options.host) && args.token_file.empty()) {
    std::fprintf(stderr,
                 "baton: --listen %s is reachable from other machines: give --token-file F "
                 "(a token of your own, mode 0600) to bind there\n",
                 args.listen.c_str());
    return kExitUsage;
  }
  options.root_dir = project_root();
  options.state_dir = state_dir(options.root_dir);
  options.db_path = store_location(options.state_dir);
  // The runs it starts and the commands it runs use the same store.
  if (shared_store()) setenv("BATON_STORE", configured_store().c_str(), 1);
  options.baton = self_executable().value_or("baton");
  options.allowed_hosts = args.allow_hosts;
  options.max_body_bytes = args.max_body_bytes;
  options.max_sse_clients = args.max_sse_clients;
  // The config: its webhooks (the server sends the store's deliveries as baton run
  // does), its roles and custom agents (a run's graph loads its workflow as run does).
  auto config = load_project_config(options.root_dir);
  if (!config) return kExitUsage;
  options.webhooks = webhooks::endpoint_specs(config->webhooks, options.root_dir);
  options.workflow_options.config_roles = config->roles;
  options.workflow_options.config_agent_limits = config->agent_limits;
  options.workflow_options.config_single_agent = config->single_agent;
  options.workflow_options.config_single_agent_pause_s = config->single_agent_pause_s;
  options.workflow_options.known_agents = agents::known_agent_names();
  if (auto r = write_state_gitignore(options.state_dir); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  const std::string token_file =
      args.token_file.empty() ? options.state_dir + "/serve/token" : args.token_file;
  auto token = serve::load_or_create_token(token_file, args.token_file.empty());
  if (!token) {
    std::fprintf(stderr, "baton: %s\n", token.error().message.c_str());
    return kExitUsage;
  }
  options.token = token->value;

  // SIGINT and SIGTERM are taken by one thread (sigwait), blocked in every other.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  serve::Server server(options);
  if (auto r = server.bind(); !r) {
    std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
    return kExitInternal;
  }
  const bool v6 = options.host.find(':') != std::string::npos;
  const std::string base = "http://" + (v6 ? "[" + options.host + "]" : options.host) + ":" +
                           std::to_string(server.port());
  std::printf("baton serve: listening on %s for %s\n", base.c_str(), options.root_dir.c_str());
  if (token->created) {
    std::printf("baton serve: open %s/#token=%s\n", base.c_str(), token->value.c_str());
    std::printf("baton serve: (the token is shown once; it is kept in %s)\n", token_file.c_str());
  } else {
    std::printf("baton serve: open %s/ (token in %s)\n", base.c_str(), token_file.c_str());
  }
  std::fflush(stdout);
  // Where attempts send their callbacks (docs/serve.md, "Callbacks"): written once the
  // server listens, removed when it stops; an attempt checks /healthz before using it.
  const std::string url_file = options.state_dir + "/serve/url";
  {
    std::ofstream url(url_file + ".tmp", std::ios::trunc);
    url << base << "\n";
    url.close();
    std::rename((url_file + ".tmp").c_str(), url_file.c_str());
  }
  std::thread waiter([&] {
    int signo = 0;
    sigwait(&stop_signals, &signo);
    server.stop();
  });
  server.run();
  // run() also returns when the listener fails; wake the waiter either way.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  std::remove(url_file.c_str());
  return kExitSuccess;
}

}  // namespace

void add_serve(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve the project's runs: HTTP API, live events, dashboard, metrics");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--token-file", args->token_file,
                  "read the bearer token from F (default: .baton/serve/token, made on first "
                  "start); required with a non-loopback --listen");
  cmd->add_option("--allow-host", args->allow_hosts,
                  "another Host header value to accept (a name the server is reached by)");
  cmd->add_option("--max-body-bytes", args->max_body_bytes, "larger request bodies get 413")
      ->capture_default_str();
  cmd->add_option("--max-sse-clients", args->max_sse_clients,
                  "event streams served at once; more get 503")
      ->capture_default_str();
  cmd->callback([=] { *exit_code = serve_command(*args); });
}

}  // namespace baton::cli
