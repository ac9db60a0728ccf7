// The POST handlers of `baton serve`'s API that act on runs: start one (with an
// Idempotency-Key), cancel, pause, resume, retry a task, approve or reject a gate.
// Each is one of baton's own commands run by launcher.h; what the command printed
// becomes the problem's detail when it refuses.
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "serve/context.h"
#include "serve/launcher.h"
#include "store/audit.h"

namespace baton::serve {

namespace {

// "YYYYMMDD-HHMMSS-xxxx" as engine::new_run_id makes them (UTC, 4 random hex digits).
std::string new_run_id() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
  unsigned short r = 0;
  (void)!getrandom(&r, sizeof r, 0);
  char id[48];
  std::snprintf(id, sizeof id, "%s-%04x", when, r);
  return id;
}

// The request's JSON body: an object, or "{}" when the body is empty. False (and a
// 400 or 415 written) otherwise.
bool json_body(const httplib::Request& req, httplib::Response& res, nlohmann::json* out) {
  if (req.body.empty()) {
    *out = nlohmann::json::object();
    return true;
  }
  const std::string type = req.get_header_value("Content-Type");
  if (!type.empty() && type.rfind("application/json", 0) != 0) {
    send_problem(res, 415, "the body must be application/json");
    return false;
  }
  *out = nlohmann::json::parse(req.body, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    send_problem(res, 400, "the body must be a JSON object");
    return false;
  }
  return true;
}

// A string member NAME of BODY ("" when absent). False (and a 400 written) when it is
// there but not a string, or longer than MAX bytes.
bool string_member(const nlohmann::json& body, const char* name, size_t max, httplib::Response& res,
                   std::string* out) {
  out->clear();
  if (!body.contains(name) || body[name].is_null()) return true;
  if (!body[name].is_string() || body[name].get_ref<const std::string&>().size() > max) {
    send_problem(
        res, 400,
        std::string(name) + " must be a string of at most " + std::to_string(max) + " bytes");
    return false;
  }
  *out = body[name].get<std::string>();
  return true;
}

// Waits up to TIMEOUT_S for READY() to be true while the detached command PID runs.
// True when READY() became true. The store is looked at every 20 ms: the command
// records its run there, and no other event tells the server.
template <typename Ready>
bool wait_until(int pid, double timeout_s, Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    if (ready()) return true;
    if (!detached_running(pid)) return ready();
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string tail_of_file(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max) s = s.substr(s.size() - max);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string serve_dir(const Context& ctx, const char* sub) {
  std::string dir = ctx.options.state_dir + "/serve/" + sub;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return dir;
}

// Starts `baton ARGS` detached for run RUN_ID and waits until it holds the run (the
// run row names it) or exits. Writes the response: 202 with the run, or 409 with what
// it printed when it refused.
void start_orchestrator(Context& ctx, const std::string& run_id, std::vector<std::string> args,
                        const char* what, httplib::Response& res) {
  const std::string log = serve_dir(ctx, "logs") + "/" + run_id + ".log";
  auto pid = start_baton_detached(ctx.options.baton, args, ctx.options.root_dir, log);
  if (!pid) return send_problem(res, 500, pid.error().message);
  auto store = ctx.stores.acquire();
  if (!store) return send_problem(res, 500, store.error().message);
  bool holds = wait_until(*pid, 30, [&] {
    auto run = (*store)->get_run(run_id);
    return run && *run && (*run)->orchestrator_pid == *pid;
  });
  if (!holds && !detached_running(*pid)) {
    return send_problem(res, 409,
                        std::string("baton ") + what + " refused: " + tail_of_file(log, 2000));
  }
  auto run = run_json(**store, run_id);
  if (!run || !*run) return send_problem(res, 500, "cannot read run '" + run_id + "'");
  send_json(res, 202, **run);
}

// Answers with the run's JSON and STATUS (after a command succeeded).
void send_run(Context& ctx, const std::string& run_id, int status, httplib::Response& res) {
  auto store = ctx.stores.acquire();
  if (!store) return send_problem(res, 500, store.error().message);
  auto run = run_json(**store, run_id);
  if (!run) return send_problem(res, 500, run.error().message);
  if (!*run) return send_problem(res, 404, "no run '" + run_id + "'");
  send_json(res, status, **run);
}

// Runs `baton ARGS` to its end; false (and the problem written) when it failed.
bool run_command(Context& ctx, const std::vector<std::string>& args, httplib::Response& res) {
  auto out = run_baton(ctx.options.baton, args, ctx.options.root_dir, ctx.options.action_timeout_s);
  if (!out) {
    send_problem(res, 500, out.error().message);
    return false;
  }
  if (out->exit_code != 0) {
    std::string text = out->output;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    send_problem(res, out->exit_code == 2 || out->exit_code == 7 ? 409 : 500,
                 "baton " + args[0] + " exited " + std::to_string(out->exit_code) + ": " + text);
    return false;
  }
  return true;
}

// Whether run RUN's orchestrator is alive. One whose run has ended (success, failed,
// cancelled), paused or left waiting is finishing its exit (webhooks drained, the
// summary printed): wait for it up to 10 s, so an action right after the end is not
// refused as "running".
bool orchestrator_live(const store::RunRecord& run) {
  if (run.status == "running") return orchestrator_alive(run);
  for (int i = 0; i < 500 && orchestrator_alive(run); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return orchestrator_alive(run);
}

}  // namespace

void handle_create_run(Context& ctx, const RouteMatch&, const httplib::Request& req,
                       httplib::Response& res) {
  nlohmann::json body;
  if (!json_body(req, res, &body)) return;
  std::string workflow, text;
  if (!string_member(body, "workflow", 4096, res, &workflow)) return;
  if (!string_member(body, "workflow_text", ctx.options.max_body_bytes, res, &text)) return;
  if (workflow.empty() == text.empty()) {
    return send_problem(res, 400, "give either workflow (a file in the project) or workflow_text");
  }
  std::vector<std::string> inputs;
  if (body.contains("inputs") && !body["inputs"].is_null()) {
    if (!body["inputs"].is_object()) return send_problem(res, 400, "inputs must be an object");
    for (const auto& [key, value] : body["inputs"].items()) {
      if (key.empty() || key.find('=') != std::string::npos) {
        return send_problem(res, 400, "input names must be non-empty and without '='");
      }
      if (value.is_object() || value.is_array() || value.is_null()) {
        return send_problem(res, 400, "input '" + key + "' must be a string, number or boolean");
      }
      // One argument "--var=K=V": a value starting with '-' can never read as an option.
      inputs.push_back("--var=" + key + "=" +
                       (value.is_string() ? value.get<std::string>() : value.dump()));
    }
  }
  // The file: inside the project (no absolute path, no '..' out of it), or the text
  // saved under .baton/serve/workflows/ by its hash.
  std::string file;
  if (!workflow.empty()) {
    std::filesystem::path p(workflow);
    if (p.is_absolute() || workflow.find('\0') != std::string::npos) {
      return send_problem(res, 400, "workflow must be a path relative to the project");
    }
    std::error_code ec;
    auto root = std::filesystem::canonical(ctx.options.root_dir, ec);
    auto real = std::filesystem::weakly_canonical(root / p, ec);
    const std::string prefix = root.string() + "/";
    if (ec || real.string().compare(0, prefix.size(), prefix) != 0) {
      return send_problem(res, 400, "workflow '" + workflow + "' is outside the project");
    }
    if (!std::filesystem::is_regular_file(real, ec)) {
      return send_problem(res, 404, "no workflow file '" + workflow + "' in the project");
    }
    file = real.string();
  } else {
    file = serve_dir(ctx, "workflows") + "/" + store::sha256_hex(text).substr(0, 16) + ".yaml";
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return send_problem(res, 500, file + ": cannot write the workflow");
  }

  // Idempotency-Key: the first request with a key records the run id it chose in a
  // file made with link(2), which only one request can win; a later one with the same
  // key and body gets that run, with another body a 422.
  const std::string key = req.get_header_value("Idempotency-Key");
  std::string run_id = new_run_id();
  std::string key_file;
  if (!key.empty()) {
    if (key.size() > 256) return send_problem(res, 400, "Idempotency-Key is over 256 bytes");
    const std::string fingerprint = store::sha256_hex(req.body);
    key_file = serve_dir(ctx, "idempotency") + "/" + store::sha256_hex(key);
    const std::string tmp = key_file + "." + run_id + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << run_id << "\n" << fingerprint << "\n";
    }
    const bool won = ::link(tmp.c_str(), key_file.c_str()) == 0;
    ::unlink(tmp.c_str());
    if (!won) {
      std::ifstream in(key_file);
      std::string earlier, earlier_fingerprint;
      std::getline(in, earlier);
      std::getline(in, earlier_fingerprint);
      if (earlier_fingerprint != fingerprint) {
        return send_problem(res, 422, "Idempotency-Key was used with another request body");
      }
      auto store = ctx.stores.acquire();
      if (!store) return send_problem(res, 500, store.error().message);
      // The first request may still be starting its run.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      for (;;) {
        auto run = run_json(**store, earlier);
        if (run && *run) {
          res.set_header("Idempotent-Replayed", "true");
          return send_json(res, 200, **run);
        }
        if (!std::filesystem::exists(key_file) || std::chrono::steady_clock::now() > deadline) {
          return send_problem(res, 409,
                              "the first request with this Idempotency-Key failed or "
                              "is still starting; try again");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  std::vector<std::string> args{"run", file, "--plain", "--run-id", run_id};
  args.insert(args.end(), inputs.begin(), inputs.end());
  const std::string log = serve_dir(ctx, "logs") + "/" + run_id + ".log";
  auto pid = start_baton_detached(ctx.options.baton, args, ctx.options.root_dir, log);
  if (!pid) {
    if (!key_file.empty()) ::unlink(key_file.c_str());
    return send_problem(res, 500, pid.error().message);
  }
  auto store = ctx.stores.acquire();
  if (!store) return send_problem(res, 500, store.error().message);
  bool created = wait_until(*pid, 60, [&] {
    auto run = (*store)->get_run(run_id);
    return run && *run;
  });
  if (!created) {
    if (!key_file.empty()) ::unlink(key_file.c_str());
    if (detached_running(*pid)) return send_problem(res, 500, "the run did not start in 60 s");
    return send_problem(res, 400, "the workflow cannot run: " + tail_of_file(log, 4000));
  }
  auto run = run_json(**store, run_id);
  if (!run || !*run) return send_problem(res, 500, "cannot read run '" + run_id + "'");
  res.set_header("Location", "/api/v1/runs/" + run_id);
  send_json(res, 201, **run);
}

void handle_run_action(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                       httplib::Response& res) {
  const std::string& id = m.params.at("run");
  const std::string& action = m.params.at("action");
  {
    auto store = ctx.stores.acquire();
    if (!store) return send_problem(res, 500, store.error().message);
    auto run = find_run(**store, id, res);
    if (!run) return;
    const bool live = action == "pause" ? orchestrator_alive(*run) : orchestrator_live(*run);
    if (action == "resume") {
      if (live) return send_problem(res, 409, "run '" + id + "' is running");
      if (run->status == "success") {
        return send_problem(res, 409, "run '" + id + "' succeeded: nothing to resume");
      }
    } else if (action == "pause" && (!live || run->status != "running")) {
      return send_problem(res, 409,
                          "run '" + id + "' is " + run->status +
                              (live ? "" : " with no live orchestrator") +
                              ": only a running run can be paused");
    } else if (action == "cancel" && run->status != "running" && run->status != "paused" &&
               run->status != "waiting") {
      return send_problem(res, 409, "run '" + id + "' is " + run->status);
    }
  }
  if (action == "resume")
    return start_orchestrator(ctx, id, {"resume", id, "--plain"}, "resume", res);
  if (!run_command(ctx, {action, id}, res)) return;
  send_run(ctx, id, 202, res);
}

void handle_task_action(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                        httplib::Response& res) {
  const std::string& id = m.params.at("run");
  const std::string& task_id = m.params.at("task");
  const std::string& action = m.params.at("action");
  nlohmann::json body;
  if (!json_body(req, res, &body)) return;
  std::string comment;
  if (!string_member(body, "comment", 64 << 10, res, &comment)) return;
  bool downstream = true;
  if (body.contains("include_downstream")) {
    if (!body["include_downstream"].is_boolean()) {
      return send_problem(res, 400, "include_downstream must be true or false");
    }
    downstream = body["include_downstream"].get<bool>();
  }
  bool live = false;
  {
    auto store = ctx.stores.acquire();
    if (!store) return send_problem(res, 500, store.error().message);
    auto run = find_run(**store, id, res);
    if (!run) return;
    auto task = (*store)->get_task(id, task_id);
    if (!task) return send_problem(res, 500, task.error().message);
    if (!*task) return send_problem(res, 404, "run '" + id + "' has no task '" + task_id + "'");
    live = orchestrator_live(*run);
    if (action == "retry") {
      if (live) return send_problem(res, 409, "run '" + id + "' is running: retry once it ended");
      if ((*task)->status != "failed" && (*task)->status != "cancelled") {
        return send_problem(res, 409,
                            "task '" + task_id + "' is " + (*task)->status +
                                ": only a failed or cancelled task can be retried");
      }
    } else if ((*task)->status != "waiting") {
      return send_problem(
          res, 409, "task '" + task_id + "' is " + (*task)->status + ", not waiting for approval");
    }
  }
  if (action == "retry") {
    std::vector<std::string> args{"retry", id, task_id, "--plain"};
    if (!downstream) args.push_back("--no-downstream");
    return start_orchestrator(ctx, id, args, "retry", res);
  }
  std::vector<std::string> args{"approve", id, task_id};
  if (action == "reject") {
    args.push_back("--reject");
    if (!comment.empty()) args.push_back("--reason=" + comment);
  } else if (!comment.empty()) {
    args.push_back("--comment=" + comment);  // one argument: never read as an option
  }
  if (!run_command(ctx, args, res)) return;
  // With no orchestrator (the run was left waiting), the decision is recorded in the
  // task row: resume the run so it acts on it, as the dashboard's user expects.
  if (!live) return start_orchestrator(ctx, id, {"resume", id, "--plain"}, "resume", res);
  send_run(ctx, id, 200, res);
}

}  // namespace baton::serve
