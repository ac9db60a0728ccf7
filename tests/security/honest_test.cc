// Security suite, issue 12: a run must not report success it did not earn. Each case
// drives the built `baton` with real processes, supervisors, SQLite and (as root) a
// small tmpfs that fills up; see docs/security.md ("Make the run lie").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

bool has_exit_record(const std::string& path) {
  for (const json& r : control_records(path)) {
    if (r.value("record", "") == "exit") return true;
  }
  return false;
}

// The control file of attempt NUMBER of TASK in the newest run of DIR.
std::string control_file(const ScratchDir& dir, const std::string& task, int number = 1) {
  json r = last_run(dir);
  return r["run_dir"].get<std::string>() + "/logs/" + task + "." + std::to_string(number) +
         ".attempt";
}

// The attempt rows of TASK in RUN (status RUN --json), by number.
std::vector<json> attempts_of(const json& run, const std::string& task) {
  std::vector<json> out;
  for (const json& a : run["attempts"]) {
    if (a.value("task", a.value("task_id", "")) == task) out.push_back(a);
  }
  return out;
}

// A tmpfs of SIZE mounted on PATH (created when missing) for one test, unmounted
// (lazily: a supervisor may still hold a file) when it goes out of scope.
class Tmpfs {
 public:
  Tmpfs(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directories(path);
    const std::string options = "size=" + size;
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// --- 8: an attempt stopped from outside is a failed attempt, not a cancelled task ---

constexpr const char* kVictimFlow = R"(name: victim
tasks:
  - id: victim
    run: "echo started > started; sleep 60"
  - id: after
    dependencies: [victim]
    run: "echo after > after"
)";

TEST(HonestTest, SigtermToTheSupervisorFailsTheAttemptAndTheRun) {
  ScratchDir dir;
  dir.write("flow.yaml", kVictimFlow);
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  json started = started_record(control_file(dir, "victim"));
  ASSERT_TRUE(started.is_object());
  ASSERT_EQ(::kill(started["supervisor_pid"].get<int>(), SIGTERM), 0);
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "failed");
  json victim = task_of(r, "victim");
  EXPECT_EQ(victim["status"], "failed");
  EXPECT_NE(victim["reason"].get<std::string>().find("killed by signal 15"), std::string::npos)
      << victim["reason"];
  EXPECT_EQ(task_of(r, "after")["status"], "cancelled");
  EXPECT_FALSE(dir.exists("after"));
}

TEST(HonestTest, SigtermToTheSupervisorIsRetriedByPolicy) {
  ScratchDir dir;
  // The first attempt hangs until it is killed; the second succeeds at once.
  dir.write("flow.yaml", R"(name: victim
tasks:
  - id: victim
    retry: {max_attempts: 2}
    run: "echo x >> ledger; if [ $(wc -l < ledger) -ge 2 ]; then exit 0; fi; echo started > started; sleep 60"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  json started = started_record(control_file(dir, "victim"));
  ASSERT_TRUE(started.is_object());
  ASSERT_EQ(::kill(started["supervisor_pid"].get<int>(), SIGTERM), 0);
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "victim")["attempts"], 2);
  auto tries = attempts_of(r, "victim");
  ASSERT_EQ(tries.size(), 2u) << r.dump();
  EXPECT_EQ(tries[0]["status"], "failed") << tries[0].dump();
}

TEST(HonestTest, SigtermToTheTaskFailsTheAttemptAndTheRun) {
  ScratchDir dir;
  dir.write("flow.yaml", kVictimFlow);
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  json started = started_record(control_file(dir, "victim"));
  ASSERT_TRUE(started.is_object());
  ASSERT_EQ(::kill(started["child_pid"].get<int>(), SIGTERM), 0);
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "failed");
  EXPECT_EQ(task_of(r, "victim")["status"], "failed");
  EXPECT_NE(task_of(r, "victim")["reason"].get<std::string>().find("killed by signal 15"),
            std::string::npos);
  EXPECT_EQ(task_of(r, "after")["status"], "cancelled");
}

// The store fills the disk's last page: `baton run` exits 4, having cancelled the running
// attempt without being able to record it. The resume must run that task again, not
// inherit the cancellation and call the run a success. `fill` fills the disk on its
// first attempt only: when the failed commit is the one that records the first starts
// (they start before it, engine/run.cc), `fill` itself may be cancelled mid-write and
// run again on resume, and a second fill would fail the resume's commits too.
TEST(HonestTest, AttemptCancelledByAFailedStoreRunsAgainOnResume) {
  ScratchDir dir;
  Tmpfs disk(dir.path(), "3m");
  ASSERT_TRUE(disk.mounted()) << "needs root to mount a tmpfs";
  dir.write("flow.yaml", R"(name: full
tasks:
  - id: slow
    run: "echo started > started; while [ ! -f go ]; do sleep 0.02; done; echo slow-out"
  - id: after
    dependencies: [slow]
    run: "echo after > after"
  - id: fill
    run: "[ -f filled ] && exit 0; touch filled; while [ ! -f started ]; do sleep 0.02; done; head -c 8000000 /dev/zero > big 2>/dev/null; exit 0"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 4) << o.out << o.err;
  std::filesystem::remove(dir.path() + "/big");
  const std::string control = control_file(dir, "slow");
  ASSERT_TRUE(eventually([&] { return has_exit_record(control); }));
  EXPECT_NE(read_file(control).find("\"cancelled\""), std::string::npos) << read_file(control);
  dir.write("go", "");

  o = run_baton({"resume", "last", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  json slow = task_of(r, "slow");
  EXPECT_EQ(slow["status"], "success");
  EXPECT_EQ(slow["output"], "slow-out");
  EXPECT_EQ(slow["attempts"], 2);
  EXPECT_EQ(dir.read("after"), "after\n");  // the dependant really ran
  // The cancelled attempt's row says when its process started (its control file), not
  // when the first orchestrator prepared it or the resume recovered it.
  for (const json& a : attempts_of(r, "slow")) {
    if (a["number"] != 1) continue;
    EXPECT_NEAR(a["started_at"].get<double>(), started_record(control)["started_at"].get<double>(),
                1e-6);
  }
}

// --- 9: a write error to a log fails the attempt, never silently ---

TEST(HonestTest, FullDiskUnderTheLogsFailsTheAttemptInsteadOfATruncatedSuccess) {
  ScratchDir dir;
  Tmpfs disk(dir.path() + "/.baton/runs", "2m");
  ASSERT_TRUE(disk.mounted()) << "needs root to mount a tmpfs";
  dir.write("flow.yaml", R"(name: big
tasks:
  - id: big
    run: "head -c 20000000 /dev/zero | tr '\\000' x"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "failed");
  json big = task_of(r, "big");
  EXPECT_EQ(big["status"], "failed");
  EXPECT_NE(big["reason"].get<std::string>().find("No space left on device"), std::string::npos)
      << big["reason"];
  // The control file says so too, for a resume that judges it from there.
  json exit;
  for (const json& rec : control_records(control_file(dir, "big"))) {
    if (rec.value("record", "") == "exit") exit = rec;
  }
  ASSERT_TRUE(exit.is_object());
  EXPECT_NE(exit.value("output_error", ""), "");
}

// --- 10: ids that cannot name files are refused before anything runs ---

TEST(HonestTest, TooLongTaskIdIsAValidationError) {
  ScratchDir dir;
  const std::string id(250, 'a');
  dir.write("flow.yaml", "name: long\ntasks:\n  - id: " + id + "\n    run: \"true\"\n");
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("flow.yaml:3:9: error: task id '" + std::string(32, 'a') +
                       "...' is too long (250 characters; at most 128)"),
            std::string::npos)
      << o.err;
  o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_FALSE(dir.exists(".baton/state.db"));

  // 128 is allowed and runs.
  dir.write("ok.yaml",
            "name: ok\ntasks:\n  - id: " + std::string(128, 'b') + "\n    run: \"true\"\n");
  o = run_baton({"run", "ok.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
}

// An attempt that cannot even start (here its control file's name is taken by a
// directory) fails its task with the reason; the task is never left `running`.
TEST(HonestTest, AttemptThatCannotStartFailsItsTaskWithTheReason) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: nostart
tasks:
  - id: t
    run: "exit 1"
  - id: u
    dependencies: [t]
    run: "true"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  const std::string run_id = last_run(dir)["id"];
  std::filesystem::create_directories(control_file(dir, "t", 2));
  o = run_baton({"retry", run_id, "t", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "failed");
  json t = task_of(r, "t");
  EXPECT_EQ(t["status"], "failed");
  EXPECT_EQ(t["attempts"], 2);
  EXPECT_NE(t["reason"].get<std::string>().find("Is a directory"), std::string::npos) << t;
  EXPECT_EQ(task_of(r, "u")["status"], "cancelled");
}

// --- 11: invalid UTF-8 in a task's output never breaks --json ---

TEST(HonestTest, InvalidUtf8OutputIsReplacedInJsonAndKeptInTheLog) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: bytes
tasks:
  - id: cafe
    run: "printf 'caf\\351'"
)");
  Outcome o = run_baton({"run", "flow.yaml", "--json"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json printed = json::parse(o.out, nullptr, false);
  ASSERT_FALSE(printed.is_discarded()) << o.out;
  const std::string replaced = "caf\xEF\xBF\xBD";  // U+FFFD for the byte 0xE9
  json cafe;
  for (const json& t : printed["tasks"]) {
    if (t.value("id", "") == "cafe") cafe = t;
  }
  EXPECT_EQ(cafe["output"], replaced) << printed.dump();

  const std::string run_id = printed["id"];
  o = run_baton({"status", run_id, "--json"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json status = json::parse(o.out, nullptr, false);
  ASSERT_FALSE(status.is_discarded()) << o.out;
  EXPECT_EQ(task_of(status, "cafe")["output"], replaced);
  o = run_baton({"status", "--json"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;

  o = run_baton({"logs", run_id, "cafe"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "caf\351");  // the raw bytes, as the task printed them
}

// --- a supervisor that dies: its attempt is killed at once and retried ---

TEST(HonestTest, KilledSupervisorKillsItsAttemptAtOnceAndIsRetried) {
  ScratchDir dir;
  // Attempt 1 leaves a background process in its group and hangs; attempt 2 succeeds.
  dir.write("flow.yaml", R"(name: lost
tasks:
  - id: victim
    retry: {max_attempts: 2}
    run: "echo x >> ledger; if [ $(wc -l < ledger) -ge 2 ]; then exit 0; fi; sleep 300 & echo $! > grandchild; echo started > started; wait"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  json started = started_record(control_file(dir, "victim"));
  ASSERT_TRUE(started.is_object());
  const pid_t grandchild = std::stoi(dir.read("grandchild"));
  ASSERT_TRUE(process_alive(grandchild));
  ASSERT_EQ(::kill(started["supervisor_pid"].get<int>(), SIGKILL), 0);
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json r = last_run(dir);
  EXPECT_EQ(r["status"], "success");
  EXPECT_EQ(task_of(r, "victim")["attempts"], 2);
  auto tries = attempts_of(r, "victim");
  ASSERT_EQ(tries.size(), 2u) << r.dump();
  EXPECT_EQ(tries[0]["status"], "failed");
  const std::string error = tries[0].value("error", "");
  EXPECT_EQ(error.rfind("supervisor died", 0), 0u) << tries[0].dump();
  EXPECT_EQ(error.find("failed to start"), std::string::npos) << error;
  // Killed by the orchestrator when it saw the supervisor die, not at a later resume.
  EXPECT_TRUE(eventually([&] { return !process_alive(grandchild); }));
  EXPECT_TRUE(eventually([&] { return !process_alive(started["child_pid"].get<int>()); }));
}

// --- baton logs -f says when there is nothing more to follow ---

TEST(HonestTest, LogsFollowFailsLoudlyWhenTheOrchestratorDies) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: follow
tasks:
  - id: slow
    run: "echo started; echo started > started; while [ ! -f go ]; do sleep 0.02; done"
)");
  BatonProcess run({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  const std::string run_id = last_run(dir)["id"];
  const std::string control = control_file(dir, "slow");
  BatonProcess logs({"logs", run_id, "-f"}, dir.path());
  run.signal(SIGKILL);
  run.wait();
  Outcome o = logs.wait();
  EXPECT_EQ(o.exit_code, 8) << o.out << o.err;
  EXPECT_NE(o.err.find("orchestrator of run " + run_id), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("baton resume " + run_id), std::string::npos) << o.err;
  // The attempt outlived its orchestrator under its supervisor: let it end.
  dir.write("go", "");
  EXPECT_TRUE(eventually([&] { return has_exit_record(control); }));
}

}  // namespace
}  // namespace baton::testing
