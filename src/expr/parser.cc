// The recursive-descent parser of the expression grammar in expr.h.
#include <algorithm>
#include <initializer_list>
#include <utility>

#include "expr/functions.h"
#include "expr/lexer.h"
#include "expr/node.h"

namespace baton::expr {
namespace {

/// How deeply parentheses, calls, unary operators and conditional branches may nest.
constexpr int kMaxDepth = 64;

using NodePtr = std::shared_ptr<const Node>;
using Parsed = tl::expected<NodePtr, ParseError>;

class Parser {
 public:
  Parser(std::string_view text, size_t base) : text_(text), base_(base), tokens_(tokenize(text)) {}

  Parsed parse() {
    if (tokens_.front().kind == TokenKind::kEnd) {
      return tl::unexpected(ParseError{base_, "empty expression"});
    }
    auto root = parse_expr();
    if (!root) return root;
    if (peek().kind != TokenKind::kEnd) {
      return error_at(peek(), "unexpected " + describe(peek(), text_) + " after expression");
    }
    return root;
  }

  std::vector<Reference> take_references() { return std::move(references_); }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& take() { return tokens_[pos_++]; }
  bool accept(TokenKind kind) {
    if (peek().kind != kind) return false;
    ++pos_;
    return true;
  }

  /// An error about TOKEN; a lexical error token reports its own message instead.
  tl::unexpected<ParseError> error_at(const Token& token, std::string message) const {
    if (token.kind == TokenKind::kError) message = token.text;
    return tl::unexpected(ParseError{base_ + token.offset, std::move(message)});
  }

  /// Counts one level of nesting for the lifetime of a recursive call.
  class Nest {
   public:
    explicit Nest(int& depth) : depth_(depth) { ++depth_; }
    ~Nest() { --depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    bool too_deep() const { return depth_ > kMaxDepth; }

   private:
    int& depth_;
  };

  static std::shared_ptr<Node> node(NodeKind kind, size_t offset,
                                    std::vector<NodePtr> children = {}) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->offset = offset;
    n->children = std::move(children);
    return n;
  }

  /// Parses a nested expression (parenthesised, an argument, a branch) one level down.
  Parsed parse_nested(const Token& opener) {
    Nest nest(depth_);
    if (nest.too_deep()) return error_at(opener, "expression nested too deeply");
    return parse_expr();
  }

  // expr := or ('?' expr ':' expr)?
  Parsed parse_expr() {
    auto cond = parse_or();
    if (!cond || peek().kind != TokenKind::kQuestion) return cond;
    const Token& question = take();
    auto then = parse_nested(question);
    if (!then) return then;
    if (peek().kind != TokenKind::kColon) {
      return error_at(peek(), "expected ':' in conditional expression");
    }
    const Token& colon = take();
    auto otherwise = parse_nested(colon);
    if (!otherwise) return otherwise;
    return NodePtr(node(NodeKind::kConditional, (*cond)->offset, {*cond, *then, *otherwise}));
  }

  /// A left-to-right chain `operand (OP operand)*` of the operators TOKEN_KINDS.
  template <typename Next>
  Parsed parse_chain(NodeKind kind, std::initializer_list<TokenKind> token_kinds, Next next) {
    auto first = (this->*next)();
    if (!first) return first;
    std::vector<NodePtr> operands{*first};
    std::vector<CompareOp> ops;
    while (true) {
      TokenKind k = peek().kind;
      if (std::find(token_kinds.begin(), token_kinds.end(), k) == token_kinds.end()) break;
      ++pos_;
      ops.push_back(compare_op(k));
      auto operand = (this->*next)();
      if (!operand) return operand;
      operands.push_back(*operand);
    }
    if (operands.size() == 1) return first;
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->offset = operands.front()->offset;
    n->children = std::move(operands);
    if (kind == NodeKind::kCompare) n->ops = std::move(ops);
    return NodePtr(n);
  }

  static CompareOp compare_op(TokenKind k) {
    switch (k) {
      case TokenKind::kNe:
        return CompareOp::kNe;
      case TokenKind::kLt:
        return CompareOp::kLt;
      case TokenKind::kLe:
        return CompareOp::kLe;
      case TokenKind::kGt:
        return CompareOp::kGt;
      case TokenKind::kGe:
        return CompareOp::kGe;
      default:
        return CompareOp::kEq;  // also used, and ignored, for && and ||
    }
  }

  Parsed parse_or() { return parse_chain(NodeKind::kOr, {TokenKind::kOr}, &Parser::parse_and); }
  Parsed parse_and() {
    return parse_chain(NodeKind::kAnd, {TokenKind::kAnd}, &Parser::parse_equality);
  }
  Parsed parse_equality() {
    return parse_chain(NodeKind::kCompare, {TokenKind::kEq, TokenKind::kNe},
                       &Parser::parse_compare);
  }
  Parsed parse_compare() {
    return parse_chain(NodeKind::kCompare,
                       {TokenKind::kLt, TokenKind::kLe, TokenKind::kGt, TokenKind::kGe},
                       &Parser::parse_unary);
  }

  // unary := '!' unary | '-' unary | primary
  Parsed parse_unary() {
    TokenKind k = peek().kind;
    if (k != TokenKind::kNot && k != TokenKind::kMinus) return parse_primary();
    const Token& op = take();
    Nest nest(depth_);
    if (nest.too_deep()) return error_at(op, "expression nested too deeply");
    auto operand = parse_unary();
    if (!operand) return operand;
    return NodePtr(node(k == TokenKind::kNot ? NodeKind::kNot : NodeKind::kNegate,
                        base_ + op.offset, {*operand}));
  }

  Parsed parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kNumber:
      case TokenKind::kString: {
        ++pos_;
        auto n = std::make_shared<Node>();
        n->offset = base_ + t.offset;
        n->value = t.value;
        return NodePtr(n);
      }
      case TokenKind::kPath:
        return parse_path();
      case TokenKind::kFunction:
        return parse_call();
      case TokenKind::kLParen: {
        const Token& open = take();
        auto inner = parse_nested(open);
        if (!inner) return inner;
        if (!accept(TokenKind::kRParen)) return error_at(peek(), "expected ')' after expression");
        return inner;
      }
      default:
        return error_at(t, "expected expression");
    }
  }

  Parsed parse_path() {
    const Token& t = take();
    auto n = std::make_shared<Node>();
    n->offset = base_ + t.offset;
    if (t.path.size() == 1) {
      const std::string& word = t.path[0];
      if (word == "true" || word == "false") {
        n->value = word == "true";
        return NodePtr(n);
      }
      if (word == "null") return NodePtr(n);
    }
    n->kind = NodeKind::kPath;
    n->path = t.path;
    references_.push_back(Reference{t.path, n->offset});
    return NodePtr(n);
  }

  Parsed parse_call() {
    const Token& fn = take();
    const Function* function = find_function(fn.text);
    if (!function) {
      std::string message = "unknown function 'fn:" + fn.text + "'";
      if (auto near = suggest_function(fn.text)) message += "; did you mean 'fn:" + *near + "'?";
      return error_at(fn, message);
    }
    if (!accept(TokenKind::kLParen)) {
      return error_at(peek(), "expected '(' after 'fn:" + fn.text + "'");
    }
    std::vector<NodePtr> args;
    if (!accept(TokenKind::kRParen)) {
      while (true) {
        auto arg = parse_nested(fn);
        if (!arg) return arg;
        args.push_back(*arg);
        if (accept(TokenKind::kRParen)) break;
        if (!accept(TokenKind::kComma)) {
          return error_at(peek(), "expected ')' after function arguments");
        }
      }
    }
    if (args.size() < function->min_args || args.size() > function->max_args) {
      return error_at(fn, arity_message(*function, args.size()));
    }
    auto n = node(NodeKind::kCall, base_ + fn.offset, std::move(args));
    n->function = function;
    return NodePtr(n);
  }

  std::string_view text_;
  size_t base_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::vector<Reference> references_;
};

}  // namespace

tl::expected<Expression, ParseError> parse_expression(std::string_view text, size_t base_offset) {
  Parser parser(text, base_offset);
  auto root = parser.parse();
  if (!root) return tl::unexpected(root.error());
  Expression e;
  e.root_ = std::move(*root);
  e.source_ = std::string(text);
  e.references_ = parser.take_references();
  return e;
}

}  // namespace baton::expr
