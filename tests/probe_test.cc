// Integration tests: `baton agents` and `baton init` probe the agent CLIs all at once,
// each `--version` bounded by --probe-timeout, results in a stable order, and a
// progress line only on a terminal. The CLIs here are small scripts placed first in
// PATH: one that hangs, ones that answer after different delays.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// DIR/bin with a `claude` that never answers and CLIs that answer late in the
// reverse of their sorted order (auggie last, gemini first).
std::map<std::string, std::string> fake_clis(const ScratchDir& dir) {
  dir.write("bin/claude", "#!/bin/sh\nexec sleep 60\n");
  dir.write("bin/auggie", "#!/bin/sh\nsleep 0.6\necho 'auggie 1.0'\n");
  dir.write("bin/codex", "#!/bin/sh\nsleep 0.3\necho 'codex-cli 9.9'\n");
  dir.write("bin/gemini", "#!/bin/sh\necho '1.2.3'\n");
  EXPECT_EQ(std::system(("chmod +x " + dir.path() + "/bin/*").c_str()), 0);
  return {{"PATH", dir.path() + "/bin:/usr/bin:/bin"}};
}

json row(const json& rows, const std::string& name) {
  for (const auto& r : rows) {
    if (r["name"] == name) return r;
  }
  return json::object();
}

TEST(ProbeTest, AgentsIsBoundedByTheProbeTimeoutAndKeepsItsOrder) {
  ScratchDir dir;
  auto env = fake_clis(dir);
  // A probe that waited for the hanging claude (60 s) would fail run_baton's limit.
  Outcome first = run_baton({"agents", "--json", "--probe-timeout", "2"}, dir.path(), env, 30);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.err, "");  // no progress line when stderr is not a terminal
  json rows = json::parse(first.out);
  std::vector<std::string> names;
  for (const auto& r : rows) names.push_back(r["name"]);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << first.out;
  EXPECT_EQ(row(rows, "claude")["installed"], true);
  EXPECT_EQ(row(rows, "claude")["version"], "");
  EXPECT_EQ(row(rows, "claude")["version_timed_out"], true);
  EXPECT_EQ(row(rows, "auggie")["version"], "auggie 1.0");
  EXPECT_EQ(row(rows, "codex")["version"], "codex-cli 9.9");
  EXPECT_EQ(row(rows, "gemini")["version"], "1.2.3");
  EXPECT_EQ(row(rows, "gemini")["version_timed_out"], false);
  EXPECT_EQ(row(rows, "qwen")["installed"], false);
  // The same again, whatever order the probes end in.
  Outcome second = run_baton({"agents", "--json", "--probe-timeout", "2"}, dir.path(), env, 30);
  EXPECT_EQ(second.out, first.out);

  Outcome table = run_baton({"agents", "--probe-timeout", "2"}, dir.path(), env, 30);
  EXPECT_TRUE(has(table.out, "no answer to --version in 2s")) << table.out;
  EXPECT_LT(table.out.find("auggie"), table.out.find("claude")) << table.out;
  EXPECT_LT(table.out.find("claude"), table.out.find("codex")) << table.out;
}

TEST(ProbeTest, InitReportsAHangingCliAndStillWritesTheConfig) {
  ScratchDir dir;
  auto env = fake_clis(dir);
  Outcome o = run_baton({"init", "--probe-timeout", "1"}, dir.path(), env, 30);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::string config = dir.read(".baton/config.yaml");
  EXPECT_TRUE(
      has(config, "#   claude    " + dir.path() + "/bin/claude (no answer to --version in 1s)\n"))
      << config;
  EXPECT_TRUE(has(config, "#   codex     " + dir.path() + "/bin/codex (codex-cli 9.9)\n"))
      << config;
  EXPECT_TRUE(has(config, "#   qwen      not found\n")) << config;
}

TEST(ProbeTest, ATerminalSeesProgressNamingTheCliItWaitsFor) {
  ScratchDir dir;
  auto env = fake_clis(dir);
  // script(1) runs baton on a pseudo-terminal; its output is what the terminal got.
  std::string command =
      "PATH='" + env["PATH"] + "' '" + std::string(BATON_BINARY) + "' agents --probe-timeout 2";
  Outcome o = run_command({"script", "-qec", command, "/dev/null"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_TRUE(has(o.out, "probing agent CLIs: 0/9")) << o.out;
  EXPECT_TRUE(has(o.out, "waiting for claude")) << o.out;
  EXPECT_TRUE(has(o.out, "probing agent CLIs: 9/9")) << o.out;
  // The line is erased before the table.
  EXPECT_TRUE(has(o.out, "\r\033[KAGENT")) << o.out;
}

}  // namespace
}  // namespace baton::testing
