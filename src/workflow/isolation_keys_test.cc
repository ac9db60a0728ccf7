// The isolation keys of a workflow: settings.isolation, integrate, sandbox,
// git_author and the per-task isolation, sandbox and network.
#include <gtest/gtest.h>

#include "workflow/loader.h"

namespace baton::workflow {
namespace {

LoadResult load(const std::string& text) { return load_workflow_text(text, "flow.yaml", {}); }

std::vector<std::string> heads(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    std::string f = d.format();
    out.push_back(f.substr(0, f.find('\n')));
  }
  return out;
}

TEST(IsolationKeysTest, DefaultsAreNoIsolationMergeAndNoSandbox) {
  LoadResult r = load("name: demo\ntasks:\n  - id: a\n    run: 'true'\n");
  ASSERT_TRUE(r.workflow) << heads(r).size();
  const Settings& s = r.workflow->settings;
  EXPECT_EQ(s.isolation, Isolation::kNone);
  EXPECT_EQ(s.integrate, Integration::kMerge);
  EXPECT_EQ(s.sandbox, Sandbox::kNone);
  EXPECT_EQ(s.git_author, "baton <baton@localhost>");
  const TaskSpec& t = r.workflow->tasks[0];
  EXPECT_FALSE(t.isolation);
  EXPECT_FALSE(t.sandbox);
  EXPECT_FALSE(t.network());
}

TEST(IsolationKeysTest, ReadsSettingsAndTaskKeys) {
  LoadResult r = load(R"(name: demo
settings:
  isolation: worktree
  integrate: squash
  sandbox: auto
  git_author: "Robo Dev <robo@example.com>"
tasks:
  - id: a
    run: 'true'
    isolation: none
    sandbox: bwrap
    network: true
  - id: b
    run: 'true'
    sandbox: none
)");
  ASSERT_TRUE(r.workflow) << (heads(r).empty() ? "" : heads(r)[0]);
  const Settings& s = r.workflow->settings;
  EXPECT_EQ(s.isolation, Isolation::kWorktree);
  EXPECT_EQ(s.integrate, Integration::kSquash);
  EXPECT_EQ(s.sandbox, Sandbox::kAuto);
  EXPECT_EQ(s.git_author, "Robo Dev <robo@example.com>");
  const TaskSpec& a = r.workflow->tasks[0];
  EXPECT_EQ(a.isolation, Isolation::kNone);
  EXPECT_EQ(a.sandbox, Sandbox::kBwrap);
  EXPECT_EQ(a.network(), true);
  EXPECT_EQ(r.workflow->tasks[1].sandbox, Sandbox::kNone);
}

TEST(IsolationKeysTest, ReadsContainerSandboxesAndTheirImages) {
  LoadResult r = load(R"(name: demo
settings:
  sandbox: docker
  image: "debian:bookworm"
tasks:
  - id: a
    run: 'true'
  - id: b
    run: 'true'
    sandbox: podman
    image: baton-sandbox:busybox
)");
  ASSERT_TRUE(r.workflow) << (heads(r).empty() ? "" : heads(r)[0]);
  EXPECT_EQ(r.workflow->settings.sandbox, Sandbox::kDocker);
  EXPECT_EQ(r.workflow->settings.image, "debian:bookworm");
  EXPECT_FALSE(r.workflow->tasks[0].image());
  EXPECT_EQ(r.workflow->tasks[1].sandbox, Sandbox::kPodman);
  EXPECT_EQ(r.workflow->tasks[1].image(), "baton-sandbox:busybox");
}

TEST(IsolationKeysTest, BadValuesNameThePlaceAndTheChoices) {
  LoadResult r = load(R"(name: demo
settings:
  isolation: container
  integrate: rebase
  sandbox: lxc
  git_author: nobody
tasks:
  - id: a
    run: 'true'
    network: maybe
hooks:
  on_complete:
    - run: 'true'
      sandbox: bwrap
)");
  EXPECT_EQ(heads(r),
            (std::vector<std::string>{
                "flow.yaml:3:14: error: invalid value 'container' for 'isolation' in settings: "
                "expected none or worktree",
                "flow.yaml:4:14: error: invalid value 'rebase' for 'integrate' in settings: "
                "expected merge, squash or none",
                "flow.yaml:5:12: error: invalid value 'lxc' for 'sandbox' in settings: "
                "expected none, bwrap, auto, docker or podman",
                "flow.yaml:6:15: error: invalid value 'nobody' for 'git_author' in settings: "
                "expected 'Name <email>'",
                "flow.yaml:10:14: error: expected true or false for 'network' in task 'a'",
                "flow.yaml:14:7: error: hooks have no 'sandbox'; they run in the project root, "
                "unsandboxed",
            }));
}

TEST(IsolationKeysTest, ReadsLimitsOfSettingsAndTasks) {
  LoadResult r = load(R"(name: demo
settings:
  sandbox: bwrap
  limits: {pids: 300, memory: 2GiB, cpu_seconds: 10m, open_files: 512}
tasks:
  - id: a
    run: 'true'
    limits: {memory: 512MiB}
  - id: b
    run: 'true'
)");
  ASSERT_TRUE(r.workflow) << (heads(r).empty() ? "" : heads(r)[0]);
  const Limits& s = r.workflow->settings.limits;
  EXPECT_EQ(s.pids, 300);
  EXPECT_EQ(s.memory, 2LL << 30);
  EXPECT_EQ(s.cpu_seconds, 600);
  EXPECT_EQ(s.open_files, 512);
  const Limits& a = r.workflow->tasks[0].limits();
  EXPECT_EQ(a.memory, 512LL << 20);
  EXPECT_FALSE(a.pids);
  EXPECT_FALSE(r.workflow->tasks[1].limits().memory);
}

TEST(IsolationKeysTest, HooksHaveNoLimits) {
  LoadResult r = load(
      "name: demo\ntasks:\n  - {id: a, run: 'true'}\nhooks:\n  on_start:\n"
      "    - {run: 'true', limits: {pids: 5}}\n");
  EXPECT_EQ(heads(r), std::vector<std::string>{"flow.yaml:6:21: error: hooks have no 'limits'; "
                                               "they run in the project root, unsandboxed"});
}

TEST(IsolationKeysTest, LimitsWithoutASandboxAreAnError) {
  LoadResult r = load(
      "name: demo\ntasks:\n  - {id: a, run: 'true', limits: {pids: 5}}\n"
      "  - {id: b, run: 'true', sandbox: auto, limits: {pids: 5}}\n");
  EXPECT_EQ(heads(r), std::vector<std::string>{
                          "flow.yaml:3:26: error: task 'a' has 'limits' but no sandbox: limits "
                          "apply to sandboxed tasks (set 'sandbox' on the task or in settings)"});
}

}  // namespace
}  // namespace baton::workflow
