// Integration tests: what `baton logs` and `baton status` tell about each task: an
// agent's transcript rendered from its CLI's events (real CLIs under --rehearse), the
// output as recorded with --raw, each task's reason, and a task that never ran.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(LogsTest, AgentTaskShowsATranscriptAndRawShowsTheJson) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: talk
settings: {max_parallel: 2}
tasks:
  - {id: by-claude, agent: claude, parameters: {task: "Write a.txt"}, timeout: 2m}
  - {id: by-codex, agent: codex, parameters: {task: "Write b.txt"}, timeout: 2m}
)");
  dir.write("script.yaml", R"(tasks:
  by-claude: [{run: "echo tool-said-hi"}, {write_file: {path: a.txt, content: "a\n"}}, {text: "wrote a.txt\nand nothing else"}]
  by-codex: [{run: "echo tool-said-hi"}, {text: "ran it"}]
)");
  ASSERT_EQ(run_command({"git", "init", "-q"}, dir.path()).exit_code, 0);
  Outcome o = run_baton({"run", "flow.yaml", "--rehearse", "script.yaml", "--plain"}, dir.path(),
                        agent_path(), 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  // The summary (and `baton status RUN`) gives each agent's answer, first line.
  EXPECT_TRUE(has(o.out, "answer: wrote a.txt\n")) << o.out;
  EXPECT_FALSE(has(o.out, "and nothing else")) << o.out;
  std::string run_id = last_run(dir)["id"];
  Outcome status = run_baton({"status", run_id}, dir.path());
  EXPECT_TRUE(has(status.out, "answer: ran it\n")) << status.out;

  Outcome claude = run_baton({"logs", run_id, "by-claude"}, dir.path(), agent_path());
  EXPECT_EQ(claude.exit_code, 0) << claude.err;
  EXPECT_TRUE(has(claude.out, "tool Bash: echo tool-said-hi\n  -> tool-said-hi\n")) << claude.out;
  EXPECT_TRUE(has(claude.out, "tool Write: ")) << claude.out;
  EXPECT_TRUE(has(claude.out, "answer:\n  wrote a.txt\n  and nothing else\n")) << claude.out;
  EXPECT_TRUE(has(claude.out, "usage: ")) << claude.out;
  EXPECT_FALSE(has(claude.out, "\"type\":")) << claude.out;

  Outcome codex = run_baton({"logs", run_id, "by-codex"}, dir.path(), agent_path());
  EXPECT_TRUE(has(codex.out, "tool shell: ")) << codex.out;
  EXPECT_TRUE(has(codex.out, "  -> tool-said-hi\n")) << codex.out;
  EXPECT_TRUE(has(codex.out, "answer:\n  ran it\n")) << codex.out;

  Outcome raw = run_baton({"logs", run_id, "by-claude", "--raw"}, dir.path(), agent_path());
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_TRUE(has(raw.out, "{\"type\":\"result\"")) << raw.out;
  EXPECT_FALSE(has(raw.out, "answer:\n")) << raw.out;

  // Every task: the transcripts with the task's prefix on each line.
  Outcome all = run_baton({"logs", run_id}, dir.path(), agent_path());
  EXPECT_TRUE(has(all.out, "[by-claude] answer:\n[by-claude]   wrote a.txt\n")) << all.out;
  EXPECT_TRUE(has(all.out, "[by-codex] tool shell: ")) << all.out;
}

TEST(LogsTest, StatusGivesEachTasksReasonAndLogsSaysWhyATaskNeverRan) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: reasons
settings: {on_failure: continue}
tasks:
  - id: first
    run: echo one
  - id: maybe
    dependencies: [first]
    condition: "${first.output == 'two'}"
    run: echo never
  - id: bad
    dependencies: [first]
    run: echo broke; exit 3
  - id: after
    dependencies: [bad]
    run: echo never
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  std::string run_id = last_run(dir)["id"];
  Outcome status = run_baton({"status", run_id}, dir.path());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  // Each note sits on the line after its task's row.
  EXPECT_TRUE(has(status.out, "skipped: condition is false: ${first.output == 'two'}\n"))
      << status.out;
  EXPECT_TRUE(has(status.out, "failed: exited 3\n")) << status.out;
  EXPECT_TRUE(has(status.out, "cancelled: dependency 'bad' failed\n")) << status.out;
  size_t row = status.out.find("  maybe ");
  ASSERT_NE(row, std::string::npos) << status.out;
  size_t next_line = status.out.find('\n', row) + 1;
  EXPECT_EQ(status.out.compare(next_line, 7, std::string(7, ' ')), 0) << status.out;
  EXPECT_EQ(status.out.find("skipped: ", next_line), status.out.find_first_not_of(' ', next_line))
      << status.out;

  Outcome skipped = run_baton({"logs", run_id, "maybe"}, dir.path());
  EXPECT_EQ(skipped.exit_code, 0);
  EXPECT_EQ(skipped.out, "");
  EXPECT_EQ(skipped.err,
            "baton: task 'maybe' never ran: skipped: condition is false: ${first.output == "
            "'two'}\n");
  Outcome cancelled = run_baton({"logs", run_id, "after"}, dir.path());
  EXPECT_EQ(cancelled.exit_code, 0);
  EXPECT_EQ(cancelled.err, "baton: task 'after' never ran: cancelled: dependency 'bad' failed\n");
  // Every task: the output, then a line for each task that never ran.
  Outcome all = run_baton({"logs", run_id}, dir.path());
  EXPECT_TRUE(has(all.out, "[bad] broke\n")) << all.out;
  EXPECT_TRUE(has(all.out, "[maybe] never ran: skipped: condition is false: ")) << all.out;
  EXPECT_TRUE(has(all.out, "[after] never ran: cancelled: dependency 'bad' failed\n")) << all.out;
  // A command task prints its output as recorded, as before.
  Outcome bad = run_baton({"logs", run_id, "bad"}, dir.path());
  EXPECT_EQ(bad.exit_code, 0);
  EXPECT_EQ(bad.out, "broke\n");
  EXPECT_EQ(bad.err, "");
}

}  // namespace
}  // namespace baton::testing
