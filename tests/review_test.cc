// Integration tests of review cycles (docs/review.md) with the real agent CLIs against
// the scripted model server (`--rehearse`): Claude implements and Codex reviews, a
// review that requests changes once, one that never approves (escalation), single-agent
// mode with an answer that holds no verdict, a reviewer the API refuses (401) replaced by
// the role's next agent, and a SIGKILL of baton between the review
// and the rework, then `baton resume`. Each checks what the model server received.
// ReviewSandboxTest: stand-in custom agents whose reviewer writes in its directory,
// read-only under bwrap, undone without a sandbox.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

void make_repo(const ScratchDir& dir, const std::string& flow, const std::string& script) {
  dir.write("flow.yaml", flow);
  dir.write("script.yaml", script);
  Outcome o = run_command({"git", "init", "-q"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.push_back(json::parse(line, nullptr, false));
  }
  return out;
}

// The events of KIND (and of TASK, unless "") in EVENTS.
std::vector<json> of_kind(const std::vector<json>& events, const std::string& kind,
                          const std::string& task = "") {
  std::vector<json> out;
  for (const json& e : events) {
    if (e.value("kind", "") == kind && (task.empty() || e.value("task_id", "") == task)) {
      out.push_back(e);
    }
  }
  return out;
}

// The position in EVENTS of the first event of KIND for TASK; -1 when none.
int index_of(const std::vector<json>& events, const std::string& kind, const std::string& task) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].value("kind", "") == kind && events[i].value("task_id", "") == task) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// What the model server logged for SESSION ("baton-rehearse:TASK:AGENT:ATTEMPT"): the
// excerpts of the last message of each of its requests, joined.
std::string received(const ScratchDir& dir, const std::string& run_id, const std::string& session) {
  std::string out;
  for (const json& r :
       json_lines(read_file(dir.path() + "/.baton/runs/" + run_id + "/rehearse.jsonl"))) {
    if (r.value("session", "") == session) out += r.value("body_excerpt", "") + "\n";
  }
  return out;
}

std::string verdict_text(const std::string& verdict, const std::string& feedback) {
  return "\"Reviewed.\\n```json\\n{\\\"verdict\\\": \\\"" + verdict +
         "\\\", \\\"feedback\\\": \\\"" + feedback + "\\\"}\\n```\"";
}

constexpr const char* kFlow = R"(name: reviewed
settings: {isolation: worktree}
tasks:
  - id: impl
    agent: claude
    parameters: {task: "Write a.txt"}
    timeout: 2m
    review: {agent: codex, max_cycles: 3, instructions: "Be strict."}
  - id: after
    dependencies: [impl]
    run: cat a.txt
)";

TEST(RehearsedReviewTest, ClaudeImplementsCodexRequestsChangesOnceThenApproves) {
  ScratchDir dir;
  make_repo(dir, kFlow,
            std::string("tasks:\n") +
                "  \"impl:claude:1\": [{write_file: {path: a.txt, content: \"one\\n\"}}, "
                "{text: \"wrote one\"}]\n"
                // The reviewer also writes a file: what it changes is undone.
                "  \"impl:codex:2\": [{write_file: {path: by-reviewer.txt, content: x}}, {text: " +
                verdict_text("changes_requested", "Write two instead of one.") +
                "}]\n"
                "  \"impl:claude:3\": [{write_file: {path: a.txt, content: \"two\\n\"}}, "
                "{text: \"wrote two\"}]\n"
                "  \"impl:codex:4\": [{write_file: {path: by-reviewer.txt, content: y}}, {text: " +
                verdict_text("approved", "") + "}]\n");
  git_sh(dir.path(), "git add -A && git commit -qm base");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("attempt 2 (codex): in review (cycle 1/3)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("attempt 3 (claude): changes requested (cycle 2/3)"), std::string::npos)
      << o.out;
  json run = last_run(dir);
  const std::string id = run["id"];
  json impl = task_of(run, "impl");
  EXPECT_EQ(impl["status"], "success");
  EXPECT_EQ(impl["attempts"], 4);
  EXPECT_EQ(impl["output"], "wrote two");             // the work's answer, not the review's
  EXPECT_EQ(task_of(run, "after")["output"], "two");  // the approved work
  // The second implementing attempt was given the feedback; the reviewer the task, its
  // instructions and the diff of the work.
  EXPECT_NE(received(dir, id, "baton-rehearse:impl:claude:3").find("Write two instead of one."),
            std::string::npos)
      << received(dir, id, "baton-rehearse:impl:claude:3");
  std::string review = received(dir, id, "baton-rehearse:impl:codex:2");
  EXPECT_EQ(review.find("Be strict.\n\nYou are reviewing the work of another coding agent"), 0u)
      << review;
  auto events = events_of(dir, id);
  auto verdicts = of_kind(events, "review.verdict", "impl");
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0]["data"]["verdict"], "changes_requested");
  EXPECT_EQ(verdicts[0]["data"]["feedback"], "Write two instead of one.");
  EXPECT_EQ(verdicts[0]["data"]["reviewer"], "codex");
  EXPECT_EQ(verdicts[0]["data"]["implementer"], "claude");
  EXPECT_EQ(verdicts[1]["data"]["verdict"], "approved");
  EXPECT_EQ(verdicts[1]["data"]["cycle"], 2);
  EXPECT_EQ(of_kind(events, "review.requested", "impl").size(), 2u);
  // The dependant started only after the approval.
  EXPECT_GT(index_of(events, "attempt.started", "after"), index_of(events, "task.success", "impl"));
  EXPECT_EQ(o.out.find("not cross-agent"), std::string::npos) << o.out;
  // The work the run integrated is the implementer's: the reviewer's file is not in it.
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + id + ":a.txt"), "two\n");
  std::string files = git_sh(dir.path(), "git ls-tree -r --name-only baton/" + id);
  EXPECT_NE(files.find("a.txt\n"), std::string::npos) << files;
  EXPECT_EQ(files.find("by-reviewer.txt"), std::string::npos) << files;
  // Nor is it left in the task's worktree after the approval.
  EXPECT_EQ(git_sh(dir.path(), "find . -name by-reviewer.txt"), "");
}

// Claude, the role's first reviewer, is refused by the API (401: auth, failed for good);
// Codex, the role's next agent, reviews instead and its verdict is the one used.
TEST(RehearsedReviewTest, AReviewerThatFailsForGoodFallsBackToTheRolesNextAgent) {
  ScratchDir dir;
  make_repo(dir, R"(name: fallback
settings: {isolation: worktree}
agents:
  reviewer: {use: [gemini, claude, codex]}
tasks:
  - id: impl
    agent: gemini
    parameters: {task: "Write a.txt"}
    timeout: 2m
    review: {agent: reviewer}
  - id: after
    dependencies: [impl]
    run: cat a.txt
)",
            std::string("tasks:\n"
                        "  \"impl:gemini\": [{write_file: {path: a.txt, content: \"x\\n\"}}, "
                        "{text: \"wrote x\"}]\n"
                        "  \"impl:claude\": [{fault: {status: 401, times: 1000}}]\n"
                        "  \"impl:codex\": [{text: ") +
                verdict_text("approved", "") + "}]\n");
  git_sh(dir.path(), "git add -A && git commit -qm base");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  const std::string id = run["id"];
  std::map<int, json> attempts;
  for (const json& a : run["attempts"]) {
    if (a["task"] == "impl") attempts[a["number"].get<int>()] = a;
  }
  ASSERT_EQ(attempts.size(), 3u) << run.dump();
  EXPECT_EQ(attempts[1]["agent"], "gemini");
  EXPECT_EQ(attempts[2]["agent"], "claude");  // the implementer is never its reviewer
  EXPECT_EQ(attempts[2]["status"], "failed");
  EXPECT_EQ(attempts[2]["error_class"], "auth") << attempts[2].dump();
  EXPECT_EQ(attempts[3]["agent"], "codex");
  json impl = task_of(run, "impl");
  EXPECT_EQ(impl["status"], "success");
  EXPECT_EQ(impl["reason"], "approved by codex (cycle 1/3)");
  EXPECT_EQ(impl["output"], "wrote x");
  EXPECT_EQ(task_of(run, "after")["output"], "x");
  auto events = events_of(dir, id);
  auto failed = of_kind(events, "review.reviewer_failed", "impl");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["data"]["reviewer"], "claude");
  EXPECT_EQ(failed[0]["data"]["attempt"], 2);
  EXPECT_EQ(failed[0]["data"]["next"], "codex");
  EXPECT_FALSE(failed[0]["data"]["reason"].get<std::string>().empty());
  auto verdicts = of_kind(events, "review.verdict", "impl");
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0]["data"]["reviewer"], "codex");
  EXPECT_EQ(verdicts[0]["data"]["verdict"], "approved");
  EXPECT_GT(index_of(events, "review.verdict", "impl"),
            index_of(events, "review.reviewer_failed", "impl"));
  // `baton inspect` says so.
  Outcome inspect = run_baton({"inspect", id, "impl"}, dir.path());
  EXPECT_NE(inspect.out.find("  attempt 2 (claude) failed for good: " +
                             failed[0]["data"]["reason"].get<std::string>() +
                             "; codex reviews instead\n"),
            std::string::npos)
      << inspect.out;
  inspect = run_baton({"inspect", id, "impl", "--json"}, dir.path());
  json reviewer_failures = json::parse(inspect.out)["reviewer_failures"];
  ASSERT_EQ(reviewer_failures.size(), 1u) << inspect.out;
  EXPECT_EQ(reviewer_failures[0]["reviewer"], "claude");
  EXPECT_EQ(reviewer_failures[0]["next"], "codex");
}

// Killed while the fallback reviewer (Codex) reviews: the resumed run goes on with Codex
// (its attempt lost the model server and ends at the task's timeout of 30 s, the
// longest part of this test; it is retried), and Claude, which failed for good, is not
// asked again.
TEST(RehearsedReviewTest, KilledDuringTheFallbackReviewerResumesWithIt) {
  ScratchDir dir;
  make_repo(dir, R"(name: fallback-crash
agents:
  reviewer: {use: [claude, codex]}
tasks:
  - id: impl
    agent: gemini
    parameters: {task: "Write a.txt"}
    timeout: 30s
    retry: {max_attempts: 2, delay: 0}
    review: {agent: reviewer}
)",
            std::string("tasks:\n"
                        "  \"impl:gemini\": [{write_file: {path: a.txt, content: \"x\\n\"}}, "
                        "{text: \"wrote x\"}]\n"
                        "  \"impl:claude\": [{fault: {status: 401, times: 1000}}]\n"
                        "  \"impl:codex:3\": [{run: \"touch review-started\"}, "
                        "{fault: {kind: hang, times: forever}}]\n"
                        "  \"impl:codex\": [{text: ") +
                verdict_text("approved", "") + "}]\n");
  BatonProcess run({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                   agent_path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/review-started", 180));
  run.signal(SIGKILL);
  EXPECT_EQ(run.wait().exit_code, 128 + SIGKILL);
  const std::string id = last_run(dir)["id"];
  ASSERT_EQ(of_kind(events_of(dir, id), "review.reviewer_failed", "impl").size(), 1u);

  Outcome o = run_baton({"resume", id, "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json after = last_run(dir);
  EXPECT_EQ(task_of(after, "impl")["status"], "success");
  EXPECT_EQ(task_of(after, "impl")["reason"], "approved by codex (cycle 1/3)");
  for (const json& a : after["attempts"]) {
    if (a["number"].get<int>() > 2) EXPECT_EQ(a["agent"], "codex") << a.dump();
  }
  auto events = events_of(dir, id);
  EXPECT_EQ(of_kind(events, "review.reviewer_failed", "impl").size(), 1u);
  auto verdicts = of_kind(events, "review.verdict", "impl");
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0]["data"]["reviewer"], "codex");
}

TEST(RehearsedReviewTest, NeverApprovedEscalatesAfterThreeCycles) {
  ScratchDir dir;
  make_repo(dir, R"(name: never
tasks:
  - id: impl
    agent: claude
    parameters: {task: "Write a.txt"}
    timeout: 2m
    review: {agent: codex}
  - id: after
    dependencies: [impl]
    run: cat a.txt
)",
            std::string("agents:\n"
                        "  claude: [{write_file: {path: a.txt, content: \"x\\n\"}}, "
                        "{text: \"wrote x\"}]\n"
                        "  codex: [{text: ") +
                verdict_text("changes_requested", "Still not right.") + "}]\n");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain", "--no-wait"},
                        dir.path(), agent_path(), 300);
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;  // waiting for a person
  json run = last_run(dir);
  const std::string id = run["id"];
  json impl = task_of(run, "impl");
  EXPECT_EQ(impl["status"], "waiting");
  EXPECT_EQ(impl["attempts"], 6);
  EXPECT_EQ(impl["reason"],
            "escalated: review not approved after 3 cycles; last feedback: Still not right.");
  EXPECT_EQ(task_of(run, "after")["status"], "pending");
  EXPECT_EQ(of_kind(events_of(dir, id), "review.verdict", "impl").size(), 3u);
  ASSERT_EQ(run_baton({"approve", id, "impl", "--comment", "fine by me"}, dir.path()).exit_code, 0);
  o = run_baton({"resume", id, "--plain"}, dir.path(), agent_path(), 60);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  run = last_run(dir);
  EXPECT_EQ(task_of(run, "impl")["status"], "success");
  EXPECT_EQ(task_of(run, "impl")["output"], "wrote x");  // the work stands
  EXPECT_EQ(task_of(run, "after")["output"], "x");
}

TEST(RehearsedReviewTest, SingleAgentReviewsItsOwnWorkAndAnAnswerWithoutVerdictIsRetried) {
  ScratchDir dir;
  make_repo(dir, R"(name: single
settings: {single_agent: true, single_agent_pause: 0.2s}
tasks:
  - id: impl
    agent: claude
    parameters: {task: "Write a.txt"}
    timeout: 2m
    retry: {max_attempts: 2, delay: 0}
    review: {agent: codex}
)",
            std::string("tasks:\n"
                        "  \"impl:claude:1\": [{write_file: {path: a.txt, content: \"x\\n\"}}, "
                        "{text: \"wrote x\"}]\n"
                        "  \"impl:claude:2\": [{text: \"LGTM\"}]\n"
                        "  \"impl:claude:3\": [{text: ") +
                verdict_text("approved", "") + "}]\n");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("warning: task 'impl' was reviewed by claude, the agent that implemented "
                       "it (single-agent mode): the review was not cross-agent"),
            std::string::npos)
      << o.out;
  json run = last_run(dir);
  const std::string id = run["id"];
  // Attempt 2 answered without a verdict: a classified failure, retried by policy.
  json second;
  for (const json& a : run["attempts"]) {
    if (a["task"] == "impl" && a["number"] == 2) second = a;
  }
  EXPECT_EQ(second["agent"], "claude") << run.dump();
  EXPECT_EQ(second["status"], "failed");
  EXPECT_EQ(second["error_class"], "no_verdict");
  EXPECT_EQ(task_of(run, "impl")["status"], "success");
  EXPECT_EQ(task_of(run, "impl")["attempts"], 3);
  auto verdicts = of_kind(events_of(dir, id), "review.verdict", "impl");
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0]["data"]["self_review"], true);
}

TEST(RehearsedReviewTest, KilledBetweenReviewAndReworkResumesWithTheFeedback) {
  ScratchDir dir;
  // The rework writes a marker, then its model hangs: the test SIGKILLs baton there, with
  // the review's verdict recorded and the rework just started. The rework's CLI then
  // loses the model server and fails; the resumed run retries it (same_agent: whatever
  // class the CLI gives that failure).
  make_repo(dir, R"(name: crash
tasks:
  - id: impl
    agent: claude
    parameters: {task: "Write a.txt"}
    timeout: 2m
    retry: {max_attempts: 2, delay: 0}
    fallback: same_agent
    review: {agent: codex}
  - id: after
    dependencies: [impl]
    run: cat a.txt
)",
            std::string("tasks:\n") +
                "  \"impl:claude:1\": [{write_file: {path: a.txt, content: \"one\\n\"}}, "
                "{text: \"wrote one\"}]\n"
                "  \"impl:codex:2\": [{text: " +
                verdict_text("changes_requested", "Write two instead of one.") +
                "}]\n"
                "  \"impl:claude:3\": [{write_file: {path: rework-started, content: x}}, "
                "{fault: {kind: hang, times: forever}}]\n"
                "  \"impl:claude:4\": [{write_file: {path: a.txt, content: \"two\\n\"}}, "
                "{text: \"wrote two\"}]\n"
                "  \"impl:codex:5\": [{text: " +
                verdict_text("approved", "") + "}]\n");
  BatonProcess run({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                   agent_path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/rework-started", 180));
  run.signal(SIGKILL);
  EXPECT_EQ(run.wait().exit_code, 128 + SIGKILL);
  json before = last_run(dir);
  const std::string id = before["id"];
  auto events = events_of(dir, id);
  ASSERT_EQ(of_kind(events, "review.verdict", "impl").size(), 1u);
  EXPECT_EQ(task_of(before, "impl")["status"], "running");
  Outcome status = run_baton({"status", id}, dir.path());
  EXPECT_NE(status.out.find("running: changes requested (cycle 2/3)"), std::string::npos)
      << status.out;

  Outcome o = run_baton({"resume", id, "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json after = last_run(dir);
  EXPECT_EQ(task_of(after, "impl")["status"], "success");
  EXPECT_EQ(task_of(after, "impl")["attempts"], 5);
  EXPECT_EQ(task_of(after, "after")["output"], "two");
  // The rework after the resume still had the review's feedback.
  EXPECT_NE(received(dir, id, "baton-rehearse:impl:claude:4").find("Write two instead of one."),
            std::string::npos)
      << received(dir, id, "baton-rehearse:impl:claude:4");
  auto verdicts = of_kind(events_of(dir, id), "review.verdict", "impl");
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[1]["data"]["verdict"], "approved");
  EXPECT_EQ(verdicts[1]["data"]["cycle"], 2);
}

// A task implemented by the stand-in custom agent 'impl' (writes a.txt) and reviewed by
// 'rev', which tries to write by-reviewer.txt in the worktree, then approves. SETTINGS:
// the workflow's settings.
void make_write_probe_repo(const ScratchDir& dir, const std::string& settings) {
  dir.write(".baton/config.yaml", R"(custom_agents:
  impl:
    command:
      - sh
      - -c
      - |
        cat >/dev/null
        echo one > a.txt
        echo "wrote a.txt"
  rev:
    command:
      - sh
      - -c
      - |
        cat >/dev/null
        if echo reviewer > by-reviewer.txt; then echo "the reviewer wrote by-reviewer.txt"; fi
        printf 'Looks good.\n```json\n{"verdict": "approved", "feedback": "Fine."}\n```\n'
)");
  dir.write("flow.yaml", "name: probe\nsettings: " + settings + R"(
tasks:
  - id: impl
    agent: impl
    parameters: {task: "Write a.txt"}
    review: {agent: rev}
)");
  git_sh(dir.path(), "git init -q -b main && git add -A && git commit -qm base");
}

// The log of attempt NUMBER of TASK in RUN (status --json), read.
std::string attempt_log(const ScratchDir& dir, const json& run, const std::string& task,
                        int number) {
  for (const json& a : run["attempts"]) {
    if (a["task"] == task && a["number"] == number) {
      std::string path = a["log"];
      return read_file(path.rfind('/', 0) == 0 ? path : dir.path() + "/" + path);
    }
  }
  return "";
}

// Under bwrap the reviewer's worktree is read-only: its write fails inside the sandbox
// (its log says so), and the review still approves the work.
TEST(ReviewSandboxTest, UnderBwrapTheReviewersWorktreeIsReadOnly) {
  ScratchDir dir;
  make_write_probe_repo(dir, "{isolation: worktree, sandbox: bwrap}");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  const std::string id = run["id"];
  EXPECT_EQ(task_of(run, "impl")["status"], "success");
  EXPECT_EQ(task_of(run, "impl")["output"], "wrote a.txt");
  std::string log = attempt_log(dir, run, "impl", 2);
  EXPECT_NE(log.find("by-reviewer.txt: Read-only file system"), std::string::npos) << log;
  EXPECT_EQ(log.find("the reviewer wrote"), std::string::npos) << log;
  auto started = of_kind(events_of(dir, id), "attempt.started", "impl");
  ASSERT_EQ(started.size(), 2u);
  EXPECT_FALSE(started[0]["data"].contains("read_only")) << started[0].dump();
  EXPECT_EQ(started[1]["data"]["read_only"], true) << started[1].dump();
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + id + ":a.txt"), "one\n");
  EXPECT_EQ(git_sh(dir.path(), "find . -name by-reviewer.txt"), "");
}

// The real CLIs under bwrap: Claude implements, Codex reviews in a read-only worktree
// (its write is refused inside the sandbox, its answer still reaches baton).
TEST(RehearsedReviewTest, UnderBwrapCodexReviewsInAReadOnlyWorktree) {
  ScratchDir dir;
  make_repo(dir, R"(name: reviewed-sandboxed
settings: {isolation: worktree, sandbox: bwrap}
tasks:
  - id: impl
    agent: claude
    network: true
    parameters: {task: "Write a.txt"}
    timeout: 2m
    review: {agent: codex}
)",
            std::string("tasks:\n") +
                "  \"impl:claude:1\": [{write_file: {path: a.txt, content: \"one\\n\"}}, "
                "{text: \"wrote one\"}]\n"
                "  \"impl:codex:2\": [{write_file: {path: by-reviewer.txt, content: x}}, {text: " +
                verdict_text("approved", "") + "}]\n");
  git_sh(dir.path(), "git add -A && git commit -qm base");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  const std::string id = run["id"];
  json impl = task_of(run, "impl");
  EXPECT_EQ(impl["status"], "success");
  EXPECT_EQ(impl["attempts"], 2);
  EXPECT_EQ(impl["output"], "wrote one");
  auto started = of_kind(events_of(dir, id), "attempt.started", "impl");
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[1]["data"]["read_only"], true) << started[1].dump();
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + id + ":a.txt"), "one\n");
  EXPECT_EQ(git_sh(dir.path(), "find .baton/worktrees -name by-reviewer.txt"), "");
}

// integrate_at: task: a reviewed task whose reviews ran out goes into the run's branch
// once a person approves it (at the run's end), like an approved one.
TEST(ReviewSandboxTest, AnExhaustedReviewApprovedByAPersonIsIntegratedAtTask) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", R"(custom_agents:
  impl:
    command: [sh, -c, "cat >/dev/null; echo one > a.txt; echo wrote a.txt"]
  rev:
    command:
      - sh
      - -c
      - |
        cat >/dev/null
        printf 'No.\n```json\n{"verdict": "changes_requested", "feedback": "Again."}\n```\n'
)");
  dir.write("flow.yaml", R"(name: exhausted
settings: {isolation: worktree, integrate_at: task}
tasks:
  - id: impl
    agent: impl
    parameters: {task: "Write a.txt"}
    review: {agent: rev, max_cycles: 1, on_exhausted: escalate}
)");
  git_sh(dir.path(), "git init -q -b main && git add -A && git commit -qm base");
  Outcome o = run_baton({"run", "flow.yaml", "--plain", "--no-wait"}, dir.path());
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
  const std::string id = last_run(dir)["id"];
  o = run_baton({"approve", id, "impl"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  o = run_baton({"resume", id, "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(task_of(last_run(dir), "impl")["status"], "success");
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + id + ":a.txt"), "one\n");
}

// In a docker container too, the reviewer's worktree is mounted read-only.
TEST(ReviewSandboxTest, InADockerContainerTheReviewersWorktreeIsReadOnly) {
  ScratchDir dir;
  make_write_probe_repo(dir, "{isolation: worktree, sandbox: docker}");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  const std::string id = run["id"];
  EXPECT_EQ(task_of(run, "impl")["output"], "wrote a.txt");
  std::string log = attempt_log(dir, run, "impl", 2);
  EXPECT_NE(log.find("by-reviewer.txt: Read-only file system"), std::string::npos) << log;
  EXPECT_EQ(log.find("the reviewer wrote"), std::string::npos) << log;
  auto started = of_kind(events_of(dir, id), "attempt.started", "impl");
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[1]["data"]["read_only"], true) << started[1].dump();
  EXPECT_EQ(git_sh(dir.path(), "git show baton/" + id + ":a.txt"), "one\n");
}

// Without a worktree, under bwrap, the project root is read-only for the reviewer.
TEST(ReviewSandboxTest, UnderBwrapWithoutAWorktreeTheProjectRootIsReadOnly) {
  ScratchDir dir;
  make_write_probe_repo(dir, "{isolation: none, sandbox: bwrap}");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "impl")["status"], "success");
  std::string log = attempt_log(dir, run, "impl", 2);
  EXPECT_NE(log.find("by-reviewer.txt: Read-only file system"), std::string::npos) << log;
  EXPECT_EQ(dir.read("a.txt"), "one\n");  // the implementer could write
  EXPECT_FALSE(dir.exists("by-reviewer.txt"));
}

// Unsandboxed, the reviewer can write, and what it wrote is undone after its attempt.
TEST(ReviewSandboxTest, UnsandboxedTheReviewersChangesAreReset) {
  ScratchDir dir;
  make_write_probe_repo(dir, "{isolation: worktree}");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  const std::string id = run["id"];
  EXPECT_EQ(task_of(run, "impl")["status"], "success");
  std::string log = attempt_log(dir, run, "impl", 2);
  EXPECT_NE(log.find("the reviewer wrote by-reviewer.txt"), std::string::npos) << log;
  auto started = of_kind(events_of(dir, id), "attempt.started", "impl");
  ASSERT_EQ(started.size(), 2u);
  EXPECT_FALSE(started[1]["data"].contains("read_only")) << started[1].dump();
  std::string files = git_sh(dir.path(), "git ls-tree -r --name-only baton/" + id);
  EXPECT_NE(files.find("a.txt\n"), std::string::npos) << files;
  EXPECT_EQ(files.find("by-reviewer.txt"), std::string::npos) << files;
  EXPECT_EQ(git_sh(dir.path(), "find . -name by-reviewer.txt"), "");
}

}  // namespace
}  // namespace baton::testing
