#include "workflow/diagnostic.h"

namespace baton::workflow {
namespace {

constexpr size_t kMaxShownLine = 160;
constexpr size_t kContextBefore = 60;

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string Diagnostic::format() const {
  std::string out = file;
  if (loc.line > 0) {
    out += ":" + std::to_string(loc.line);
    if (loc.column > 0) out += ":" + std::to_string(loc.column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  out += message;
  if (loc.line <= 0 || source_line.empty()) return out;

  std::string_view shown = source_line;
  size_t caret = loc.column > 0 ? static_cast<size_t>(loc.column - 1) : 0;
  if (caret > shown.size()) caret = shown.size();
  std::string prefix, suffix;
  if (shown.size() > kMaxShownLine) {
    size_t start = caret > kContextBefore ? caret - kContextBefore : 0;
    while (start > 0 && is_continuation_byte(shown[start])) --start;
    size_t end = std::min(shown.size(), start + kMaxShownLine);
    while (end < shown.size() && is_continuation_byte(shown[end])) ++end;
    if (start > 0) prefix = "...";
    if (end < shown.size()) suffix = "...";
    caret -= start;
    shown = shown.substr(start, end - start);
  }
  out += "\n" + prefix;
  out.append(shown);
  out += suffix + "\n";
  out.append(prefix.size(), ' ');
  for (size_t i = 0; i < caret; ++i) {
    if (shown[i] == '\t') {
      out += '\t';
    } else if (!is_continuation_byte(shown[i])) {
      out += ' ';
    }
  }
  out += '^';
  return out;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::kError) return true;
  }
  return false;
}

std::string format_all(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += d.format() + "\n";
  return out;
}

SourceText::SourceText(std::string text) : text_(std::move(text)) {
  starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n' && i + 1 < text_.size()) starts_.push_back(i + 1);
  }
  if (text_.empty()) starts_.clear();
}

std::string_view SourceText::line(int line) const {
  if (line < 1 || line > line_count()) return {};
  size_t start = starts_[line - 1];
  size_t end = text_.find('\n', start);
  if (end == std::string::npos) end = text_.size();
  if (end > start && text_[end - 1] == '\r') --end;
  return std::string_view(text_).substr(start, end - start);
}

void DiagnosticSink::add(Severity severity, SourceLoc loc, std::string message) {
  Diagnostic d;
  d.file = file_;
  d.loc = loc;
  d.severity = severity;
  d.message = std::move(message);
  if (source_ && loc.line > 0) d.source_line = std::string(source_->line(loc.line));
  if (severity == Severity::kError) ++errors_;
  diagnostics_.push_back(std::move(d));
}

}  // namespace baton::workflow
