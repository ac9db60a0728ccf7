// The recording cases, the normalization of recordings and the comparison of a
// fresh recording with a checked-in one (no agent CLI runs here).
#include "recording/samples.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "agents/invoker.h"

namespace baton::recording {
namespace {

const SampleCase& find_case(const std::string& file) {
  for (const SampleCase& c : sample_cases()) {
    if (c.file == file) return c;
  }
  ADD_FAILURE() << "no case " << file;
  return sample_cases().front();
}

std::string fixture(const std::string& file) {
  std::ifstream in(std::string(BATON_SOURCE_DIR) + "/tests/fixtures/agents/" + file);
  EXPECT_TRUE(in.good()) << file;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SampleCasesTest, EveryCaseHasItsOwnFileAndAKnownAgent) {
  std::set<std::string> files;
  for (const SampleCase& c : sample_cases()) {
    EXPECT_TRUE(files.insert(c.file).second) << c.file;
    EXPECT_NE(agents::find_invoker(c.agent), nullptr) << c.file;
    EXPECT_EQ(c.server, !c.steps.empty()) << c.file;
  }
}

TEST(SampleCasesTest, EveryCaseIsCheckedInWithItsExitCode) {
  auto index = parse_index(fixture("INDEX.json"));
  ASSERT_TRUE(index) << index.error().message;
  for (const SampleCase& c : sample_cases()) {
    EXPECT_EQ(index->count(c.file), 1u) << c.file;
    EXPECT_FALSE(fixture(c.file).empty() && c.file != "copilot_text_silent.stdout") << c.file;
  }
}

TEST(NormalizePathsTest, LongestFirstAndEveryOccurrence) {
  std::string text = "/var/tmp/x/repo/a and /var/tmp/x/home and /var/tmp/x/b :4711/v1 :4711";
  EXPECT_EQ(normalize_paths(text, {{"/var/tmp/x", "TMPDIR"},
                                   {"/var/tmp/x/repo", "WORKDIR"},
                                   {"/var/tmp/x/home", "HOME"},
                                   {":4711", ":PORT"}}),
            "WORKDIR/a and HOME and TMPDIR/b :PORT/v1 :PORT");
  EXPECT_EQ(normalize_paths("abc", {{"", "X"}}), "abc");
}

TEST(CompareSamplesTest, SameParseMatchesDespiteOtherIdsAndTimes) {
  const SampleCase& c = find_case("claude_stream_json_success.jsonl");
  std::string a =
      R"({"type":"system","session_id":"s-1"})"
      "\n"
      R"({"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-1",)"
      R"("duration_ms":1200,"num_turns":2,"total_cost_usd":0.002,"usage":{"input_tokens":200,)"
      R"("output_tokens":40}})"
      "\n";
  std::string b = a;
  b.replace(b.find("s-1"), 3, "s-2");
  b.replace(b.find("s-1"), 3, "s-2");
  b.replace(b.find("1200"), 4, "9876");
  EXPECT_EQ(compare_samples(c, 0, a, Recording{0, b, 1.0}), "");
}

TEST(CompareSamplesTest, AnotherAnswerClassOrExitIsAMismatch) {
  const SampleCase& c = find_case("claude_stream_json_success.jsonl");
  std::string a =
      R"({"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s",)"
      R"("num_turns":2,"usage":{"input_tokens":200,"output_tokens":40}})"
      "\n";
  std::string other_text = a;
  other_text.replace(other_text.find("done"), 4, "fine");
  EXPECT_NE(compare_samples(c, 0, a, Recording{0, other_text, 1.0}), "");
  std::string other_usage = a;
  other_usage.replace(other_usage.find("200"), 3, "300");
  EXPECT_NE(compare_samples(c, 0, a, Recording{0, other_usage, 1.0}), "");
  EXPECT_NE(compare_samples(c, 0, a, Recording{1, a, 1.0}), "");
  std::string error = a;
  error.replace(error.find("\"is_error\":false"), 16, "\"is_error\":true");
  std::string diff = compare_samples(c, 0, a, Recording{0, error, 1.0});
  EXPECT_NE(diff.find("claude_stream_json_success.jsonl"), std::string::npos) << diff;
  EXPECT_NE(diff.find("\"success\": false"), std::string::npos) << diff;
}

TEST(CompareSamplesTest, ANewEventTypeIsAMismatch) {
  const SampleCase& c = find_case("codex_exec_json_500.jsonl");
  std::string a = R"({"type":"turn.failed","error":{"message":"500"}})"
                  "\n";
  std::string b = R"({"type":"thread.renamed"})"
                  "\n" +
                  a;
  EXPECT_NE(compare_samples(c, 1, a, Recording{1, b, 1.0}), "");
}

TEST(CompareSamplesTest, DecimalsInTheErrorAreNotCompared) {
  const SampleCase& c = find_case("copilot_fail500.jsonl");
  auto out = [](const std::string& wait) {
    return R"({"type":"session.error","data":{"message":"retried 5 times (total retry wait time: )" +
           wait +
           R"( seconds) Last error: 500 boom","statusCode":500}})"
           "\n"
           R"({"type":"result","sessionId":"s","exitCode":1})"
           "\n";
  };
  EXPECT_EQ(compare_samples(c, 1, out("16.07"), Recording{1, out("17.14"), 1.0}), "");
  EXPECT_NE(compare_samples(c, 1, out("16.07"), Recording{1, out("16.07 or more"), 1.0}), "");
}

TEST(IndexTest, RoundTrip) {
  std::map<std::string, int> codes = {{"claude_json_success.json", 0},
                                      {"gemini_json_500_stderr.txt", 244}};
  std::string text = index_json(codes);
  EXPECT_NE(text.find("\"what\""), std::string::npos) << text;
  auto back = parse_index(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, codes);
  EXPECT_FALSE(parse_index("[]"));
  EXPECT_FALSE(parse_index(R"({"a": {"exit": "0"}})"));
}

}  // namespace
}  // namespace baton::recording
