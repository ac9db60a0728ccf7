// Shell templates: the quoting context of each `${...}` and the quoting of values.
// Grammar: POSIX Shell Command Language (XCU 2.2, 2.3, 2.6, 2.7.4); see shell.h.
#include "expr/shell.h"

#include <optional>

#include "expr/functions.h"
#include "expr/node.h"

namespace baton::expr {
namespace {

// The template as the lexer sees it: literal bytes, with kValue where a `${...}` is.
constexpr int kValue = -1;

struct Symbols {
  std::vector<int> text;         // bytes 0..255, or kValue
  std::vector<size_t> segment;   // text[i] == kValue: the index of its segment
  std::vector<size_t> expr_num;  // text[i] == kValue: the index among expressions
};

Symbols symbols_of(const Template& tmpl) {
  Symbols s;
  size_t n = 0;
  for (size_t i = 0; i < tmpl.segments.size(); ++i) {
    const Segment& seg = tmpl.segments[i];
    if (seg.expr) {
      s.text.push_back(kValue);
      s.segment.push_back(i);
      s.expr_num.push_back(n++);
      continue;
    }
    for (char c : seg.literal) {
      s.text.push_back(static_cast<unsigned char>(c));
      s.segment.push_back(0);
      s.expr_num.push_back(0);
    }
  }
  return s;
}

// What the lexer is inside of.
enum class Frame {
  kCommand,     // unquoted shell text: the top level, or the body of `$(...)`
  kDouble,      // "..."
  kSingle,      // '...'
  kBackquote,   // `...`
  kArithmetic,  // $((...))
  kParameter,   // ${...} (the shell's own, written `$${` in a template)
  kComment,     // from an unquoted # at the start of a word to the end of the line
};

struct FrameState {
  Frame kind;
  bool substitution = false;  // kCommand: the body of a `$(...)`, not the top level
  int depth = 0;              // kCommand in `$(`, kArithmetic: open '('; kParameter: '{'
};

struct HereDoc {
  std::string delimiter;  // quotes removed
  bool strip_tabs = false;
};

// Characters that end a word and start the next token (XCU 2.3: operators, blanks).
bool is_delimiter(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' ||
         c == ')' || c == '<' || c == '>';
}

class Lexer {
 public:
  Lexer(const Template& tmpl, const Symbols& s) : tmpl_(tmpl), s_(s) {
    out_.resize(count_values());
  }

  tl::expected<std::vector<ShellContext>, ParseError> run() {
    stack_.push_back({Frame::kCommand});
    while (i_ < s_.text.size()) {
      if (auto e = step(); !e) return tl::unexpected(e.error());
    }
    return out_;
  }

 private:
  size_t count_values() const {
    size_t n = 0;
    for (int c : s_.text) n += c == kValue;
    return n;
  }
  int at(size_t i) const { return i < s_.text.size() ? s_.text[i] : -2; }
  bool raw_at(size_t i) const { return is_raw(*tmpl_.segments[s_.segment[i]].expr); }
  ParseError error_at(size_t i, const std::string& where) const {
    return ParseError{tmpl_.segments[s_.segment[i]].offset,
                      "a value cannot be placed safely " + where +
                          " in a shell command; pass it as an environment variable (env:) or "
                          "use the list form of 'run'"};
  }

  // A value at i_: its context, or the reason it cannot be placed there.
  tl::expected<void, ParseError> value(std::optional<ShellContext> context,
                                       const std::string& where) {
    if (raw_at(i_)) {
      out_[s_.expr_num[i_]] = ShellContext::kRaw;
    } else if (poisoned_) {
      return tl::unexpected(error_at(i_, "after a 'case' inside $(...)"));
    } else if (!context) {
      return tl::unexpected(error_at(i_, where));
    } else {
      out_[s_.expr_num[i_]] = *context;
    }
    ++i_;
    return {};
  }

  // After a backslash that escapes the next character: a value there would lose the
  // protection of its first byte.
  tl::expected<void, ParseError> escaped_next() {
    if (at(i_ + 1) == kValue && !raw_at(i_ + 1)) {
      return tl::unexpected(error_at(i_ + 1, "right after a backslash"));
    }
    i_ += 2;
    return {};
  }

  // `$` at i_: a substitution, an expansion, or a literal dollar sign.
  tl::expected<void, ParseError> dollar() {
    int next = at(i_ + 1);
    if (next == kValue && !raw_at(i_ + 1)) {
      // `$'...'` is ANSI-C quoting in bash (escapes are decoded): never build it.
      return tl::unexpected(error_at(i_ + 1, "right after a '$'"));
    }
    if (next == '(' && at(i_ + 2) == '(') {
      stack_.push_back({Frame::kArithmetic});
      i_ += 3;
    } else if (next == '(') {
      stack_.push_back({Frame::kCommand, true});
      word_start_ = true;
      i_ += 2;
    } else if (next == '{') {
      stack_.push_back({Frame::kParameter});
      i_ += 2;
    } else {
      ++i_;
    }
    return {};
  }

  tl::expected<void, ParseError> step() {
    FrameState& f = stack_.back();
    int c = at(i_);
    switch (f.kind) {
      case Frame::kCommand:
        return command(f, c);
      case Frame::kDouble:
        if (c == kValue) return value(ShellContext::kDoubleQuoted, "");
        if (c == '\\') return escaped_next();
        if (c == '"') {
          stack_.pop_back();
          ++i_;
        } else if (c == '`') {
          stack_.push_back({Frame::kBackquote});
          ++i_;
        } else if (c == '$') {
          return dollar();
        } else {
          ++i_;
        }
        return {};
      case Frame::kSingle:
        if (c == kValue) return value(ShellContext::kSingleQuoted, "");
        if (c == '\'') stack_.pop_back();
        ++i_;
        return {};
      case Frame::kBackquote:
        if (c == kValue) return value(std::nullopt, "inside backquotes (use $(...) instead)");
        if (c == '\\') {
          i_ += 2;
          return {};
        }
        if (c == '`') stack_.pop_back();
        ++i_;
        return {};
      case Frame::kArithmetic:
        if (c == kValue) return value(std::nullopt, "inside an arithmetic expansion $((...))");
        if (c == '(') {
          ++f.depth;
        } else if (c == ')') {
          if (f.depth == 0 && at(i_ + 1) == ')') {
            stack_.pop_back();
            ++i_;
          } else {
            --f.depth;
          }
        }
        ++i_;
        return {};
      case Frame::kParameter:
        if (c == kValue) {
          return value(std::nullopt, "inside a parameter expansion $${...}");
        }
        if (c == '\\') return escaped_next();
        if (c == '\'' || c == '"' || c == '`') {
          // Quotes inside ${...} differ between shells (and inside "..." POSIX leaves
          // single quotes unspecified): the lexer cannot follow, so refuse what comes
          // after rather than guess.
          poisoned_ = true;
        }
        if (c == '$') return dollar();
        if (c == '{') {
          ++f.depth;
        } else if (c == '}') {
          if (f.depth == 0) {
            stack_.pop_back();
          } else {
            --f.depth;
          }
        }
        ++i_;
        return {};
      case Frame::kComment:
        if (c == kValue) return value(std::nullopt, "inside a comment");
        if (c == '\n') {
          stack_.pop_back();  // the newline itself is the command frame's
          return {};
        }
        ++i_;
        return {};
    }
    return {};
  }

  tl::expected<void, ParseError> command(FrameState& f, int c) {
    if (c == kValue) {
      word_start_ = false;
      return value(ShellContext::kUnquoted, "");
    }
    if (c == '\\') {
      // A line continuation is removed (XCU 2.2.1): the word goes on as before it.
      if (at(i_ + 1) != '\n') word_start_ = false;
      return escaped_next();
    }
    if (c == '\'' || c == '"' || c == '`') {
      word_start_ = false;
      stack_.push_back({c == '\''  ? Frame::kSingle
                        : c == '"' ? Frame::kDouble
                                   : Frame::kBackquote});
      ++i_;
      return {};
    }
    if (c == '$') {
      word_start_ = false;
      return dollar();
    }
    if (c == '#' && word_start_) {
      stack_.push_back({Frame::kComment});
      ++i_;
      return {};
    }
    if (c == '<' && at(i_ + 1) == '<') return here_doc_operator();
    if (c == '\n') {
      ++i_;
      word_start_ = true;
      return here_doc_bodies();
    }
    if (f.substitution && c == '(') {
      ++f.depth;
    } else if (f.substitution && c == ')') {
      if (f.depth == 0) {
        stack_.pop_back();
        ++i_;
        word_start_ = false;  // `$(...)` is part of a word
        return {};
      }
      --f.depth;
    }
    if (f.substitution && word_start_ && starts_word("case")) poisoned_ = true;
    word_start_ = is_delimiter(c);
    ++i_;
    return {};
  }

  bool starts_word(std::string_view word) const {
    for (size_t k = 0; k < word.size(); ++k) {
      if (at(i_ + k) != static_cast<unsigned char>(word[k])) return false;
    }
    int after = at(i_ + word.size());
    return after == -2 || is_delimiter(after);
  }

  // `<<` or `<<-` at i_, then blanks and the delimiter word (XCU 2.7.4). The bodies
  // start after the next newline of the command text.
  tl::expected<void, ParseError> here_doc_operator() {
    i_ += 2;
    HereDoc doc;
    if (at(i_) == '-') {
      doc.strip_tabs = true;
      ++i_;
    }
    while (at(i_) == ' ' || at(i_) == '\t') ++i_;
    while (i_ < s_.text.size()) {
      int c = at(i_);
      if (c == kValue) {
        if (raw_at(i_)) {
          ++i_;
          continue;
        }
        return tl::unexpected(error_at(i_, "in a here-document's delimiter"));
      }
      if (is_delimiter(c)) break;
      if (c == '\\') {
        if (at(i_ + 1) >= 0) doc.delimiter += static_cast<char>(at(i_ + 1));
        i_ += 2;
      } else if (c == '\'' || c == '"') {
        for (++i_; i_ < s_.text.size() && at(i_) != c; ++i_) {
          if (at(i_) == kValue && !raw_at(i_)) {
            return tl::unexpected(error_at(i_, "in a here-document's delimiter"));
          }
          if (at(i_) >= 0) doc.delimiter += static_cast<char>(at(i_));
        }
        ++i_;
      } else {
        doc.delimiter += static_cast<char>(c);
        ++i_;
      }
    }
    here_docs_.push_back(std::move(doc));
    word_start_ = true;
    return {};
  }

  // At the start of a line after a newline: the pending here-documents' bodies, each
  // up to its delimiter line. A value in a body could end it early (a line equal to
  // the delimiter), so values there are refused.
  tl::expected<void, ParseError> here_doc_bodies() {
    for (const HereDoc& doc : here_docs_) {
      while (i_ < s_.text.size()) {
        std::string line;
        std::optional<size_t> value_at;
        for (; i_ < s_.text.size() && at(i_) != '\n'; ++i_) {
          if (at(i_) == kValue) {
            if (!raw_at(i_) && !value_at) value_at = i_;
          } else {
            line += static_cast<char>(at(i_));
          }
        }
        if (i_ < s_.text.size()) ++i_;  // the newline
        if (value_at) return tl::unexpected(error_at(*value_at, "inside a here-document"));
        std::string_view body = line;
        if (doc.strip_tabs) body.remove_prefix(std::min(body.find_first_not_of('\t'), body.size()));
        if (body == doc.delimiter) break;
      }
    }
    here_docs_.clear();
    return {};
  }

  const Template& tmpl_;
  const Symbols& s_;
  std::vector<ShellContext> out_;
  std::vector<FrameState> stack_;
  std::vector<HereDoc> here_docs_;
  size_t i_ = 0;
  bool word_start_ = true;  // kCommand: the next character starts a word
  bool poisoned_ = false;   // the lexer lost track (a `case` in `$(`): refuse later values
};

}  // namespace

bool is_raw(const Expression& expression) {
  const Node* root = expression.root_.get();
  return root && root->kind == NodeKind::kCall && root->function && root->function->name == "raw";
}

tl::expected<std::vector<ShellContext>, ParseError> shell_contexts(const Template& tmpl) {
  Symbols s = symbols_of(tmpl);
  return Lexer(tmpl, s).run();
}

tl::expected<std::string, std::string> shell_quote(std::string_view value, ShellContext context) {
  if (value.find('\0') != std::string_view::npos) {
    return tl::unexpected(std::string("contains a NUL byte, which a command line cannot hold"));
  }
  std::string out;
  switch (context) {
    case ShellContext::kRaw:
      return std::string(value);
    case ShellContext::kUnquoted:
      // XCU 2.2.2: inside '...' every byte is literal; a ' is written '\'' (close,
      // an escaped quote, reopen).
      out = "'";
      for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return out + "'";
    case ShellContext::kSingleQuoted:
      // Already inside '...': the same '\'' for a quote, no surrounding quotes.
      for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return out;
    case ShellContext::kDoubleQuoted:
      // XCU 2.2.3: inside "..." only $ ` " \ (and \newline) are special; a backslash
      // before each of $ ` " \ makes it literal. A newline needs nothing: every
      // backslash of the value is escaped, so none can join it to the next line.
      for (char c : value) {
        if (c == '$' || c == '`' || c == '"' || c == '\\') out += '\\';
        out += c;
      }
      return out;
  }
  return out;
}

tl::expected<std::string, std::string> render_shell(const Template& tmpl, const Scope& scope) {
  auto contexts = shell_contexts(tmpl);
  if (!contexts) return tl::unexpected(contexts.error().message);
  std::string out;
  size_t n = 0;
  for (const Segment& s : tmpl.segments) {
    if (!s.expr) {
      out += s.literal;
      continue;
    }
    auto v = evaluate(*s.expr, scope);
    if (!v) return tl::unexpected(v.error());
    auto quoted = shell_quote(to_text(*v), (*contexts)[n++]);
    if (!quoted) {
      return tl::unexpected("the value of ${" + s.expr->source() + "} " + quoted.error());
    }
    out += *quoted;
  }
  return out;
}

}  // namespace baton::expr
