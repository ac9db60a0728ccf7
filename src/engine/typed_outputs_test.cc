// Tests of typed outputs: the declarations, the ```json block rule, the types, and the
// files a task writes, confined to its directory (engine/typed_outputs.h).
#include "engine/typed_outputs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace baton::engine {
namespace {

namespace fs = std::filesystem;

std::vector<TypedOutput> decls() {
  return typed_outputs_of(nlohmann::json::parse(
      R"({"summary": {"type": "string"}, "count": {"type": "number"},
          "ok": {"type": "boolean"}, "note": "a description only"})"));
}

class TypedOutputFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/baton-typed-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = fs::canonical(tmpl).string();
    dir_ = top_ + "/task";
    fs::create_directory(dir_);
  }
  void TearDown() override { fs::remove_all(top_); }
  void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  Result<nlohmann::json> file_output(const std::string& path) {
    return extract_typed_outputs({{"report", "file", path}}, "", dir_);
  }
  std::string top_, dir_;
};

TEST(TypedOutputsTest, DeclarationsWithATypeAreTyped) {
  auto d = decls();
  ASSERT_EQ(d.size(), 3u);  // "note" is a description
  EXPECT_EQ(d[0].name, "count");
  EXPECT_EQ(d[0].type, "number");
}

TEST(TypedOutputsTest, TheLastJsonBlockHoldingTheOutputsWins) {
  auto v = extract_typed_outputs(
      decls(),
      "First try:\n```json\n{\"summary\": \"old\", \"count\": 1, \"ok\": false}\n```\n"
      "Final:\n```json\n{\"summary\": \"new\", \"count\": 2.5, \"ok\": true, \"x\": 1}\n```\n"
      "```json\n{\"unrelated\": 1}\n```\n```json\nnot json at all\n```\n",
      "/nonexistent");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ((*v)["summary"], "new");
  EXPECT_EQ((*v)["count"], 2.5);
  EXPECT_EQ((*v)["ok"], true);
  EXPECT_FALSE(v->contains("x"));  // only the declared outputs
  // A whole output that is the object itself (a command printing JSON).
  auto bare = extract_typed_outputs(decls(), " {\"summary\":\"s\",\"count\":3,\"ok\":true}\n", "");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ((*bare)["count"], 3);
}

TEST(TypedOutputsTest, MissingOrMistypedOutputsAreErrorsNamingThem) {
  auto none = extract_typed_outputs(decls(), "All done!", "");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "output 'count' (number) is missing: the output has no ```json block holding a JSON "
            "object");
  auto malformed = extract_typed_outputs(decls(), "```json\n{\"count\": 1,\n```\n", "");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().message,
            "output 'count' (number) is missing: the output has no ```json block holding a JSON "
            "object");
  auto missing =
      extract_typed_outputs(decls(), "```json\n{\"count\": 1, \"summary\": \"s\"}\n```", "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "output 'ok' (boolean) is missing: no ```json block in the output has it");
  auto text_number = extract_typed_outputs(
      decls(), "```json\n{\"count\": \"12\", \"summary\": \"s\", \"ok\": true}\n```", "");
  ASSERT_FALSE(text_number);
  EXPECT_EQ(text_number.error().message,
            "output 'count': expected a number, found the string \"12\"");
  auto text_bool = extract_typed_outputs(
      decls(), "```json\n{\"count\": 1, \"summary\": \"s\", \"ok\": \"yes\"}\n```", "");
  ASSERT_FALSE(text_bool);
  EXPECT_EQ(text_bool.error().message, "output 'ok': expected a boolean, found the string \"yes\"");
  auto null_string = extract_typed_outputs(
      decls(), "```json\n{\"count\": 1, \"summary\": null, \"ok\": true}\n```", "");
  ASSERT_FALSE(null_string);
  EXPECT_EQ(null_string.error().message, "output 'summary': expected a string, found null");
  // An unclosed block is no block.
  EXPECT_FALSE(extract_typed_outputs(
      decls(), "```json\n{\"count\": 1, \"summary\": \"s\", \"ok\": true}\n", ""));
}

TEST(TypedOutputsTest, ThePromptListsTheKeysAndFiles) {
  auto d = decls();
  d.push_back({"report", "file", "out/report.md"});
  std::string p = typed_outputs_prompt(d);
  EXPECT_NE(p.find("\"count\": a JSON number"), std::string::npos) << p;
  EXPECT_NE(p.find("\"ok\": a JSON boolean"), std::string::npos) << p;
  EXPECT_NE(p.find("```json"), std::string::npos) << p;
  EXPECT_NE(p.find("out/report.md (output 'report')"), std::string::npos) << p;
  EXPECT_EQ(typed_outputs_prompt({}), "");
}

TEST_F(TypedOutputFilesTest, AFileUnderTheTaskDirectoryIsItsContent) {
  fs::create_directory(dir_ + "/out");
  write(dir_ + "/out/report.md", "# Report\n$(touch /tmp/pwned)\n");
  auto v = file_output("out/report.md");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ((*v)["report"], "# Report\n$(touch /tmp/pwned)\n");
}

TEST_F(TypedOutputFilesTest, HostilePathsAreRefused) {
  write(top_ + "/secret", "secret");
  auto abs = file_output(top_ + "/secret");
  ASSERT_FALSE(abs);
  EXPECT_NE(abs.error().message.find("must be relative"), std::string::npos) << abs.error().message;
  auto up = file_output("../secret");
  ASSERT_FALSE(up);
  EXPECT_NE(up.error().message.find("'..'"), std::string::npos) << up.error().message;
  // A symlink leading out, as the file or as a directory on the way.
  fs::create_symlink(top_ + "/secret", dir_ + "/link");
  auto link = file_output("link");
  ASSERT_FALSE(link);
  EXPECT_NE(link.error().message.find("outside the task's directory"), std::string::npos)
      << link.error().message;
  fs::create_directory_symlink(top_, dir_ + "/up");
  auto via = file_output("up/secret");
  ASSERT_FALSE(via);
  EXPECT_NE(via.error().message.find("outside the task's directory"), std::string::npos)
      << via.error().message;
  // A FIFO would block a reader: refused without opening it blocking.
  ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  auto fifo = file_output("fifo");
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos)
      << fifo.error().message;
}

TEST_F(TypedOutputFilesTest, AMissingLargeOrBinaryFileIsAnError) {
  auto missing = file_output("report.md");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "output 'report' (file report.md): no such file (the task did not write it)");
  write(dir_ + "/big", std::string(kMaxOutputFileBytes + 1, 'a'));
  auto big = file_output("big");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than 1048576 bytes"), std::string::npos);
  write(dir_ + "/exact", std::string(kMaxOutputFileBytes, 'a'));
  EXPECT_TRUE(file_output("exact"));
  write(dir_ + "/bin", std::string("\xff\xfe\x00", 3));
  auto bin = file_output("bin");
  ASSERT_FALSE(bin);
  EXPECT_NE(bin.error().message.find("not UTF-8 text"), std::string::npos);
}

}  // namespace
}  // namespace baton::engine
