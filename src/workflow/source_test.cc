// Tests of source reading and checks: real files in a scratch directory.
#include "workflow/source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace baton::workflow {
namespace {

TEST(CheckSourceTextTest, AcceptsUtf8Text) {
  EXPECT_TRUE(check_source_text("name: café ✓ 😀\n").has_value());
}

TEST(CheckSourceTextTest, RefusesWithOffsets) {
  EXPECT_EQ(check_source_text("").error().message, "the file is empty");
  EXPECT_EQ(check_source_text(std::string("ab\0c", 4)).error().message,
            "not a text file (NUL byte at offset 2)");
  EXPECT_EQ(check_source_text("abc\xc3").error().message,
            "not a text file (invalid UTF-8 at offset 3)");
  EXPECT_EQ(check_source_text("\xc0\xaf").error().message,  // overlong '/'
            "not a text file (invalid UTF-8 at offset 0)");
  EXPECT_EQ(check_source_text("x\xed\xa0\x80").error().message,  // a surrogate
            "not a text file (invalid UTF-8 at offset 1)");
  std::string big(kMaxSourceBytes + 1, 'a');
  EXPECT_EQ(check_source_text(big).error().message,
            "file is 16777217 bytes; the limit is 16777216");
  EXPECT_TRUE(check_source_text(std::string(kMaxSourceBytes, 'a')).has_value());
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

class ReadSourceFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/baton-source-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ReadSourceFileTest, ReadsTheBytes) {
  std::string path = dir_ + "/f.yaml";
  std::string bytes("a\0b\r\n", 5);
  std::ofstream(path, std::ios::binary) << bytes;
  Result<std::string> text = read_source_file(path);
  ASSERT_TRUE(text.has_value()) << text.error().message;
  EXPECT_EQ(*text, bytes);
}

TEST_F(ReadSourceFileTest, Errors) {
  Result<std::string> r = read_source_file(dir_ + "/missing.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot read: No such file or directory");
  EXPECT_EQ(r.error().code, ENOENT);
  r = read_source_file(dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot read: Is a directory");
  std::string big = dir_ + "/big.yaml";
  std::filesystem::resize_file((std::ofstream(big), big), kMaxSourceBytes + 10);
  r = read_source_file(big);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "file is 16777226 bytes; the limit is 16777216");
}

}  // namespace
}  // namespace baton::workflow
