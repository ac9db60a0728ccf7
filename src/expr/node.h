// The syntax tree of a parsed expression (internal to the expr component).
//
// Chains of the same precedence level (`a && b && c`, `a == b != c`) are stored as one
// n-ary node, so the tree's depth is bounded by the parser's nesting limit and
// evaluation and destruction never recurse deeper than that.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "expr/expr.h"

namespace baton::expr {

struct Function;

/// What a node computes.
enum class NodeKind {
  kLiteral,      ///< `value`
  kPath,         ///< `path`, read through the Scope
  kNot,          ///< `!children[0]`
  kNegate,       ///< `-children[0]`
  kCompare,      ///< children[0] ops[0] children[1] ops[1] children[2] ... left to right
  kAnd,          ///< children[0] && children[1] && ...
  kOr,           ///< children[0] || children[1] || ...
  kConditional,  ///< children[0] ? children[1] : children[2]
  kCall,         ///< function(children...)
};

/// A comparison operator of a kCompare node.
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

/// One node of the tree; immutable once built.
struct Node {
  NodeKind kind = NodeKind::kLiteral;
  size_t offset = 0;                   ///< where the node starts, base offset included
  Value value;                         ///< kLiteral
  std::vector<std::string> path;       ///< kPath
  std::vector<CompareOp> ops;          ///< kCompare: children.size() - 1 operators
  const Function* function = nullptr;  ///< kCall
  std::vector<std::shared_ptr<const Node>> children;
};

}  // namespace baton::expr
