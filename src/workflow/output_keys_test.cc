// Tests of typed output declarations in `outputs:` (docs/workflow.md, "Typed outputs"):
// the model the loader keeps and the errors with their places.
#include <gtest/gtest.h>

#include "workflow/loader.h"

namespace baton::workflow {
namespace {

// The first line of each diagnostic ("FILE:L:C: error: MESSAGE").
std::vector<std::string> heads(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    std::string f = d.format();
    out.push_back(f.substr(0, f.find('\n')));
  }
  return out;
}

TEST(OutputKeysTest, TypedAndDescribedOutputsAreRead) {
  LoadResult r = load_workflow_text(R"(name: x
tasks:
  - id: a
    run: make
    outputs:
      summary: {type: string, description: what changed}
      count: {type: number}
      ok: {type: boolean}
      report: {type: file, path: out/report.md}
      note: just a description
      described: {description: an untyped output as before}
)",
                                    "flow.yaml", {});
  ASSERT_TRUE(r.ok()) << format_all(r.diagnostics);
  const nlohmann::json& o = r.workflow->tasks[0].outputs();
  EXPECT_EQ(o["count"]["type"], "number");
  EXPECT_EQ(o["report"]["path"], "out/report.md");
  EXPECT_EQ(o["note"], "just a description");
  EXPECT_FALSE(o["described"].contains("type"));
}

TEST(OutputKeysTest, BadDeclarationsAreErrorsWithTheirPlaces) {
  LoadResult r = load_workflow_text(R"(name: x
tasks:
  - id: a
    run: make
    outputs:
      count: {type: nmber}
      ok: {tpye: boolean}
      where: {path: w.txt}
      report: {type: file}
      up: {type: file, path: ../x}
      abs: {type: file, path: /etc/passwd}
      s: {type: string, path: s.txt}
)",
                                    "flow.yaml", {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r),
            (std::vector<std::string>{
                "flow.yaml:6:21: error: invalid value 'nmber' for 'type' in output 'count' in "
                "task 'a': expected string, number, boolean or file; did you mean 'number'?",
                "flow.yaml:7:12: error: unknown key 'tpye' in output 'ok' in task 'a'; did you "
                "mean 'type'?",
                "flow.yaml:8:21: error: 'path' in output 'where' in task 'a' is only for 'type: "
                "file'",
                "flow.yaml:9:15: error: missing 'path' in output 'report' in task 'a': a file "
                "output names the file the task writes",
                "flow.yaml:10:30: error: invalid 'path' '../x' in output 'up' in task 'a': "
                "expected a path relative to the task's directory, without '..'",
                "flow.yaml:11:31: error: invalid 'path' '/etc/passwd' in output 'abs' in task "
                "'a': expected a path relative to the task's directory, without '..'",
                "flow.yaml:12:31: error: 'path' in output 's' in task 'a' is only for 'type: "
                "file'",
            }))
      << format_all(r.diagnostics);
}

}  // namespace
}  // namespace baton::workflow
