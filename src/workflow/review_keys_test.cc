// Tests of `review:` on a task and settings.single_agent / single_agent_pause: the
// model the loader fills and the errors with their places (docs/review.md).
#include <gtest/gtest.h>

#include "workflow/config.h"
#include "workflow/loader.h"

namespace baton::workflow {
namespace {

LoadOptions options() {
  LoadOptions o;
  o.known_agents = {"claude", "codex", "gemini"};
  return o;
}

// The first line of each diagnostic ("FILE:L:C: error: MESSAGE").
std::vector<std::string> heads(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    std::string f = d.format();
    out.push_back(f.substr(0, f.find('\n')));
  }
  return out;
}

TEST(ReviewKeysTest, ReviewAndSingleAgentAreRead) {
  LoadResult r = load_workflow_text(R"(name: x
settings:
  single_agent: true
  single_agent_pause: 30s
agents:
  reviewer: {use: [codex, claude]}
tasks:
  - id: a
    agent: claude
    description: implement it
    review:
      agent: reviewer
      max_cycles: 2
      instructions: Check the tests.
      on_exhausted: fail
  - id: b
    agent: claude
    description: more
    review: {agent: codex}
  - {id: c, agent: claude, description: none}
)",
                                    "flow.yaml", options());
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  const Workflow& wf = *r.workflow;
  EXPECT_TRUE(wf.settings.single_agent);
  EXPECT_EQ(wf.settings.single_agent_pause_s, 30);
  ASSERT_TRUE(wf.tasks[0].review);
  EXPECT_EQ(wf.tasks[0].review->agent, "reviewer");
  EXPECT_EQ(wf.tasks[0].review->max_cycles, 2);
  EXPECT_EQ(wf.tasks[0].review->instructions, "Check the tests.");
  EXPECT_EQ(wf.tasks[0].review->on_exhausted, ReviewExhausted::kFail);
  ASSERT_TRUE(wf.tasks[1].review);
  EXPECT_EQ(wf.tasks[1].review->agent, "codex");
  EXPECT_EQ(wf.tasks[1].review->max_cycles, 3);
  EXPECT_EQ(wf.tasks[1].review->on_exhausted, ReviewExhausted::kEscalate);
  EXPECT_FALSE(wf.tasks[2].review);
  EXPECT_FALSE(Settings().single_agent);
}

TEST(ReviewKeysTest, ErrorsNameThePlace) {
  LoadResult r = load_workflow_text(R"(name: x
tasks:
  - id: a
    run: make
    review: {agent: codex}
  - id: b
    agent: claude
    description: x
    review: {agent: codx, max_cycles: 0, on_exhausted: retry, colour: red}
  - id: c
    agent: claude
    description: x
    review: {max_cycles: 2}
  - id: d
    agent: claude
    description: x
    review: codex
)",
                                    "flow.yaml", options());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r),
            (std::vector<std::string>{
                "flow.yaml:5:5: error: task 'a' has 'review' but no 'agent': only an agent's "
                "work is reviewed (docs/review.md)",
                "flow.yaml:9:21: error: unknown agent or role 'codx' in 'review' of task 'b'; "
                "did you mean 'codex'?",
                "flow.yaml:9:39: error: 'max_cycles' in 'review' in task 'b' must be at least 1",
                "flow.yaml:9:56: error: invalid value 'retry' for 'on_exhausted' in 'review' in "
                "task 'b': expected escalate or fail",
                "flow.yaml:9:63: error: unknown key 'colour' in 'review' in task 'b'",
                "flow.yaml:13:13: error: 'review' has no 'agent' in task 'c'",
                "flow.yaml:17:13: error: expected a mapping for 'review' in task 'd'",
            }))
      << format_all(r.diagnostics);
}

TEST(ReviewKeysTest, HooksHaveNoReview) {
  LoadResult r = load_workflow_text(R"(name: x
tasks:
  - {id: a, run: make}
hooks:
  on_success:
    - {id: h, agent: claude, description: x, review: {agent: codex}}
)",
                                    "flow.yaml", options());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r), (std::vector<std::string>{"flow.yaml:6:46: error: hooks have no 'review'; "
                                                "they run unattended"}))
      << format_all(r.diagnostics);
}

TEST(ReviewKeysTest, ReviewIsAnOptionalBehindOnePointer) {
  TaskSpec t;
  EXPECT_FALSE(t.review);
  EXPECT_EQ(sizeof(t.review), sizeof(void*));
  std::optional<ReviewSpec> given = ReviewSpec{"codex", 2, "", ReviewExhausted::kFail, {}};
  t.review = given;
  ASSERT_TRUE(t.review.has_value());
  TaskSpec copy = t;  // a deep copy
  copy.review->agent = "claude";
  EXPECT_EQ(t.review->agent, "codex");
  EXPECT_EQ((*copy.review).max_cycles, 2);
  t.review.emplace().agent = "gemini";
  EXPECT_EQ(t.review.value().max_cycles, 3);
  t.review = std::nullopt;
  EXPECT_FALSE(t.review);
}

TEST(ReviewKeysTest, ConfigTurnsSingleAgentOnAndGivesThePause) {
  auto config = load_config_text("single_agent: true\nsingle_agent_pause: 10s\n", "config.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->single_agent);
  EXPECT_EQ(config->single_agent_pause_s, 10);
  auto bad = load_config_text("single_agent: yes\nsingle_agent_pause: soon\n", "config.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(
                "config.yaml:1:15: expected true or false for 'single_agent' at the top level"),
            std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("config.yaml:2:21: "), std::string::npos)
      << bad.error().message;

  LoadOptions o = options();
  o.config_single_agent = true;
  o.config_single_agent_pause_s = 10;
  const std::string flow = "name: x\ntasks:\n  - {id: a, run: make}\n";
  LoadResult r = load_workflow_text(flow, "flow.yaml", o);
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  EXPECT_TRUE(r.workflow->settings.single_agent);
  EXPECT_EQ(r.workflow->settings.single_agent_pause_s, 10);
  r = load_workflow_text(
      "name: x\nsettings: {single_agent_pause: 2s}\ntasks:\n  - {id: a, run: make}\n", "flow.yaml",
      o);
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  EXPECT_EQ(r.workflow->settings.single_agent_pause_s, 2);  // the file's pause wins
}

}  // namespace
}  // namespace baton::workflow
