#include "acp/confine.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace baton::acp {
namespace {

namespace fs = std::filesystem;

// A task directory ROOT (a realpath) beside a directory OUTSIDE it.
class ConfineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/baton-confine-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    char real[PATH_MAX];
    ASSERT_NE(::realpath(tmpl, real), nullptr);
    base_ = real;
    root_ = base_ + "/task";
    outside_ = base_ + "/outside";
    fs::create_directories(root_ + "/sub");
    fs::create_directories(outside_);
    std::ofstream(outside_ + "/secret") << "secret";
    std::ofstream(root_ + "/sub/a.txt") << "a";
  }
  void TearDown() override { fs::remove_all(base_); }
  std::string base_, root_, outside_;
};

TEST_F(ConfineTest, PathsInsideAreResolved) {
  EXPECT_EQ(confine(root_, root_ + "/sub/a.txt").value(), root_ + "/sub/a.txt");
  EXPECT_EQ(confine(root_, root_ + "/sub/../sub/./a.txt").value(), root_ + "/sub/a.txt");
  EXPECT_EQ(confine(root_, root_ + "/new/dir/file").value(), root_ + "/new/dir/file");
  EXPECT_EQ(confine(root_, root_).value(), root_);
}

TEST_F(ConfineTest, DotDotOutIsRefused) {
  auto r = confine(root_, root_ + "/../outside/secret");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "path is outside the task's directory: " + root_ + "/../outside/secret");
  EXPECT_FALSE(confine(root_, root_ + "/sub/../../outside/new"));
  EXPECT_FALSE(confine(root_, root_ + "/../task-sibling"));  // a prefix is not a parent
}

TEST_F(ConfineTest, AbsolutePathElsewhereAndRelativePathsAreRefused) {
  EXPECT_FALSE(confine(root_, "/etc/passwd"));
  EXPECT_FALSE(confine(root_, outside_ + "/secret"));
  auto rel = confine(root_, "sub/a.txt");
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().message, "path is not absolute: sub/a.txt");
  EXPECT_FALSE(confine(root_, std::string("/x\0y", 4)));
}

TEST_F(ConfineTest, SymlinksOutOfTheDirectoryAreRefused) {
  fs::create_symlink(outside_ + "/secret", root_ + "/link-to-file");
  fs::create_directory_symlink(outside_, root_ + "/link-to-dir");
  fs::create_symlink(outside_ + "/not-yet", root_ + "/dangling");
  EXPECT_FALSE(confine(root_, root_ + "/link-to-file"));
  EXPECT_FALSE(confine(root_, root_ + "/link-to-dir/secret"));
  EXPECT_FALSE(confine(root_, root_ + "/link-to-dir/new-file"));  // does not exist yet
  EXPECT_FALSE(confine(root_, root_ + "/dangling"));
  // A symlink that stays inside is fine.
  fs::create_symlink(root_ + "/sub/a.txt", root_ + "/inner");
  EXPECT_EQ(confine(root_, root_ + "/inner").value(), root_ + "/sub/a.txt");
}

}  // namespace
}  // namespace baton::acp
