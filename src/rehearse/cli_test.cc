// The real agent CLIs against the server: each writes, edits and runs in a
// fresh git repository, some through injected faults. The CLIs are the ones
// scripts/setup-agents installs into .agents/ (versions in package.json); a
// test is skipped when its CLI is not installed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "rehearse/server.h"

namespace baton::rehearse {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kCliTimeout{180};

std::string cli_path(const std::string& name) {
  std::string path = std::string(BATON_SOURCE_DIR) + "/.agents/node_modules/.bin/" + name;
  return access(path.c_str(), X_OK) == 0 ? path : "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string make_temp_dir(const std::string& parent) {
  std::string pattern = parent + "/baton-rehearse-cli-XXXXXX";
  char* dir = mkdtemp(pattern.data());
  return dir ? std::string(dir) : "";
}

struct Outcome {
  int exit_code = -1;  // -1: killed (timeout) or not started
  std::string out;
  std::string err;
};

// Runs ARGV in CWD with exactly ENV, STDIN_TEXT on stdin, in its own process
// group; killed after kCliTimeout.
Outcome run_cli(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                const std::string& cwd, const std::string& stdin_text, const std::string& scratch) {
  std::string in_path = scratch + "/stdin", out_path = scratch + "/stdout",
              err_path = scratch + "/stderr";
  write_file(in_path, stdin_text);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
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
  Outcome outcome;
  if (pid < 0) return outcome;
  setpgid(pid, pid);
  auto waited = std::async(std::launch::async, [pid] {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  });
  if (waited.wait_for(kCliTimeout) != std::future_status::ready) kill(-pid, SIGKILL);
  int status = waited.get();
  kill(-pid, SIGKILL);  // helpers the CLI left behind
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  outcome.out = read_file(out_path);
  outcome.err = read_file(err_path);
  return outcome;
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) lines.push_back(j);
  }
  return lines;
}

// The steps every CLI plays: write, edit, run, answer.
constexpr const char* kWorkSteps = R"(
    - write_file: {path: hello.txt, content: "hi from mock\n"}
    - edit_file: {path: hello.txt, old: "hi from mock", new: "hi from baton"}
    - run: "cp hello.txt copy.txt"
    - text: done
)";

// A scratch directory with a git repository and a home, a server playing the
// script, and what a CLI needs to run there.
class AgentCliTest : public ::testing::Test {
 protected:
  void start(const std::string& agent, const std::string& faults = "") {
    binary_ = cli_path(agent == "kilocode" ? "kilo" : agent);
    if (binary_.empty()) GTEST_SKIP() << agent << " is not installed: run scripts/setup-agents";
    agent_ = agent;
    scratch_ = make_temp_dir("/tmp");
    ASSERT_FALSE(scratch_.empty());
    repo_ = scratch_ + "/repo";
    home_ = scratch_ + "/home";
    ASSERT_EQ(mkdir(repo_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(home_.c_str(), 0755), 0);
    std::string git = "git -C '" + repo_ + "' init -q && git -C '" + repo_ +
                      "' -c user.email=t@t -c user.name=t commit -q --allow-empty -m init";
    ASSERT_EQ(std::system(git.c_str()), 0);
    std::string yaml = "tasks:\n  build:\n" + faults + kWorkSteps;
    Result<Script> script = parse_script(yaml, "cli_test.yaml");
    ASSERT_TRUE(script) << script.error().message;
    ServerOptions options;
    options.log_path = scratch_ + "/requests.jsonl";
    Result<std::unique_ptr<ModelServer>> server = ModelServer::start(*script, options);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    key_ = session_api_key("build", agent, 1);
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (HasFailure() && !scratch_.empty()) {
      std::cerr << "kept " << scratch_ << " (requests.jsonl, stdout, stderr)\n";
    } else if (!scratch_.empty()) {
      std::system(("rm -rf '" + scratch_ + "'").c_str());
    }
    if (!codex_home_.empty()) std::system(("rm -rf '" + codex_home_ + "'").c_str());
  }

  std::vector<std::string> env(std::vector<std::string> extra) const {
    std::string bin = std::string(BATON_SOURCE_DIR) + "/.agents/node_modules/.bin";
    std::vector<std::string> e = {"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + home_,
                                  "LANG=C.UTF-8", "TERM=dumb"};
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
  }

  Outcome run(std::vector<std::string> args, std::vector<std::string> extra_env,
              const std::string& stdin_text = "") {
    args.insert(args.begin(), binary_);
    return run_cli(args, env(std::move(extra_env)), repo_, stdin_text, scratch_);
  }

  // The work was done: the file written, edited, and copied by a command.
  void expect_work_done() {
    EXPECT_EQ(read_file(repo_ + "/hello.txt"), "hi from baton\n");
    EXPECT_EQ(read_file(repo_ + "/copy.txt"), "hi from baton\n");
  }

  // The steps the server played for the session, in order (-1 = no step).
  std::vector<int> steps() const {
    std::vector<int> out;
    for (const RequestRecord& r : server_->requests()) {
      if (r.session == key_) out.push_back(r.step);
    }
    return out;
  }

  std::string agent_, binary_, scratch_, repo_, home_, key_, codex_home_;
  std::unique_ptr<ModelServer> server_;
};

std::string outcome_text(const Outcome& o) {
  return "exit " + std::to_string(o.exit_code) + "\nstdout:\n" + o.out.substr(0, 4000) +
         "\nstderr:\n" + o.err.substr(0, 4000);
}

std::vector<std::string> claude_env(const std::string& base_url, const std::string& key) {
  return {"ANTHROPIC_BASE_URL=" + base_url,
          "ANTHROPIC_API_KEY=" + key,
          "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
          "DISABLE_TELEMETRY=1",
          "DISABLE_ERROR_REPORTING=1",
          "DISABLE_AUTOUPDATER=1"};
}

TEST_F(AgentCliTest, ClaudeCodeWorksThroughErrorsAndADroppedConnection) {
  start("claude",
        "    - fault: 500\n    - fault: drop\n    - fault: {status: 529, retry_after_s: 1}\n");
  if (IsSkipped()) return;
  std::vector<std::string> e = claude_env(server_->base_url(), key_);
  e.push_back("CLAUDE_CODE_MAX_RETRIES=4");
  Outcome o = run({"-p", "--output-format", "stream-json", "--verbose", "--permission-mode",
                   "acceptEdits", "--allowedTools", "Bash"},
                  e, "create hello.txt");
  ASSERT_EQ(o.exit_code, 0) << outcome_text(o);
  expect_work_done();
  std::vector<json> events = json_lines(o.out);
  ASSERT_FALSE(events.empty());
  const json& result = events.back();
  EXPECT_EQ(result["type"], "result");
  EXPECT_EQ(result["is_error"], false);
  EXPECT_EQ(result["result"], "done");
  EXPECT_EQ(result["usage"]["input_tokens"], 400);
  EXPECT_EQ(result["usage"]["output_tokens"], 80);
  // One retry per injected fault: the 500, the dropped connection (no status) and the
  // 529. Claude Code may also retry a pooled connection that failed before its request
  // reached the server (no status either; seen once in CI): the steps below show the
  // server saw nothing more.
  int retries_500 = 0, retries_529 = 0, without_status = 0, other = 0;
  for (const json& ev : events) {
    if (ev.value("subtype", "") != "api_retry") continue;
    const json status = ev.value("error_status", json());
    if (status == 500) {
      ++retries_500;
    } else if (status == 529) {
      ++retries_529;
    } else if (status.is_null()) {
      ++without_status;
    } else {
      ++other;
    }
  }
  EXPECT_EQ(retries_500, 1) << o.out;
  EXPECT_EQ(retries_529, 1) << o.out;
  EXPECT_GE(without_status, 1) << o.out;  // the drop
  EXPECT_EQ(other, 0) << o.out;
  std::vector<int> played = steps();
  std::erase(played, -1);  // Claude Code's HEAD / connectivity check
  EXPECT_EQ(played, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
}

TEST_F(AgentCliTest, ClaudeCodeGivesUpOnAHangingServer) {
  start("claude", "    - fault: {kind: hang, times: forever}\n");
  if (IsSkipped()) return;
  std::vector<std::string> e = claude_env(server_->base_url(), key_);
  e.push_back("CLAUDE_CODE_MAX_RETRIES=0");
  e.push_back("API_TIMEOUT_MS=2000");
  Outcome o = run({"-p", "--output-format", "json"}, e, "create hello.txt");
  EXPECT_EQ(o.exit_code, 1) << outcome_text(o);
  json result = json::parse(o.out, nullptr, false);
  ASSERT_FALSE(result.is_discarded()) << outcome_text(o);
  EXPECT_EQ(result["is_error"], true);
  EXPECT_FALSE(std::ifstream(repo_ + "/hello.txt").good());
}

TEST_F(AgentCliTest, CodexPatchesAndRunsAfterAStalledStream) {
  start("codex", "    - fault: stall\n");
  if (IsSkipped()) return;
  // Under /tmp Codex will not create its sandbox helper and every write fails.
  codex_home_ = make_temp_dir("/var/tmp");
  ASSERT_FALSE(codex_home_.empty());
  write_file(codex_home_ + "/config.toml",
             "model = \"gpt-5.5\"\n"  // a model Codex knows: it offers apply_patch
             "model_provider = \"rehearse\"\n"
             "check_for_update_on_startup = false\n"
             "[model_providers.rehearse]\n"
             "name = \"rehearse\"\n"
             "base_url = \"" +
                 server_->base_url() +
                 "/v1\"\n"
                 "wire_api = \"responses\"\n"
                 "env_key = \"REHEARSE_API_KEY\"\n"
                 "stream_idle_timeout_ms = 2000\n"
                 "stream_max_retries = 2\n"
                 "[analytics]\n"
                 "enabled = false\n");
  Outcome o = run({"exec", "--json", "-s", "workspace-write", "create hello.txt"},
                  {"CODEX_HOME=" + codex_home_, "REHEARSE_API_KEY=" + key_});
  ASSERT_EQ(o.exit_code, 0) << outcome_text(o);
  expect_work_done();
  std::vector<json> events = json_lines(o.out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["type"], "turn.completed");
  EXPECT_EQ(events.back()["usage"]["input_tokens"], 400);
  bool patched = false, ran = false, answered = false;
  for (const json& ev : events) {
    if (ev.value("type", "") != "item.completed") continue;
    const json& item = ev["item"];
    patched = patched || (item["type"] == "file_change" && item["status"] == "completed");
    ran = ran || (item["type"] == "command_execution" && item["exit_code"] == 0);
    answered = answered || (item["type"] == "agent_message" && item["text"] == "done");
  }
  EXPECT_TRUE(patched && ran && answered) << o.out;
  EXPECT_EQ(steps(), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(AgentCliTest, GeminiCliWritesEditsRuns) {
  start("gemini");
  if (IsSkipped()) return;
  ASSERT_EQ(mkdir((home_ + "/.gemini").c_str(), 0755), 0);
  write_file(home_ + "/.gemini/settings.json",
             R"({"security":{"auth":{"selectedType":"gemini-api-key"}}})");
  Outcome o = run({"-p", "create hello.txt", "--output-format", "json", "--yolo", "--skip-trust",
                   "-m", "gemini-2.5-pro"},
                  {"GOOGLE_GEMINI_BASE_URL=" + server_->base_url(), "GEMINI_API_KEY=" + key_});
  ASSERT_EQ(o.exit_code, 0) << outcome_text(o);
  expect_work_done();
  json result = json::parse(o.out, nullptr, false);
  ASSERT_FALSE(result.is_discarded()) << outcome_text(o);
  EXPECT_EQ(result["response"], "done");
  EXPECT_EQ(result["stats"]["models"]["gemini-2.5-pro"]["tokens"]["input"], 400);
  std::vector<int> played = steps();
  std::erase(played, -1);  // checks without tools, if any
  EXPECT_EQ(played, (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(AgentCliTest, QwenCodeWritesEditsRuns) {
  start("qwen");
  if (IsSkipped()) return;
  Outcome o =
      run({"-p", "create hello.txt", "--auth-type", "openai", "--output-format", "json", "--yolo"},
          {"OPENAI_BASE_URL=" + server_->base_url() + "/v1", "OPENAI_API_KEY=" + key_,
           "OPENAI_MODEL=mock-model"});
  ASSERT_EQ(o.exit_code, 0) << outcome_text(o);
  expect_work_done();
  json result = json::parse(o.out, nullptr, false);
  ASSERT_TRUE(result.is_array()) << outcome_text(o);
  EXPECT_EQ(result.back()["result"], "done");
  EXPECT_EQ(result.back()["is_error"], false);
  EXPECT_EQ(result.back()["usage"]["input_tokens"], 400);
}

std::string provider_config(const std::string& base_url, const std::string& key, bool kilo) {
  json config = {
      {"provider",
       {{"mock",
         {{"npm", "@ai-sdk/openai-compatible"},
          {"name", "Mock"},
          {"options", {{"baseURL", base_url + "/v1"}, {"apiKey", key}}},
          {"models", {{"mock-model", {{"name", "Mock Model"}, {"tool_call", true}}}}}}}}},
      {"model", "mock/mock-model"},
      {"small_model", "mock/mock-model"},
      {"autoupdate", false},
      {"share", "disabled"},
      {"permission",
       {{"edit", "allow"},
        {"bash", "allow"},
        {"webfetch", "allow"},
        {"external_directory", "allow"}}}};
  if (kilo) config["enabled_providers"] = {"mock"};
  return config.dump();
}

TEST_F(AgentCliTest, OpencodeWritesEditsRuns) {
  start("opencode");
  if (IsSkipped()) return;
  Outcome o = run({"run", "--format", "json", "create hello.txt"},
                  {"OPENCODE_CONFIG_CONTENT=" + provider_config(server_->base_url(), key_, false),
                   "OPENCODE_DISABLE_MODELS_FETCH=1", "OPENCODE_DISABLE_AUTOUPDATE=1",
                   "OPENCODE_DISABLE_LSP_DOWNLOAD=1", "OPENCODE_DISABLE_SHARE=1"});
  ASSERT_EQ(o.exit_code, 0) << outcome_text(o);
  expect_work_done();
  std::string last_text;
  for (const json& ev : json_lines(o.out)) {
    if (ev.value("type", "") == "text") last_text = ev["part"]["text"];
  }
  EXPECT_EQ(last_text, "done");
  // Its title request carries no tools: answered, the script did not move.
  std::vector<int> played = steps();
  EXPECT_EQ(std::count(played.begin(), played.end(), -1), 1);
  std::erase(played, -1);
  EXPECT_EQ(played, (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(AgentCliTest, KiloWritesEditsRuns) {
  start("kilocode");
  if (IsSkipped()) return;
  Outcome o = run(
      {"run", "--auto", "--format", "json", "create hello.txt"},
      {"KILO_CONFIG_CONTENT=" + provider_config(server_->base_url(), key_, true),
       "KILO_DISABLE_MODELS_FETCH=1", "KILO_DISABLE_AUTOUPDATE=1", "KILO_DISABLE_LSP_DOWNLOAD=1",
       "KILO_DISABLE_SHARE=1", "KILO_TELEMETRY_LEVEL=off", "KILO_NO_DAEMON=1"});
  ASSERT_EQ(o.exit_code, 0) << outcome_text(o);
  expect_work_done();
}

TEST_F(AgentCliTest, CopilotWritesEditsRuns) {
  start("copilot");
  if (IsSkipped()) return;
  Outcome o = run(
      {"-p", "create hello.txt", "--allow-all-tools", "--no-ask-user", "--output-format", "json"},
      {"COPILOT_PROVIDER_BASE_URL=" + server_->base_url() + "/v1",
       "COPILOT_PROVIDER_API_KEY=" + key_, "COPILOT_MODEL=mock-model", "COPILOT_OFFLINE=true",
       "COPILOT_AUTO_UPDATE=false"});
  ASSERT_EQ(o.exit_code, 0) << outcome_text(o);
  expect_work_done();
  std::vector<json> events = json_lines(o.out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["type"], "result");
  EXPECT_EQ(events.back()["exitCode"], 0);
}

}  // namespace
}  // namespace baton::rehearse
