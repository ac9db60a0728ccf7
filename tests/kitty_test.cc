// Integration tests: `baton run|validate|resume kitty-specs/NNN-feature/` on feature
// directories written in spec-kitty's layout (tests/fixtures/kitty/), implemented by a
// stand-in agent (tests/kitty/impl-agent, a custom agent) or, in KittyRehearsedTest,
// by the real Claude Code CLI against the rehearsal server; lanes through the
// feature's files, or through the orchestrator-API stand-in tests/kitty/spec-kitty.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A git repository on main with FIXTURE as kitty-specs/SLUG and a config whose role
// 'implementer' is the stand-in agent, its knobs in DIR/ctl.
void make_feature_repo(const ScratchDir& dir, const std::string& fixture, const std::string& slug,
                       const std::string& extra_config = "") {
  fs::create_directories(dir.path() + "/kitty-specs");
  fs::copy(source_dir() + "/tests/fixtures/kitty/" + fixture, dir.path() + "/kitty-specs/" + slug,
           fs::copy_options::recursive);
  fs::create_directories(dir.path() + "/ctl");
  dir.write(".baton/config.yaml",
            "custom_agents:\n  bot:\n    command: [sh, " + source_dir() +
                "/tests/kitty/impl-agent]\n    env: {KITTY_CTL: " + dir.path() +
                "/ctl}\nagents:\n  implementer:\n    use: "
                "[bot]\n" +
                extra_config);
  dir.write(".gitignore", "ctl/\n");
  git_sh(dir.path(), "git init -q -b main && git add -A && git commit -qm base");
}

// make_feature_repo() of FIXTURE (the linear feature) with a role 'reviewer': the stand-in
// reviewer tests/kitty/review-agent as the custom agent 'checker', beside 'bot'.
void make_reviewed_feature_repo(const ScratchDir& dir, const std::string& fixture = "linear",
                                const std::string& slug = "001-linear",
                                const std::string& extra_config = "") {
  make_feature_repo(dir, fixture, slug, "  reviewer:\n    use: [checker]\n" + extra_config);
  std::string config = dir.read(".baton/config.yaml");
  config.insert(config.find("  bot:"),
                "  checker:\n    command: [sh, " + source_dir() +
                    "/tests/kitty/review-agent]\n    env: {KITTY_CTL: " + dir.path() + "/ctl}\n");
  dir.write(".baton/config.yaml", config);
  git_sh(dir.path(), "git add -A && git commit -qm reviewer");
}

std::vector<json> lane_events_of(const ScratchDir& dir, const std::string& slug) {
  std::vector<json> out;
  std::istringstream in(dir.read("kitty-specs/" + slug + "/status.events.jsonl"));
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

// "from>to" of every event of WP, in order.
std::vector<std::string> moves_of(const std::vector<json>& events, const std::string& wp) {
  std::vector<std::string> out;
  for (const json& e : events) {
    if (e["wp_id"] == wp) {
      out.push_back(e["from_lane"].get<std::string>() + ">" + e["to_lane"].get<std::string>());
    }
  }
  return out;
}

const std::vector<std::string> kFullPath{"planned>claimed", "claimed>in_progress",
                                         "in_progress>for_review", "for_review>done"};

// FILE at the tip of the run's integration branch.
std::string on_run_branch(const ScratchDir& dir, const std::string& file) {
  json run = last_run(dir);
  return git_sh(dir.path(), "git show 'baton/" + run["id"].get<std::string>() + ":" + file + "'");
}

TEST(KittyTest, ValidateReportsEachFileErrorAtItsPlace) {
  ScratchDir dir;
  make_feature_repo(dir, "errors-file", "009-errors");
  Outcome o = run_baton({"validate", "kitty-specs/009-errors"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "kitty-specs/009-errors/tasks/WP01-no-deps.md:1:1: error: the front matter has no "
            "'dependencies' (write 'dependencies: []' when the work package has none)\n"
            "---\n"
            "^\n"
            "kitty-specs/009-errors/tasks/WP02-bad-id.md:2:18: error: work_package_id 'WP 02!' "
            "is not a valid task id ([A-Za-z0-9_][A-Za-z0-9_-]*, at most 64 characters)\n"
            "work_package_id: \"WP 02!\"\n"
            "                 ^\n"
            "kitty-specs/009-errors/tasks/WP03-no-front-matter.md:1:1: error: no front matter: a "
            "work package file starts with a '---' line\n"
            "# Just markdown\n"
            "^\n"
            "kitty-specs/009-errors/tasks/WP04-empty-body.md:5:1: error: the work package has no "
            "body: the text after the front matter is its implementation prompt\n"
            "---\n"
            "^\n"
            "kitty-specs/009-errors/tasks/WP05-bad-deps.md:4:15: error: 'dependencies' must be a "
            "list of work package ids\n"
            "dependencies: \"WP01\"\n"
            "              ^\n"
            "kitty-specs/009-errors/tasks/WP06-bad-yaml.md:4:13: error: invalid YAML: did not "
            "find expected ',' or ']' (while parsing a flow sequence at line 3)\n"
            "dependencies: []\n"
            "            ^\n");
}

TEST(KittyTest, ValidateReportsDuplicateUnknownSelfAndCyclicDependencies) {
  ScratchDir dir;
  make_feature_repo(dir, "errors-graph", "010-graph");
  Outcome o = run_baton({"validate", "kitty-specs/010-graph/"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "kitty-specs/010-graph/tasks/WP06-dup.md:2:18: error: work package 'WP01' is also "
            "defined in kitty-specs/010-graph/tasks/WP01-ok.md\n"
            "work_package_id: \"WP01\"\n"
            "                 ^\n"
            "kitty-specs/010-graph/tasks/WP02-unknown.md:6:5: error: unknown work package 'WP09' "
            "in dependencies (the feature has: WP01, WP02, WP03, WP04, WP05)\n"
            "  - \"WP09\"\n"
            "    ^\n"
            "kitty-specs/010-graph/tasks/WP05-self.md:4:16: error: work package 'WP05' depends "
            "on itself\n"
            "dependencies: [WP05]\n"
            "               ^\n"
            "kitty-specs/010-graph/tasks/WP04-cycle.md:4:24: error: dependency cycle: WP03 -> "
            "WP04 -> WP03\n"
            "dependencies: [\"WP01\", \"WP03\"]\n"
            "                       ^\n");
}

TEST(KittyTest, ALinearFeatureRunsInOrderInWorktreesBasedOnItsDependencies) {
  ScratchDir dir;
  make_feature_repo(dir, "linear", "001-linear");
  Outcome v = run_baton({"validate", "kitty-specs/001-linear"}, dir.path());
  EXPECT_EQ(v.out, "kitty-specs/001-linear: ok (3 work packages to run)\n") << v.err;
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ctl/ran"), "WP01\nWP02\nWP03\n");
  std::vector<json> events = lane_events_of(dir, "001-linear");
  for (const char* wp : {"WP01", "WP02", "WP03"}) EXPECT_EQ(moves_of(events, wp), kFullPath) << wp;
  json status = json::parse(dir.read("kitty-specs/001-linear/status.json"));
  EXPECT_EQ(status["summary"]["done"], 3);
  EXPECT_EQ(status["work_packages"]["WP03"]["lane"], "done");
  // WP03's worktree held what WP01 and WP02 committed.
  std::string seen = on_run_branch(dir, "seen-WP03.txt");
  EXPECT_NE(seen.find("prompt-WP01.txt"), std::string::npos) << seen;
  EXPECT_NE(seen.find("prompt-WP02.txt"), std::string::npos) << seen;
  EXPECT_EQ(on_run_branch(dir, "prompt-WP02.txt").rfind("# WP02: Step 2\n\n# Work Package", 0), 0u);
  // Done now: a second run has nothing to do.
  Outcome again = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "kitty-specs/001-linear: every work package is done; nothing to run\n");
  EXPECT_EQ(dir.read("ctl/ran"), "WP01\nWP02\nWP03\n");
}

TEST(KittyTest, MaxConcurrentLimitsWorkPackagesInFlight) {
  ScratchDir dir;
  make_feature_repo(dir, "fanout", "002-fanout");
  dir.write("ctl/overlap", "");
  Outcome o =
      run_baton({"run", "kitty-specs/002-fanout", "--plain", "--max-concurrent", "1"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ctl/overlapped"), "");
  EXPECT_EQ(dir.read("ctl/ran").size(), std::string("WP01\nWP02\nWP03\nWP04\n").size());
}

TEST(KittyTest, WithoutALimitTheFanOutRunsTogether) {
  ScratchDir dir;
  make_feature_repo(dir, "fanout", "002-fanout");
  dir.write("ctl/overlap", "");
  Outcome o = run_baton({"run", "kitty-specs/002-fanout", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(dir.read("ctl/overlapped"), "");
}

// A 12-WP feature (fan-outs and diamonds, tests/fixtures/kitty/twelve) whose implementer
// 'bot' has `agent_limits: {bot: 1}` and whose reviewer 'checker' has none: from the
// recorded attempts' start and end, bot's attempts never overlap one another, while
// checker's ran beside them (the limit is per agent, not global).
TEST(KittyTest, AnAgentLimitOfOneHoldsAcrossATwelveWorkPackageFeature) {
  ScratchDir dir;
  make_reviewed_feature_repo(dir, "twelve", "012-twelve", "agent_limits: {bot: 1}\n");
  dir.write("ctl/stay", "0.2");
  Outcome o = run_baton({"run", "kitty-specs/012-twelve", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  std::vector<std::pair<double, double>> bot, checker;
  for (const json& a : run["attempts"]) {
    ASSERT_TRUE(a["ended_at"].is_number()) << a.dump();
    auto span = std::pair{a["started_at"].get<double>(), a["ended_at"].get<double>()};
    (a["agent"] == "bot" ? bot : checker).push_back(span);
    EXPECT_TRUE(a["agent"] == "bot" || a["agent"] == "checker") << a.dump();
  }
  EXPECT_EQ(bot.size(), 12u);
  EXPECT_EQ(checker.size(), 12u);
  auto overlap = [](const std::pair<double, double>& x, const std::pair<double, double>& y) {
    return x.first < y.second && y.first < x.second;
  };
  for (size_t i = 0; i < bot.size(); ++i) {
    for (size_t j = i + 1; j < bot.size(); ++j) {
      EXPECT_FALSE(overlap(bot[i], bot[j])) << "bot attempts " << i << " and " << j;
    }
  }
  int beside = 0;
  for (const auto& c : checker) {
    for (const auto& b : bot) beside += overlap(c, b) ? 1 : 0;
  }
  EXPECT_GT(beside, 0);
  json status = json::parse(dir.read("kitty-specs/012-twelve/status.json"));
  EXPECT_EQ(status["summary"]["done"], 12);
  std::vector<json> events = lane_events_of(dir, "012-twelve");
  for (int i = 1; i <= 12; ++i) {
    std::string wp = (i < 10 ? "WP0" : "WP1") + std::to_string(i % 10);
    EXPECT_EQ(moves_of(events, wp), kFullPath) << wp;
  }
}

TEST(KittyTest, DoneWorkPackagesAreNotRunAgain) {
  ScratchDir dir;
  make_feature_repo(dir, "diamond", "003-diamond");
  // spec-kitty's branch of the done WP01, with a commit HEAD does not have.
  git_sh(dir.path(),
         "git checkout -qb 003-diamond-WP01 && git commit -q --allow-empty -m wp01 && "
         "git checkout -q main");
  Outcome o = run_baton({"run", "kitty-specs/003-diamond", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.err.find("baton: warning: WP01 is done, but its branch 003-diamond-WP01 is not "
                       "merged into HEAD: the work packages depending on it start from HEAD "
                       "without it (merge it first)\n"),
            std::string::npos)
      << o.err;
  std::string ran = dir.read("ctl/ran");
  EXPECT_EQ(ran.find("WP01"), std::string::npos) << ran;
  EXPECT_EQ(ran.substr(ran.size() - 5), "WP04\n");
  std::vector<json> events = lane_events_of(dir, "003-diamond");
  EXPECT_EQ(moves_of(events, "WP01").size(), 4u);  // the fixture's own
  EXPECT_EQ(moves_of(events, "WP04"), kFullPath);
  std::string seen = on_run_branch(dir, "seen-WP04.txt");
  EXPECT_NE(seen.find("prompt-WP02.txt"), std::string::npos) << seen;
  EXPECT_NE(seen.find("prompt-WP03.txt"), std::string::npos) << seen;
  json status = json::parse(dir.read("kitty-specs/003-diamond/status.json"));
  EXPECT_EQ(status["work_packages"]["WP01"]["kept"], "by baton");  // keys baton does not write
  EXPECT_EQ(status["summary"]["done"], 4);
}

TEST(KittyTest, GraphDrawsTheWorkPackagesThatWouldRun) {
  ScratchDir dir;
  make_feature_repo(dir, "diamond", "003-diamond");
  Outcome o = run_baton({"graph", "kitty-specs/003-diamond", "--format", "dot"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out.find("WP01"), std::string::npos) << o.out;  // done: not run
  EXPECT_NE(o.out.find("\"WP02\" -> \"WP04\""), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"WP03\" -> \"WP04\""), std::string::npos) << o.out;
}

TEST(KittyTest, ALegacyFeaturesFrontMatterLanesAreUpdatedInPlace) {
  ScratchDir dir;
  make_feature_repo(dir, "legacy", "004-legacy");
  std::string wp1 = dir.read("kitty-specs/004-legacy/tasks/WP01-old.md");
  std::string wp2 = dir.read("kitty-specs/004-legacy/tasks/WP02-next.md");
  std::string wp3 = dir.read("kitty-specs/004-legacy/tasks/WP03-doing.md");
  Outcome o = run_baton({"run", "kitty-specs/004-legacy", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ctl/ran"), "WP02\nWP03\n");
  EXPECT_EQ(dir.read("kitty-specs/004-legacy/tasks/WP01-old.md"), wp1);
  wp2.replace(wp2.find("lane: \"planned\""), 15, "lane: \"done\"");
  EXPECT_EQ(dir.read("kitty-specs/004-legacy/tasks/WP02-next.md"), wp2);
  wp3.replace(wp3.find("lane: doing"), 11, "lane: done");
  EXPECT_EQ(dir.read("kitty-specs/004-legacy/tasks/WP03-doing.md"), wp3);
  // WP03 was `doing` (in_progress) already: no claim, straight to review.
  EXPECT_EQ(moves_of(lane_events_of(dir, "004-legacy"), "WP03"),
            (std::vector<std::string>{"in_progress>for_review", "for_review>done"}));
}

TEST(KittyTest, HostileTitleAndBodyReachTheAgentAsLiteralText) {
  ScratchDir dir;
  make_feature_repo(dir, "hostile", "005-hostile");
  Outcome o = run_baton({"run", "kitty-specs/005-hostile", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string prompt = on_run_branch(dir, "prompt-WP01.txt");
  // (the stand-in's `$(cat)` drops the prompt's final newline)
  EXPECT_EQ(prompt,
            "# WP01: $(touch pwned-title) ${{ secrets.TOKEN }} `id`; rm -rf ~\n\n"
            "Use ${inputs.secret} and ${WP01.output} and $${already} and $(touch pwned-body).\n"
            "`touch pwned-tick`\n'\"; exit 1");
  EXPECT_EQ(git_sh(dir.path(), "git ls-files -o --exclude-standard | grep pwned || true"), "");
  std::string tree = git_sh(dir.path(), "git ls-tree -r --name-only 'baton/" +
                                            last_run(dir)["id"].get<std::string>() + "'");
  EXPECT_EQ(tree.find("pwned"), std::string::npos) << tree;
}

TEST(KittyTest, AFailedWorkPackageIsBlocked) {
  ScratchDir dir;
  make_feature_repo(dir, "linear", "001-linear");
  dir.write("ctl/fail-WP02", "");
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path());
  EXPECT_NE(o.exit_code, 0);
  std::vector<json> events = lane_events_of(dir, "001-linear");
  EXPECT_EQ(moves_of(events, "WP01"), kFullPath);
  EXPECT_EQ(
      moves_of(events, "WP02"),
      (std::vector<std::string>{"planned>claimed", "claimed>in_progress", "in_progress>blocked"}));
  EXPECT_TRUE(moves_of(events, "WP03").empty());
  json status = json::parse(dir.read("kitty-specs/001-linear/status.json"));
  EXPECT_EQ(status["work_packages"]["WP02"]["lane"], "blocked");
  EXPECT_EQ(status["work_packages"]["WP03"]["lane"], "planned");
}

// Each WP is implemented by the stand-in 'implementer' and reviewed by the stand-in
// 'reviewer' (tests/kitty/review-agent), which requests changes to WP02 once: WP02
// goes back to in_progress with the feedback, is reworked, reviewed again and approved.
TEST(KittyTest, EachWorkPackageIsReviewedAndChangesRequestedSendItBackToInProgress) {
  ScratchDir dir;
  make_reviewed_feature_repo(dir);
  dir.write("ctl/reject-WP02", "");
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ctl/ran"), "WP01\nWP02\nWP02\nWP03\n");
  EXPECT_EQ(dir.read("ctl/reviewed"), "WP01\nWP02\nWP02\nWP03\n");
  std::vector<json> events = lane_events_of(dir, "001-linear");
  EXPECT_EQ(moves_of(events, "WP01"), kFullPath);
  EXPECT_EQ(moves_of(events, "WP03"), kFullPath);
  EXPECT_EQ(moves_of(events, "WP02"),
            (std::vector<std::string>{"planned>claimed", "claimed>in_progress",
                                      "in_progress>for_review", "for_review>in_progress",
                                      "in_progress>for_review", "for_review>done"}));
  std::vector<json> wp02;
  for (const json& e : events) {
    if (e["wp_id"] == "WP02") wp02.push_back(e);
  }
  ASSERT_EQ(wp02.size(), 6u);
  // Changes requested: the feedback as the reason, with a review reference and evidence.
  const json& back = wp02[3];
  EXPECT_NE(back["reason"].get<std::string>().find(
                "changes requested by checker (cycle 1/3): Add a changelog line for WP02."),
            std::string::npos)
      << back.dump();
  EXPECT_EQ(back["evidence"]["review"]["verdict"], "changes_requested") << back.dump();
  EXPECT_EQ(back["evidence"]["review"]["reviewer"], "checker");
  EXPECT_EQ(back["evidence"]["review"]["feedback"],
            "Add a changelog line for WP02. $(touch pwned) `touch pwned2` --force");
  EXPECT_FALSE(back["review_ref"].get<std::string>().empty());
  // Approved: done with the review's evidence, never "not reviewed".
  const json& done = wp02[5];
  EXPECT_EQ(done["evidence"]["review"]["verdict"], "approved") << done.dump();
  EXPECT_EQ(done["evidence"]["review"]["reviewer"], "checker");
  EXPECT_EQ(done["evidence"]["review"]["cycle"], 2);
  EXPECT_NE(done["reason"].get<std::string>().find("approved by checker (cycle 2/3)"),
            std::string::npos)
      << done.dump();
  for (const json& e : events) {
    EXPECT_EQ(e["reason"].dump().find("not reviewed"), std::string::npos) << e.dump();
  }
  // The rework's prompt carried the reviewer's feedback.
  EXPECT_NE(on_run_branch(dir, "prompt-WP02.txt").find("Add a changelog line for WP02."),
            std::string::npos);
  // The reviewer's feedback stayed text: nothing ran it.
  EXPECT_EQ(git_sh(dir.path(), "find . -name 'pwned*'"), "");
  json status = json::parse(dir.read("kitty-specs/001-linear/status.json"));
  EXPECT_EQ(status["summary"]["done"], 3);
}

// A review never approved escalates after 3 cycles: the WP stays for_review until a
// person approves it (`baton approve`, then `baton resume`): done, with that evidence.
TEST(KittyTest, AnExhaustedReviewWaitsForAPersonInForReview) {
  ScratchDir dir;
  make_reviewed_feature_repo(dir);
  dir.write("ctl/never-WP01", "");
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain", "--no-wait"}, dir.path());
  EXPECT_EQ(o.exit_code, 5) << o.out << o.err;
  EXPECT_EQ(dir.read("ctl/reviewed"), "WP01\nWP01\nWP01\n");
  std::vector<json> events = lane_events_of(dir, "001-linear");
  EXPECT_EQ(
      moves_of(events, "WP01"),
      (std::vector<std::string>{"planned>claimed", "claimed>in_progress", "in_progress>for_review",
                                "for_review>in_progress", "in_progress>for_review",
                                "for_review>in_progress", "in_progress>for_review"}));
  EXPECT_TRUE(moves_of(events, "WP02").empty());  // dependants wait for the approval
  Outcome a = run_baton({"approve", "last", "WP01", "--comment", "good enough"}, dir.path());
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  Outcome r = run_baton({"resume", "last", "--plain"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  events = lane_events_of(dir, "001-linear");
  std::vector<std::string> wp01 = moves_of(events, "WP01");
  ASSERT_FALSE(wp01.empty());
  EXPECT_EQ(wp01.back(), "for_review>done");
  for (const json& e : events) {
    if (e["wp_id"] == "WP01" && e["to_lane"] == "done") {
      EXPECT_NE(e["reason"].get<std::string>().find("approved by a person"), std::string::npos)
          << e.dump();
      EXPECT_EQ(e["evidence"]["review"]["verdict"], "approved") << e.dump();
    }
  }
  EXPECT_EQ(moves_of(events, "WP03"), kFullPath);
}

TEST(KittyTest, AnInterruptedFeatureIsContinuedByResume) {
  ScratchDir dir;
  make_feature_repo(dir, "linear", "001-linear");
  dir.write("ctl/hold-WP02", "");
  {
    BatonProcess run({"run", "kitty-specs/001-linear", "--plain"}, dir.path());
    ASSERT_TRUE(wait_for_file(dir.path() + "/ctl/holding-WP02"));
    run.signal(SIGINT);
    Outcome o = run.wait();
    EXPECT_NE(o.exit_code, 0);
  }
  std::vector<json> events = lane_events_of(dir, "001-linear");
  ASSERT_FALSE(moves_of(events, "WP02").empty());
  EXPECT_EQ(moves_of(events, "WP02").back(), "in_progress>planned");
  EXPECT_NE(events.back()["reason"].get<std::string>().find("baton resume continues it"),
            std::string::npos)
      << events.back().dump();
  dir.write("ctl/go", "");
  Outcome r = run_baton({"resume", "last", "--plain"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(dir.read("ctl/ran"), "WP01\nWP02\nWP02\nWP03\n");
  events = lane_events_of(dir, "001-linear");
  EXPECT_EQ(moves_of(events, "WP01"), kFullPath);
  EXPECT_EQ(moves_of(events, "WP02"),
            (std::vector<std::string>{
                "planned>claimed", "claimed>in_progress", "in_progress>planned", "planned>claimed",
                "claimed>in_progress", "in_progress>for_review", "for_review>done"}));
  EXPECT_EQ(moves_of(events, "WP03"), kFullPath);
}

// `baton cancel` stops a run that `baton resume` may continue: its WP in flight goes
// back to planned, never to spec-kitty's terminal `canceled` (docs/spec-kitty.md).
TEST(KittyTest, ABatonCancelledWorkPackageGoesBackToPlannedNotCanceled) {
  ScratchDir dir;
  make_feature_repo(dir, "linear", "001-linear");
  dir.write("ctl/hold-WP02", "");
  {
    BatonProcess run({"run", "kitty-specs/001-linear", "--plain"}, dir.path());
    ASSERT_TRUE(wait_for_file(dir.path() + "/ctl/holding-WP02"));
    Outcome c = run_baton({"cancel", "last"}, dir.path());
    EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
    EXPECT_EQ(run.wait().exit_code, 3);  // cancelled
  }
  EXPECT_EQ(last_run(dir)["status"], "cancelled");
  std::vector<json> events = lane_events_of(dir, "001-linear");
  EXPECT_EQ(
      moves_of(events, "WP02"),
      (std::vector<std::string>{"planned>claimed", "claimed>in_progress", "in_progress>planned"}));
  EXPECT_TRUE(moves_of(events, "WP03").empty());  // never started: still planned
  for (const json& e : events) EXPECT_NE(e["to_lane"], "canceled") << e.dump();
  EXPECT_NE(events.back()["reason"].get<std::string>().find("baton resume continues it"),
            std::string::npos)
      << events.back().dump();
  json status = json::parse(dir.read("kitty-specs/001-linear/status.json"));
  EXPECT_EQ(status["work_packages"]["WP01"]["lane"], "done");
  EXPECT_EQ(status["work_packages"]["WP02"]["lane"], "planned");
  // The cancelled run is continued, and WP02 and WP03 end done.
  dir.write("ctl/go", "");
  Outcome r = run_baton({"resume", "last", "--plain"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  events = lane_events_of(dir, "001-linear");
  EXPECT_EQ(moves_of(events, "WP02").back(), "for_review>done");
  EXPECT_EQ(moves_of(events, "WP03"), kFullPath);
}

TEST(KittyTest, WithSpecKittyInstalledEveryMoveGoesThroughItsOrchestratorApi) {
  ScratchDir dir;
  make_feature_repo(dir, "linear", "001-linear");
  // The stand-in's state: the feature's WPs, WP01 done already.
  fs::create_directories(dir.path() + "/stub/wps");
  for (const char* wp : {"WP01", "WP02", "WP03"}) dir.write(std::string("stub/wps/") + wp, "");
  dir.write("stub/lane-WP01", "done\n");
  fs::create_directories(dir.path() + "/bin");
  fs::create_symlink(source_dir() + "/tests/kitty/spec-kitty", dir.path() + "/bin/spec-kitty");
  std::string before = dir.read("kitty-specs/001-linear/tasks/WP02-step-2.md");
  std::map<std::string, std::string> env{
      {"PATH", dir.path() + "/bin:" + std::string(getenv("PATH"))},
      {"STUB_DIR", dir.path() + "/stub"}};
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path(), env);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ctl/ran"), "WP02\nWP03\n");
  // baton kept nothing of the lanes itself.
  EXPECT_FALSE(dir.exists("kitty-specs/001-linear/status.events.jsonl"));
  EXPECT_FALSE(dir.exists("kitty-specs/001-linear/status.json"));
  EXPECT_EQ(dir.read("kitty-specs/001-linear/tasks/WP02-step-2.md"), before);
  // The calls, each as "COMMAND --wp=..|--to=..".
  std::vector<std::string> calls;
  std::istringstream in(dir.read("stub/calls"));
  std::string line, call;
  while (std::getline(in, line)) {
    if (line == "--end--") {
      calls.push_back(call);
      call.clear();
    } else if (line != "orchestrator-api" && line != "--json" &&
               (call.empty() || line.rfind("--wp=", 0) == 0 || line.rfind("--to=", 0) == 0)) {
      call += (call.empty() ? "" : " ") + line;
    }
  }
  EXPECT_EQ(calls, (std::vector<std::string>{
                       "contract-version", "feature-state", "start-implementation --wp=WP02",
                       "transition --wp=WP02 --to=for_review", "transition --wp=WP02 --to=done",
                       "start-implementation --wp=WP03", "transition --wp=WP03 --to=for_review",
                       "transition --wp=WP03 --to=done", "accept-feature"}));
  EXPECT_EQ(dir.read("stub/lane-WP03"), "done\n");
}

// Through spec-kitty's orchestrator API, changes requested are `start-review` with a
// review reference; approval a transition to done.
TEST(KittyTest, WithSpecKittyAReviewsChangesRequestedAreAStartReview) {
  ScratchDir dir;
  make_reviewed_feature_repo(dir);
  dir.write("ctl/reject-WP02", "");
  fs::create_directories(dir.path() + "/stub/wps");
  for (const char* wp : {"WP01", "WP02", "WP03"}) dir.write(std::string("stub/wps/") + wp, "");
  dir.write("stub/lane-WP01", "done\n");
  fs::create_directories(dir.path() + "/bin");
  fs::create_symlink(source_dir() + "/tests/kitty/spec-kitty", dir.path() + "/bin/spec-kitty");
  std::map<std::string, std::string> env{
      {"PATH", dir.path() + "/bin:" + std::string(getenv("PATH"))},
      {"STUB_DIR", dir.path() + "/stub"}};
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path(), env);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read("ctl/reviewed"), "WP02\nWP02\nWP03\n");
  std::vector<std::string> calls;
  std::istringstream in(dir.read("stub/calls"));
  std::string line, call;
  while (std::getline(in, line)) {
    if (line == "--end--") {
      calls.push_back(call);
      call.clear();
    } else if (line != "orchestrator-api" && line != "--json" &&
               (call.empty() || line.rfind("--wp=", 0) == 0 || line.rfind("--to=", 0) == 0 ||
                line.rfind("--review-ref=", 0) == 0)) {
      call += (call.empty() ? "" : " ") + line;
    }
  }
  const std::string run_id = last_run(dir)["id"];
  EXPECT_EQ(calls, (std::vector<std::string>{
                       "contract-version", "feature-state", "start-implementation --wp=WP02",
                       "transition --wp=WP02 --to=for_review",
                       "start-review --wp=WP02 --review-ref=baton:" + run_id +
                           ":WP02:review-cycle-1:attempt-2",
                       "transition --wp=WP02 --to=for_review", "transition --wp=WP02 --to=done",
                       "start-implementation --wp=WP03", "transition --wp=WP03 --to=for_review",
                       "transition --wp=WP03 --to=done", "accept-feature"}));
  EXPECT_NE(dir.read("stub/calls").find("--note=approved by checker (cycle 2/3)"),
            std::string::npos);
  EXPECT_EQ(git_sh(dir.path(), "find . -name 'pwned*'"), "");
}

TEST(KittyTest, WithSpecKittyAFailedWorkPackageIsBlockedWithAHistoryNote) {
  ScratchDir dir;
  make_feature_repo(dir, "linear", "001-linear");
  dir.write("ctl/fail-WP01", "");
  fs::create_directories(dir.path() + "/stub/wps");
  for (const char* wp : {"WP01", "WP02", "WP03"}) dir.write(std::string("stub/wps/") + wp, "");
  fs::create_directories(dir.path() + "/bin");
  fs::create_symlink(source_dir() + "/tests/kitty/spec-kitty", dir.path() + "/bin/spec-kitty");
  std::map<std::string, std::string> env{
      {"PATH", dir.path() + "/bin:" + std::string(getenv("PATH"))},
      {"STUB_DIR", dir.path() + "/stub"}};
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path(), env);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_EQ(dir.read("stub/lane-WP01"), "blocked\n");
  std::string calls = dir.read("stub/calls");
  EXPECT_NE(calls.find("transition\n--feature=001-linear\n--wp=WP01\n"), std::string::npos);
  EXPECT_NE(calls.find("--to=blocked\n"), std::string::npos) << calls;
  EXPECT_NE(calls.find("append-history\n--feature=001-linear\n--wp=WP01\n--actor=baton\n"
                       "--note=blocked: "),
            std::string::npos)
      << calls;
  EXPECT_EQ(calls.find("accept-feature"), std::string::npos);
  EXPECT_FALSE(dir.exists("kitty-specs/001-linear/status.events.jsonl"));
}

TEST(KittyTest, AnUnsupportedSpecKittyContractStopsTheRunBeforeItStarts) {
  ScratchDir dir;
  make_feature_repo(dir, "linear", "001-linear");
  fs::create_directories(dir.path() + "/stub/wps");
  dir.write("stub/api-version", "2.0.0\n");
  fs::create_directories(dir.path() + "/bin");
  fs::create_symlink(source_dir() + "/tests/kitty/spec-kitty", dir.path() + "/bin/spec-kitty");
  std::map<std::string, std::string> env{
      {"PATH", dir.path() + "/bin:" + std::string(getenv("PATH"))},
      {"STUB_DIR", dir.path() + "/stub"}};
  Outcome o = run_baton({"run", "kitty-specs/001-linear", "--plain"}, dir.path(), env);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "baton: spec-kitty orchestrator-api contract 2.0.0 is not supported (baton speaks "
            "1.x)\n");
  EXPECT_FALSE(dir.exists("ctl/ran"));
}

TEST(KittyTest, FeatureFlagsAreRefusedForAWorkflowFile) {
  ScratchDir dir;
  make_flow_repo(dir, "name: f\ntasks:\n  - {id: a, run: [true]}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--impl-agent", "claude"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "baton: --impl-agent, --review-agent and --max-concurrent are for spec-kitty "
            "feature directories\n");
}

TEST(KittyTest, TheSpecKittyTemplateIsNotWrittenOverAnyExistingFile) {
  ScratchDir dir;
  git_sh(dir.path(), "git init -q -b main");
  Outcome o = run_baton({"init", "--template", "spec-kitty", "--probe-timeout", "5"}, dir.path(),
                        {{"PATH", "/usr/bin:/bin"}});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("wrote kitty-specs/001-example-feature/"), std::string::npos) << o.out;
  const std::string feature = "kitty-specs/001-example-feature/";
  Outcome v = run_baton({"validate", feature}, dir.path());
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(v.out, feature + ": ok (3 work packages to run)\n");
  // The user's work: WP02 edited, spec.md deleted. A second init writes nothing.
  dir.write(feature + "tasks/WP02-usage.md", dir.read(feature + "tasks/WP02-usage.md") + "mine\n");
  fs::remove(dir.path() + "/" + feature + "spec.md");
  const std::string wp02 = dir.read(feature + "tasks/WP02-usage.md");
  Outcome again = run_baton({"init", "--template", "spec-kitty"}, dir.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("baton: " + dir.path() + "/" + feature +
                           "tasks/WP02-usage.md exists; use --force to overwrite it\n"),
            std::string::npos)
      << again.err;
  EXPECT_NE(again.err.find("the template spec-kitty was not written (nothing was changed)"),
            std::string::npos)
      << again.err;
  EXPECT_EQ(dir.read(feature + "tasks/WP02-usage.md"), wp02);
  EXPECT_FALSE(fs::exists(dir.path() + "/" + feature + "spec.md"));
  // A dangling symlink where a file would go is not written through either.
  fs::remove_all(dir.path() + "/kitty-specs");
  fs::create_directories(dir.path() + "/" + feature);
  fs::create_symlink(dir.path() + "/outside.md", dir.path() + "/" + feature + "plan.md");
  again = run_baton({"init", "--template", "spec-kitty"}, dir.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find(feature + "plan.md exists"), std::string::npos) << again.err;
  EXPECT_FALSE(fs::exists(dir.path() + "/outside.md"));
}

TEST(KittyTest, TheSpecKittyTemplateBesideAConfigWithoutItsRolesSaysSo) {
  ScratchDir dir;
  git_sh(dir.path(), "git init -q -b main");
  dir.write(".baton/config.yaml", "agents:\n  implementer: {use: [claude]}\n");
  Outcome o = run_baton({"init", "--template", "spec-kitty"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(dir.read(".baton/config.yaml"), "agents:\n  implementer: {use: [claude]}\n");
  EXPECT_EQ(o.out.find("no role 'implementer'"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("note: " + dir.path() +
                       "/.baton/config.yaml has no role 'reviewer'; add it, or pass "
                       "--review-agent to baton run\n"),
            std::string::npos)
      << o.out;
}

// `baton init --template spec-kitty` in a fresh repository, then the feature it wrote
// runs as written: Claude Code implements each WP (the role implementer), Codex reviews
// it (the role reviewer: its first installed agent other than the implementer).
TEST(KittyRehearsedTest, TheSpecKittyTemplatesFeatureRunsAsWritten) {
  ScratchDir dir;
  git_sh(dir.path(), "git init -q -b main");
  Outcome o = run_baton({"init", "--template", "spec-kitty", "--probe-timeout", "10"}, dir.path(),
                        agent_path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(o.out.find("note:"), std::string::npos) << o.out;  // its roles are in the config
  git_sh(dir.path(), "git add -A && git commit -qm 'baton init --template spec-kitty'");
  dir.write("script.yaml", R"(tasks:
  "WP01:claude": [{write_file: {path: greet, content: "echo Hello\n"}}, {text: "greet written"}]
  "WP02:claude": [{write_file: {path: usage.txt, content: "usage: greet NAME\n"}}, {text: "done"}]
  "WP03:claude": [{run: "cat greet usage.txt > test_greet.sh"}, {text: "tests written"}]
agents:
  codex: [{text: "Fine.\n```json\n{\"verdict\": \"approved\"}\n```"}]
)");
  const std::string feature = "kitty-specs/001-example-feature/";
  Outcome v = run_baton({"validate", feature}, dir.path(), agent_path());
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  o = run_baton({"run", feature, "--rehearse", "script.yaml", "--plain"}, dir.path(), agent_path(),
                300);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  for (const char* wp : {"WP01", "WP02", "WP03"}) {
    EXPECT_EQ(task_of(run, wp)["status"], "success") << wp;
  }
  for (const json& a : run["attempts"]) {  // implemented by claude, reviewed by codex
    EXPECT_EQ(a["agent"], a["number"] == 1 ? "claude" : "codex") << a.dump();
  }
  EXPECT_EQ(on_run_branch(dir, "test_greet.sh"), "echo Hello\nusage: greet NAME\n");
  std::vector<json> events = lane_events_of(dir, "001-example-feature");
  for (const char* wp : {"WP01", "WP02", "WP03"}) EXPECT_EQ(moves_of(events, wp), kFullPath);
  json status = json::parse(dir.read(feature + "status.json"));
  EXPECT_EQ(status["summary"]["done"], 3) << status.dump();
}

// The real Claude Code CLI implements each WP against the rehearsal server.
TEST(KittyRehearsedTest, ClaudeImplementsEachWorkPackageInItsWorktree) {
  ScratchDir dir;
  make_feature_repo(dir, "fanout", "002-fanout");
  dir.write("script.yaml", R"(tasks:
  WP01: [{write_file: {path: base.txt, content: "base\n"}}, {text: "base laid"}]
  WP02: [{write_file: {path: leaf2.txt, content: "leaf 2\n"}}, {text: "leaf 2 done"}]
  WP03: [{write_file: {path: leaf3.txt, content: "leaf 3\n"}}, {text: "leaf 3 done"}]
  WP04: [{run: "cat base.txt > leaf4.txt"}, {text: "leaf 4 done"}]
)");
  Outcome o = run_baton({"run", "kitty-specs/002-fanout", "--impl-agent", "claude", "--rehearse",
                         "script.yaml", "--plain", "--max-concurrent", "2"},
                        dir.path(), agent_path(), 300);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  for (const char* wp : {"WP01", "WP02", "WP03", "WP04"}) {
    json task = task_of(run, wp);
    EXPECT_EQ(task["status"], "success") << task.dump();
  }
  EXPECT_EQ(task_of(run, "WP04")["output"], "leaf 4 done");
  EXPECT_EQ(on_run_branch(dir, "leaf4.txt"), "base\n");  // WP04 worked on top of WP01
  EXPECT_EQ(on_run_branch(dir, "leaf2.txt"), "leaf 2\n");
  std::vector<json> events = lane_events_of(dir, "002-fanout");
  for (const char* wp : {"WP01", "WP02", "WP03", "WP04"})
    EXPECT_EQ(moves_of(events, wp), kFullPath);
}

}  // namespace
}  // namespace baton::testing
