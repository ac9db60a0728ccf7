// Diagnostics: what the loader says about a workflow file, with the place.
//
// The text follows the style of ninja and clang ("FILE:LINE:COL: error: MESSAGE",
// then the source line as it is and a caret under the column), so
// editors and terminals can jump to the place.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workflow/model.h"

namespace baton::workflow {

/// How bad a diagnostic is: an error makes the workflow invalid; a warning does not.
enum class Severity {
  kError,
  kWarning,
};

/// One message about a file, at a place (loc.line == 0: the whole file).
struct Diagnostic {
  std::string file;  ///< the file's name as the user gave it
  SourceLoc loc;     ///< 1-based line and column (byte based); 0 = unknown
  Severity severity = Severity::kError;
  std::string message;      ///< one line, no trailing period
  std::string source_line;  ///< the text of line loc.line without its newline, or ""

  /// "FILE:LINE:COL: error: MESSAGE\nSOURCE LINE\n    ^" (warning: "warning:"),
  /// without a trailing newline. Without a line: "FILE: error: MESSAGE". Without
  /// a source line, only the first line. The caret line copies the tabs of the
  /// source line before the column and counts a multi-byte UTF-8 character as one
  /// column of display, so the caret lines up in a terminal. A source line longer
  /// than 160 bytes is shown as a window of it around the column, cut ends
  /// marked "...".
  std::string format() const;
};

/// Whether any of DIAGNOSTICS is an error.
bool has_errors(const std::vector<Diagnostic>& diagnostics);

/// Every diagnostic's format(), each followed by a newline.
std::string format_all(const std::vector<Diagnostic>& diagnostics);

/// A source text split into lines, to quote a line in a diagnostic.
/// Holds a copy of the text; line lookup is O(1) after an O(size) index.
class SourceText {
 public:
  SourceText() = default;
  explicit SourceText(std::string text);

  const std::string& text() const { return text_; }
  /// Line LINE (1-based) without its "\n" or "\r\n"; "" when out of range.
  std::string_view line(int line) const;
  /// Number of lines (a final line without "\n" counts).
  int line_count() const { return static_cast<int>(starts_.size()); }

 private:
  std::string text_;
  std::vector<size_t> starts_;  // byte offset of each line's start
};

/// Collects the diagnostics of one file, filling in the file name and the quoted
/// source line.
class DiagnosticSink {
 public:
  DiagnosticSink(std::string file, const SourceText* source)
      : file_(std::move(file)), source_(source) {}

  void error(SourceLoc loc, std::string message) { add(Severity::kError, loc, std::move(message)); }
  void warning(SourceLoc loc, std::string message) {
    add(Severity::kWarning, loc, std::move(message));
  }
  void add(Severity severity, SourceLoc loc, std::string message);

  const std::string& file() const { return file_; }
  bool has_errors() const { return errors_ > 0; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

 private:
  std::string file_;
  const SourceText* source_;
  std::vector<Diagnostic> diagnostics_;
  int errors_ = 0;
};

}  // namespace baton::workflow
