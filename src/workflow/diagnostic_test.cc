// Tests of diagnostic formatting: place, severity, the quoted line and its caret.
#include "workflow/diagnostic.h"

#include <gtest/gtest.h>

namespace baton::workflow {
namespace {

Diagnostic make(int line, int column, const std::string& source_line,
                Severity severity = Severity::kError) {
  Diagnostic d;
  d.file = "f.yaml";
  d.loc = {line, column};
  d.severity = severity;
  d.message = "bad thing";
  d.source_line = source_line;
  return d;
}

TEST(DiagnosticTest, WithLineAndCaret) {
  EXPECT_EQ(make(3, 5, "    key: value").format(),
            "f.yaml:3:5: error: bad thing\n    key: value\n    ^");
  EXPECT_EQ(make(1, 1, "x").format(), "f.yaml:1:1: error: bad thing\nx\n^");
}

TEST(DiagnosticTest, Warning) {
  EXPECT_EQ(make(2, 3, "abc", Severity::kWarning).format(),
            "f.yaml:2:3: warning: bad thing\nabc\n  ^");
}

TEST(DiagnosticTest, WithoutAPlaceOrALine) {
  EXPECT_EQ(make(0, 0, "").format(), "f.yaml: error: bad thing");
  EXPECT_EQ(make(4, 2, "").format(), "f.yaml:4:2: error: bad thing");
  EXPECT_EQ(make(4, 0, "").format(), "f.yaml:4: error: bad thing");
}

TEST(DiagnosticTest, CaretCopiesTabs) {
  EXPECT_EQ(make(1, 4, "\t\tx: 1").format(), "f.yaml:1:4: error: bad thing\n\t\tx: 1\n\t\t ^");
}

TEST(DiagnosticTest, CaretCountsAUtf8CharacterAsOneColumn) {
  // "é" is two bytes; the column (8) is in bytes, the caret in characters.
  EXPECT_EQ(make(1, 8, "a: \"é ${x\"").format(),
            "f.yaml:1:8: error: bad thing\na: \"é ${x\"\n      ^");
}

TEST(DiagnosticTest, CaretPastTheEndOfTheLineStaysAtTheEnd) {
  EXPECT_EQ(make(1, 50, "abc").format(), "f.yaml:1:50: error: bad thing\nabc\n   ^");
}

TEST(DiagnosticTest, LongLinesAreShownAsAWindow) {
  std::string line = std::string(400, 'a');
  line[200] = 'X';
  std::string out = make(1, 201, line).format();
  // A window from 60 bytes before the column, 160 bytes long, cut ends marked.
  std::string window = "..." + std::string(60, 'a') + "X" + std::string(99, 'a') + "...";
  EXPECT_EQ(out, "f.yaml:1:201: error: bad thing\n" + window + "\n" + std::string(63, ' ') + "^");
  // Near the start: only the end is cut.
  out = make(1, 3, line).format();
  EXPECT_EQ(out, "f.yaml:1:3: error: bad thing\n" + std::string(160, 'a') + "...\n  ^");
}

TEST(DiagnosticTest, HasErrorsAndFormatAll) {
  std::vector<Diagnostic> ds = {make(1, 1, "", Severity::kWarning)};
  EXPECT_FALSE(has_errors(ds));
  ds.push_back(make(2, 1, ""));
  EXPECT_TRUE(has_errors(ds));
  EXPECT_EQ(format_all(ds), "f.yaml:1:1: warning: bad thing\nf.yaml:2:1: error: bad thing\n");
}

TEST(SourceTextTest, Lines) {
  SourceText text("one\r\ntwo\n\nfour");
  EXPECT_EQ(text.line_count(), 4);
  EXPECT_EQ(text.line(1), "one");
  EXPECT_EQ(text.line(2), "two");
  EXPECT_EQ(text.line(3), "");
  EXPECT_EQ(text.line(4), "four");
  EXPECT_EQ(text.line(0), "");
  EXPECT_EQ(text.line(5), "");
  EXPECT_EQ(SourceText("a\n").line_count(), 1);
  EXPECT_EQ(SourceText("").line_count(), 0);
}

TEST(DiagnosticSinkTest, FillsFileAndSourceLineAndCountsErrors) {
  SourceText text("name: x\ntasks: y\n");
  DiagnosticSink sink("w.yaml", &text);
  sink.warning({1, 1}, "w");
  EXPECT_FALSE(sink.has_errors());
  sink.error({2, 8}, "e");
  EXPECT_TRUE(sink.has_errors());
  ASSERT_EQ(sink.diagnostics().size(), 2u);
  EXPECT_EQ(sink.diagnostics()[1].file, "w.yaml");
  EXPECT_EQ(sink.diagnostics()[1].source_line, "tasks: y");
  EXPECT_EQ(sink.diagnostics()[1].format(), "w.yaml:2:8: error: e\ntasks: y\n       ^");
  DiagnosticSink no_source("z", nullptr);
  no_source.error({1, 1}, "e");
  EXPECT_EQ(no_source.diagnostics()[0].format(), "z:1:1: error: e");
}

}  // namespace
}  // namespace baton::workflow
