// Helpers for the isolation tests (header only, used by *_test.cc): scratch
// directories and real git repositories in them.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "isolation/command.h"
#include "isolation/worktree.h"

namespace baton::isolation::testing {

/// A directory from mkdtemp, removed with everything in it on destruction.
class Scratch {
 public:
  Scratch() {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/baton-iso-XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes TEXT to PATH, creating parent directories.
inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

/// The contents of PATH; "" when missing.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs a shell command in DIR; fails the test unless it exits 0. Returns stdout.
inline std::string sh(const std::string& dir, const std::string& script) {
  CommandOptions options;
  options.cwd = dir;
  options.env = {{"GIT_AUTHOR_NAME", "t"},
                 {"GIT_AUTHOR_EMAIL", "t@t"},
                 {"GIT_COMMITTER_NAME", "t"},
                 {"GIT_COMMITTER_EMAIL", "t@t"}};
  auto out = run_command({"/bin/sh", "-c", script}, options);
  EXPECT_TRUE(out.has_value()) << script;
  if (!out) return "";
  EXPECT_EQ(out->exit_code, 0) << script << "\n" << out->err;
  return out->out;
}

/// A new repository at DIR with one commit holding README (branch main).
inline void init_repo(const std::string& dir) {
  std::filesystem::create_directories(dir);
  write_file(dir + "/README", "hello\n");
  sh(dir, "git init -q -b main . && git add README && git commit -q -m init");
}

}  // namespace baton::isolation::testing
