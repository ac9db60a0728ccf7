// Integration tests of the Rover-style commands (issue 16, seed 000): `baton task`,
// `iterate`, `shell`, `merge`, `push` and `inspect`, on real git repositories with real
// processes. The agent is a custom agent of .baton/config.yaml (a real process that
// records the prompt it was given), except in RoverAgentTest.*, which runs Claude Code
// under --rehearse (the agent_cli lock).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// A custom agent that appends its prompt to prompts.txt in its directory and answers
// "recorded".
constexpr const char* kRecorderConfig = R"(custom_agents:
  recorder:
    command: [sh, -c, "cat >> prompts.txt; printf '\n--\n' >> prompts.txt; echo recorded"]
)";

// A repository on main with a README and the recorder agent's config, committed.
void make_project(const ScratchDir& dir) {
  dir.write(".baton/config.yaml", kRecorderConfig);
  git_sh(dir.path(),
         "git init -q -b main && echo base > README && git add README && git commit -qm base");
}

std::string run_branch_file(const ScratchDir& dir, const std::string& run, const std::string& f) {
  return git_sh(dir.path(), "git show baton/" + run + ":" + f);
}

TEST(TaskCommandTest, RunsThePromptAsWrittenInAWorktreeAndRecordsARun) {
  ScratchDir dir;
  make_project(dir);
  // Template, shell and git-option syntax: all of it must reach the agent as text.
  const std::string prompt =
      "--upload-pack=touch pwned ${inputs.prompt} ${fn:uppercase('x')} $(touch pwned2) `id` '\"";
  Outcome o = run_baton({"task", "--agent", "recorder", "--plain", "--", prompt}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(run["workflow"], "task") << run.dump();
  EXPECT_EQ(task_of(run, "task")["status"], "success");
  std::string id = run["id"];
  EXPECT_EQ(run_branch_file(dir, id, "prompts.txt"), prompt + "\n\n--\n");
  EXPECT_FALSE(dir.exists("prompts.txt"));  // the checkout is untouched
  EXPECT_FALSE(dir.exists("pwned"));
  EXPECT_FALSE(dir.exists("pwned2"));
  // Listed by `baton status` like any run.
  Outcome status = run_baton({"status"}, dir.path());
  EXPECT_NE(status.out.find(id + "   task"), std::string::npos) << status.out;
}

TEST(TaskCommandTest, RefusesBadAgentsEmptyPromptsAndAReviewByTheImplementer) {
  ScratchDir dir;
  make_project(dir);
  Outcome o = run_baton({"task", "--agent", "--upload-pack=x", "p"}, dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.err;
  o = run_baton({"task", "--agent=-x", "p"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--agent: '-x' is neither an agent baton knows nor a role"),
            std::string::npos)
      << o.err;
  o = run_baton({"task", "  "}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("the prompt is empty"), std::string::npos) << o.err;
  o = run_baton({"task", "--agent", "recorder", "--review", "recorder", "p"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("reviewer must not be the implementing agent"), std::string::npos) << o.err;
  o = run_baton({"task", "--agent", "recorder", "--review", "no-such-role", "p"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--review: 'no-such-role' is neither an agent baton knows nor a role"),
            std::string::npos)
      << o.err;
  EXPECT_FALSE(dir.exists(".baton/state.db"));  // nothing ran
}

// `baton task --review checker`: a custom reviewer requests changes once, then
// approves; `baton inspect` shows each cycle's verdict and feedback.
TEST(InspectTest, ShowsEachReviewCyclesVerdictAndFeedback) {
  ScratchDir dir;
  dir.write("ctl/checker.sh",
            "ctl=$(dirname \"$0\")\ncat >/dev/null\n"
            "if [ -e \"$ctl/asked\" ]; then\n"
            "  printf 'OK.\\n```json\\n{\"verdict\": \"approved\", \"feedback\": \"Good "
            "now.\"}\\n```\\n'\n"
            "else\n  : >\"$ctl/asked\"\n"
            "  printf 'No.\\n```json\\n{\"verdict\": \"changes_requested\", \"feedback\": "
            "\"Add tests.\\\\nAnd docs.\"}\\n```\\n'\n"
            "fi\n");
  dir.write(".baton/config.yaml", std::string(kRecorderConfig) + "  checker:\n    command: [sh, " +
                                      dir.path() + "/ctl/checker.sh]\n");
  dir.write(".gitignore", "ctl/\n");
  git_sh(dir.path(),
         "git init -q -b main && echo base > README && git add -A && git commit -qm base");
  Outcome o =
      run_baton({"task", "--agent", "recorder", "--review", "checker", "--plain", "p"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json task = task_of(last_run(dir), "task");
  EXPECT_EQ(task["status"], "success") << task.dump();
  EXPECT_EQ(task["attempts"], 4);
  Outcome inspect = run_baton({"inspect", "last", "task"}, dir.path());
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("reviews:\n"
                             "  cycle 1/3 (attempt 2, checker): changes requested\n"
                             "     Add tests.\n"
                             "     And docs.\n"
                             "  cycle 2/3 (attempt 4, checker): approved\n"
                             "     Good now.\n"),
            std::string::npos)
      << inspect.out;
  Outcome as_json = run_baton({"inspect", "last", "task", "--json"}, dir.path());
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  json reviews = json::parse(as_json.out)["reviews"];
  ASSERT_EQ(reviews.size(), 2u) << as_json.out;
  EXPECT_EQ(reviews[0]["verdict"], "changes_requested");
  EXPECT_EQ(reviews[0]["feedback"], "Add tests.\nAnd docs.");
  EXPECT_EQ(reviews[0]["reviewer"], "checker");
  EXPECT_EQ(reviews[1]["verdict"], "approved");
  EXPECT_EQ(reviews[1]["cycle"], 2);
  // A task without review says so.
  o = run_baton({"task", "--agent", "recorder", "--plain", "q"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  inspect = run_baton({"inspect", "last", "task"}, dir.path());
  EXPECT_NE(inspect.out.find("reviews:\n  none\n"), std::string::npos) << inspect.out;
}

TEST(TaskCommandTest, NeedsAGitRepositoryWithACommit) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", kRecorderConfig);
  Outcome o = run_baton({"task", "--agent", "recorder", "p"}, dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("is not a git repository with a commit"), std::string::npos) << o.err;
  EXPECT_FALSE(dir.exists(".baton/runs"));
  git_sh(dir.path(), "git init -q -b main");
  o = run_baton({"task", "--agent", "recorder", "p"}, dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("is not a git repository with a commit"), std::string::npos) << o.err;
}

// `baton shell` with a script on stdin: `printf SCRIPT | SHELL=/bin/sh baton shell ARGS`
// in DIR; the test fails unless it exits 0. Returns its stdout.
std::string shell_script(const ScratchDir& dir, const std::string& args,
                         const std::string& script) {
  return git_sh(dir.path(), "printf '%s\\n' '" + script + "' | SHELL=/bin/sh " + BATON_BINARY +
                                " shell " + args);
}

constexpr const char* kTwoTasks = R"(name: two
settings: {isolation: worktree}
tasks:
  - {id: a, agent: recorder, parameters: {task: "Write things"}}
  - {id: b, dependencies: [a], run: "cat prompts.txt"}
)";

TEST(IterateCommandTest, FeedbackReachesTheNextAttemptInItsWorktreeAndDependantsRunAgain) {
  ScratchDir dir;
  make_project(dir);
  dir.write("flow.yaml", kTwoTasks);
  git_sh(dir.path(), "git add flow.yaml && git commit -qm flow");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  const std::string feedback = "Use ${a.output} and $(touch pwned) as text; --upload-pack=x";
  o = run_baton({"iterate", "last", "a", "-m", feedback, "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("iterating task a of run "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("then again: b"), std::string::npos) << o.out;
  json run = last_run(dir);
  EXPECT_EQ(run["status"], "success");
  EXPECT_EQ(task_of(run, "a")["attempts"], 2) << run.dump();
  EXPECT_EQ(task_of(run, "b")["attempts"], 2) << run.dump();
  // The second attempt found the first one's work (it appends) and read the feedback
  // before the task, as written.
  const std::string second =
      "A person reviewed your work on this task and asks for changes (baton iterate):\n" +
      feedback + "\n\nThe task, as given before:\nWrite things\n";
  const std::string both = "Write things\n\n--\n" + second + "\n--\n";
  EXPECT_EQ(run_branch_file(dir, run["id"], "prompts.txt"), both);
  // b ran again from a's new result.
  EXPECT_EQ(task_of(run, "b")["output"], both.substr(0, both.size() - 1)) << run.dump();
  EXPECT_FALSE(dir.exists("pwned"));
  // inspect shows the feedback, the answer and the files.
  Outcome inspect = run_baton({"inspect", "last", "a"}, dir.path());
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("feedback (baton iterate):\n  " + feedback), std::string::npos)
      << inspect.out;
  EXPECT_NE(inspect.out.find("final answer:\n  recorded"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("prompts.txt"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("  2. recorder  success"), std::string::npos) << inspect.out;
  Outcome as_json = run_baton({"inspect", "last", "a", "--json"}, dir.path());
  json j = json::parse(as_json.out);
  EXPECT_EQ(j["iterations"][0]["feedback"], feedback);
  EXPECT_EQ(j["attempts"].size(), 2u);
  EXPECT_EQ(j["changes"]["files_changed"], 1);
}

TEST(IterateCommandTest, RefusesWhatItCannotIterate) {
  ScratchDir dir;
  make_project(dir);
  dir.write("flow.yaml", kTwoTasks);
  git_sh(dir.path(), "git add flow.yaml && git commit -qm flow");
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"iterate", "last", "b", "-m", "x"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("task 'b' of run"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("is not an agent task"), std::string::npos) << o.err;
  o = run_baton({"iterate", "last", "a", "-m", " "}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("the feedback is empty"), std::string::npos) << o.err;
  o = run_baton({"iterate", "last", "--", "--upload-pack=touch pwned", "-m", "x"}, dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.err;
  o = run_baton({"iterate", "--", "--upload-pack=x", "a", "-m", "x"}, dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_FALSE(dir.exists("pwned"));
  EXPECT_EQ(task_of(last_run(dir), "a")["attempts"], 1);
}

TEST(IterateCommandTest, AnIterationSurvivesBatonStoppingBeforeTheAttempt) {
  ScratchDir dir;
  make_project(dir);
  ASSERT_EQ(run_baton({"task", "--agent", "recorder", "Write things"}, dir.path()).exit_code, 0);
  // The iteration is recorded, then this baton stops before the attempt starts (its
  // rehearsal script is missing); the next orchestrator carries it out.
  Outcome o = run_baton({"iterate", "last", "task", "-m", "Say more", "--rehearse", "nosuch.yaml"},
                        dir.path());
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(task_of(last_run(dir), "task")["attempts"], 1);
  o = run_baton({"resume", "last", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "task")["attempts"], 2);
  EXPECT_NE(run_branch_file(dir, run["id"], "prompts.txt")
                .find("Write things\n\n--\nA person reviewed your work on this task and asks for "
                      "changes (baton iterate):\nSay more\n"),
            std::string::npos);
}

TEST(TaskCommandTest, SandboxedTaskRunsInBwrapWithNetwork) {
  ScratchDir dir;
  make_project(dir);
  Outcome o =
      run_baton({"task", "--agent", "recorder", "--sandbox", "bwrap", "--plain", "x"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string id = last_run(dir)["id"];
  EXPECT_EQ(run_branch_file(dir, id, "prompts.txt"), "x\n\n--\n");
  ASSERT_EQ(run_baton({"audit", "export", id, "-o", "events.jsonl"}, dir.path()).exit_code, 0);
  std::string events = dir.read("events.jsonl");
  EXPECT_NE(events.find("\"sandbox\":\"bwrap\""), std::string::npos) << events;
  EXPECT_NE(events.find("\"network\":true"), std::string::npos) << events;
}

TEST(ShellCommandTest, RunsTheShellInTheTasksWorktree) {
  ScratchDir dir;
  make_project(dir);
  ASSERT_EQ(run_baton({"task", "--agent", "recorder", "Write things"}, dir.path()).exit_code, 0);
  std::string id = last_run(dir)["id"];
  std::string out = shell_script(dir, "last task",
                                 "pwd; echo \"$BATON_TASK_ID\"; cat prompts.txt; echo x > s.txt");
  EXPECT_NE(out.find("/.baton/worktrees/" + id + "/task\ntask\nWrite things\n"), std::string::npos)
      << out;
  EXPECT_TRUE(dir.exists(".baton/worktrees/" + id + "/task/s.txt"));
  EXPECT_FALSE(dir.exists("s.txt"));
}

TEST(ShellCommandTest, RefusesATaskWithoutADirectory) {
  ScratchDir dir;
  make_project(dir);
  dir.write("flow.yaml", "name: plain\ntasks:\n  - {id: t, run: \"true\"}\n");
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"shell", "last", "t"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("task 't' of run " + last_run(dir)["id"].get<std::string>() +
                       " has no directory of its own to open a shell in (it never ran in a "
                       "worktree)"),
            std::string::npos)
      << o.err;
  o = run_baton({"shell", "last", "nosuch"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("has no task 'nosuch'"), std::string::npos) << o.err;
}

TEST(ShellCommandTest, ASandboxedTaskGetsItsShellInsideBwrap) {
  ScratchDir dir;
  make_project(dir);
  dir.write("flow.yaml",
            "name: boxed\nsettings: {isolation: worktree, sandbox: bwrap}\n"
            "tasks:\n  - {id: t, run: \"echo in > in.txt\"}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  // The worktree is writable; the project's checkout is not there to write.
  std::string out = shell_script(dir, "last t",
                                 "cat in.txt; echo x > mine.txt; (echo y > " + dir.path() +
                                     "/escaped.txt) 2>/dev/null || echo refused");
  EXPECT_NE(out.find("in\nrefused\n"), std::string::npos) << out;
  EXPECT_FALSE(dir.exists("escaped.txt"));
}

// A run whose branch baton/<run> adds prompts.txt; returns the run id.
std::string task_run(const ScratchDir& dir) {
  make_project(dir);
  Outcome o = run_baton({"task", "--agent", "recorder", "Write things"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  return last_run(dir)["id"];
}

TEST(MergeCommandTest, MergesTheRunBranchIntoTheCheckedOutBranch) {
  ScratchDir dir;
  std::string id = task_run(dir);
  Outcome o = run_baton({"merge", id}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("merged baton/" + id + " into main"), std::string::npos) << o.out;
  EXPECT_EQ(dir.read("prompts.txt"), "Write things\n\n--\n");
  EXPECT_EQ(git_sh(dir.path(), "git log -1 --format=%s main"),
            "baton: merge run " + id + " (baton/" + id + ")\n");
  EXPECT_EQ(git_sh(dir.path(), "git status --porcelain --untracked-files=no"), "");
  o = run_baton({"merge", id}, dir.path());
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("nothing to merge"), std::string::npos) << o.out;
}

TEST(MergeCommandTest, AConflictLeavesTheRepositoryUnchanged) {
  ScratchDir dir;
  std::string id = task_run(dir);
  git_sh(dir.path(), "echo mine > prompts.txt && git add prompts.txt && git commit -qm mine");
  std::string before = git_sh(dir.path(), "git rev-parse HEAD; git worktree list | wc -l");
  Outcome o = run_baton({"merge", id}, dir.path());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("conflicts in prompts.txt; nothing was changed"), std::string::npos)
      << o.err;
  EXPECT_EQ(git_sh(dir.path(), "git rev-parse HEAD; git worktree list | wc -l"), before);
  EXPECT_EQ(dir.read("prompts.txt"), "mine\n");
  EXPECT_EQ(git_sh(dir.path(), "git status --porcelain --untracked-files=no"), "");
}

TEST(MergeCommandTest, IntoAnotherBranchAndHostileNames) {
  ScratchDir dir;
  std::string id = task_run(dir);
  git_sh(dir.path(), "git branch other");
  Outcome o = run_baton({"merge", id, "--into", "other"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(git_sh(dir.path(), "git show other:prompts.txt"), "Write things\n\n--\n");
  EXPECT_FALSE(dir.exists("prompts.txt"));  // main, checked out, is untouched
  for (std::string bad : {"--upload-pack=touch pwned", "-x", "a..b", "nosuch"}) {
    SCOPED_TRACE(bad);
    o = run_baton({"merge", id, "--into=" + bad}, dir.path());
    EXPECT_EQ(o.exit_code, 2) << o.err;
  }
  o = run_baton({"merge", "--", "--upload-pack=touch pwned"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("no run '--upload-pack=touch pwned'"), std::string::npos) << o.err;
  EXPECT_FALSE(dir.exists("pwned"));
}

// An environment whose PATH holds git and sh only: `gh` is never run by a test.
std::map<std::string, std::string> path_without_gh(const ScratchDir& bin) {
  git_sh(bin.path(), "ln -s \"$(command -v git)\" git && ln -s \"$(command -v sh)\" sh");
  return {{"PATH", bin.path()}};
}

TEST(PushCommandTest, PushesToABareRemoteAndSaysGhIsMissing) {
  ScratchDir dir, remote, bin;
  std::string id = task_run(dir);
  git_sh(remote.path(), "git init -q --bare r.git");
  git_sh(dir.path(), "git remote add origin " + remote.path() + "/r.git");
  // A receive-pack program in the repository's config (a task could have written it)
  // is not run.
  git_sh(dir.path(),
         "git config remote.origin.receivepack 'touch " + dir.path() + "/pwned; git-receive-pack'");
  Outcome o = run_baton({"push", id}, dir.path(), path_without_gh(bin));
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("pushed baton/" + id + " to origin"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("gh (GitHub CLI) is not installed"), std::string::npos) << o.out;
  EXPECT_EQ(git_sh(remote.path() + "/r.git", "git rev-parse baton/" + id),
            git_sh(dir.path(), "git rev-parse baton/" + id));
  EXPECT_FALSE(dir.exists("pwned"));
}

// A stand-in for GitHub's CLI `gh` (GitHub is unreachable here), in BIN beside git and
// sh: it records its argv one per line in BIN/argv and the file after --body-file= in
// BIN/body, then prints a pull request's URL, or fails (exit 1) when BIN/fail exists.
// Shell builtins only: BIN is the whole PATH.
std::map<std::string, std::string> path_with_gh_stand_in(const ScratchDir& bin) {
  std::map<std::string, std::string> env = path_without_gh(bin);
  bin.write("gh", R"(#!/bin/sh
dir=${0%/*}
: > "$dir/argv"
for a in "$@"; do
  printf '%s\n' "$a" >> "$dir/argv"
  case $a in --body-file=*)
    while IFS= read -r line; do printf '%s\n' "$line"; done < "${a#--body-file=}" > "$dir/body";;
  esac
done
if [ -e "$dir/fail" ]; then echo 'GraphQL: No commits between main and baton/x' >&2; exit 1; fi
echo 'Creating pull request for baton/x into main'
echo https://github.com/example/project/pull/7
)");
  std::filesystem::permissions(bin.path() + "/gh", std::filesystem::perms::owner_all);
  return env;
}

TEST(PushCommandTest, OpensAPullRequestWithGhGivingEachValueAsOneArgument) {
  ScratchDir dir, remote, bin;
  git_sh(dir.path(),
         "git init -q -b main && echo base > README && git add README && git commit -qm base");
  // A run whose workflow name is an option, shell code and a second line.
  const std::string name = "-x $(touch pwned) `touch pwned2`\n--body=owned";
  dir.write("flow.yaml",
            "name: \"-x $(touch pwned) `touch pwned2`\\n--body=owned\"\n"
            "settings: {isolation: worktree}\n"
            "tasks:\n  - {id: t, run: \"echo x > f.txt\"}\n");
  ASSERT_EQ(run_baton({"run", "flow.yaml", "--plain"}, dir.path()).exit_code, 0);
  const std::string id = last_run(dir)["id"];
  git_sh(remote.path(), "git init -q --bare r.git");
  git_sh(dir.path(), "git remote add origin " + remote.path() + "/r.git");
  std::map<std::string, std::string> env = path_with_gh_stand_in(bin);
  Outcome o = run_baton({"push", id}, dir.path(), env);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("pushed baton/" + id + " to origin\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("opened a pull request for baton/" + id +
                       ": https://github.com/example/project/pull/7\n"),
            std::string::npos)
      << o.out;
  std::string argv = bin.read("argv");
  const std::string body_file =
      argv.substr(argv.find("--body-file=") + 12,
                  argv.find('\n', argv.find("--body-file=")) - argv.find("--body-file=") - 12);
  EXPECT_EQ(argv, "pr\ncreate\n--head=baton/" + id + "\n--title=baton run " + id +
                      ": -x $(touch pwned) `touch pwned2` --body=owned\n--body-file=" + body_file +
                      "\n");
  EXPECT_EQ(bin.read("body"), "Changes of baton run " + id + " (workflow: " + name +
                                  "), branch `baton/" + id + "`.\n\nSee `baton inspect " + id +
                                  " TASK` and `baton diff " + id + "`.\n");
  EXPECT_FALSE(std::filesystem::exists(body_file));  // removed after gh ran
  EXPECT_FALSE(dir.exists("pwned"));
  EXPECT_FALSE(dir.exists("pwned2"));
  EXPECT_EQ(git_sh(remote.path() + "/r.git", "git rev-parse baton/" + id),
            git_sh(dir.path(), "git rev-parse baton/" + id));

  // gh fails: a clear error, and the push is said to be done.
  bin.write("fail", "");
  o = run_baton({"push", id}, dir.path(), env);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.out.find("pushed baton/" + id + " to origin\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.err, "baton: baton/" + id +
                       " is pushed, but gh pr create failed (exit 1: GraphQL: No commits between "
                       "main and baton/x); open the pull request yourself\n");
}

TEST(PushCommandTest, RefusesHostileRemotes) {
  ScratchDir dir, bin;
  std::string id = task_run(dir);
  git_sh(dir.path(), "git remote add evil 'ext::sh -c touch% " + dir.path() + "/pwned'");
  Outcome o = run_baton({"push", id, "--remote", "evil"}, dir.path(), path_without_gh(bin));
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("baton pushes only to a path"), std::string::npos) << o.err;
  o = run_baton({"push", id, "--remote=--upload-pack=touch pwned"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("is not a remote name"), std::string::npos) << o.err;
  o = run_baton({"push", id, "--remote", "nosuch"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("there is no remote 'nosuch'"), std::string::npos) << o.err;
  EXPECT_FALSE(dir.exists("pwned"));
}

// Claude Code (pinned, under --rehearse): `baton task`, then `baton iterate` resumes the
// agent's session in the same worktree.
// `baton task --review codex`: Claude's work is reviewed by Codex, which requests
// changes once and then approves; every step is in the run's events.
TEST(RoverAgentTest, TaskWithReviewRunsTheReviewCycles) {
  ScratchDir dir;
  git_sh(dir.path(),
         "git init -q -b main && echo base > README && git add README && git commit -qm base");
  auto verdict = [](const std::string& v, const std::string& feedback) {
    return "\"Reviewed.\\n```json\\n{\\\"verdict\\\": \\\"" + v + "\\\", \\\"feedback\\\": \\\"" +
           feedback + "\\\"}\\n```\"";
  };
  dir.write("script.yaml",
            "tasks:\n"
            "  \"task:claude:1\": [{write_file: {path: a.txt, content: \"one\\n\"}}, "
            "{text: \"wrote one\"}]\n"
            "  \"task:codex:2\": [{text: " +
                verdict("changes_requested", "Write two instead.") +
                "}]\n"
                "  \"task:claude:3\": [{write_file: {path: a.txt, content: \"two\\n\"}}, "
                "{text: \"wrote two\"}]\n"
                "  \"task:codex:4\": [{text: " +
                verdict("approved", "Good.") + "}]\n");
  Outcome o = run_baton({"task", "--agent", "claude", "--review", "codex", "--rehearse",
                         "script.yaml", "--plain", "Write a.txt"},
                        dir.path(), agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  const std::string id = run["id"];
  json task = task_of(run, "task");
  EXPECT_EQ(task["status"], "success") << task.dump();
  EXPECT_EQ(task["attempts"], 4);
  EXPECT_EQ(task["output"], "wrote two");
  EXPECT_EQ(run_branch_file(dir, id, "a.txt"), "two\n");
  Outcome audit = run_baton({"audit", "export", id}, dir.path());
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  std::vector<json> verdicts;
  int requested = 0;
  std::istringstream lines(audit.out);
  for (std::string line; std::getline(lines, line);) {
    json e = json::parse(line, nullptr, false);
    if (e.value("kind", "") == "review.verdict") verdicts.push_back(e["data"]);
    if (e.value("kind", "") == "review.requested") ++requested;
  }
  EXPECT_EQ(requested, 2);
  ASSERT_EQ(verdicts.size(), 2u) << audit.out;
  EXPECT_EQ(verdicts[0]["verdict"], "changes_requested");
  EXPECT_EQ(verdicts[0]["feedback"], "Write two instead.");
  EXPECT_EQ(verdicts[0]["reviewer"], "codex");
  EXPECT_EQ(verdicts[1]["verdict"], "approved");
}

TEST(RoverAgentTest, IterateResumesClaudesSessionInItsWorktree) {
  ScratchDir dir;
  git_sh(dir.path(),
         "git init -q -b main && echo base > README && git add README && git commit -qm base");
  dir.write("script.yaml", R"(tasks:
  "task:claude:1": [{write_file: {path: a.txt, content: "first\n"}}, {text: "wrote a.txt"}]
  "task:claude:2":
    - {edit_file: {path: a.txt, old: "first", new: "changed"}}
    - {write_file: {path: b.txt, content: "second\n"}}
    - {text: "wrote b.txt"}
)");
  Outcome o = run_baton(
      {"task", "--agent", "claude", "--rehearse", "script.yaml", "--plain", "Write a.txt"},
      dir.path(), agent_path(), 180);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  o = run_baton(
      {"iterate", "last", "task", "-m", "Also write b.txt", "--rehearse", "script.yaml", "--plain"},
      dir.path(), agent_path(), 180);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  std::string first, second;
  for (const auto& a : run["attempts"]) {
    (a["number"] == 1 ? first : second) = a.value("session_id", "");
  }
  EXPECT_FALSE(first.empty()) << run.dump();
  EXPECT_EQ(second, first) << run.dump();
  std::string id = run["id"];
  // The second attempt edited what the first one left in the worktree.
  EXPECT_EQ(run_branch_file(dir, id, "a.txt"), "changed\n");
  EXPECT_EQ(run_branch_file(dir, id, "b.txt"), "second\n");
}

// A task without resume_session: `baton iterate` still resumes the session.
TEST(RoverAgentTest, IterateResumesTheSessionOfATaskWithoutResumeSession) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: one
settings: {isolation: worktree}
tasks:
  - {id: t, agent: claude, parameters: {task: "Write a.txt"}, timeout: 2m}
)");
  git_sh(dir.path(), "git init -q -b main && git add flow.yaml && git commit -qm base");
  dir.write("script.yaml", R"(tasks:
  "t:claude:1": [{write_file: {path: a.txt, content: "first\n"}}, {text: "wrote a.txt"}]
  "t:claude:2": [{text: "nothing to change"}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 180);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  o = run_baton({"iterate", "last", "t", "-m", "Check it", "--rehearse", "script.yaml", "--plain"},
                dir.path(), agent_path(), 180);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  std::string first, second;
  for (const auto& a : run["attempts"]) {
    (a["number"] == 1 ? first : second) = a.value("session_id", "");
  }
  EXPECT_FALSE(first.empty()) << run.dump();
  EXPECT_EQ(second, first) << run.dump();
}

TEST(TemplatesTest, EveryTemplateIsWrittenAsShippedAndValidates) {
  ScratchDir dir;
  git_sh(dir.path(), "git init -q -b main");
  Outcome list = run_baton({"templates"}, dir.path());
  ASSERT_EQ(list.exit_code, 0);
  const std::map<std::string, std::string> sources = {
      {"feature", "tests/workflows/seed001_feature.yaml"},
      {"bugfix", "tests/workflows/seed001_bugfix.yaml"},
      {"rover", "templates/rover.yaml"}};
  for (const auto& [name, source] : sources) {
    SCOPED_TRACE(name);
    EXPECT_NE(list.out.find("baton init --template " + name + ";"), std::string::npos) << list.out;
    Outcome o = run_baton({"init", "--template", name, "--probe-timeout", "5"}, dir.path());
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    EXPECT_NE(o.out.find("wrote "), std::string::npos) << o.out;
    EXPECT_EQ(dir.read(".baton/" + name + ".yaml"), read_file(source_dir() + "/" + source));
    Outcome v = run_baton({"validate", ".baton/" + name + ".yaml"}, dir.path());
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  // The directory template: listed with what it writes, its files as shipped.
  EXPECT_NE(list.out.find("writes kitty-specs/001-example-feature/"), std::string::npos)
      << list.out;
  ASSERT_EQ(run_baton({"init", "--template", "spec-kitty"}, dir.path()).exit_code, 0);
  for (const char* file : {"spec.md", "plan.md", "tasks/WP01-greeting.md", "tasks/WP02-usage.md",
                           "tasks/WP03-tests.md"}) {
    EXPECT_EQ(
        dir.read(std::string("kitty-specs/001-example-feature/") + file),
        read_file(source_dir() + "/templates/spec-kitty/kitty-specs/001-example-feature/" + file));
  }
  // A second time: the file is there; --force overwrites it. The config is kept.
  dir.write(".baton/config.yaml", dir.read(".baton/config.yaml") + "# mine\n");
  Outcome again = run_baton({"init", "--template", "rover"}, dir.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("rover.yaml exists; use --force"), std::string::npos) << again.err;
  EXPECT_EQ(run_baton({"init", "--template", "rover", "--force"}, dir.path()).exit_code, 0);
  EXPECT_NE(dir.read(".baton/config.yaml").find("# mine\n"), std::string::npos);
  Outcome unknown = run_baton({"init", "--template", "../../etc/passwd"}, dir.path());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("there is no template '../../etc/passwd' (feature, bugfix, rover, "
                             "spec-kitty; see baton templates)"),
            std::string::npos)
      << unknown.err;
}

// The rover template runs as written with Claude Code in every role (--rehearse).
TEST(RoverAgentTest, RoverTemplateRunsAsWritten) {
  ScratchDir dir;
  git_sh(dir.path(),
         "git init -q -b main && echo base > README && git add README && "
         "git commit -qm base");
  dir.write(".baton/config.yaml",
            "agents:\n  planner: {use: [claude]}\n  coder: {use: [claude]}\n"
            "  checker: {use: [claude]}\n");
  ASSERT_EQ(run_baton({"init", "--template", "rover"}, dir.path()).exit_code, 0);
  dir.write("script.yaml", R"(tasks:
  implement: [{write_file: {path: flag.txt, content: "verbose\n"}}, {text: "implemented"}]
fallback: [{text: "no changes needed"}]
)");
  Outcome o = run_baton({"run", ".baton/rover.yaml", "-i", "request=Add a flag", "--rehearse",
                         "script.yaml", "--plain"},
                        dir.path(), agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("5 tasks: 5 success"), std::string::npos) << o.out;
  EXPECT_EQ(run_branch_file(dir, last_run(dir)["id"], "flag.txt"), "verbose\n");
}

}  // namespace
}  // namespace baton::testing
