#include "acp/confine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

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

std::string read_fd(int fd) {
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST_F(ConfineTest, OpenBeneathOpensWhatConfineResolved) {
  auto read = open_beneath(root_, confine(root_, root_ + "/sub/a.txt").value(), O_RDONLY);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read_fd(read->get()), "a");
  // A symlink that stays inside: confine() resolved it, so nothing is followed here.
  fs::create_symlink(root_ + "/sub/a.txt", root_ + "/inner");
  auto inner = open_beneath(root_, confine(root_, root_ + "/inner").value(), O_RDONLY);
  ASSERT_TRUE(inner) << inner.error().message;
  EXPECT_EQ(read_fd(inner->get()), "a");
  const std::string fresh = confine(root_, root_ + "/new/deeper/out.txt").value();
  EXPECT_FALSE(open_beneath(root_, fresh, O_WRONLY | O_CREAT, 0644));  // no parents made
  auto made = open_beneath(root_, fresh, O_WRONLY | O_CREAT, 0644, /*create_parents=*/true);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(::write(made->get(), "x", 1), 1);
  EXPECT_EQ(fs::file_size(root_ + "/new/deeper/out.txt"), 1u);
  auto self = open_beneath(root_, root_, O_RDONLY | O_DIRECTORY);
  EXPECT_TRUE(self) << self.error().message;
  auto missing = open_beneath(root_, root_ + "/sub/none", O_RDONLY);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().message,
            "cannot open " + root_ + "/sub/none: No such file or directory");
  EXPECT_FALSE(open_beneath(root_, outside_ + "/secret", O_RDONLY));  // not under ROOT
}

// The race open_beneath() closes: confine() resolved a path while "sub" was a
// directory; before the open, the task replaced "sub" with a symlink that leads out.
TEST_F(ConfineTest, OpenBeneathRefusesASymlinkSwappedInSinceConfineLooked) {
  const std::string checked = confine(root_, root_ + "/sub/secret").value();
  const std::string planted = confine(root_, root_ + "/sub/planted").value();
  const std::string file = confine(root_, root_ + "/sub/a.txt").value();
  fs::rename(root_ + "/sub", root_ + "/sub-was");
  fs::create_directory_symlink(outside_, root_ + "/sub");
  // What opening the checked string would do: it reads the secret outside.
  int naive = ::open(checked.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ASSERT_GE(naive, 0);
  EXPECT_EQ(read_fd(naive), "secret");
  ::close(naive);

  auto read = open_beneath(root_, checked, O_RDONLY);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "path is outside the task's directory: " + checked);
  EXPECT_EQ(read.error().code, ELOOP);
  auto write = open_beneath(root_, planted, O_WRONLY | O_CREAT | O_TRUNC, 0644, true);
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().code, ELOOP);
  EXPECT_FALSE(fs::exists(outside_ + "/planted"));

  // The last component swapped for a symlink to a file outside: refused too.
  fs::remove(root_ + "/sub");
  fs::rename(root_ + "/sub-was", root_ + "/sub");
  fs::remove(root_ + "/sub/a.txt");
  fs::create_symlink(outside_ + "/secret", root_ + "/sub/a.txt");
  auto last = open_beneath(root_, file, O_RDONLY);
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code, ELOOP);
  auto truncate = open_beneath(root_, file, O_WRONLY | O_TRUNC);
  EXPECT_FALSE(truncate);
  std::ifstream secret(outside_ + "/secret");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(secret), {}), "secret");
}

TEST_F(ConfineTest, OpenBeneathTellsAFileOnTheWayFromASymlink) {
  auto through_file = open_beneath(root_, root_ + "/sub/a.txt/x", O_RDONLY);
  ASSERT_FALSE(through_file);
  EXPECT_EQ(through_file.error().code, ENOTDIR);
  EXPECT_FALSE(open_beneath(root_, root_ + "/sub/../sub/a.txt", O_RDONLY));
}

}  // namespace
}  // namespace baton::acp
