// Integration tests: `baton validate` and `baton graph` on good and bad files.
#include <gtest/gtest.h>

#include "harness_util.h"

namespace baton::testing {
namespace {

TEST(ValidateTest, GoodFileIsOk) {
  ScratchDir dir;
  dir.write("flow.yaml",
            "name: demo\ntasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true', dependencies: "
            "[a]}\n");
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "flow.yaml: ok (2 tasks)\n");
}

TEST(ValidateTest, ReportsEveryErrorAtOnceWithPlaces) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: demo
tasks:
  - id: a
    run: 'true'
    dependecies: [b]
  - id: b
    run: 'true'
    dependencies: [c]
  - id: c
    run: echo ${fn:nope(a.output)}
    dependencies: [b]
)");
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("flow.yaml:5:5: error: unknown key 'dependecies' in task 'a'; did you mean "
                       "'dependencies'?\n    dependecies: [b]\n    ^\n"),
            std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("dependency cycle: b -> c -> b"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("unknown function 'fn:nope'"), std::string::npos) << o.err;
}

TEST(ValidateTest, MalformedYamlIsAClearError) {
  ScratchDir dir;
  dir.write("flow.yaml", "name: demo\ntasks:\n  - id: [unclosed\n");
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err.rfind("flow.yaml:", 0), 0u) << o.err;
  EXPECT_NE(o.err.find("error: invalid YAML"), std::string::npos) << o.err;
}

TEST(ValidateTest, EmptyFileIsRefused) {
  ScratchDir dir;
  dir.write("flow.yaml", "");
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("flow.yaml: error: the file is empty"), std::string::npos) << o.err;
}

TEST(ValidateTest, BinaryFileIsRefused) {
  ScratchDir dir;
  dir.write("flow.yaml", std::string("name: x\n\0\x01\x02\xff", 12));
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("not a text file"), std::string::npos) << o.err;
}

TEST(ValidateTest, HugeFileIsRefusedWithoutCrashing) {
  ScratchDir dir;
  std::string big = "name: big\ntasks:\n";
  std::string line = "  - {id: t, run: 'true'}  # padding padding padding padding padding\n";
  while (big.size() < 50u * 1024 * 1024) big += line;
  dir.write("flow.yaml", big);
  Outcome o = run_baton({"validate", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("the limit is 16777216"), std::string::npos) << o.err;
}

TEST(ValidateTest, MissingFileIsRefused) {
  ScratchDir dir;
  Outcome o = run_baton({"validate", "nope.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("nope.yaml"), std::string::npos) << o.err;
}

TEST(ValidateTest, SeedTemplatesValidateGivenRoles) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", R"(agents:
  planner: {use: [claude]}
  backend: {use: [codex]}
  frontend: {use: [claude]}
  coder: {use: [codex, claude]}
  checker: {use: [claude]}
  researcher: {use: [claude]}
)");
  for (const char* name : {"seed001_feature.yaml", "seed001_bugfix.yaml"}) {
    Outcome o = run_baton({"validate", source_dir() + "/tests/workflows/" + name}, dir.path());
    EXPECT_EQ(o.exit_code, 0) << name << ": " << o.err;
  }
}

TEST(ValidateTest, GraphPrintsMermaidAndDot) {
  ScratchDir dir;
  dir.write(
      "flow.yaml",
      "name: g\ntasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true', dependencies: [a]}\n");
  Outcome o = run_baton({"graph", "flow.yaml"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out.rfind("flowchart TD", 0), 0u) << o.out;
  EXPECT_NE(o.out.find("a --> b"), std::string::npos) << o.out;
  o = run_baton({"graph", "flow.yaml", "--format", "dot"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("digraph"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"a\" -> \"b\""), std::string::npos) << o.out;
}

}  // namespace
}  // namespace baton::testing
