// Tests of the DAG helpers and the Mermaid and DOT renderings.
#include "workflow/graph.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

namespace baton::workflow {
namespace {

// A workflow of command tasks; each entry is {id, dependencies...}.
Workflow make(const std::vector<std::vector<std::string>>& tasks, const std::string& name = "g") {
  Workflow wf;
  wf.name = name;
  for (const auto& t : tasks) {
    TaskSpec spec;
    spec.id = t[0];
    spec.run_shell = "true";
    spec.dependencies.assign(t.begin() + 1, t.end());
    wf.tasks.push_back(spec);
  }
  return wf;
}

TEST(GraphTest, DependencyIndicesSkipUnknownAndRepeatedIds) {
  Workflow wf = make({{"a"}, {"b", "a", "zzz", "a"}, {"c", "b", "a"}});
  EXPECT_EQ(dependency_indices(wf), (std::vector<std::vector<int>>{{}, {0}, {1, 0}}));
}

TEST(GraphTest, TopologicalOrderKeepsDeclarationOrderAmongReadyTasks) {
  Workflow wf = make({{"report", "test", "lint"}, {"build"}, {"lint"}, {"test", "build"}});
  auto order = topological_order(wf);
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(*order, (std::vector<int>{1, 2, 3, 0}));  // build, lint, test, report
}

TEST(GraphTest, TopologicalOrderOfACycleIsNullopt) {
  EXPECT_FALSE(topological_order(make({{"a", "b"}, {"b", "a"}})).has_value());
  EXPECT_FALSE(topological_order(make({{"a", "a"}})).has_value());
  EXPECT_EQ(topological_order(make({})), std::vector<int>{});
}

TEST(GraphTest, FindCyclesFromTheFirstDeclaredTask) {
  Workflow wf = make({{"x"}, {"c", "b"}, {"a", "c"}, {"b", "a"}});
  auto cycles = find_cycles(wf);
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(cycles[0], (std::vector<int>{1, 3, 2}));
  EXPECT_EQ(cycle_text(wf, cycles[0]), "c -> b -> a -> c");
}

TEST(GraphTest, FindCyclesReportsSelfLoopsAndSeparateCycles) {
  Workflow wf = make({{"a", "a"}, {"b", "c"}, {"c", "b"}, {"d", "b"}});
  auto cycles = find_cycles(wf);
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(cycle_text(wf, cycles[0]), "a -> a");
  EXPECT_EQ(cycle_text(wf, cycles[1]), "b -> c -> b");
  EXPECT_TRUE(find_cycles(make({{"a"}, {"b", "a"}, {"c", "a", "b"}})).empty());
}

TEST(GraphTest, FindCyclesOnALongChainDoesNotOverflowTheStack) {
  std::vector<std::vector<std::string>> tasks;
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    tasks.push_back({"t" + std::to_string(i), "t" + std::to_string((i + 1) % n)});
  }
  Workflow wf = make(tasks);
  auto cycles = find_cycles(wf);
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(cycles[0].size(), static_cast<size_t>(n));
  EXPECT_EQ(cycles[0][0], 0);
  EXPECT_EQ(cycles[0][1], 1);
}

TEST(GraphTest, UpstreamIsTransitive) {
  Workflow wf = make({{"a"}, {"b", "a"}, {"c", "b"}, {"d"}});
  EXPECT_EQ(upstream_of(wf, 2), (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(upstream_of(wf, 0), (std::vector<bool>{false, false, false, false}));
  EXPECT_EQ(upstream_of(wf, 9), (std::vector<bool>{false, false, false, false}));
  Workflow loop = make({{"a", "b"}, {"b", "a"}});
  EXPECT_EQ(upstream_of(loop, 0), (std::vector<bool>{true, true}));
}

TEST(GraphTest, Mermaid) {
  Workflow wf = make({{"design"}, {"api", "design"}, {"ui", "design"}, {"integrate", "api", "ui"}});
  wf.tasks[0].run_shell.reset();
  wf.tasks[0].agent = "planner";
  EXPECT_EQ(to_mermaid(wf),
            "flowchart TD\n"
            "  design[\"design<br/>agent: planner\"]\n"
            "  api[\"api\"]\n"
            "  ui[\"ui\"]\n"
            "  integrate[\"integrate\"]\n"
            "  design --> api\n"
            "  design --> ui\n"
            "  api --> integrate\n"
            "  ui --> integrate\n");
}

TEST(GraphTest, MermaidEscapesQuotesInLabels) {
  Workflow wf = make({{"a"}});
  wf.tasks[0].agent = "say \"hi\"";
  EXPECT_EQ(to_mermaid(wf), "flowchart TD\n  a[\"a<br/>agent: say #quot;hi#quot;\"]\n");
}

TEST(GraphTest, Dot) {
  Workflow wf = make({{"a"}, {"b", "a"}, {"c-d", "a", "b"}}, "my \"flow\"");
  wf.tasks[1].agent = "coder";
  EXPECT_EQ(to_dot(wf),
            "digraph \"my \\\"flow\\\"\" {\n"
            "  \"a\" [label=\"a\"];\n"
            "  \"b\" [label=\"b\\nagent: coder\"];\n"
            "  \"c-d\" [label=\"c-d\"];\n"
            "  \"a\" -> \"b\";\n"
            "  \"a\" -> \"c-d\";\n"
            "  \"b\" -> \"c-d\";\n"
            "}\n");
}

// Checks TEXT is a flowchart Mermaid can parse, as far as baton writes them: a header,
// node lines with a safe id and one quoted label, edge lines between declared nodes.
void expect_valid_mermaid(const std::string& text, size_t nodes, size_t edges) {
  static const std::regex node(R"re(  ([A-Za-z][A-Za-z0-9_]*)(\["[^"]*"\]|\{\{"[^"]*"\}\}))re");
  static const std::regex edge(R"re(  ([A-Za-z][A-Za-z0-9_]*) --> ([A-Za-z][A-Za-z0-9_]*))re");
  static const std::set<std::string> keywords = {"end",   "graph", "subgraph",  "class",
                                                 "style", "click", "flowchart", "classDef"};
  std::istringstream in(text);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "flowchart TD");
  std::set<std::string> declared;
  size_t edge_count = 0;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, node)) {
      EXPECT_EQ(edge_count, 0u) << "node after edges: " << line;
      EXPECT_FALSE(keywords.count(m[1].str())) << line;
      EXPECT_TRUE(declared.insert(m[1].str()).second) << "declared twice: " << line;
    } else if (std::regex_match(line, m, edge)) {
      EXPECT_TRUE(declared.count(m[1].str())) << "undeclared: " << line;
      EXPECT_TRUE(declared.count(m[2].str())) << "undeclared: " << line;
      ++edge_count;
    } else {
      ADD_FAILURE() << "not a node or an edge: " << line;
    }
  }
  EXPECT_EQ(declared.size(), nodes);
  EXPECT_EQ(edge_count, edges);
}

TEST(GraphTest, MermaidGivesKeywordsAndOddIdsSafeNodeIds) {
  Workflow wf = make({{"end"},
                      {"graph", "end"},
                      {"subgraph", "graph"},
                      {"class", "end"},
                      {"style"},
                      {"click", "style"},
                      {"c-d", "click"},
                      {"c_d", "c-d"},
                      {"9lives", "c_d"},
                      {"End", "9lives"}});
  std::string text = to_mermaid(wf);
  expect_valid_mermaid(text, 10, 8);
  EXPECT_NE(text.find("  t_end[\"end\"]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  c_d_[\"c-d\"]\n"), std::string::npos) << text;  // c_d is taken
  EXPECT_NE(text.find("  c_d[\"c_d\"]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  t_9lives[\"9lives\"]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  t_end --> t_graph\n"), std::string::npos) << text;
}

TEST(GraphTest, MermaidShowsAgentsConditionsAndGates) {
  Workflow wf = make({{"plan"}, {"ship", "plan"}, {"release", "ship"}});
  wf.tasks[0].run_shell.reset();
  wf.tasks[0].agent = "planner";
  wf.tasks[1].mutable_extras().gate = GateSpec{"ship <it> & \"go\"? #1", {}};
  wf.tasks[2].condition = "${mode == 'release'}";
  std::string text = to_mermaid(wf);
  EXPECT_EQ(text,
            "flowchart TD\n"
            "  plan[\"plan<br/>agent: planner\"]\n"
            "  ship{{\"ship<br/>gate: ship #lt;it#gt; #amp; #quot;go#quot;? #35;1\"}}\n"
            "  release[\"release<br/>if: ${mode == 'release'}\"]\n"
            "  plan --> ship\n"
            "  ship --> release\n");
  expect_valid_mermaid(text, 3, 2);
  EXPECT_EQ(to_dot(wf),
            "digraph \"g\" {\n"
            "  \"plan\" [label=\"plan\\nagent: planner\"];\n"
            "  \"ship\" [label=\"ship\\ngate: ship <it> & \\\"go\\\"? #1\", shape=hexagon];\n"
            "  \"release\" [label=\"release\\nif: ${mode == 'release'}\", style=dashed];\n"
            "  \"plan\" -> \"ship\";\n"
            "  \"ship\" -> \"release\";\n"
            "}\n");
}

TEST(GraphTest, DotQuotesEveryIdIncludingKeywords) {
  Workflow wf = make({{"node"}, {"edge", "node"}, {"graph", "edge"}, {"end", "graph"}}, "digraph");
  EXPECT_EQ(to_dot(wf),
            "digraph \"digraph\" {\n"
            "  \"node\" [label=\"node\"];\n"
            "  \"edge\" [label=\"edge\"];\n"
            "  \"graph\" [label=\"graph\"];\n"
            "  \"end\" [label=\"end\"];\n"
            "  \"node\" -> \"edge\";\n"
            "  \"edge\" -> \"graph\";\n"
            "  \"graph\" -> \"end\";\n"
            "}\n");
}

TEST(GraphTest, DotOfAnEmptyWorkflow) { EXPECT_EQ(to_dot(make({}, "e")), "digraph \"e\" {\n}\n"); }

}  // namespace
}  // namespace baton::workflow
