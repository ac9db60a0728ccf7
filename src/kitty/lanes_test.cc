// The lane state machine, the file store of lanes (status.events.jsonl, status.json,
// a front matter's `lane:` line) and the orchestrator-api client against the
// stand-in tests/kitty/spec-kitty.
#include "kitty/lanes.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kitty/file_lanes.h"
#include "kitty/orchestrator_api.h"

namespace baton::kitty {
namespace {

namespace fs = std::filesystem;

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/kitty-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string fixture(const std::string& name) {
  return std::string(BATON_SOURCE_DIR) + "/tests/fixtures/kitty/" + name;
}

Move mv(Lane from, Lane to, std::string reason = "", std::string review_ref = "") {
  return Move{"WP01", from, to, "baton", std::move(reason), std::move(review_ref), nullptr};
}

TEST(LanesTest, NamesAndTheDoingAlias) {
  EXPECT_EQ(parse_lane("doing"), Lane::kInProgress);
  EXPECT_EQ(parse_lane(" For_Review "), Lane::kForReview);
  EXPECT_EQ(parse_lane("canceled"), Lane::kCanceled);
  EXPECT_FALSE(parse_lane("cancelled"));
  EXPECT_FALSE(parse_lane("in_review"));
  EXPECT_STREQ(to_string(Lane::kInProgress), "in_progress");
  EXPECT_TRUE(is_terminal(Lane::kDone));
  EXPECT_TRUE(is_terminal(Lane::kCanceled));
  EXPECT_FALSE(is_terminal(Lane::kBlocked));
}

TEST(LanesTest, TheMainPathIsLegal) {
  EXPECT_TRUE(check_move(mv(Lane::kPlanned, Lane::kClaimed)));
  EXPECT_TRUE(check_move(mv(Lane::kClaimed, Lane::kInProgress)));
  EXPECT_TRUE(check_move(mv(Lane::kInProgress, Lane::kForReview)));
  EXPECT_TRUE(check_move(mv(Lane::kForReview, Lane::kDone, "no review configured")));
  EXPECT_TRUE(check_move(mv(Lane::kInProgress, Lane::kBlocked)));
  EXPECT_TRUE(check_move(mv(Lane::kBlocked, Lane::kInProgress)));
  EXPECT_TRUE(check_move(mv(Lane::kBlocked, Lane::kCanceled)));
}

TEST(LanesTest, IllegalMovesAndGuardsAreRefusedWithTheReason) {
  auto error = [](const Move& m) {
    auto r = check_move(m);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(error(mv(Lane::kDone, Lane::kInProgress)),
            "illegal lane move for WP01: done -> in_progress (done is terminal)");
  EXPECT_EQ(error(mv(Lane::kCanceled, Lane::kPlanned)),
            "illegal lane move for WP01: canceled -> planned (canceled is terminal)");
  EXPECT_EQ(error(mv(Lane::kPlanned, Lane::kDone)), "illegal lane move for WP01: planned -> done");
  EXPECT_EQ(error(mv(Lane::kPlanned, Lane::kInProgress)),
            "illegal lane move for WP01: planned -> in_progress");
  EXPECT_EQ(error(mv(Lane::kInProgress, Lane::kPlanned)),
            "illegal lane move for WP01: in_progress -> planned needs a reason");
  EXPECT_EQ(error(mv(Lane::kForReview, Lane::kInProgress)),
            "illegal lane move for WP01: for_review -> in_progress needs a review reference");
  EXPECT_EQ(error(mv(Lane::kForReview, Lane::kDone)),
            "illegal lane move for WP01: for_review -> done needs review evidence or a reason");
  Move with_evidence = mv(Lane::kForReview, Lane::kDone);
  with_evidence.evidence = {{"review", {{"reviewer", "codex"}, {"verdict", "approved"}}}};
  EXPECT_EQ(error(with_evidence), "accepted");
  EXPECT_EQ(error(mv(Lane::kForReview, Lane::kInProgress, "", "review-7")), "accepted");
}

TEST(FrontMatterLaneTest, OnlyTheValueChanges) {
  std::string text =
      "---\r\nwork_package_id: WP01\r\nlane: \"planned\"\r\nhistory:\r\n  - lane: planned\r\n"
      "---\r\nbody with\r\nlane: planned\r\n";
  auto out = replace_front_matter_lane(text, "in_progress");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "---\r\nwork_package_id: WP01\r\nlane: \"in_progress\"\r\nhistory:\r\n  - lane: "
            "planned\r\n---\r\nbody with\r\nlane: planned\r\n");
  EXPECT_EQ(*replace_front_matter_lane("---\nlane:   doing   # old\nx: 1\n---\n", "done"),
            "---\nlane:   done   # old\nx: 1\n---\n");
  EXPECT_EQ(*replace_front_matter_lane("---\nlane: 'planned' # q\n---\n", "done"),
            "---\nlane: 'done' # q\n---\n");
  EXPECT_FALSE(replace_front_matter_lane("---\nx: 1\n---\nlane: planned\n", "done"));
}

TEST(FileLanesTest, TheDiamondsRecordedLanesAreRead) {
  Scratch dir;
  std::string feature_dir = dir.path() + "/003-diamond";
  fs::copy(fixture("diamond"), feature_dir, fs::copy_options::recursive);
  std::vector<workflow::Diagnostic> diagnostics;
  auto feature = workflow::read_kitty_feature(feature_dir, diagnostics);
  ASSERT_TRUE(feature);
  FileLanes lanes(*feature);
  auto now = lanes.lanes();
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_EQ(now->at("WP01"), Lane::kDone);
  EXPECT_EQ(now->count("WP02"), 0u);
}

TEST(FileLanesTest, MovesAreAppendedAndMaterializedAndTheLegacyLineUpdated) {
  Scratch dir;
  std::string feature_dir = dir.path() + "/002-legacy";
  fs::copy(fixture("legacy"), feature_dir, fs::copy_options::recursive);
  std::string wp2 = feature_dir + "/tasks/WP02-next.md";
  std::string before = read(wp2);
  std::vector<workflow::Diagnostic> diagnostics;
  auto feature = workflow::read_kitty_feature(feature_dir, diagnostics);
  ASSERT_TRUE(feature);
  FileLanes lanes(*feature);
  ASSERT_TRUE(lanes.start_implementation("WP02", Lane::kPlanned, "baton", "claude"));
  // An illegal move is refused and leaves no trace.
  auto refused = lanes.move({"WP02", Lane::kInProgress, Lane::kDone, "baton", "", "", nullptr});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "illegal lane move for WP02: in_progress -> done");
  // A move from a lane the WP is not in is refused too.
  auto stale = lanes.move({"WP02", Lane::kPlanned, Lane::kClaimed, "baton", "", "", nullptr});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().message, "lane move for WP02 from planned, but it is in_progress");
  ASSERT_TRUE(
      lanes.move({"WP02", Lane::kInProgress, Lane::kBlocked, "baton", "exited 1", "", nullptr}));

  std::istringstream events(read(feature_dir + "/status.events.jsonl"));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(events, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["from_lane"], "planned");
  EXPECT_EQ(lines[0]["to_lane"], "claimed");
  EXPECT_EQ(lines[1]["to_lane"], "in_progress");
  EXPECT_EQ(lines[2]["to_lane"], "blocked");
  EXPECT_EQ(lines[2]["reason"], "exited 1");
  EXPECT_EQ(lines[2]["wp_id"], "WP02");
  EXPECT_EQ(lines[2]["actor"], "baton");
  EXPECT_EQ(lines[2]["mission_slug"], "002-legacy");
  EXPECT_EQ(lines[2]["event_id"].get<std::string>().size(), 26u);
  EXPECT_TRUE(lines[2].contains("evidence"));
  EXPECT_TRUE(lines[2].contains("review_ref"));

  auto status = nlohmann::json::parse(read(feature_dir + "/status.json"));
  EXPECT_EQ(status["work_packages"]["WP02"]["lane"], "blocked");
  EXPECT_EQ(status["work_packages"]["WP01"]["lane"], "done");  // from its front matter
  EXPECT_EQ(status["summary"]["blocked"], 1);
  EXPECT_EQ(status["summary"]["done"], 1);
  EXPECT_EQ(status["event_count"], 3);
  EXPECT_FALSE(fs::exists(feature_dir + "/status.json.tmp-" + std::to_string(getpid())));

  std::string after = read(wp2);
  std::string expected = before;
  expected.replace(expected.find("lane: \"planned\""), 15, "lane: \"blocked\"");
  EXPECT_EQ(after, expected);

  // A later reader sees what was recorded.
  FileLanes again(*feature);
  EXPECT_EQ(again.lanes()->at("WP02"), Lane::kBlocked);
}

TEST(FileLanesTest, AMalformedEventLogIsAnErrorWithItsLine) {
  Scratch dir;
  std::string feature_dir = dir.path() + "/001-linear";
  fs::copy(fixture("linear"), feature_dir, fs::copy_options::recursive);
  write(feature_dir + "/status.events.jsonl",
        "{\"wp_id\":\"WP01\",\"to_lane\":\"claimed\"}\nnot json\n");
  std::vector<workflow::Diagnostic> diagnostics;
  auto feature = workflow::read_kitty_feature(feature_dir, diagnostics);
  ASSERT_TRUE(feature);
  FileLanes lanes(*feature);
  auto now = lanes.lanes();
  ASSERT_FALSE(now);
  EXPECT_EQ(now.error().message, feature_dir + "/status.events.jsonl:2: not a JSON object");
}

// The orchestrator API against the stand-in, which records its calls.
class ApiLanesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stub_dir_ = scratch_.path() + "/stub";
    fs::create_directories(stub_dir_ + "/wps");
    write(stub_dir_ + "/wps/WP01", "");
    write(stub_dir_ + "/wps/WP02", "");
    setenv("STUB_DIR", stub_dir_.c_str(), 1);
    options_.program = std::string(BATON_SOURCE_DIR) + "/tests/kitty/spec-kitty";
    options_.project_dir = scratch_.path();
    options_.feature = "001-linear";
    options_.policy = {{"orchestrator_id", "baton"}, {"dangerous_flags", nlohmann::json::array()}};
  }
  void TearDown() override { unsetenv("STUB_DIR"); }

  // The calls the stand-in received: each its argv after the program.
  std::vector<std::vector<std::string>> calls() {
    std::vector<std::vector<std::string>> out(1);
    std::istringstream in(read(stub_dir_ + "/calls"));
    for (std::string line; std::getline(in, line);) {
      if (line == "--end--") {
        out.emplace_back();
      } else {
        out.back().push_back(line);
      }
    }
    out.pop_back();
    return out;
  }

  Scratch scratch_;
  std::string stub_dir_;
  ApiOptions options_;
};

TEST_F(ApiLanesTest, ContractVersionComesFirstThenEveryMoveIsACall) {
  ApiLanes api(options_);
  auto lanes = api.lanes();  // checks the contract itself first
  ASSERT_TRUE(lanes) << lanes.error().message;
  EXPECT_EQ(lanes->at("WP01"), Lane::kPlanned);
  ASSERT_TRUE(api.start_implementation("WP01", Lane::kPlanned, "baton", "claude"));
  ASSERT_TRUE(
      api.move({"WP01", Lane::kInProgress, Lane::kForReview, "baton", "-rf done", "", nullptr}));
  ASSERT_TRUE(
      api.move({"WP01", Lane::kForReview, Lane::kInProgress, "baton", "", "review-3", nullptr}));
  auto c = calls();
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0], (std::vector<std::string>{"orchestrator-api", "contract-version", "--json"}));
  EXPECT_EQ(c[1], (std::vector<std::string>{"orchestrator-api", "feature-state",
                                            "--feature=001-linear", "--json"}));
  EXPECT_EQ(c[2][1], "start-implementation");
  EXPECT_EQ(c[2][3], "--wp=WP01");
  EXPECT_EQ(c[2][4], "--actor=baton");
  auto policy = nlohmann::json::parse(c[2][5].substr(9));
  EXPECT_EQ(policy["agent_family"], "claude");
  EXPECT_EQ(policy["orchestrator_id"], "baton");
  // A note that looks like an option stays one argument, glued to its name.
  EXPECT_EQ(c[3], (std::vector<std::string>{"orchestrator-api", "transition",
                                            "--feature=001-linear", "--wp=WP01", "--actor=baton",
                                            "--policy=" + options_.policy.dump(), "--to=for_review",
                                            "--note=-rf done", "--force", "--json"}));
  EXPECT_EQ(c[4][1], "start-review");
  EXPECT_EQ(c[4][6], "--review-ref=review-3");
  EXPECT_EQ(read(stub_dir_ + "/lane-WP01"), "in_progress\n");
}

TEST_F(ApiLanesTest, AnotherContractMajorIsRefusedBeforeAnythingElse) {
  write(stub_dir_ + "/api-version", "2.0.0\n");
  ApiLanes api(options_);
  auto lanes = api.lanes();
  ASSERT_FALSE(lanes);
  EXPECT_EQ(lanes.error().message,
            "spec-kitty orchestrator-api contract 2.0.0 is not supported (baton speaks 1.x)");
  EXPECT_EQ(calls().size(), 1u);
}

TEST_F(ApiLanesTest, ARejectionIsAnErrorWithItsCodeAndMessage) {
  write(stub_dir_ + "/reject-transition", "");
  ApiLanes api(options_);
  auto r = api.move({"WP01", Lane::kInProgress, Lane::kBlocked, "baton", "x", "", nullptr});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "spec-kitty orchestrator-api transition: TRANSITION_REJECTED: rejected by the "
            "stand-in");
}

TEST_F(ApiLanesTest, OutputThatIsNotAnEnvelopeIsAnError) {
  write(stub_dir_ + "/garbage", "");
  auto r = call_orchestrator_api(options_, "contract-version", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "spec-kitty orchestrator-api contract-version: exit 1, and its output is not one "
            "JSON object");
}

TEST_F(ApiLanesTest, AnIllegalMoveIsRefusedWithoutACall) {
  ApiLanes api(options_);
  ASSERT_TRUE(api.check_contract());
  auto r = api.move({"WP01", Lane::kDone, Lane::kPlanned, "baton", "", "", nullptr});
  ASSERT_FALSE(r);
  EXPECT_EQ(calls().size(), 1u);
}

}  // namespace
}  // namespace baton::kitty
