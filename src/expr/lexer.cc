#include "expr/lexer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>

namespace baton::expr {
namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }

bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// A byte as it is shown in a message: printable ASCII as itself, else `\xNN`.
std::string show_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", u);
  return buf;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> run() {
    std::vector<Token> tokens;
    while (true) {
      skip_space();
      Token t = next();
      bool last = t.kind == TokenKind::kEnd || t.kind == TokenKind::kError;
      tokens.push_back(std::move(t));
      if (last) return tokens;
    }
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  char at(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }

  Token make(TokenKind kind, size_t start) {
    Token t;
    t.kind = kind;
    t.offset = start;
    t.length = pos_ - start;
    return t;
  }

  Token error(size_t offset, std::string message) {
    Token t;
    t.kind = TokenKind::kError;
    t.offset = offset;
    t.text = std::move(message);
    return t;
  }

  Token punct(TokenKind kind, size_t length) {
    size_t start = pos_;
    pos_ += length;
    return make(kind, start);
  }

  Token next() {
    if (pos_ >= text_.size()) return make(TokenKind::kEnd, pos_);
    char c = text_[pos_];
    char d = at(pos_ + 1);
    switch (c) {
      case '(':
        return punct(TokenKind::kLParen, 1);
      case ')':
        return punct(TokenKind::kRParen, 1);
      case ',':
        return punct(TokenKind::kComma, 1);
      case '?':
        return punct(TokenKind::kQuestion, 1);
      case ':':
        return punct(TokenKind::kColon, 1);
      case '-':
        return punct(TokenKind::kMinus, 1);
      case '!':
        return d == '=' ? punct(TokenKind::kNe, 2) : punct(TokenKind::kNot, 1);
      case '<':
        return d == '=' ? punct(TokenKind::kLe, 2) : punct(TokenKind::kLt, 1);
      case '>':
        return d == '=' ? punct(TokenKind::kGe, 2) : punct(TokenKind::kGt, 1);
      case '=':
        if (d == '=') return punct(TokenKind::kEq, 2);
        break;
      case '&':
        if (d == '&') return punct(TokenKind::kAnd, 2);
        break;
      case '|':
        if (d == '|') return punct(TokenKind::kOr, 2);
        break;
      case '\'':
      case '"':
        return string();
      default:
        if (is_digit(c)) return number();
        if (is_ident_start(c)) return name();
    }
    return error(pos_, "unexpected character '" + show_char(c) + "'");
  }

  Token number() {
    size_t start = pos_;
    bool integral = true;
    while (is_digit(at(pos_))) ++pos_;
    if (at(pos_) == '.' && is_digit(at(pos_ + 1))) {
      integral = false;
      ++pos_;
      while (is_digit(at(pos_))) ++pos_;
    }
    if ((at(pos_) == 'e' || at(pos_) == 'E') &&
        (is_digit(at(pos_ + 1)) ||
         ((at(pos_ + 1) == '+' || at(pos_ + 1) == '-') && is_digit(at(pos_ + 2))))) {
      integral = false;
      pos_ += 2;
      while (is_digit(at(pos_))) ++pos_;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    Token t = make(TokenKind::kNumber, start);
    if (integral) {
      int64_t i = 0;
      auto r = std::from_chars(first, last, i);
      if (r.ec == std::errc() && r.ptr == last) {
        t.value = i;
        return t;
      }
    }
    double d = 0;
    auto r = std::from_chars(first, last, d);
    if (r.ec != std::errc() || r.ptr != last) return error(start, "number out of range");
    t.value = d;
    return t;
  }

  Token string() {
    size_t start = pos_;
    char quote = text_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) return error(start, "unterminated string");
      char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      size_t esc = pos_;
      char e = at(pos_ + 1);
      pos_ += 2;
      switch (e) {
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '$':
          out += '$';
          break;
        case 'u': {
          uint32_t cp = 0;
          auto r = std::from_chars(text_.data() + pos_,
                                   text_.data() + std::min(pos_ + 4, text_.size()), cp, 16);
          if (r.ptr != text_.data() + pos_ + 4 || (cp >= 0xd800 && cp < 0xe000)) {
            return error(esc, "invalid escape '\\u'");
          }
          pos_ += 4;
          append_utf8(out, cp);
          break;
        }
        case '\0':
          if (esc + 1 >= text_.size()) return error(start, "unterminated string");
          [[fallthrough]];
        default:
          return error(esc, "unknown escape '\\" + show_char(e) + "'");
      }
    }
    Token t = make(TokenKind::kString, start);
    t.value = std::move(out);
    return t;
  }

  Token name() {
    size_t start = pos_;
    if (text_.substr(pos_, 3) == "fn:") {
      pos_ += 3;
      if (!is_ident_start(at(pos_))) return error(start, "expected function name after 'fn:'");
      size_t name_start = pos_;
      while (std::isalnum(static_cast<unsigned char>(at(pos_))) || at(pos_) == '_') ++pos_;
      Token t = make(TokenKind::kFunction, start);
      t.text = std::string(text_.substr(name_start, pos_ - name_start));
      return t;
    }
    std::vector<std::string> path;
    while (is_ident_char(at(pos_))) ++pos_;
    path.emplace_back(text_.substr(start, pos_ - start));
    while (at(pos_) == '.') {
      size_t part = ++pos_;
      while (is_ident_char(at(pos_))) ++pos_;
      if (pos_ == part) return error(part, "expected name after '.'");
      path.emplace_back(text_.substr(part, pos_ - part));
    }
    Token t = make(TokenKind::kPath, start);
    t.path = std::move(path);
    return t;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<Token> tokenize(std::string_view text) { return Lexer(text).run(); }

std::string describe(const Token& token, std::string_view text) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of expression";
    case TokenKind::kString:
      return "string";
    default:
      return "'" + std::string(text.substr(token.offset, token.length)) + "'";
  }
}

}  // namespace baton::expr
