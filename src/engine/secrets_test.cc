// Redactor and RunSecrets: masking of secret values, reading them at a run's start,
// what a task's process gets, and what is left out of baton's environment.
#include "engine/secrets.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace baton::engine {
namespace {

namespace fs = std::filesystem;

TEST(RedactorTest, MasksEveryOccurrence) {
  Redactor r({"hunter22"});
  EXPECT_EQ(r.redact("pw=hunter22, again hunter22."), "pw=***, again ***.");
  EXPECT_EQ(r.redact("nothing here"), "nothing here");
  EXPECT_EQ(r.redact(""), "");
  EXPECT_TRUE(r.contains_secret("xhunter22x"));
  EXPECT_FALSE(r.contains_secret("hunter2"));
}

TEST(RedactorTest, ValueInsideAnotherIsMaskedWithTheLongerOne) {
  // "abcd" is a substring of "xxabcdyy": neither "xx" nor "yy" may survive.
  Redactor r({"abcd", "xxabcdyy"});
  EXPECT_EQ(r.values(), (std::vector<std::string>{"xxabcdyy", "abcd"}));
  EXPECT_EQ(r.redact("1 xxabcdyy 2 abcd 3"), "1 *** 2 *** 3");
}

TEST(RedactorTest, OverlappingValuesAreMaskedAsOne) {
  // "secret-one" and "one-two" share "one": the whole span goes, no tail remains.
  Redactor r({"secret-one", "one-two"});
  EXPECT_EQ(r.redact("[secret-one-two]"), "[***]");
  EXPECT_EQ(r.redact("[one-two secret-one]"), "[*** ***]");
}

TEST(RedactorTest, SelfOverlappingAndAdjacentOccurrences) {
  Redactor r({"abab"});
  EXPECT_EQ(r.redact("ababab"), "***");         // occurrences at 0 and 2 overlap
  EXPECT_EQ(r.redact("ababXabab"), "***X***");  // separate ones stay separate
  EXPECT_EQ(r.redact("abababab"), "***");       // a chain of overlaps is one span
}

TEST(RedactorTest, EmptyAndDuplicateValuesAreIgnored) {
  Redactor r({"", "tok-1", "tok-1"});
  EXPECT_EQ(r.values().size(), 1u);
  EXPECT_EQ(r.redact("a tok-1 b"), "a *** b");
  Redactor none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.redact("tok-1"), "tok-1");
}

TEST(RedactorTest, MasksJsonStringsAndKeys) {
  Redactor r({"s3cr3t"});
  nlohmann::json j = {{"a", "x s3cr3t"}, {"s3cr3t", 1}, {"list", {"s3cr3t", 2, true}}};
  r.redact(j);
  EXPECT_EQ(j, (nlohmann::json{{"a", "x ***"}, {"***", 1}, {"list", {"***", 2, true}}}));
}

class RunSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/baton-secrets-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/key.pem") << "file-secret-value\n";
    std::ofstream(dir_ + "/short") << "abc\n";
    setenv("BATON_TEST_TOKEN", "env-secret-value", 1);
    setenv("BATON_TEST_PIN", "123", 1);
    unsetenv("BATON_TEST_MISSING");
    wf_.secrets["TOKEN"] = {"TOKEN", "BATON_TEST_TOKEN", ""};
    wf_.secrets["PIN"] = {"PIN", "BATON_TEST_PIN", ""};
    wf_.secrets["MISSING"] = {"MISSING", "BATON_TEST_MISSING", ""};
    wf_.secrets["KEY"] = {"KEY", "", "key.pem"};
    wf_.secrets["NOFILE"] = {"NOFILE", "", dir_ + "/absent"};
    wf_.secrets["SHORTFILE"] = {"SHORTFILE", "", "short"};
  }
  void TearDown() override { fs::remove_all(dir_); }

  workflow::TaskSpec task(std::vector<std::string> secrets) {
    workflow::TaskSpec t;
    t.id = "t";
    t.mutable_extras().secrets = std::move(secrets);
    return t;
  }

  std::string dir_;
  workflow::Workflow wf_;
};

TEST_F(RunSecretsTest, ListingTaskGetsItsSecretsAndEveryProcessGetsTheValuesToRedact) {
  RunSecrets s = RunSecrets::load(wf_, dir_);
  exec::ProcessSpec p;
  ASSERT_TRUE(s.apply(task({"TOKEN", "KEY"}), p));
  EXPECT_EQ(p.env.at("TOKEN"), "env-secret-value");
  EXPECT_EQ(p.env.at("BATON_SECRET_FILE_KEY"), dir_ + "/key.pem");
  EXPECT_EQ(secret_file_path(wf_.secrets.at("KEY"), dir_), dir_ + "/key.pem");
  // The file's final newline is not part of what is masked in trimmed output.
  EXPECT_NE(std::find(p.redact.begin(), p.redact.end(), "file-secret-value"), p.redact.end());
  EXPECT_NE(std::find(p.redact.begin(), p.redact.end(), "env-secret-value"), p.redact.end());
  // The file's newline is not masked with it: the text keeps its lines.
  EXPECT_EQ(s.redactor().redact("file-secret-value\nnext"), "***\nnext");

  exec::ProcessSpec other;
  ASSERT_TRUE(s.apply(task({}), other));
  EXPECT_FALSE(other.env.count("TOKEN"));
  EXPECT_FALSE(other.env.count("BATON_SECRET_FILE_KEY"));
  EXPECT_EQ(other.redact, p.redact);  // every log is redacted, listing or not
}

TEST_F(RunSecretsTest, EnvSecretsLeaveBatonsEnvironment) {
  RunSecrets s = RunSecrets::load(wf_, dir_);
  EXPECT_EQ(getenv("BATON_TEST_TOKEN"), nullptr);
  EXPECT_EQ(getenv("BATON_TEST_PIN"), nullptr);
}

TEST_F(RunSecretsTest, UnusableSecretsFailOnlyTheTasksThatListThem) {
  RunSecrets s = RunSecrets::load(wf_, dir_);
  exec::ProcessSpec p;
  auto missing = s.apply(task({"MISSING"}), p);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "secret 'MISSING': the environment variable BATON_TEST_MISSING is not set");
  auto nofile = s.apply(task({"NOFILE"}), p);
  ASSERT_FALSE(nofile);
  EXPECT_EQ(nofile.error().message,
            "secret 'NOFILE': cannot read " + dir_ + "/absent: No such file or directory");
  auto pin = s.apply(task({"PIN"}), p);
  ASSERT_FALSE(pin);
  EXPECT_EQ(pin.error().message,
            "secret 'PIN': its value is shorter than 4 characters, too short to redact; use a "
            "longer one");
  auto shortfile = s.apply(task({"SHORTFILE"}), p);
  ASSERT_FALSE(shortfile);
  EXPECT_EQ(shortfile.error().message.find("abc"), std::string::npos);
  // A short value is not masked elsewhere: it would mask ordinary text.
  EXPECT_EQ(s.redactor().redact("123 abc"), "123 abc");
  EXPECT_TRUE(s.apply(task({"TOKEN"}), p));
}

TEST_F(RunSecretsTest, MultiLineFileSecretsAreMaskedLineByLine) {
  std::ofstream(dir_ + "/pem") << "-----BEGIN KEY-----\nQUJDREVGR0g=\n-----END KEY-----\n";
  wf_.secrets["PEM"] = {"PEM", "", "pem"};
  RunSecrets s = RunSecrets::load(wf_, dir_);
  EXPECT_EQ(s.redactor().redact("line: QUJDREVGR0g="), "line: ***");
}

TEST_F(RunSecretsTest, RedactsOutcomesAndBatches) {
  RunSecrets s = RunSecrets::load(wf_, dir_);
  AttemptOutcome o;
  o.output = "token env-secret-value";
  o.reason = "failed: file-secret-value";
  o.outputs = {{"t", "env-secret-value"}};
  s.redact(o);
  EXPECT_EQ(o.output, "token ***");
  EXPECT_EQ(o.reason, "failed: ***");
  EXPECT_EQ(o.outputs, (nlohmann::json{{"t", "***"}}));

  store::Batch b;
  b.run = store::RunRecord{};
  b.run->inputs = {{"x", "env-secret-value"}};
  b.tasks.push_back({});
  b.tasks[0].output = "env-secret-value";
  b.tasks[0].reason = "env-secret-value";
  b.attempts.push_back({});
  b.attempts[0].output = "env-secret-value";
  b.attempts[0].error = "env-secret-value";
  b.events.push_back({});
  b.events[0].data = {{"reason", "x env-secret-value"}};
  s.redact(b);
  EXPECT_EQ(b.run->inputs["x"], "***");
  EXPECT_EQ(b.tasks[0].output, "***");
  EXPECT_EQ(b.tasks[0].reason, "***");
  EXPECT_EQ(b.attempts[0].output, "***");
  EXPECT_EQ(b.attempts[0].error, "***");
  EXPECT_EQ(b.events[0].data["reason"], "x ***");
}

}  // namespace
}  // namespace baton::engine
