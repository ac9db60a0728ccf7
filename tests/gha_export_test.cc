// `baton export github-actions` end to end, without GitHub: a small driver parses the
// generated workflow and runs its jobs here in `needs` order, each in a fresh copy of
// the repository (the checkout) with its own RUNNER_TEMP, artifacts simulated as
// directories, its `run:` steps under bash as GitHub runs them; then every task's
// status and output must equal those of a plain `baton run` of the same workflow.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gtest/gtest.h"
#include "harness_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `bash --noprofile --norc -eo pipefail SCRIPT` (GitHub's `shell: bash`) in CWD
// with exactly ENV; output appended to LOG. Returns the exit code.
int run_bash(const std::string& script, const std::string& cwd,
             const std::map<std::string, std::string>& env, const std::string& log) {
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    if (chdir(cwd.c_str()) != 0) _exit(127);
    const char* argv[] = {"bash",     "--noprofile",  "--norc", "-eo",
                          "pipefail", script.c_str(), nullptr};
    execve("/bin/bash", const_cast<char**>(argv), envp.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void copy_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks |
               fs::copy_options::overwrite_existing);
}

// What the driver knows of GitHub's expressions: exactly those the exporter writes.
// Anything else in a place GitHub evaluates fails the test.
class Expressions {
 public:
  Expressions(std::string temp, std::string inputs_json)
      : temp_(std::move(temp)), inputs_(std::move(inputs_json)) {}

  std::string substitute(const std::string& text) const {
    std::string out;
    size_t at = 0;
    for (size_t open = text.find("${{", at); open != std::string::npos;
         open = text.find("${{", at)) {
      size_t close = text.find("}}", open);
      EXPECT_NE(close, std::string::npos) << text;
      if (close == std::string::npos) return text;
      std::string expr = text.substr(open + 3, close - open - 3);
      expr.erase(0, expr.find_first_not_of(' '));
      expr.erase(expr.find_last_not_of(' ') + 1);
      out += text.substr(at, open - at);
      if (expr == "runner.temp") {
        out += temp_;
      } else if (expr == "toJSON(inputs)") {
        out += inputs_;
      } else if (expr.rfind("secrets.", 0) == 0) {
        out += "";  // no secret is set here
      } else {
        ADD_FAILURE() << "unexpected expression ${{ " << expr << " }}";
      }
      at = close + 2;
    }
    return out + text.substr(at);
  }

 private:
  std::string temp_, inputs_;
};

struct JobRun {
  bool ok = true;
  std::string log;
};

// Runs the generated workflow WORKFLOW against REPO (a git repository) under BASE.
class Driver {
 public:
  Driver(const YAML::Node& workflow, std::string repo, fs::path base, std::string inputs_json)
      : wf_(workflow),
        repo_(std::move(repo)),
        base_(std::move(base)),
        inputs_(std::move(inputs_json)) {
    fs::create_directories(base_ / "artifacts");
  }

  fs::path artifact(const std::string& name) const { return base_ / "artifacts" / name; }

  // Every job once, each after the jobs it needs (GitHub's order up to parallelism).
  std::map<std::string, JobRun> run_all() {
    std::map<std::string, JobRun> done;
    std::vector<std::string> ids;
    for (const auto& job : wf_["jobs"]) ids.push_back(job.first.as<std::string>());
    while (done.size() < ids.size()) {
      bool progressed = false;
      for (const std::string& id : ids) {
        if (done.count(id)) continue;
        bool ready = true;
        for (const auto& need : wf_["jobs"][id]["needs"]) {
          ready = ready && done.count(need.as<std::string>());
        }
        if (!ready) continue;
        done[id] = run_job(id);
        progressed = true;
      }
      if (!progressed) {
        ADD_FAILURE() << "jobs wait for each other";
        break;
      }
    }
    return done;
  }

 private:
  JobRun run_job(const std::string& id) {
    const YAML::Node job = wf_["jobs"][id];
    // `if:` is always ${{ !cancelled() }} or ${{ always() }} (or absent): the run is
    // never cancelled here, so every job runs.
    if (job["if"]) {
      std::string cond = job["if"].as<std::string>();
      EXPECT_TRUE(cond == "${{ !cancelled() }}" || cond == "${{ always() }}") << cond;
    }
    const fs::path dir = base_ / "jobs" / id;
    const fs::path ws = dir / "workspace";
    const fs::path temp = dir / "temp";
    fs::create_directories(temp);
    Expressions expr(temp.string(), inputs_);
    std::map<std::string, std::string> env{
        {"PATH", fs::path(BATON_BINARY).parent_path().string() + ":/usr/bin:/bin"},
        {"HOME", dir.string()},
        {"RUNNER_TEMP", temp.string()},
        {"GITHUB_WORKSPACE", ws.string()},
        {"LANG", "C.UTF-8"}};
    for (const YAML::Node level : {YAML::Node(wf_), job}) {
      if (!level["env"]) continue;
      for (const auto& kv : level["env"]) {
        env[kv.first.as<std::string>()] = expr.substitute(kv.second.as<std::string>());
      }
    }
    JobRun result;
    result.log = (dir / "log").string();
    for (const auto& step : job["steps"]) {
      bool always = step["if"] && step["if"].as<std::string>() == "${{ always() }}";
      if (!result.ok && !always) continue;
      bool ok = true;
      if (step["uses"]) {
        ok = run_action(step["uses"].as<std::string>(), step["with"], expr, ws);
      } else {
        EXPECT_EQ(step["shell"].as<std::string>(), "bash");
        const std::string script = (dir / "step.sh").string();
        std::ofstream(script) << step["run"].as<std::string>();
        ok = run_bash(script, ws.string(), env, result.log) == 0;
      }
      result.ok = result.ok && ok;
    }
    return result;
  }

  bool run_action(const std::string& uses, const YAML::Node& with, const Expressions& expr,
                  const fs::path& ws) {
    if (uses == "actions/checkout@v4") {  // a fresh clone: the repository as committed
      return run_command({"git", "clone", "-q", repo_, ws.string()}, "/").exit_code == 0;
    }
    const fs::path path = expr.substitute(with["path"].as<std::string>());
    if (uses == "actions/upload-artifact@v4") {
      std::error_code ec;
      if (!fs::is_directory(path, ec) || fs::is_empty(path, ec)) return false;
      copy_tree(path, artifact(with["name"].as<std::string>()));
      return true;
    }
    EXPECT_EQ(uses, "actions/download-artifact@v4");
    if (with["name"]) {
      fs::path from = artifact(with["name"].as<std::string>());
      if (!fs::exists(from)) return false;
      copy_tree(from, path);
      return true;
    }
    std::string pattern = with["pattern"].as<std::string>();  // "PREFIX*"
    EXPECT_EQ(pattern.back(), '*');
    pattern.pop_back();
    for (const auto& entry : fs::directory_iterator(base_ / "artifacts")) {
      std::string name = entry.path().filename().string();
      if (name.rfind(pattern, 0) == 0) copy_tree(entry.path(), path / name);
    }
    return true;
  }

  YAML::Node wf_;
  std::string repo_;
  fs::path base_;
  std::string inputs_;
};

struct TaskEnd {
  std::string status, output;
  bool operator==(const TaskEnd&) const = default;
};

void PrintTo(const TaskEnd& t, std::ostream* os) { *os << t.status << " '" << t.output << "'"; }

// A repository under DIR/repo holding FLOW as flows/NAME.yaml and its export as
// .github/workflows/NAME.yml, both committed; returns the generated workflow.
YAML::Node export_in_repo(const ScratchDir& dir, const std::string& name, const std::string& flow) {
  const std::string repo = dir.path() + "/repo";
  fs::create_directories(repo);
  git_sh(repo, "git init -q -b main && mkdir flows");
  std::ofstream(repo + "/flows/" + name + ".yaml") << flow;
  git_sh(repo, "git add -A && git commit -qm flow");
  Outcome exported = run_baton({"export", "github-actions", "flows/" + name + ".yaml", "-o",
                                ".github/workflows/" + name + ".yml"},
                               repo);
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  git_sh(repo, "git add -A && git commit -qm workflow");
  return YAML::LoadFile(repo + "/.github/workflows/" + name + ".yml");
}

// Exports tests/workflows/gha/NAME.yaml, runs it with the driver and with a plain
// `baton run` (inputs INPUTS, as -i and as toJSON(inputs)), and compares every task.
void compare_with_plain_run(const std::string& name,
                            const std::map<std::string, std::string>& inputs) {
  ScratchDir dir;
  const std::string flow =
      read_file(fs::path(BATON_SOURCE_DIR) / "tests/workflows/gha" / (name + ".yaml"));
  const std::string repo = dir.path() + "/repo";
  YAML::Node generated = export_in_repo(dir, name, flow);
  ASSERT_TRUE(generated["jobs"]);

  // The plain run, in its own clone.
  const std::string plain = dir.path() + "/plain";
  ASSERT_EQ(run_command({"git", "clone", "-q", repo, plain}, "/").exit_code, 0);
  std::vector<std::string> args{"run", "flows/" + name + ".yaml", "--plain"};
  json inputs_json = json::object();
  for (const auto& [k, v] : inputs) {
    args.push_back("-i");
    args.push_back(k + "=" + v);
    inputs_json[k] = v;
  }
  Outcome local = run_baton(args, plain);
  json status = json::parse(run_baton({"status", "last", "--json"}, plain).out);
  // Hooks ("hook:on_complete:on_complete.1") run in the finishing job.
  auto ends = [](const json& status, bool hooks) {
    std::map<std::string, TaskEnd> out;
    for (const auto& t : status["tasks"]) {
      if ((t["id"].get<std::string>().rfind("hook:", 0) == 0) == hooks) {
        out[t["id"]] = {t["status"], t["output"]};
      }
    }
    return out;
  };
  std::map<std::string, TaskEnd> expected = ends(status, false);

  Driver driver(generated, repo, dir.path() + "/gha", inputs_json.dump());
  auto jobs = driver.run_all();
  std::map<std::string, TaskEnd> actual;
  for (const auto& [job, run] : jobs) {
    if (job == "baton_finish") continue;
    std::string task = generated["jobs"][job]["env"]["BATON_TASK"].as<std::string>();
    fs::path result = driver.artifact("baton-task-" + job) / "results" / (task + ".json");
    ASSERT_TRUE(fs::exists(result)) << job << ":\n" << read_file(run.log);
    json r = json::parse(read_file(result));
    actual[task] = {r["status"], r["output"]};
    // A job fails exactly when its task did not end well.
    bool task_ok = r["status"] == "success" || r["status"] == "skipped";
    EXPECT_EQ(run.ok, task_ok) << job << ":\n" << read_file(run.log);
  }
  EXPECT_EQ(actual, expected);
  // The finishing job ran the end hooks and agrees with the plain run's end...
  const JobRun& finish = jobs["baton_finish"];
  EXPECT_EQ(finish.ok, local.exit_code == 0) << read_file(finish.log);
  Outcome finished =
      run_baton({"status", "last", "--json"}, dir.path() + "/gha/jobs/baton_finish/workspace");
  json finish_status = json::parse(finished.out);
  EXPECT_EQ(ends(finish_status, true), ends(status, true));
  EXPECT_EQ(ends(finish_status, false), expected);  // every result imported as it was
  // ...and exported every job's audit chain, each verified.
  std::set<std::string> audits;
  for (const auto& e : fs::directory_iterator(driver.artifact("baton-audit"))) {
    audits.insert(e.path().filename().string());
    EXPECT_GT(fs::file_size(e.path()), 0u);
  }
  EXPECT_EQ(audits.size(), jobs.size());
  EXPECT_TRUE(audits.count("baton-finish.jsonl"));
  EXPECT_EQ(read_file(finish.log).find("chain broken"), std::string::npos) << read_file(finish.log);
}

TEST(GithubActionsExportTest, DiamondMatchesAPlainRun) { compare_with_plain_run("diamond", {}); }

// The attack: an input that is shell and GitHub expression syntax reaches the jobs
// through toJSON(inputs) and the environment only, and is a value in both runs.
TEST(GithubActionsExportTest, HostileInputIsAValueInEveryJob) {
  const std::string marker = "/tmp/baton-gha-pwned-" + std::to_string(getpid());
  compare_with_plain_run("diamond", {{"greeting", "hi $(touch " + marker + ") `touch " + marker +
                                                      "` ${{ secrets.X }} '\"; touch " + marker}});
  EXPECT_FALSE(fs::exists(marker));
}

TEST(GithubActionsExportTest, ConditionsSkipsAndFailuresMatchAPlainRun) {
  compare_with_plain_run("conditions", {});
  compare_with_plain_run("conditions", {{"mode", "release"}});
}

TEST(GithubActionsExportTest, TimeoutsAndRetriesMatchAPlainRun) {
  compare_with_plain_run("timeouts", {});
}

// The attack: one task leaves a symbolic link to a directory outside the checkout, a
// parallel task a file under a directory of the same name; the job downstream of both
// unpacks their files. Links never travel between jobs, so nothing lands outside.
TEST(GithubActionsExportTest, TwoTasksCannotWriteOutsideTheCheckoutThroughALink) {
  ScratchDir dir;
  const std::string outside = dir.path() + "/outside";
  fs::create_directories(outside);
  YAML::Node generated = export_in_repo(dir, "links", R"(name: links
settings: {on_failure: continue}
inputs:
  target: {required: true}
tasks:
  - {id: link, run: 'ln -s "${target}" escape && echo linked'}
  - {id: write, run: 'mkdir -p escape && echo owned > escape/pwned && echo written'}
  - {id: join, dependencies: [link, write], run: 'cat escape/pwned'}
)");
  Driver driver(generated, dir.path() + "/repo", dir.path() + "/gha",
                json{{"target", outside}}.dump());
  auto jobs = driver.run_all();
  EXPECT_TRUE(jobs["link"].ok) << read_file(jobs["link"].log);
  EXPECT_TRUE(jobs["write"].ok) << read_file(jobs["write"].log);
  EXPECT_TRUE(jobs["join"].ok) << read_file(jobs["join"].log);  // escape/ is a plain directory
  EXPECT_TRUE(fs::is_empty(outside));
}

}  // namespace
}  // namespace baton::testing
