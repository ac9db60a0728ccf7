// Tests of mapping an offset in a scalar's value back to its line and column.
#include "workflow/scalar_position.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace baton::workflow {
namespace {

// The place of the first occurrence of NEEDLE in the value of key K of TEXT.
SourceLoc place(const std::string& text, const std::string& k, const std::string& needle) {
  SourceText source(text);
  YAML::Node root = YAML::Load(text);
  YAML::Node node = root[k];
  std::string value = node.Scalar();
  size_t offset = value.find(needle);
  EXPECT_NE(offset, std::string::npos) << value;
  return scalar_offset_loc(source, node.Mark(), value, offset);
}

void expect_at(SourceLoc loc, int line, int column) {
  EXPECT_EQ(loc.line, line);
  EXPECT_EQ(loc.column, column);
}

TEST(ScalarPositionTest, Plain) {
  expect_at(place("a: 1\nk: echo ${x}\n", "k", "${"), 2, 9);
  expect_at(place("k: &anchor echo ${x}\n", "k", "${"), 1, 17);
  expect_at(place("k: !!str echo ${x}\n", "k", "${"), 1, 15);
}

TEST(ScalarPositionTest, PlainOverSeveralLines) {
  expect_at(place("k: one\n  two\n\n  three ${x}\nz: 1\n", "k", "${"), 4, 9);
}

TEST(ScalarPositionTest, SingleQuoted) { expect_at(place("k: 'it''s ${x}'\n", "k", "${"), 1, 11); }

TEST(ScalarPositionTest, DoubleQuotedWithEscapes) {
  expect_at(place("k: \"\\t\\\"\\u00e9\\U0001F600 ${x}\"\n", "k", "${"), 1, 26);
}

TEST(ScalarPositionTest, LiteralAndFolded) {
  expect_at(place("k: |\n  one\n\n    two ${x}\n", "k", "${"), 4, 9);
  expect_at(place("k: >-\n  one\n  two ${x}\nz: 1\n", "k", "${"), 3, 7);
  expect_at(place("k: |2\n    deep ${x}\n", "k", "${"), 2, 10);
}

TEST(ScalarPositionTest, FallsBackToTheScalarsPlace) {
  // A double-quoted scalar over two lines is not followed: the scalar's start.
  expect_at(place("k: \"one\n  two ${x}\"\n", "k", "${"), 1, 4);
  SourceText source("k: v\n");
  YAML::Mark unknown = YAML::Mark::null_mark();
  expect_at(scalar_offset_loc(source, unknown, "v", 0), 0, 0);
  YAML::Node root = YAML::Load("k: v\n");
  expect_at(scalar_offset_loc(source, root["k"].Mark(), "v", 5), 1, 4);  // past the end
}

TEST(ScalarPositionTest, LocOf) {
  YAML::Mark m;
  m.line = 2;
  m.column = 4;
  expect_at(loc_of(m), 3, 5);
  expect_at(loc_of(YAML::Mark::null_mark()), 0, 0);
}

}  // namespace
}  // namespace baton::workflow
