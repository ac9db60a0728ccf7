#include "cli/rehearsal.h"

#include <filesystem>

#include "agents/rehearsal_env.h"
#include "rehearse/script.h"

namespace baton::cli {

namespace fs = std::filesystem;

Result<std::unique_ptr<Rehearsal>> Rehearsal::start(const std::string& script_path,
                                                    const std::string& run_dir) {
  auto script = rehearse::load_script(script_path);
  if (!script) return tl::unexpected(script.error());
  std::unique_ptr<Rehearsal> r(new Rehearsal());
  r->run_dir_ = run_dir;
  r->log_path_ = (fs::path(run_dir) / "rehearse.jsonl").string();
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) return fail("cannot create " + run_dir + ": " + ec.message());
  rehearse::ServerOptions options;
  options.log_path = r->log_path_;
  auto server = rehearse::ModelServer::start(std::move(*script), options);
  if (!server) return tl::unexpected(server.error());
  r->server_ = std::move(*server);
  return r;
}

void Rehearsal::attach_to(engine::RunOptions& options) {
  options.prepare_agent_process =
      [this](const std::string& agent, const engine::AttemptPlace& place,
             exec::ProcessSpec& process) { return prepare(agent, place, process); };
}

Result<void> Rehearsal::prepare(const std::string& agent, const engine::AttemptPlace& place,
                                exec::ProcessSpec& process) {
  std::string key = rehearse::session_api_key(place.task_id, agent, place.attempt);
  // One HOME per task and agent, kept across attempts, so that a retry with
  // resume_session finds the session the CLI stored there.
  fs::path home = fs::path(run_dir_) / "rehearse" / (place.task_id + "." + agent) / "home";
  std::error_code ec;
  fs::create_directories(home, ec);
  if (ec) return fail("cannot create " + home.string() + ": " + ec.message());
  auto env =
      agents::rehearsal_env(agent, server_->base_url(), key, fs::absolute(home).string(), "");
  if (!env) return tl::unexpected(env.error());
  if (auto w = agents::write_rehearsal_files(*env); !w) return w;
  for (const auto& [name, value] : env->env) process.env[name] = value;
  process.argv.insert(process.argv.end(), env->extra_args.begin(), env->extra_args.end());
  server_->set_workdir(key, process.cwd);
  return ok();
}

}  // namespace baton::cli
