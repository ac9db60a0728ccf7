// Tests of the run lock (Store::acquire_run_lock), the process identity it relies
// on, and cancel_abandoned_run(), with real processes and real SQLite files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "store/audit.h"
#include "store/cancel.h"
#include "store/process_identity.h"
#include "store/test_util.h"

namespace baton::store {
namespace {

using namespace baton::store::testing;

/// A forked child that waits (blocked reading a pipe) until released or killed.
class Child {
 public:
  Child() {
    if (pipe(fds_) != 0) std::abort();
    pid_ = fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      close(fds_[1]);
      char byte;
      ssize_t n = read(fds_[0], &byte, 1);
      _exit(n < 0 ? 1 : 0);
    }
    close(fds_[0]);
  }
  ~Child() {
    release();
    reap();
  }
  int pid() const { return pid_; }
  /// Lets the child exit (it becomes a zombie until reaped).
  void release() {
    if (fds_[1] >= 0) close(fds_[1]);
    fds_[1] = -1;
  }
  /// Waits for the child's exit and reaps it: afterwards its pid names no process.
  void reap() {
    if (reaped_) return;
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
  }
  /// Waits until the released child has exited but is not reaped (a zombie).
  void wait_zombie() {
    siginfo_t info{};
    waitid(P_PID, pid_, &info, WEXITED | WNOWAIT);
  }

 private:
  int fds_[2] = {-1, -1};
  int pid_ = -1;
  bool reaped_ = false;
};

TEST(ProcessIdentityTest, OwnStartTimeIsKnownAndIdentifiesUs) {
  const int64_t start = self_start_time();
  EXPECT_GT(start, 0);
  EXPECT_EQ(process_start_time(getpid()).value_or(-1), start);
  EXPECT_TRUE(process_is_running(getpid(), start));
  EXPECT_FALSE(process_is_running(getpid(), start + 1));  // a reused pid
  EXPECT_FALSE(process_is_running(0, start));
  EXPECT_FALSE(process_is_running(-1, start));
}

TEST(ProcessIdentityTest, ChildIsRunningUntilItExits) {
  Child child;
  auto start = process_start_time(child.pid());
  ASSERT_TRUE(start.has_value()) << start.error().message;
  EXPECT_GE(*start, self_start_time());
  EXPECT_TRUE(process_is_running(child.pid(), *start));
  child.release();
  child.wait_zombie();
  EXPECT_FALSE(process_is_running(child.pid(), *start));  // a zombie is not running
  child.reap();
  EXPECT_FALSE(process_is_running(child.pid(), *start));
  auto gone = process_start_time(child.pid());
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ESRCH);
}

TEST(ProcessIdentityTest, UnknownStartTimeFallsBackToTheProgramName) {
  // This test binary is not named baton.
  EXPECT_FALSE(process_is_running(getpid(), 0));
}

class RunLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("state.db");
    store_ = open_or_die(path_);
  }

  /// Creates run ID whose recorded orchestrator is (PID, START).
  void create_run(const std::string& id, int pid, int64_t start) {
    Batch batch;
    batch.run = make_run(id);
    batch.run->orchestrator_pid = pid;
    batch.run->orchestrator_start_time = start;
    ASSERT_TRUE(store_->apply(batch).has_value());
  }

  RunLockResult lock(const std::string& id) {
    auto r = store_->acquire_run_lock(id, getpid(), self_start_time());
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r ? *r : RunLockResult{};
  }

  RunRecord run(const std::string& id) {
    auto r = store_->get_run(id);
    EXPECT_TRUE(r.has_value() && r->has_value());
    return r && *r ? **r : RunRecord{};
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(RunLockTest, RunWithoutARowIsAcquiredWithoutWriting) {
  EXPECT_TRUE(lock("new").acquired);
  auto r = store_->get_run("new");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
}

TEST_F(RunLockTest, TheRecordedOrchestratorItselfReacquires) {
  create_run("r1", getpid(), self_start_time());
  EXPECT_TRUE(lock("r1").acquired);
  EXPECT_TRUE(lock("r1").acquired);
}

TEST_F(RunLockTest, LiveOrchestratorKeepsTheLockUntilItDies) {
  Child holder;
  const int64_t start = process_start_time(holder.pid()).value_or(0);
  create_run("r1", holder.pid(), start);

  RunLockResult refused = lock("r1");
  EXPECT_FALSE(refused.acquired);
  EXPECT_EQ(refused.holder_pid, holder.pid());
  EXPECT_EQ(refused.holder_start_time, start);
  EXPECT_EQ(run("r1").orchestrator_pid, holder.pid());  // unchanged

  holder.release();
  holder.reap();
  EXPECT_TRUE(lock("r1").acquired);
  RunRecord after = run("r1");
  EXPECT_EQ(after.orchestrator_pid, getpid());
  EXPECT_EQ(after.orchestrator_start_time, self_start_time());
}

TEST_F(RunLockTest, ZombieOrchestratorDoesNotKeepTheLock) {
  Child holder;
  create_run("r1", holder.pid(), process_start_time(holder.pid()).value_or(0));
  holder.release();
  holder.wait_zombie();
  EXPECT_TRUE(lock("r1").acquired);
}

TEST_F(RunLockTest, ReusedPidDoesNotKeepTheLock) {
  // The recorded pid is alive but started at another time: a crashed
  // orchestrator whose pid was given to another process.
  Child other;
  create_run("r1", other.pid(), process_start_time(other.pid()).value_or(0) - 1);
  EXPECT_TRUE(lock("r1").acquired);
  EXPECT_EQ(run("r1").orchestrator_pid, getpid());
}

TEST_F(RunLockTest, SecondStoreSeesTheFirstHolder) {
  // Another connection (as another `baton` process would) claims the run for a live
  // orchestrator; this store must not take it over.
  Child holder;
  const int64_t start = process_start_time(holder.pid()).value_or(0);
  create_run("r1", 0, 0);
  auto other = open_or_die(path_);
  auto claimed = other->acquire_run_lock("r1", holder.pid(), start);
  ASSERT_TRUE(claimed.has_value() && claimed->acquired);
  EXPECT_FALSE(lock("r1").acquired);
}

TEST(CancelAbandonedRunTest, UnfinishedTasksAndRunningAttemptsAreCancelled) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  Batch batch;
  batch.run = make_run("r1");
  const std::vector<std::pair<std::string, std::string>> states = {
      {"done", "success"},  {"busy", "running"}, {"next", "ready"},
      {"later", "pending"}, {"bad", "failed"},   {"skip", "skipped"}};
  int position = 0;
  for (const auto& [id, status] : states) {
    TaskRecord t;
    t.run_id = "r1";
    t.task_id = id;
    t.position = position++;
    t.status = status;
    batch.tasks.push_back(t);
  }
  for (const auto& [task, status] : std::vector<std::pair<std::string, std::string>>{
           {"done", "success"}, {"busy", "failed"}, {"busy", "running"}}) {
    AttemptRecord a;
    a.run_id = "r1";
    a.task_id = task;
    a.number = task == "busy" && status == "running" ? 2 : 1;
    a.status = status;
    batch.attempts.push_back(a);
  }
  // Each row's status as its events tell it (audit verify checks them against each other).
  batch.events = {make_event("r1", "run.created")};
  for (const auto& [id, status] : states) {
    if (status != "pending")
      batch.events.push_back(make_event("r1", "task." + status, 100.5, {}, id));
  }
  ASSERT_TRUE(store->apply(batch).has_value());

  const std::string reason = "cancelled by baton cancel (orchestrator was not running)";
  auto changed = cancel_abandoned_run(*store, "r1", reason, 500.5);
  ASSERT_TRUE(changed.has_value()) << changed.error().message;
  EXPECT_EQ(changed->tasks, 3);
  EXPECT_EQ(changed->attempts, 1);

  RunRecord run = **store->get_run("r1");
  EXPECT_EQ(run.status, "cancelled");
  EXPECT_EQ(run.ended_at, 500.5);
  std::vector<std::string> statuses;
  auto tasks = store->list_tasks("r1");
  ASSERT_TRUE(tasks.has_value());
  for (const TaskRecord& t : *tasks) {
    statuses.push_back(t.task_id + "=" + t.status);
    if (t.status == "cancelled") {
      EXPECT_EQ(t.reason, reason);
      EXPECT_EQ(t.ended_at, 500.5);
    }
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"done=success", "busy=cancelled", "next=cancelled",
                                                "later=cancelled", "bad=failed", "skip=skipped"}));
  auto attempts = *store->list_attempts("r1", "busy");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].status, "failed");
  EXPECT_EQ(attempts[1].status, "cancelled");
  EXPECT_EQ(attempts[1].error_class, "cancelled");
  EXPECT_EQ(attempts[1].error, reason);
  EXPECT_EQ(attempts[1].ended_at, 500.5);

  std::vector<std::string> kinds;
  auto events = store->list_events("r1", 0);
  ASSERT_TRUE(events.has_value());
  for (const Event& e : *events) kinds.push_back(e.task_id + ":" + e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{
                       ":run.created", "done:task.success", "busy:task.running", "next:task.ready",
                       "bad:task.failed", "skip:task.skipped", "busy:attempt.finished",
                       "busy:task.cancelled", "next:task.cancelled", "later:task.cancelled",
                       ":run.finished"}));
  auto report = verify_run(*store, "r1");
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok()) << report->problem;
}

TEST(CancelAbandonedRunTest, UnknownRunIsAnError) {
  TempDir dir;
  auto store = open_or_die(dir.file("state.db"));
  auto changed = cancel_abandoned_run(*store, "nope", "x", 1);
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().message, "no run 'nope'");
}

}  // namespace
}  // namespace baton::store
