// Integration tests: `baton init`, the live view on a terminal, and the state
// database after baton is killed with SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness_util.h"

namespace baton::testing {
namespace {

TEST(InitTest, WritesConfigWithRolesAndAnExampleThatRuns) {
  ScratchDir dir;
  // Only the system directories: no agent CLI is installed on this PATH.
  Outcome o = run_baton({"init"}, dir.path(), {{"PATH", "/usr/bin:/bin"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::string config = dir.read(".baton/config.yaml");
  EXPECT_NE(config.find("#   claude    not found"), std::string::npos) << config;
  EXPECT_NE(config.find("  planner:\n    use: [claude, codex]"), std::string::npos) << config;
  EXPECT_NE(o.out.find("0 agent CLIs found"), std::string::npos) << o.out;
  // Refuses to overwrite without --force.
  EXPECT_EQ(run_baton({"init"}, dir.path()).exit_code, 2);
  o = run_baton({"run", ".baton/hello.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
}

// An empty `.git` in a parent (Codex's sandbox creates one in /tmp while its command
// runs) is not a work tree: the project stays the current directory. A real one is.
TEST(InitTest, AnEmptyGitInAParentIsNotAProject) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.path() + "/outer/.git");
  std::filesystem::create_directories(dir.path() + "/outer/inner");
  dir.write("outer/file/.git", "");
  std::filesystem::create_directories(dir.path() + "/outer/file/inner");
  for (const char* sub : {"outer/inner", "outer/file/inner"}) {
    Outcome o = run_baton({"init"}, dir.path() + "/" + sub, {{"PATH", "/usr/bin:/bin"}});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_TRUE(dir.exists(std::string(sub) + "/.baton/config.yaml")) << sub;
  }
  EXPECT_FALSE(dir.exists("outer/.baton"));
  EXPECT_FALSE(dir.exists("outer/file/.baton"));
  ASSERT_EQ(run_command({"git", "init", "-q", dir.path() + "/repo"}, dir.path()).exit_code, 0);
  std::filesystem::create_directories(dir.path() + "/repo/sub");
  ASSERT_EQ(run_baton({"init"}, dir.path() + "/repo/sub", {{"PATH", "/usr/bin:/bin"}}).exit_code,
            0);
  EXPECT_TRUE(dir.exists("repo/.baton/config.yaml"));
}

TEST(InitTest, DetectsAnInstalledAgentAndPrefersIt) {
  ScratchDir dir;
  // An executable named codex that answers --version: enough for detection.
  dir.write("bin/codex", "#!/bin/sh\necho 'codex-cli 0.169.0'\n");
  ASSERT_EQ(std::system(("chmod +x " + dir.path() + "/bin/codex").c_str()), 0);
  Outcome o = run_baton({"init"}, dir.path(), {{"PATH", dir.path() + "/bin:/usr/bin:/bin"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::string config = dir.read(".baton/config.yaml");
  EXPECT_NE(config.find("codex-cli 0.169.0"), std::string::npos) << config;
  EXPECT_NE(config.find("  coder:\n    use: [codex]"), std::string::npos) << config;
}

// Two finished runs of a one-task workflow in DIR; their ids, newest first.
std::vector<std::string> two_runs(const ScratchDir& dir) {
  dir.write("flow.yaml", "name: two\ntasks:\n  - {id: only, run: 'echo hi'}\n");
  for (int i = 0; i < 2; ++i) {
    Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
    EXPECT_EQ(o.exit_code, 0) << o.err;
  }
  std::vector<std::string> ids;
  for (const auto& r : status_json(dir)) ids.push_back(r["id"]);
  return ids;
}

// The shortest prefix of A that B does not share.
std::string distinct_prefix(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return a.substr(0, i + 1);
}

TEST(RunIdTest, EveryCommandTakesLastAndAUniquePrefix) {
  ScratchDir dir;
  std::vector<std::string> ids = two_runs(dir);
  ASSERT_EQ(ids.size(), 2u);
  const std::string older = distinct_prefix(ids[1], ids[0]);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status", older},
                                             {"logs", older, "only"},
                                             {"audit", "verify", older},
                                             {"audit", "export", older, "-o", "out.jsonl"},
                                             {"clean", older},
                                             {"inspect", older, "only"},
                                             {"status", "last"},
                                             {"audit", "verify", "last"},
                                             {"clean", "last"}}) {
    Outcome o = run_baton(args, dir.path());
    EXPECT_EQ(o.exit_code, 0) << args[0] << " " << args[1] << ": " << o.err;
  }
  Outcome status = run_baton({"status", older}, dir.path());
  EXPECT_NE(status.out.find(ids[1]), std::string::npos) << status.out;
  Outcome verify = run_baton({"audit", "verify", older}, dir.path());
  EXPECT_EQ(verify.out.rfind("run " + ids[1] + ": ", 0), 0u) << verify.out;
  // A finished run cannot be cancelled, but the prefix finds it.
  Outcome cancel = run_baton({"cancel", older}, dir.path());
  EXPECT_EQ(cancel.exit_code, 1) << cancel.err;
  EXPECT_EQ(cancel.out, "run " + ids[1] + " already ended (success); nothing to cancel\n");
}

TEST(RunIdTest, AnAmbiguousPrefixListsTheCandidates) {
  ScratchDir dir;
  std::vector<std::string> ids = two_runs(dir);
  ASSERT_EQ(ids.size(), 2u);
  const std::string common = ids[0].substr(0, distinct_prefix(ids[0], ids[1]).size() - 1);
  ASSERT_FALSE(common.empty());
  for (const char* cmd : {"status", "logs", "cancel", "pause", "resume", "diff", "clean"}) {
    Outcome o = run_baton({cmd, common}, dir.path());
    EXPECT_EQ(o.exit_code, 2) << cmd;
    EXPECT_EQ(o.err, "baton: run id prefix '" + common + "' is ambiguous; it matches 2 runs:\n  " +
                         ids[0] + "  two  success\n  " + ids[1] + "  two  success\n")
        << cmd;
  }
}

TEST(RunIdTest, AnUnknownRunIsAUsageErrorEverywhere) {
  ScratchDir dir;
  two_runs(dir);
  const std::string db = dir.path() + "/.baton/state.db";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status", "nosuchrun"},
                                             {"logs", "nosuchrun"},
                                             {"cancel", "nosuchrun"},
                                             {"pause", "nosuchrun"},
                                             {"resume", "nosuchrun"},
                                             {"retry", "nosuchrun", "only"},
                                             {"approve", "nosuchrun", "only"},
                                             {"audit", "verify", "nosuchrun"},
                                             {"audit", "export", "nosuchrun"},
                                             {"diff", "nosuchrun"},
                                             {"clean", "nosuchrun"},
                                             {"clean", "nosuchrun", "--branches"}}) {
    Outcome o = run_baton(args, dir.path());
    EXPECT_EQ(o.exit_code, 2) << args[0];
    EXPECT_EQ(o.err, "baton: no run 'nosuchrun' in " + db + "\n") << args[0];
  }
}

TEST(RunIdTest, LastWithNoRunsIsAUsageError) {
  ScratchDir dir;
  dir.write(".baton/.keep", "");
  // An empty database: baton creates its tables on open, and there is no run.
  ASSERT_EQ(
      run_command({"sqlite3", ".baton/state.db", "CREATE TABLE t(x); DROP TABLE t;"}, dir.path())
          .exit_code,
      0);
  const std::string db = dir.path() + "/.baton/state.db";
  for (const char* cmd : {"clean", "status", "logs", "cancel", "resume"}) {
    Outcome o = run_baton({cmd, "last"}, dir.path());
    EXPECT_EQ(o.exit_code, 2) << cmd;
    EXPECT_EQ(o.err, "baton: no runs yet in " + db + "\n") << cmd;
  }
}

TEST(ResumeTest, WorksFromAnyDirectoryOfTheProject) {
  ScratchDir dir;
  dir.write("wf/flow.yaml", R"(name: gated
tasks:
  - id: ship
    gate: {message: "ship?"}
    run: echo shipped >> ledger
)");
  dir.write("deep/er/.keep", "");
  Outcome o = run_baton({"run", "wf/flow.yaml", "--plain", "--no-wait"}, dir.path());
  ASSERT_EQ(o.exit_code, 5) << o.out << o.err;
  EXPECT_EQ(last_run(dir)["workflow_path"], "wf/flow.yaml");  // relative to the project root
  const std::string sub = dir.path() + "/deep/er";
  ASSERT_EQ(run_baton({"approve", "last", "ship"}, sub).exit_code, 0);
  o = run_baton({"resume", "last", "--plain"}, sub);
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ledger"), "shipped\n");
}

// A run of 45 tasks, the last of which fails (one at a time, so the others succeed first): `baton
// run`'s summary and `baton status` list only the task that did not succeed and count the others;
// `--all` lists every task.
TEST(SummaryTest, ALongRunsSummaryListsWhatDidNotSucceedAndAllListsEveryTask) {
  ScratchDir dir;
  std::string flow = "name: long\nsettings: {max_parallel: 1}\ntasks:\n";
  for (int i = 0; i < 45; ++i) {
    flow += "  - {id: task" + std::to_string(i) + ", run: [" +
            (i == 44 ? "\"false\"" : "\"true\"") + "]}\n";
  }
  dir.write("flow.yaml", flow);
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  const std::string id = last_run(dir)["id"];
  auto rows = [](const std::string& text) {  // lines "  taskN  STATUS ..."
    int n = 0;
    for (size_t at = text.find("\n  task"); at != std::string::npos;
         at = text.find("\n  task", at + 1)) {
      size_t end = text.find_first_not_of("0123456789", at + 7);
      if (end != std::string::npos && text[end] == ' ') ++n;
    }
    return n;
  };
  for (const std::string& text : {o.out, run_baton({"status", id}, dir.path()).out}) {
    EXPECT_EQ(rows(text), 1) << text;
    EXPECT_NE(text.find("\n  task44  "), std::string::npos) << text;
    EXPECT_NE(text.find("  ... 44 tasks not listed (44 success); every task: baton status " + id +
                        " --all\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("failures:\n  task44: exited 1\n"), std::string::npos) << text;
  }
  Outcome all = run_baton({"status", id, "--all"}, dir.path());
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(rows(all.out), 45) << all.out;
  EXPECT_EQ(all.out.find("not listed"), std::string::npos) << all.out;
}

TEST(CommandLineTest, AnUnknownCommandSuggestsTheNearestOne) {
  ScratchDir dir;
  Outcome o = run_baton({"rn", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            "baton: unknown command 'rn'; did you mean 'run'?\n"
            "Run with --help for the list of commands.\n");
  o = run_baton({"audit", "verfy", "last"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  o = run_baton({"help", "audit", "verfy"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "baton: unknown command 'audit verfy'; did you mean 'verify'?\n"
            "Run with --help for the list of commands.\n");
}

TEST(CommandLineTest, HelpCommandPrintsWhatDashDashHelpPrints) {
  ScratchDir dir;
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{{}, {"run"}, {"audit"}, {"audit", "export"}}) {
    std::vector<std::string> help{"help"}, dashed = words;
    help.insert(help.end(), words.begin(), words.end());
    dashed.push_back("--help");
    Outcome a = run_baton(help, dir.path());
    Outcome b = run_baton(dashed, dir.path());
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_FALSE(a.out.empty());
  }
  EXPECT_NE(run_baton({"help"}, dir.path()).out.find("help"), std::string::npos);
}

TEST(CommandLineTest, AnUndeclaredInputIsAnErrorWithASuggestion) {
  ScratchDir dir;
  dir.write("flow.yaml",
            "name: hi\ninputs: {name: {default: you}}\ntasks:\n  - {id: a, run: 'echo ${name}'}\n");
  Outcome o = run_baton({"run", "flow.yaml", "-i", "nmae=me"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "flow.yaml: error: -i nmae: the workflow declares no input 'nmae'; did you mean "
            "'name'? (declare it under 'inputs', or set 'settings.allow_extra_inputs: true' to "
            "accept any)\n");
  EXPECT_FALSE(dir.exists(".baton/state.db"));  // nothing ran
  EXPECT_EQ(run_baton({"run", "flow.yaml", "-i", "name=me"}, dir.path()).exit_code, 0);
}

TEST(InitTest, StateLogsAndWorktreesAreNeverCommitted) {
  ScratchDir dir;
  dir.write("flow.yaml",
            "name: quiet\nsettings: {isolation: worktree}\ntasks:\n"
            "  - {id: a, run: 'echo hi > a.txt'}\n");
  Outcome git = run_command({"sh", "-c",
                             "git init -q && git add flow.yaml && git -c user.name=t -c "
                             "user.email=t@t commit -qm init"},
                            dir.path());
  ASSERT_EQ(git.exit_code, 0) << git.err;
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  ASSERT_TRUE(dir.exists(".baton/state.db"));
  ASSERT_TRUE(dir.exists(".baton/runs"));
  const std::vector<std::string> status{
      "git", "status", "--porcelain", "--untracked-files=all", "--ignored=no", "--", ".baton"};
  EXPECT_EQ(run_command(status, dir.path()).out, "");  // nothing under .baton/
  // baton init: config.yaml and the example may be committed; the state still not.
  ASSERT_EQ(run_baton({"init"}, dir.path(), {{"PATH", "/usr/bin:/bin"}}).exit_code, 0);
  EXPECT_EQ(run_command(status, dir.path()).out, "?? .baton/config.yaml\n?? .baton/hello.yaml\n");
}

TEST(InitTest, WritesTheGitignoreOfItsStateDirectory) {
  ScratchDir dir;
  ASSERT_EQ(run_baton({"init"}, dir.path(), {{"PATH", "/usr/bin:/bin"}}).exit_code, 0);
  EXPECT_EQ(dir.read(".baton/.gitignore"),
            "# Written by baton: its state database, logs, worktrees and rehearsal homes are\n"
            "# never committed. config.yaml and workflows kept here may be.\n"
            "*\n!*.yaml\n!*.yml\n");
}

TEST(LiveViewTest, RedrawsATableInPlaceOnATerminal) {
  ScratchDir dir;
  dir.write("flow.yaml",
            "name: tty\ntasks:\n  - {id: first, run: 'true'}\n"
            "  - {id: second, run: 'true', dependencies: [first]}\n");
  // util-linux `script` gives baton a pseudo-terminal as stdout.
  std::string cmd = "cd " + dir.path() + " && script -qec '" + BATON_BINARY +
                    " run flow.yaml' /dev/null > tty.out 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string screen = dir.read("tty.out");
  EXPECT_NE(screen.find("\x1b[2K"), std::string::npos);  // lines are cleared...
  EXPECT_NE(screen.find("\x1b[4A"), std::string::npos);  // ...and redrawn in place
  EXPECT_NE(screen.find("TASK"), std::string::npos);
  EXPECT_NE(screen.find("2 tasks: 2 success"), std::string::npos) << screen;
}

TEST(CrashTest, StateIsConsistentAfterSigkill) {
  ScratchDir dir;
  std::string yaml = "name: crash\nsettings: {max_parallel: 4}\ntasks:\n";
  for (int i = 0; i < 40; ++i) {
    yaml += "  - {id: t" + std::to_string(i) + ", run: 'echo " + std::to_string(i) + "'}\n";
  }
  // The marker starts only after all 40 ended: their success must be durable by then.
  yaml +=
      "  - id: marker\n    run: echo $$ > marker.pid; touch started; exec sleep 300\n"
      "    dependencies: [";
  for (int i = 0; i < 40; ++i) yaml += (i ? ", t" : "t") + std::to_string(i);
  yaml += "]\n";
  dir.write("flow.yaml", yaml);
  BatonProcess p({"run", "flow.yaml"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  p.signal(SIGKILL);
  Outcome killed = p.wait(10);
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  // The database opens, and every task recorded as succeeded has its attempt row.
  Outcome o = run_baton({"status", "--json"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto runs = nlohmann::json::parse(o.out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "running");  // nobody finished it: resume's job
  o = run_baton({"status", runs[0]["id"].get<std::string>(), "--json"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto run = nlohmann::json::parse(o.out);
  int succeeded = 0;
  for (const auto& t : run["tasks"]) {
    if (t["status"] != "success") continue;
    ++succeeded;
    bool has_attempt = false;
    for (const auto& a : run["attempts"]) {
      if (a["task"] == t["id"] && a["status"] == "success") has_attempt = true;
    }
    EXPECT_TRUE(has_attempt) << t["id"];
  }
  EXPECT_EQ(succeeded, 40);
  // The killed run's `sleep 300` outlives it in its own process group; clean up.
  pid_t marker = std::stoi(dir.read("marker.pid"));
  kill(-marker, SIGKILL);
}

}  // namespace
}  // namespace baton::testing
