// Tests of YamlTree: read with libyaml, the same document as yaml-cpp's YAML::Load,
// node for node (types, tags, scalars, marks in bytes, order, duplicate keys, aliases),
// errors with their place, the nesting limit, and canonical_text().
#include "workflow/yaml_tree.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

namespace baton::workflow {
namespace {

// Expects OURS to be the same node as THEIRS (YAML::Load's), recursively; DEPTH bounds
// the walk through self-containing aliases. A null's mark is not compared: yaml-cpp
// puts an empty value at the token after it (the next key), libyaml after its "key:".
void expect_same(const YamlNode& ours, const YAML::Node& theirs, const std::string& path,
                 int depth = 0) {
  if (depth > 20) return;
  ASSERT_EQ(ours.Type(), theirs.Type()) << path;
  EXPECT_EQ(ours.Tag(), theirs.Tag()) << path;
  if (!theirs.IsNull()) {
    EXPECT_EQ(ours.Mark().pos, theirs.Mark().pos) << path;
    EXPECT_EQ(ours.Mark().line, theirs.Mark().line) << path;
    EXPECT_EQ(ours.Mark().column, theirs.Mark().column) << path;
  }
  if (theirs.IsScalar()) EXPECT_EQ(ours.Scalar(), theirs.Scalar()) << path;
  if (!theirs.IsSequence() && !theirs.IsMap()) return;
  ASSERT_EQ(ours.size(), theirs.size()) << path;
  auto it = ours.begin();
  int i = 0;
  for (auto their = theirs.begin(); their != theirs.end(); ++their, ++it, ++i) {
    ASSERT_NE(it, ours.end()) << path;
    std::string at = path + "/" + std::to_string(i);
    if (theirs.IsMap()) {
      expect_same(it->first, their->first, at + "(key)", depth + 1);
      expect_same(it->second, their->second, at, depth + 1);
    } else {
      expect_same(*it, *their, at, depth + 1);
    }
  }
  EXPECT_EQ(it, ours.end()) << path;
}

void expect_same_as_yaml_cpp(const std::string& text) {
  SCOPED_TRACE(text);
  YamlTree tree = YamlTree::parse(text);
  expect_same(tree.root(), YAML::Load(text), "");
}

TEST(YamlTreeTest, SameTreeAsYamlCpp) {
  expect_same_as_yaml_cpp(
      "version: \"1.0\"\nname: demo\nsettings: {max_parallel: 8}\ntasks:\n"
      "  - {id: t0, run: [true]}\n  - {id: t1, run: [true], dependencies: [t0]}\n");
  expect_same_as_yaml_cpp(
      "a: plain\nb: 'single'\nc: \"double\\tq\"\nd: |\n  literal\n  block\ne: >\n  folded\n"
      "  text\nf: !!str 12\ng: !custom x\nh: ~\ni:\nj: [1, 2.5, -3, 0x1f, .inf]\n");
  expect_same_as_yaml_cpp("- a\n- - b\n  - c\n- {x: {y: [z]}}\n- []\n- {}\n");
  expect_same_as_yaml_cpp("{\"json\": [1, \"two\", null, true, {\"k\": \"v\"}]}");
  expect_same_as_yaml_cpp("? complex\n: key\n[1, 2]: seq key\n");
  expect_same_as_yaml_cpp("plain scalar root\n");
  expect_same_as_yaml_cpp("# only a comment\n");
  expect_same_as_yaml_cpp("");
  expect_same_as_yaml_cpp("first: 1\n---\nsecond: 2\n");
  expect_same_as_yaml_cpp("---\na: 1\n...\n");
  expect_same_as_yaml_cpp("%YAML 1.1\n---\n!!map {a: !!seq [b], c: ! d, e: !<tag:x.org,1:y> f}\n");
  // Null forms: plain and untagged only.
  expect_same_as_yaml_cpp("[~, null, Null, NULL, '', 'null', !!str null, nULL, \"~\", ]\n");
  expect_same_as_yaml_cpp("a:\nb: &x\nc: !!str\nd: [a, b, ]\n");
  // Indentless sequences, block scalars with indicators, folded lines, escapes.
  expect_same_as_yaml_cpp(
      "k:\n- a\n- b: |+\n    kept\n\n  c: >-\n    x\n    y\n\n    z\n"
      "e: \"\\x41\\u00e9\\U0001F600\\n\\\\\"\n");
}

TEST(YamlTreeTest, MarksCountBytesInUtf8Text) {
  // libyaml counts characters; the tree's marks are bytes, as yaml-cpp's (the loader
  // maps them back into the source text).
  expect_same_as_yaml_cpp(
      "name: d\u00e9mo \u2014 \U0001F600\ntasks:\n  - {id: \u00fc, run: [\"\u00f6\", x]}\n"
      "  - id: b\n    run: \u00e9\u00e9 &\n    env: {K: \u00e9}\n");
  YamlTree tree = YamlTree::parse("\u00e9\u00e9: [\u00e9, x]\n");
  YamlNode x = tree.root()["\u00e9\u00e9"][1];
  EXPECT_EQ(x.Scalar(), "x");
  EXPECT_EQ(x.Mark().pos, 11);  // 2 + 2 bytes of "éé", ": [", 2 of "é", ", "
  EXPECT_EQ(x.Mark().column, 11);
  // A byte order mark is a byte of the text but not a column of the first line.
  tree = YamlTree::parse(
      "\xEF\xBB\xBF"
      "a: \u00e9\nb: c\n");
  EXPECT_EQ(tree.root()["a"].Mark().pos, 3 + 3);
  EXPECT_EQ(tree.root()["a"].Mark().column, 3);
  EXPECT_EQ(tree.root()["b"].Mark().pos, 3 + 9);  // "c"
  EXPECT_EQ(tree.root()["b"].Mark().line, 1);
  EXPECT_EQ(tree.root()["b"].Mark().column, 3);
}

TEST(YamlTreeTest, AliasesAreTheAnchoredNode) {
  expect_same_as_yaml_cpp("base: &b {x: 1, y: [2]}\nuse: *b\nagain: *b\ns: &s text\nt: *s\n");
  YamlTree tree = YamlTree::parse("base: &b {x: 1}\nuse: *b\n");
  EXPECT_TRUE(tree.root()["base"].is(tree.root()["use"]));
  EXPECT_FALSE(tree.root()["base"].is(tree.root()));
}

TEST(YamlTreeTest, SelfContainingAliasIsWrittenOnce) {
  YamlTree tree = YamlTree::parse("&a [x, *a]\n");
  YamlNode root = tree.root();
  ASSERT_TRUE(root.IsSequence());
  ASSERT_EQ(root.size(), 2u);
  auto it = root.begin();
  ++it;
  EXPECT_TRUE((*it).is(root));
  EXPECT_EQ(canonical_text(root), "[\"x\", *]");
}

TEST(YamlTreeTest, AliasesAreWrittenOutInFullInTheCanonicalText) {
  YamlTree aliased = YamlTree::parse("base: &b {x: 1}\nuse: *b\n");
  YamlTree copied = YamlTree::parse("base: {x: 1}\nuse: {x: 1}\n");
  EXPECT_EQ(canonical_text(aliased.root()), canonical_text(copied.root()));
}

// "Billion laughs" (found by fuzz/workflow_fuzzer): ten levels of ten aliases are 10^10
// nodes written out in full; the canonical text took minutes and gigabytes. Past the
// limit it is the compact form, linear in the document.
std::string alias_bomb(const std::string& leaf, int levels) {
  std::string text = "l0: &l0 [" + leaf + "]\n";
  for (int i = 1; i <= levels; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  return text;
}

TEST(YamlTreeTest, AliasBombGivesACompactCanonicalText) {
  // Past kMaxAliasBytes the loader refuses such a file (LoaderTest); canonical_text()
  // stays linear for any tree, so it is tested here without that bound.
  YamlTree bomb = YamlTree::parse(alias_bomb("x", 9), UINT64_MAX);
  std::string text = canonical_text(bomb.root());
  EXPECT_EQ(text.rfind("!compact ", 0), 0u) << text.substr(0, 80);
  EXPECT_LT(text.size(), 2000u);
  EXPECT_NE(text.find("\"l1\": [*3, *3"), std::string::npos) << text.substr(0, 200);
  // Different content, different text.
  EXPECT_NE(text, canonical_text(YamlTree::parse(alias_bomb("y", 9), UINT64_MAX).root()));
}

TEST(YamlTreeTest, ScalarAliasBombGivesACompactCanonicalText) {
  // One 1 MiB scalar, referenced 100 times: 100 MiB written out in full.
  std::string text = "s: &s " + std::string(1 << 20, 'a') + "\nl: [";
  for (int k = 0; k < 100; ++k) text += (k ? ", " : "") + std::string("*s");
  text += "]\n";
  YamlTree tree = YamlTree::parse(text, UINT64_MAX);
  std::string canonical = canonical_text(tree.root());
  EXPECT_EQ(canonical.rfind("!compact ", 0), 0u);
  EXPECT_LT(canonical.size(), (1u << 20) + 1000u);
}

TEST(YamlTreeTest, BytesMaterializedThroughAliasesAreBounded) {
  // Each alias counts its anchor's bytes (scalars plus one per node), aliases within
  // written out: 3 + 1 per alias of "abc", 1 + 2 * 4 per alias of the list.
  std::string text = "a: &a abc\nl: &l [*a, *a]\nm: [*l, *l]\n";
  EXPECT_NO_THROW(YamlTree::parse(text, 2 * 4 + 2 * 9));
  try {
    YamlTree::parse(text, 2 * 4 + 2 * 9 - 1);
    FAIL() << "no AliasLimitError";
  } catch (const AliasLimitError& e) {
    EXPECT_EQ(e.mark.line, 2);
    EXPECT_EQ(e.mark.column, 8);
    EXPECT_EQ(e.msg.rfind("alias *l stands for 9 bytes; ", 0), 0u) << e.msg;
  }
  // An alias of a collection that contains it counts what is known so far.
  EXPECT_NO_THROW(YamlTree::parse("&a [x, *a]\n", 1));
}

TEST(YamlTreeTest, DuplicateKeysAreKeptAndLookupFindsTheFirst) {
  expect_same_as_yaml_cpp("k: 1\nk: 2\n");
  YamlTree tree = YamlTree::parse("k: 1\nk: 2\n");
  EXPECT_EQ(tree.root().size(), 2u);
  EXPECT_EQ(tree.root()["k"].Scalar(), "1");
}

TEST(YamlTreeTest, UndefinedNodeAnswersEverything) {
  YamlTree tree = YamlTree::parse("a: [1]\n");
  YamlNode missing = tree.root()["nope"];
  EXPECT_FALSE(missing.IsDefined());
  EXPECT_FALSE(missing);
  EXPECT_EQ(missing.Type(), YAML::NodeType::Undefined);
  EXPECT_FALSE(missing.IsNull() || missing.IsScalar() || missing.IsMap() || missing.IsSequence());
  EXPECT_EQ(missing.Scalar(), "");
  EXPECT_EQ(missing.Tag(), "");
  EXPECT_EQ(missing.Mark().line, -1);
  EXPECT_EQ(missing.size(), 0u);
  EXPECT_EQ(missing.begin(), missing.end());
  EXPECT_FALSE(missing["x"].IsDefined());
  EXPECT_FALSE(tree.root()["a"]["x"].IsDefined());  // not a map
  EXPECT_EQ(tree.root()["a"].Scalar(), "");         // not a scalar
}

TEST(YamlTreeTest, EmptyDocumentIsNullWithUnknownMark) {
  YamlTree tree = YamlTree::parse("");
  EXPECT_TRUE(tree.root().IsNull());
  EXPECT_EQ(tree.root().Mark().line, -1);
}

// The error TEXT gives: "LINE:COLUMN message" (1-based), or "(ok)".
std::string error_of(const std::string& text) {
  try {
    YamlTree::parse(text);
  } catch (const YAML::ParserException& e) {
    return std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + " " + e.msg;
  }
  return "(ok)";
}

TEST(YamlTreeTest, ErrorsNameTheProblemItsPlaceAndTheConstruct) {
  EXPECT_EQ(error_of("a: [1, 2\n"),
            "2:1 did not find expected ',' or ']' (while parsing a flow sequence at line 1)");
  EXPECT_EQ(error_of("a: b: c\n"), "1:5 mapping values are not allowed in this context");
  EXPECT_EQ(error_of("x: *undefined\n"), "1:4 alias *undefined names no anchor defined before it");
  EXPECT_EQ(error_of("x: *later\ny: &later 1\n"),
            "1:4 alias *later names no anchor defined before it");
  EXPECT_EQ(error_of("a:\n  - b\n c: d\n"),
            "3:2 did not find expected key (while parsing a block mapping at line 1)");
  EXPECT_EQ(error_of("key: @at\n"), "1:6 found character that cannot start any token");
  EXPECT_EQ(error_of("a: b\n\u00e9\u00e9: {a: @}\n"),
            "2:11 found character that cannot start any token");  // columns count bytes
  // Bytes that are not UTF-8: the reader's error, at the byte.
  EXPECT_EQ(error_of("a: b\nc: \xc3\x28\n"), "2:5 invalid trailing UTF-8 octet #x28");
}

TEST(YamlTreeTest, DocumentsYamlCppMisreadAreRefused) {
  // yaml-cpp 0.7 read these without a word: an unclosed quote swallowed the rest of the
  // file, and a mapping key after a top-level sequence was dropped.
  EXPECT_EQ(error_of("a: \"unclosed\nb: c\n"),
            "3:1 found unexpected end of stream (while scanning a quoted scalar at line 1)");
  EXPECT_EQ(error_of("- a\nb: c\n"),
            "2:1 did not find expected '-' indicator (while parsing a block collection at line 1)");
}

TEST(YamlTreeTest, NestingPastTheLimitIsRefusedAtTheNode) {
  const size_t limit = kMaxYamlNesting;
  EXPECT_NO_THROW(YamlTree::parse(std::string(limit - 1, '[') + "x" + std::string(limit - 1, ']')));
  EXPECT_NO_THROW(YamlTree::parse(std::string(limit, '[') + std::string(limit, ']')));
  try {
    YamlTree::parse(std::string(limit, '[') + "x" + std::string(limit, ']'));
    FAIL() << "no NestingLimitError";
  } catch (const NestingLimitError& e) {
    EXPECT_EQ(e.mark.column, static_cast<int>(limit));  // the scalar, inside 2000
    EXPECT_EQ(e.msg, "nesting is too deep (the limit is 2000 levels)");
  }
  EXPECT_THROW(YamlTree::parse(std::string(100000, '[')), NestingLimitError);
  std::string dashes;
  for (size_t i = 0; i < 3000; ++i) dashes += "- ";
  EXPECT_THROW(YamlTree::parse(dashes + "x\n"), NestingLimitError);
}

TEST(YamlTreeTest, CanonicalTextIgnoresLayoutAndKeepsTags) {
  YamlTree block = YamlTree::parse("# c\nid: a\nrun:\n  - 'x y'\n  - 1\nenv: {}\nn: ~\n");
  YamlTree flow = YamlTree::parse("{id: a, run: [\"x y\", 1], env: {}, n: null}");
  EXPECT_EQ(canonical_text(block.root()), canonical_text(flow.root()));
  EXPECT_EQ(canonical_text(block.root()),
            "{\"id\": \"a\", \"run\": [!\"x y\", \"1\"], \"env\": {}, \"n\": ~}");
  // A quoted 1 is a string, a plain 1 a number: different texts.
  EXPECT_NE(canonical_text(YamlTree::parse("a: '1'").root()),
            canonical_text(YamlTree::parse("a: 1").root()));
  EXPECT_EQ(canonical_text(YamlTree::parse("a: !!str \"q\\\"\\n\"").root()),
            "{\"a\": !tag:yaml.org,2002:str \"q\\\"\\u000a\"}");
  // Escapes first, last and side by side, between runs of bytes written as they are
  // (UTF-8 included).
  EXPECT_EQ(canonical_text(YamlTree::parse("\"\\\"a\\\\\\\\\\tb\u00e9\\u0001\\\"\"").root()),
            "!\"\\\"a\\\\\\\\\\u0009b\u00e9\\u0001\\\"\"");
}

TEST(YamlTreeTest, BuilderMakesTreesFromEvents) {
  YamlTree::Builder b;
  YAML::Mark none = YAML::Mark::null_mark();
  b.OnMapStart(none, "?", 0, YAML::EmitterStyle::Default);
  b.OnScalar(none, "?", 0, "k");
  b.OnSequenceStart(none, "?", 0, YAML::EmitterStyle::Default);
  b.OnScalar(none, "!", 0, "v");
  b.OnNull(none, 0);
  b.OnSequenceEnd();
  b.OnMapEnd();
  YamlTree tree = b.take();
  EXPECT_EQ(canonical_text(tree.root()), "{\"k\": [!\"v\", ~]}");
  EXPECT_EQ(tree.root()["k"].size(), 2u);
}

}  // namespace
}  // namespace baton::workflow
