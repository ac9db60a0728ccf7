// The adapter contract suite (docs/adapters.md): every case is a real `baton run` of a
// one-task workflow, run against every backend (tests/contract/backend.h). One service
// per backend for the whole suite (started on the backend's first case, stopped at the
// suite's end or by the health case); the time each backend took is printed at the end.
// A case a backend truly cannot do is skipped with the reason (Backend::cannot()).
#include <dirent.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "contract/backend.h"
#include "harness_util.h"

namespace baton::testing::contract {

namespace {

std::map<std::string, BackendFactory>& registry() {
  static std::map<std::string, BackendFactory> r;
  return r;
}

}  // namespace

bool register_backend(const std::string& name, BackendFactory factory) {
  registry()[name] = std::move(factory);
  return true;
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second();
}

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The pids of processes (other than this one) whose working directory is DIR or below.
std::vector<pid_t> processes_in(const std::string& dir) {
  std::vector<pid_t> out;
  std::string root = fs::weakly_canonical(dir).string();
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (dirent* e = ::readdir(proc)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    char cwd[PATH_MAX];
    ssize_t n = ::readlink(("/proc/" + std::string(e->d_name) + "/cwd").c_str(), cwd, sizeof cwd);
    if (n <= 0) continue;
    std::string path(cwd, static_cast<size_t>(n));
    if ((path == root || path.rfind(root + "/", 0) == 0) && process_alive(pid)) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

std::string flow(const RunSetup& s, const std::string& extra) {
  return "name: contract\ntasks:\n  - {id: t, agent: " + s.agent + ", parameters: {task: \"" +
         s.task + "\"}" + extra + "}\n";
}

json attempt_of(const json& run, int n) {
  if (!run.contains("attempts")) return json::object();
  for (const json& a : run["attempts"]) {
    if (a.value("task", "") == "t" && a.value("number", 0) == n) return a;
  }
  return json::object();
}

class ContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  struct Started {
    std::unique_ptr<Backend> backend;
    std::string error;  // why it cannot run here; "" when started
    bool stopped = false;
  };

  static std::map<std::string, Started>& started() {
    static std::map<std::string, Started> s;
    return s;
  }
  static std::map<std::string, double>& seconds() {
    static std::map<std::string, double> s;
    return s;
  }

  void SetUp() override {
    begin_ = Clock::now();
    Started& s = started()[GetParam()];
    if (!s.backend || s.stopped) {
      s.backend = make_backend(GetParam());
      ASSERT_TRUE(s.backend) << "no backend registered as " << GetParam();
      s.error = s.backend->start();
      s.stopped = false;
    }
    if (!s.error.empty()) GTEST_SKIP() << GetParam() << ": " << s.error;
  }

  void TearDown() override {
    seconds()[GetParam()] += std::chrono::duration<double>(Clock::now() - begin_).count();
  }

  static void TearDownTestSuite() {
    std::string line = "contract suite time per backend:";
    for (const auto& [name, s] : seconds()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s %.1f s", name.c_str(), s);
      line += buf;
    }
    std::printf("%s\n", line.c_str());
    for (auto& [name, s] : started()) {
      if (s.backend) s.backend->stop();
    }
    started().clear();
  }

  Backend& backend() { return *started()[GetParam()].backend; }
  void mark_stopped() { started()[GetParam()].stopped = true; }

  // Sets DIR up for BEHAVIOUR with EXTRA after the task's agent and prompt.
  RunSetup project(const ScratchDir& dir, Behaviour behaviour, const std::string& extra) {
    RunSetup s = backend().script(dir, behaviour);
    make_flow_repo(dir, flow(s, extra));
    return s;
  }

  Outcome run(const ScratchDir& dir, const RunSetup& s) {
    return run_baton({"run", "flow.yaml", "--plain"}, dir.path(), s.env, 240);
  }

  // Nothing of the case runs any more, here or at the service (bounded waits).
  void expect_nothing_left(const ScratchDir& dir) {
    std::vector<pid_t> left;
    EXPECT_TRUE(eventually([&] { return (left = processes_in(dir.path())).empty(); }, 20))
        << left.size() << " processes still run in the project, the first "
        << (left.empty() ? 0 : left.front());
    EXPECT_TRUE(eventually([&] { return !backend().running_remotely(); }, 20))
        << "the remote service still works on the task";
  }

 private:
  Clock::time_point begin_;
};

#define SKIP_IF_CANNOT(c)                                          \
  if (std::string why = backend().cannot(c); !why.empty()) {       \
    GTEST_SKIP() << GetParam() << " cannot do this case: " << why; \
  }

TEST_P(ContractTest, SuccessGivesTheAnswerAsOutput) {
  SKIP_IF_CANNOT(Case::kSuccess);
  ScratchDir dir;
  RunSetup s = project(dir, Behaviour::kSucceed, ", timeout: 2m");
  int before = backend().dispatches();
  Outcome o = run(dir, s);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  EXPECT_EQ(task_of(r, "t")["output"], kSuccessOutput);
  EXPECT_EQ(backend().dispatches(), before + 1);
}

TEST_P(ContractTest, FailuresAreClassified) {
  SKIP_IF_CANNOT(Case::kFailureClassified);
  struct Want {
    Behaviour behaviour;
    const char* error_class;
  };
  for (const Want& w :
       {Want{Behaviour::kFailAuth, "auth"}, Want{Behaviour::kFailRateLimit, "rate_limit"},
        Want{Behaviour::kFailTransient, "transient"},
        Want{Behaviour::kFailPermanent, "permanent"}}) {
    SCOPED_TRACE(w.error_class);
    ScratchDir dir;
    RunSetup s = project(dir, w.behaviour, ", timeout: 2m");
    Outcome o = run(dir, s);
    EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
    json r = last_run(dir);
    EXPECT_EQ(task_of(r, "t")["status"], "failed");
    EXPECT_EQ(attempt_of(r, 1).value("error_class", ""), w.error_class) << r.dump();
  }
}

TEST_P(ContractTest, ATransientFailureIsRetriedAndTheRetrySucceeds) {
  SKIP_IF_CANNOT(Case::kTransientRetried);
  ScratchDir dir;
  RunSetup s =
      project(dir, Behaviour::kTransientOnce, ", timeout: 2m, retry: {max_attempts: 2, delay: 0}");
  Outcome o = run(dir, s);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  EXPECT_EQ(task_of(r, "t")["attempts"], 2);
  EXPECT_EQ(attempt_of(r, 1).value("error_class", ""), "transient") << r.dump();
  EXPECT_EQ(task_of(r, "t")["output"], kSuccessOutput);
}

TEST_P(ContractTest, TimeoutEndsTheAttemptEverywhere) {
  SKIP_IF_CANNOT(Case::kTimeout);
  ScratchDir dir;
  RunSetup s = project(dir, Behaviour::kHang, ", timeout: 4s");
  Outcome o = run(dir, s);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "failed");
  EXPECT_EQ(attempt_of(r, 1).value("error_class", ""), "timeout") << r.dump();
  expect_nothing_left(dir);
}

TEST_P(ContractTest, CancelMidRunLeavesNothingRunning) {
  SKIP_IF_CANNOT(Case::kCancel);
  ScratchDir dir;
  RunSetup s = project(dir, Behaviour::kHang, ", timeout: 2m");
  BatonProcess baton({"run", "flow.yaml", "--plain"}, dir.path(), s.env);
  ASSERT_TRUE(eventually([&] { return backend().working(dir); }, 120));
  json r = last_run(dir);
  Outcome cancel = run_baton({"cancel", r.value("id", "")}, dir.path());
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  Outcome o = baton.wait(120);
  EXPECT_EQ(o.exit_code, 3) << o.out << o.err;
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "cancelled") << r.dump();
  EXPECT_EQ(attempt_of(r, 1).value("error_class", ""), "cancelled") << r.dump();
  expect_nothing_left(dir);
}

TEST_P(ContractTest, ResumeAfterAKilledRunReattachesWithoutASecondDispatch) {
  SKIP_IF_CANNOT(Case::kKillResume);
  ScratchDir dir;
  RunSetup s = project(dir, Behaviour::kSlowThenSucceed, ", timeout: 2m");
  int before = backend().dispatches();
  BatonProcess baton({"run", "flow.yaml", "--plain"}, dir.path(), s.env);
  ASSERT_TRUE(eventually([&] { return backend().working(dir); }, 120));
  baton.signal(SIGKILL);
  baton.wait();
  Outcome o = run_baton({"resume", "last", "--plain"}, dir.path(), s.env, 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  EXPECT_EQ(task_of(r, "t")["attempts"], 1);
  EXPECT_EQ(task_of(r, "t")["output"], kSuccessOutput);
  std::vector<json> events = events_of(dir, r.value("id", ""));
  EXPECT_EQ(count_kind(events, "attempt.reattached") + count_kind(events, "attempt.recovered"), 1);
  EXPECT_EQ(backend().dispatches(), before + 1);
}

TEST_P(ContractTest, ALateAnswerOfAGivenUpAttemptIsNotApplied) {
  SKIP_IF_CANNOT(Case::kLateResult);
  ScratchDir dir;
  RunSetup s = project(dir, Behaviour::kLateAfterTimeout,
                       ", timeout: 2s, retry: {max_attempts: 2, delay: 0}");
  int late = backend().late_answers();
  Outcome o = run(dir, s);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  // The given-up attempt's answer came after all; the run is looked at after it.
  ASSERT_TRUE(eventually([&] { return backend().late_answers() > late; }, 20));
  json r = last_run(dir);
  EXPECT_EQ(attempt_of(r, 1).value("error_class", ""), "timeout") << r.dump();
  EXPECT_EQ(task_of(r, "t")["attempts"], 2);
  EXPECT_EQ(task_of(r, "t")["output"], kSuccessOutput);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  expect_nothing_left(dir);
}

// With `baton serve` running for the project, the adapter follows the remote job by
// callbacks. The attempt's own callback is delivered twice while it works (at least once
// delivery, or a replay): the log records the second as a duplicate, ignored. After the
// run, a late one claiming the job failed is recorded in the ended attempt's inbox and
// never applied: the run's outcome and output stay as they were.
TEST_P(ContractTest, ADuplicateAndALateCallbackAreIgnored) {
  SKIP_IF_CANNOT(Case::kCallbacks);
  ScratchDir dir;
  RunSetup s = project(dir, Behaviour::kSlowCallingBack, ", timeout: 2m");
  BatonProcess serve({"serve", "--listen", "127.0.0.1:0"}, dir.path(), s.env);
  ASSERT_TRUE(eventually([&] { return !dir.read(".baton/serve/url").empty(); }, 30));
  std::string base = dir.read(".baton/serve/url");
  base = base.substr(0, base.find('\n'));
  BatonProcess baton({"run", "flow.yaml", "--plain"}, dir.path(), s.env);
  std::string callbacks;  // .baton/runs/RUN/callbacks/t.1
  ASSERT_TRUE(eventually(
      [&] {
        json r = last_run(dir);
        if (!r.contains("id") || !backend().working(dir)) return false;
        callbacks = ".baton/runs/" + r["id"].get<std::string>() + "/callbacks/t.1";
        return !dir.read(callbacks + ".secret").empty();
      },
      120))
      << "the attempt registered no callback (is baton serve's URL taken?)";
  const std::string run_id = last_run(dir)["id"];
  httplib::Client c(base);
  const httplib::Headers auth = {{"Authorization", "Bearer " + dir.read(callbacks + ".secret")}};
  const std::string path = "/v1/callbacks/" + run_id + "/t/1";
  const std::string working = backend().callback_body(dir, false).dump();
  for (int i = 0; i < 2; ++i) {
    auto res = c.Post(path, auth, working, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
  Outcome o = baton.wait(120);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  EXPECT_EQ(task_of(r, "t")["output"], kSuccessOutput);
  std::string log = read_file(attempt_of(r, 1).value("log", ""));
  size_t dup = log.find("duplicate");
  ASSERT_NE(dup, std::string::npos) << log;
  EXPECT_NE(log.substr(dup, log.find('\n', dup) - dup).find("ignored"), std::string::npos) << log;
  const size_t delivered = dir.read(callbacks + ".inbox").size();
  auto late = c.Post(path, auth, backend().callback_body(dir, true).dump(), "application/json");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 200) << late->body;
  EXPECT_EQ(json::parse(late->body, nullptr, false).value("late", false), true) << late->body;
  EXPECT_GT(dir.read(callbacks + ".inbox").size(), delivered);  // recorded as late
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  EXPECT_EQ(task_of(r, "t")["attempts"], 1);
  EXPECT_EQ(task_of(r, "t")["output"], kSuccessOutput);
  serve.signal(SIGTERM);
  serve.wait();
}

// Needs input is a gate (docs/adapters.md, "States"): the task waits with the agent's
// question, its attempt is recorded input_required (not a failure), and `baton approve
// --comment` answers it: the work goes on and its output holds the answer. That the
// answer reaches the same remote task, thread or kickoff is each adapter's own test
// (a2a_test.cc, tests/httpjob/input_test.cc): the answer is itself a send or a run at
// some services, so dispatches() cannot tell it from a second dispatch.
TEST_P(ContractTest, NeedsInputIsAGateAndTheAnswerContinuesTheWork) {
  SKIP_IF_CANNOT(Case::kNeedsInput);
  ScratchDir dir;
  RunSetup s = project(dir, Behaviour::kAskThenAnswer, ", timeout: 2m");
  BatonProcess baton({"run", "flow.yaml", "--plain"}, dir.path(), s.env);
  ASSERT_TRUE(eventually([&] { return backend().working(dir); }, 120));
  json r;
  ASSERT_TRUE(eventually(
      [&] {
        r = last_run(dir);
        return task_of(r, "t").value("status", "") == "waiting";
      },
      120))
      << r.dump();
  EXPECT_EQ(task_of(r, "t").value("reason", "").rfind("input required: ", 0), 0u) << r.dump();
  EXPECT_EQ(attempt_of(r, 1).value("status", ""), "input_required") << r.dump();
  Outcome approve =
      run_baton({"approve", "last", "t", "--comment", "the contract answer"}, dir.path());
  ASSERT_EQ(approve.exit_code, 0) << approve.out << approve.err;
  Outcome o = baton.wait(120);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  r = last_run(dir);
  EXPECT_EQ(task_of(r, "t")["status"], "success");
  EXPECT_NE(task_of(r, "t").value("output", "").find("the contract answer"), std::string::npos)
      << r.dump();
  expect_nothing_left(dir);
}

// Last, since it stops the backend (a later case would start it again).
TEST_P(ContractTest, HealthOfAStoppedBackendIsUnhealthy) {
  SKIP_IF_CANNOT(Case::kHealth);
  ScratchDir dir;
  project(dir, Behaviour::kSucceed, "");
  auto health = [&] {
    Outcome o = run_baton({"agents", "--health", "--json"}, dir.path(), backend().health_env(dir));
    json rows = json::parse(o.out, nullptr, false);
    for (const json& row : rows.is_array() ? rows : json::array()) {
      if (row.value("name", "") == backend().health_agent()) return row;
    }
    ADD_FAILURE() << backend().health_agent() << " is not listed: " << o.out << o.err;
    return json::object();
  };
  json up = health();
  EXPECT_TRUE(up.value("healthy", false)) << up.dump();
  backend().stop();
  mark_stopped();
  json down = health();
  EXPECT_FALSE(down.value("healthy", true)) << down.dump();
  EXPECT_FALSE(down.value("health", "").empty()) << down.dump();
}

// One line per backend: its name, registered in its own file (backend.h).
INSTANTIATE_TEST_SUITE_P(Adapters, ContractTest,
                         ::testing::Values("cli", "acp", "a2a-1.0", "a2a-0.3", "langgraph",
                                           "crewai"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace baton::testing::contract
