#include "cli/paths.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace baton::cli {

namespace fs = std::filesystem;

std::string project_root() {
  fs::path dir = fs::current_path();
  for (fs::path p = dir;; p = p.parent_path()) {
    if (fs::exists(p / ".git")) return p.string();
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
  for (fs::path p = fs::current_path();; p = p.parent_path()) {
    fs::path db = p / ".baton" / "state.db";
    if (fs::exists(db)) return db.string();
    if (p == p.parent_path()) break;
  }
  return fail("no .baton/state.db here or in any parent directory; run `baton run` first");
}

}  // namespace baton::cli
