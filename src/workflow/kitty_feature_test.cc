// read_kitty_feature(), escape_template() and build_kitty_workflow() over the feature
// directories of tests/fixtures/kitty/ (written in spec-kitty's layout).
#include "workflow/kitty_feature.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "expr/expr.h"

namespace baton::workflow {
namespace {

std::string fixture(const std::string& name) {
  return std::string(BATON_SOURCE_DIR) + "/tests/fixtures/kitty/" + name;
}

// A scope with no names: rendering anything that refers to one fails.
class EmptyScope : public expr::Scope {
 public:
  std::optional<expr::Value> lookup(const std::vector<std::string>&) const override {
    return std::nullopt;
  }
};

std::string render(const std::string& text) {
  auto tmpl = expr::parse_template(text);
  if (!tmpl) return "PARSE ERROR: " + tmpl.error().message;
  auto out = expr::render(*tmpl, EmptyScope());
  return out ? *out : "RENDER ERROR: " + out.error();
}

TEST(KittyFeatureTest, EscapedTextRendersToItself) {
  for (const std::string text : {"plain", "${inputs.x}", "$${already}", "$$${x}", "${${", "$", "${",
                                 "a$", "x}${y", "$(touch x) `id` ${{ secrets.TOKEN }}", "$$$$"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(render(escape_template(text)), text);
  }
}

TEST(KittyFeatureTest, ReadsALinearFeature) {
  std::vector<Diagnostic> diagnostics;
  auto feature = read_kitty_feature(fixture("linear"), diagnostics);
  ASSERT_TRUE(feature) << format_all(diagnostics);
  ASSERT_EQ(feature->work_packages.size(), 3u);
  EXPECT_EQ(feature->slug, "linear");
  const WorkPackage& wp = feature->work_packages[1];
  EXPECT_EQ(wp.id, "WP02");
  EXPECT_EQ(wp.title, "Step 2");
  EXPECT_EQ(wp.dependencies, std::vector<std::string>{"WP01"});
  EXPECT_EQ(wp.body.rfind("# Work Package Prompt: WP02\n", 0), 0u) << wp.body;
  EXPECT_FALSE(wp.front_matter_lane);
}

TEST(KittyFeatureTest, ReadsTheLegacyLaneKey) {
  std::vector<Diagnostic> diagnostics;
  auto feature = read_kitty_feature(fixture("legacy"), diagnostics);
  ASSERT_TRUE(feature) << format_all(diagnostics);
  EXPECT_EQ(feature->work_packages[0].front_matter_lane, "done");
  EXPECT_EQ(feature->work_packages[1].front_matter_lane, "planned");
  EXPECT_EQ(feature->work_packages[2].front_matter_lane, "doing");
}

TEST(KittyFeatureTest, DoneWorkPackagesAreLeftOutAndSatisfyTheirDependants) {
  std::vector<Diagnostic> diagnostics;
  auto feature = read_kitty_feature(fixture("diamond"), diagnostics);
  ASSERT_TRUE(feature) << format_all(diagnostics);
  KittyBuildOptions options;
  options.impl_agent = "claude";
  options.max_concurrent = 2;
  options.lanes = {{"WP01", "done"}};
  LoadOptions load;
  load.known_agents = {"claude"};
  LoadResult built = build_kitty_workflow(*feature, options, load);
  ASSERT_TRUE(built.ok()) << format_all(built.diagnostics);
  const Workflow& wf = *built.workflow;
  ASSERT_EQ(wf.tasks.size(), 3u);
  EXPECT_EQ(wf.tasks[0].id, "WP02");
  EXPECT_TRUE(wf.tasks[0].dependencies.empty());
  EXPECT_EQ(wf.tasks[2].dependencies, (std::vector<std::string>{"WP02", "WP03"}));
  EXPECT_EQ(wf.tasks[2].agent, "claude");
  EXPECT_EQ(wf.settings.isolation, Isolation::kWorktree);
  EXPECT_EQ(wf.settings.max_parallel, 2);
  EXPECT_EQ(wf.path, fixture("diamond"));
  // The same feature and options give the same digest; another agent another one.
  EXPECT_EQ(build_kitty_workflow(*feature, options, load).workflow->source_sha256,
            wf.source_sha256);
  options.impl_agent = "codex";
  load.known_agents.push_back("codex");
  EXPECT_NE(build_kitty_workflow(*feature, options, load).workflow->source_sha256,
            wf.source_sha256);
}

TEST(KittyFeatureTest, EveryWorkPackageIsReviewedByTheReviewAgent) {
  std::vector<Diagnostic> diagnostics;
  auto feature = read_kitty_feature(fixture("diamond"), diagnostics);
  ASSERT_TRUE(feature) << format_all(diagnostics);
  KittyBuildOptions options;
  options.impl_agent = "claude";
  LoadOptions load;
  load.known_agents = {"claude", "codex"};
  LoadResult plain = build_kitty_workflow(*feature, options, load);
  ASSERT_TRUE(plain.ok()) << format_all(plain.diagnostics);
  for (const TaskSpec& task : plain.workflow->tasks) EXPECT_FALSE(task.review) << task.id;
  options.review_agent = "codex";
  LoadResult built = build_kitty_workflow(*feature, options, load);
  ASSERT_TRUE(built.ok()) << format_all(built.diagnostics);
  ASSERT_EQ(built.workflow->tasks.size(), 4u);
  for (const TaskSpec& task : built.workflow->tasks) {
    ASSERT_TRUE(task.review) << task.id;
    EXPECT_EQ(task.review->agent, "codex");
    EXPECT_EQ(task.review->max_cycles, 3);
    EXPECT_EQ(task.review->on_exhausted, ReviewExhausted::kEscalate);
  }
  EXPECT_NE(built.workflow->source_sha256, plain.workflow->source_sha256);
  // The reviewer is checked as in any workflow.
  options.review_agent = "reviewr";
  LoadResult unknown = build_kitty_workflow(*feature, options, load);
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(format_all(unknown.diagnostics).find("unknown agent or role 'reviewr' in 'review'"),
            std::string::npos)
      << format_all(unknown.diagnostics);
}

TEST(KittyFeatureTest, ADependantOfACanceledWorkPackageIsAnErrorAtTheDependency) {
  std::vector<Diagnostic> diagnostics;
  auto feature = read_kitty_feature(fixture("linear"), diagnostics);
  ASSERT_TRUE(feature);
  KittyBuildOptions options;
  options.impl_agent = "claude";
  options.lanes = {{"WP02", "canceled"}};
  LoadOptions load;
  load.known_agents = {"claude"};
  LoadResult built = build_kitty_workflow(*feature, options, load);
  ASSERT_FALSE(built.ok());
  ASSERT_EQ(built.diagnostics.size(), 1u);
  EXPECT_EQ(built.diagnostics[0].format(),
            fixture("linear") +
                "/tasks/WP03-step-3.md:4:16: error: work package 'WP02' is canceled, so 'WP03' "
                "cannot run (baton runs planned, claimed, in_progress and blocked work packages; "
                "done ones count as finished)\n"
                "dependencies: [\"WP02\"]\n"
                "               ^");
}

TEST(KittyFeatureTest, TheHostileTitleAndBodyAreTheLiteralPrompt) {
  std::vector<Diagnostic> diagnostics;
  auto feature = read_kitty_feature(fixture("hostile"), diagnostics);
  ASSERT_TRUE(feature) << format_all(diagnostics);
  KittyBuildOptions options;
  options.impl_agent = "claude";
  LoadOptions load;
  load.known_agents = {"claude"};
  LoadResult built = build_kitty_workflow(*feature, options, load);
  ASSERT_TRUE(built.ok()) << format_all(built.diagnostics);
  const TaskSpec& task = built.workflow->tasks[0];
  std::string prompt = render(task.parameters()["task"].get<std::string>());
  EXPECT_EQ(prompt, "# WP01: " + feature->work_packages[0].title + "\n\n" +
                        "Use ${inputs.secret} and ${WP01.output} and $${already} and $(touch "
                        "pwned-body).\n`touch pwned-tick`\n'\"; exit 1\n");
  EXPECT_EQ(render(task.description()), feature->work_packages[0].title);
}

TEST(KittyFeatureTest, NoImplementingAgentIsAnError) {
  std::vector<Diagnostic> diagnostics;
  auto feature = read_kitty_feature(fixture("linear"), diagnostics);
  ASSERT_TRUE(feature);
  LoadResult built = build_kitty_workflow(*feature, {}, {});
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.diagnostics[0].format(),
            fixture("linear") +
                ": error: no implementing agent: give --impl-agent AGENT or define the role "
                "'implementer' in .baton/config.yaml");
}

TEST(KittyFeatureTest, AWorkPackageFileThatIsASymlinkIsRefused) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/kitty-feature-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  fs::create_directories(dir + "/tasks");
  std::ofstream(dir + "/secret.md")
      << "---\nwork_package_id: WP01\ntitle: t\ndependencies: []\n---\nx\n";
  fs::create_symlink(dir + "/secret.md", dir + "/tasks/WP01-link.md");
  std::vector<Diagnostic> diagnostics;
  EXPECT_FALSE(read_kitty_feature(dir, diagnostics));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].format(),
            dir +
                "/tasks/WP01-link.md: error: not a regular file (a work package file may not be "
                "a symlink)");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace baton::workflow
