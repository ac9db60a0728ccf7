// Recording one case against the rehearsal server, and comparing recordings by
// what baton parses from them.
#include "recording/samples.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "agents/invoker.h"
#include "agents/output_parsing.h"
#include "agents/rehearsal_env.h"
#include "rehearse/server.h"

namespace baton::recording {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The CLI's executable for AGENT (Kilo's invoker runs `kilo`).
std::string executable_of(const std::string& agent) {
  const agents::Invoker* inv = agents::find_invoker(agent);
  return inv ? inv->executable() : agent;
}

// ARGV with SAMPLE's edits applied. An appended flag goes before the trailing
// prompt argument ("-", "--", or "--prompt=..."), else at the end.
std::vector<std::string> edit_argv(std::vector<std::string> argv, const SampleCase& sample) {
  for (const ArgEdit& e : sample.edits) {
    auto it = std::find(argv.begin(), argv.end(), e.flag);
    switch (e.kind) {
      case ArgEdit::Kind::kDrop:
        if (it == argv.end()) break;
        if (e.value == "1" && it + 1 != argv.end()) argv.erase(it + 1);
        argv.erase(std::find(argv.begin(), argv.end(), e.flag));
        break;
      case ArgEdit::Kind::kSet:
        if (it != argv.end() && it + 1 != argv.end()) *(it + 1) = e.value;
        break;
      case ArgEdit::Kind::kAppend: {
        auto at = std::find_if(argv.begin() + 1, argv.end(), [](const std::string& a) {
          return a == "-" || a == "--" || a.rfind("--prompt=", 0) == 0;
        });
        std::vector<std::string> add = {e.flag};
        if (!e.value.empty()) add.push_back(e.value);
        argv.insert(at, add.begin(), add.end());
        break;
      }
    }
  }
  return argv;
}

// Runs ARGV in CWD with exactly ENV and STDIN_TEXT, stdout and stderr to files in
// SCRATCH, in its own process group; the group is killed after TIMEOUT_S and once
// the CLI has exited (helpers it left behind).
Recording run_cli(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::string& cwd, const std::string& stdin_text, const std::string& scratch,
                  int timeout_s, Stream stream) {
  std::string in_path = scratch + "/stdin", out_path = scratch + "/stdout",
              err_path = scratch + "/stderr";
  std::ofstream(in_path, std::ios::binary) << stdin_text;
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  auto start = std::chrono::steady_clock::now();
  Recording rec;
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || chdir(cwd.c_str()) != 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  if (pid < 0) return rec;
  setpgid(pid, pid);
  int status = 0;
  bool killed = false;
  auto deadline = start + std::chrono::seconds(timeout_s);
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(-pid, SIGKILL);
  rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!killed && WIFEXITED(status)) rec.exit_code = WEXITSTATUS(status);
  rec.text = read_file(stream == Stream::kStdout ? out_path : err_path);
  return rec;
}

const char* stream_name(Stream s) { return s == Stream::kStdout ? "stdout" : "stderr"; }

}  // namespace

std::string agents_bin_dir(const std::string& source_dir) {
  return source_dir + "/.agents/node_modules/.bin";
}

bool cli_installed(const SampleCase& sample, const std::string& bin_dir) {
  return access((bin_dir + "/" + executable_of(sample.agent)).c_str(), X_OK) == 0;
}

std::string normalize_paths(std::string text,
                            const std::vector<std::pair<std::string, std::string>>& replacements) {
  auto sorted = replacements;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [from, to] : sorted) {
    if (from.empty()) continue;
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  }
  return text;
}

Result<Recording> record_sample(const SampleCase& sample, const std::string& bin_dir,
                                const std::string& scratch_parent) {
  const agents::Invoker* invoker = agents::find_invoker(sample.agent);
  if (!invoker) return fail("no invoker for agent '" + sample.agent + "'");
  std::string pattern = scratch_parent + "/baton-record-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    return fail("cannot create a directory under " + scratch_parent + ": " + strerror(errno));
  }
  std::string scratch = fs::canonical(pattern).string();
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{scratch};
  std::string repo = scratch + "/repo", home = scratch + "/home";
  fs::create_directories(repo);
  fs::create_directories(home);
  std::string git = "git -C '" + repo + "' init -q && git -C '" + repo +
                    "' -c user.email=t@t -c user.name=t commit -q --allow-empty -m init";
  if (std::system(git.c_str()) != 0) return fail("git init failed in " + repo);

  agents::Invocation inv;
  inv.prompt = sample.prompt;
  inv.workdir = repo;
  agents::Command command = invoker->build_command(inv);
  std::map<std::string, std::string> env = {
      {"PATH", bin_dir + ":/usr/local/bin:/usr/bin:/bin"},
      {"HOME", home},
      {"LANG", "C.UTF-8"},
      {"TERM", "dumb"},
  };
  std::unique_ptr<rehearse::ModelServer> server;
  std::string base_url = "http://127.0.0.1:0";
  if (sample.server) {
    std::string yaml = "tasks:\n  record:\n";
    std::istringstream steps(sample.steps);
    for (std::string line; std::getline(steps, line);) yaml += "    " + line + "\n";
    Result<rehearse::Script> script = rehearse::parse_script(yaml, sample.file + ".yaml");
    if (!script) return fail(sample.file + ": " + script.error().message);
    rehearse::ServerOptions options;
    options.threads = 16;
    auto started = rehearse::ModelServer::start(*script, options);
    if (!started) return fail(started.error().message);
    server = std::move(*started);
    base_url = server->base_url();
    std::string key = rehearse::session_api_key("record", sample.agent, 1);
    auto rehearsal = agents::rehearsal_env(sample.agent, base_url, key, home, sample.model);
    if (!rehearsal) return fail(rehearsal.error().message);
    if (auto w = agents::write_rehearsal_files(*rehearsal); !w) return fail(w.error().message);
    agents::apply_rehearsal(*rehearsal, &command);
  } else {
    env["TMPDIR"] = home;
  }
  for (const auto& [k, v] : command.env) env[k] = v;
  for (const auto& [k, v] : sample.env) {
    if (v.empty()) {
      env.erase(k);
    } else {
      env[k] = v;
    }
  }
  std::vector<std::string> argv = edit_argv(command.argv, sample);
  argv[0] = bin_dir + "/" + argv[0];
  std::vector<std::string> envp;
  for (const auto& [k, v] : env) envp.push_back(k + "=" + v);
  Recording rec = run_cli(argv, envp, repo, command.stdin_data.value_or(""), scratch,
                          sample.timeout_s, sample.stream);
  if (server) server->stop();
  std::string port = base_url.substr(base_url.rfind(':') + 1);
  // Claude Code names its project directory after the path, '/' and '.' as '-'.
  std::string repo_slug = repo;
  std::replace_if(
      repo_slug.begin(), repo_slug.end(), [](char c) { return !std::isalnum(c); }, '-');
  std::error_code ec;
  std::string agents_dir = fs::weakly_canonical(fs::path(bin_dir) / ".." / "..", ec).string();
  rec.text = normalize_paths(rec.text, {{repo, "WORKDIR"},
                                        {repo_slug, "WORKDIR-SLUG"},
                                        {home, "HOME"},
                                        {scratch, "TMPDIR"},
                                        {agents_dir, "AGENTS"},
                                        {"127.0.0.1:" + port, "127.0.0.1:PORT"}});
  return rec;
}

std::string parsed_summary(const SampleCase& sample, int exit_code, const std::string& text) {
  exec::ProcessResult p;
  p.status.kind = exec::ExitStatus::Kind::kExited;
  p.status.code = exit_code;
  (sample.stream == Stream::kStdout ? p.stdout_text : p.stderr_tail) = text;
  const agents::Invoker* inv = agents::find_invoker(sample.agent);
  json j;
  j["exit"] = exit_code;
  if (inv) {
    agents::AgentResult r = inv->parse(p);
    j["success"] = r.success;
    j["error_class"] = agents::to_string(r.error_class);
    j["text"] = r.text;
    j["usage"] = {r.usage.input_tokens, r.usage.output_tokens, r.usage.cached_tokens};
    j["num_turns"] = r.num_turns;
    j["session_id"] = r.session_id.empty() ? "absent" : "present";
    j["cost_usd"] = r.cost_usd ? "present" : "absent";
    j["retry_after_s"] = r.retry_after_s ? "present" : "absent";
    // The reason, without what varies between runs (ids, numbers of seconds).
    std::string error = r.error;
    if (!r.session_id.empty()) error = normalize_paths(error, {{r.session_id, "SESSION"}});
    static const std::regex kDecimal("[0-9]+\\.[0-9]+");  // "total retry wait time: 17.14 s"
    j["error"] = std::regex_replace(error, kDecimal, "N.N");
  }
  std::set<std::string> types;
  for (const json& ev : agents::parse_json_lines(text)) {
    if (ev.contains("type") && ev["type"].is_string()) types.insert(ev["type"].get<std::string>());
  }
  if (auto doc = agents::parse_json_document(text); doc && doc->is_array()) {
    for (const json& ev : *doc) {
      if (ev.is_object() && ev.contains("type") && ev["type"].is_string()) {
        types.insert(ev["type"].get<std::string>());
      }
    }
  }
  j["event_types"] = types;
  j["stream"] = stream_name(sample.stream);
  return j.dump(2);
}

std::string index_json(const std::map<std::string, int>& exit_codes) {
  json j = json::object();
  for (const SampleCase& c : sample_cases()) {
    auto it = exit_codes.find(c.file);
    if (it == exit_codes.end()) continue;
    j[c.file] = {{"agent", c.agent},
                 {"exit", it->second},
                 {"stream", stream_name(c.stream)},
                 {"what", c.what}};
  }
  return j.dump(2) + "\n";
}

Result<std::map<std::string, int>> parse_index(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("INDEX.json is not a JSON object");
  std::map<std::string, int> out;
  for (const auto& [file, entry] : j.items()) {
    if (!entry.is_object() || !entry.contains("exit") || !entry["exit"].is_number_integer()) {
      return fail("INDEX.json: '" + file + "' has no integer \"exit\"");
    }
    out[file] = entry["exit"].get<int>();
  }
  return out;
}

std::string compare_samples(const SampleCase& sample, int checked_in_exit,
                            const std::string& checked_in, const Recording& fresh) {
  std::string want = parsed_summary(sample, checked_in_exit, checked_in);
  std::string got = parsed_summary(sample, fresh.exit_code, fresh.text);
  if (want == got) return "";
  return sample.file + ": the pinned CLI's output no longer parses the same\nchecked in:\n" + want +
         "\nfresh:\n" + got + "\n";
}

}  // namespace baton::recording
