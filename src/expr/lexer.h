// Splits an expression's text into tokens (internal to the expr component).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.h"

namespace baton::expr {

/// The kinds of token of the expression grammar (see expr.h).
enum class TokenKind {
  kEnd,       ///< end of the text
  kError,     ///< a lexical error; `text` holds the message
  kNumber,    ///< `value` is the number
  kString,    ///< `value` is the unescaped string
  kPath,      ///< IDENT ('.' COMPONENT)*; also true/false/null; `path` holds the parts
  kFunction,  ///< `fn:NAME`; `text` holds NAME
  kLParen,
  kRParen,
  kComma,
  kQuestion,
  kColon,
  kNot,
  kMinus,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
};

/// One token. `offset` and `length` are bytes into the text given to tokenize().
struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;
  size_t length = 0;
  std::string text;               ///< kError: the message; kFunction: the name
  Value value;                    ///< kNumber, kString
  std::vector<std::string> path;  ///< kPath
};

/// Tokenizes TEXT. The result always ends with exactly one kEnd or kError token; on a
/// lexical error the tokens before it are valid, so a parser that consumes them in
/// order reports the earliest error. Path components after a '.' may also start with
/// a digit (`items.0` indexes an array).
std::vector<Token> tokenize(std::string_view text);

/// How a token is named in a message: `'x'` with the token's source text, or
/// "end of expression" / "string".
std::string describe(const Token& token, std::string_view text);

}  // namespace baton::expr
