#include "cli/paths.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/store_location.h"

namespace baton::cli {

namespace fs = std::filesystem;

namespace {

// True when DIR/.git marks a git work tree: a directory with a HEAD, or a file that
// starts with "gitdir: " (a linked worktree, a submodule). An empty `.git` is not one:
// Codex's sandbox creates one in every writable root it protects (/tmp among them) for
// as long as its command runs, which made /tmp the "project" of a scratch directory.
bool marks_work_tree(const fs::path& dir) {
  fs::path git = dir / ".git";
  std::error_code ec;
  if (fs::is_directory(git, ec)) return fs::exists(git / "HEAD", ec);
  if (!fs::is_regular_file(git, ec)) return false;
  std::ifstream in(git);
  char head[8] = {};
  in.read(head, sizeof head);
  return in.gcount() == 8 && std::string(head, 8) == "gitdir: ";
}

}  // namespace

std::string project_root() {
  fs::path dir = fs::current_path();
  for (fs::path p = dir;; p = p.parent_path()) {
    if (marks_work_tree(p)) return p.string();
    if (p == p.parent_path()) break;
  }
  return dir.string();
}

std::string state_dir(const std::string& root) { return (fs::path(root) / ".baton").string(); }

Result<void> write_state_gitignore(const std::string& state) {
  constexpr const char* kIgnore =
      "# Written by baton: its state database, logs, worktrees and rehearsal homes are\n"
      "# never committed. config.yaml and workflows kept here may be.\n"
      "*\n"
      "!*.yaml\n"
      "!*.yml\n";
  fs::path path = fs::path(state) / ".gitignore";
  std::error_code ec;
  if (fs::exists(path, ec)) return {};
  fs::create_directories(state, ec);
  std::ofstream out(path);
  out << kIgnore;
  out.close();
  if (!out) return fail("cannot write " + path.string());
  return {};
}

Result<std::string> find_state_db() {
  if (std::string configured = configured_store(); !configured.empty()) return configured;
  for (fs::path p = fs::current_path();; p = p.parent_path()) {
    fs::path db = p / ".baton" / "state.db";
    if (fs::exists(db)) return db.string();
    if (p == p.parent_path()) break;
  }
  return fail("no .baton/state.db here or in any parent directory; run `baton run` first");
}

}  // namespace baton::cli
